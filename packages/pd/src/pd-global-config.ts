import { type PdErrorType, pdErrorFromWire } from '@tikv/common';
import { pdpb } from '@tikv/proto';
import type { CallOptions } from './call-options.js';
import type { PdConnections } from './pd-connections.js';
import type { PdRpcCaller } from './pd-rpc-caller.js';

/** The kinds of a {@link GlobalConfigItem} (`pdpb.EventType`). */
export const GlobalConfigEventType = Object.freeze({ PUT: 'put', DELETE: 'delete' } as const);
/** One of the {@link GlobalConfigEventType} values. */
export type GlobalConfigEventType = (typeof GlobalConfigEventType)[keyof typeof GlobalConfigEventType];

/** One global config entry, or one change of it (PD's Go `GlobalConfigItem`). */
export interface GlobalConfigItem {
  /** `put` for a value (and every loaded item), `delete` for a removal. */
  readonly kind: GlobalConfigEventType;
  /**
   * The item's name: as asked for when loading by names; the full etcd key
   * (`/global/config/<path>/<name>`) when loading a whole path and in watch changes.
   */
  readonly name: string;
  /** The value as text: PD's `value`, or the payload as UTF-8 when PD sent only the payload. */
  readonly value: string;
  /** The value's bytes (for a deletion seen by a watch: the value before it). */
  readonly payload: Uint8Array;
  /** Set when loading by names found no such item (`GLOBAL_CONFIG_NOT_FOUND`) or failed. */
  readonly error?: { readonly type: PdErrorType; readonly message: string } | undefined;
}

/** One change to store with {@link PdGlobalConfig.store}. */
export interface GlobalConfigChange {
  /** `put` writes the item, `delete` removes it. */
  readonly kind: GlobalConfigEventType;
  /** The item's name under the config path (empty: the path itself). */
  readonly name: string;
  /** The value as text; PD prefers it over `payload` when it is not empty. @defaultValue '' */
  readonly value?: string | undefined;
  /** The value as bytes, used when `value` is empty. @defaultValue empty */
  readonly payload?: Uint8Array | undefined;
}

/** What {@link PdGlobalConfig.load} returns. */
export interface GlobalConfigLoadResult {
  readonly items: readonly GlobalConfigItem[];
  /** The etcd revision of a whole-path load (watch from `revision + 1n`); 0n when loading by names. */
  readonly revision: bigint;
}

/** One message of {@link PdGlobalConfig.watch}. */
export interface GlobalConfigWatchResponse {
  readonly items: readonly GlobalConfigItem[];
  /** The etcd revision of these changes. */
  readonly revision: bigint;
}

/** Options of {@link PdGlobalConfig.watch}: `signal` ends it, `timeoutMs` bounds its life. */
export interface GlobalConfigWatchOptions extends CallOptions {
  /** Replay from this etcd revision on (0n: only changes after the call). @defaultValue 0n */
  readonly revision?: bigint | undefined;
}

const utf8 = new TextDecoder();
const pdClient = (c: PdConnections, url: string) => c.get(url);

function itemFromWire(i: pdpb.GlobalConfigItem): GlobalConfigItem {
  // Keep `value` for the writers that still fill it (TiCDC); others send only the payload.
  const value = i.value !== '' ? i.value : utf8.decode(i.payload);
  const err = i.error === undefined ? undefined : pdErrorFromWire(i.error);
  return {
    kind: i.kind === pdpb.EventType.DELETE ? GlobalConfigEventType.DELETE : GlobalConfigEventType.PUT,
    name: i.name,
    value,
    payload: i.payload,
    ...(err === undefined ? {} : { error: { type: err.pdErrorType, message: i.error?.message ?? '' } }),
  };
}

/**
 * PD's global config (`pdpb.PD` `LoadGlobalConfig` / `StoreGlobalConfig` /
 * `WatchGlobalConfig`): named items PD keeps in etcd under `/global/config/`, which TiDB
 * components share. A config path names a folder under it (`''` is `/global/config/` itself;
 * PD refuses paths outside it with `INVALID_ARGUMENT`). Reached as `PdClient.globalConfig`;
 * the calls are also `PdClient.loadGlobalConfig` and the like.
 */
export class PdGlobalConfig {
  readonly #caller: PdRpcCaller;

  /** @internal */
  constructor(caller: PdRpcCaller) {
    this.#caller = caller;
  }

  /**
   * Loads items: by `names` under `configPath` (each missing one comes back with an `error` of
   * type `GLOBAL_CONFIG_NOT_FOUND`), or, with no names, every item under `configPath` and the
   * revision to watch from.
   */
  async load(
    names: readonly string[],
    configPath: string,
    options?: CallOptions,
  ): Promise<GlobalConfigLoadResult> {
    const resp = await this.#caller.serviceCall(
      'LoadGlobalConfig',
      options,
      pdClient,
      (rpc, signal) => rpc.loadGlobalConfig({ names: [...names], configPath }, { signal }),
      () => undefined,
    );
    return { items: resp.items.map(itemFromWire), revision: resp.revision };
  }

  /** Applies `changes` under `configPath` in one etcd transaction. */
  async store(
    configPath: string,
    changes: readonly GlobalConfigChange[],
    options?: CallOptions,
  ): Promise<void> {
    const wire: pdpb.GlobalConfigItem[] = changes.map((c) => ({
      name: c.name,
      value: c.value ?? '',
      error: undefined,
      kind: c.kind === GlobalConfigEventType.DELETE ? pdpb.EventType.DELETE : pdpb.EventType.PUT,
      payload: c.payload ?? new Uint8Array(0),
    }));
    await this.#caller.serviceCall(
      'StoreGlobalConfig',
      options,
      pdClient,
      (rpc, signal) => rpc.storeGlobalConfig({ changes: wire, configPath }, { signal }),
      (r) => (r.error === undefined ? undefined : pdErrorFromWire(r.error)),
    );
  }

  /**
   * Watches every item under `configPath`: one message per batch of changes, from `revision`
   * (replayed) or from now on. Rejects with a `PdError` `DATA_COMPACTED` when `revision` was
   * compacted away (load again, then watch from the load's revision), and when the stream
   * fails or `signal` aborts; `break` cancels the watch.
   */
  async *watch(
    configPath: string,
    options?: GlobalConfigWatchOptions,
  ): AsyncGenerator<GlobalConfigWatchResponse, void, undefined> {
    const req: pdpb.WatchGlobalConfigRequest = { configPath, revision: options?.revision ?? 0n };
    const stream = this.#caller.stream('WatchGlobalConfig', options, pdClient, (rpc, signal) =>
      rpc.watchGlobalConfig(req, { signal }),
    );
    for await (const resp of stream) {
      const e = resp.header?.error;
      const err = e === undefined ? undefined : pdErrorFromWire(e);
      if (err !== undefined) throw err;
      yield { items: resp.changes.map(itemFromWire), revision: resp.revision };
    }
  }
}
