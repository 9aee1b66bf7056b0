import { type BytesLike, invalidArgument, PdError, toBytes } from '@tikv/common';
import { meta_storagepb } from '@tikv/proto';
import type { CallOptions } from './call-options.js';
import type { PdConnections } from './pd-connections.js';
import type { PdRpcCaller } from './pd-rpc-caller.js';

/** A key-value of PD's meta storage (etcd's `mvccpb.KeyValue`). */
export interface MetaKeyValue {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** Revision of the key's latest creation (0 where PD does not copy it: Get, Put, Delete). */
  readonly createRevision: bigint;
  /** Revision of the key's latest change (0 where PD does not copy it). */
  readonly modRevision: bigint;
  /** Changes since the key's creation (0 where PD does not copy it, and in a deletion). */
  readonly version: bigint;
  /** The lease the key is attached to (0: none). */
  readonly lease: bigint;
}

/** The kinds of {@link MetaEvent}. */
export const MetaEventType = Object.freeze({ PUT: 'put', DELETE: 'delete' } as const);
/** One of the {@link MetaEventType} values. */
export type MetaEventType = (typeof MetaEventType)[keyof typeof MetaEventType];

/** One change a meta storage watch reports. */
export interface MetaEvent {
  readonly type: MetaEventType;
  /** The key-value after the change (for a deletion: the key, and the deletion's revision). */
  readonly kv: MetaKeyValue;
  /** The key-value before the change, when the watch asked for it (`prevKv`) and there was one. */
  readonly prevKv: MetaKeyValue | undefined;
}

/** One message of a meta storage watch (PD's `metastorage.WatchResponse`). */
export interface MetaWatchResponse {
  readonly events: readonly MetaEvent[];
  /**
   * When PD compacted past the watch's start revision: the revision to watch again from (the
   * stream ends after this message); 0 otherwise.
   */
  readonly compactRevision: bigint;
  /** The store revision when PD sent it. */
  readonly revision: bigint;
}

/** What {@link PdMetaStorage.get} finds. */
export interface MetaGetResult {
  /** The keys found, in key order (PD copies only keys and values). */
  readonly kvs: readonly MetaKeyValue[];
  /** Whether the range holds more keys than `limit` let through. */
  readonly more: boolean;
  /** How many keys the range holds (beyond `limit` too). */
  readonly count: bigint;
  /** The store revision of the read. */
  readonly revision: bigint;
}

/** What {@link PdMetaStorage.put} reports. */
export interface MetaPutResult {
  /** The key-value the put replaced, when asked for (`prevKv`) and there was one. */
  readonly prevKv: MetaKeyValue | undefined;
  /** The store revision after the put. */
  readonly revision: bigint;
}

/** The range of a meta storage read or watch (PD's `WithRangeEnd` and `WithPrefix`). */
export interface MetaRangeOptions {
  /**
   * The end of the range `[key, rangeEnd)`; `[0]` (one zero byte): every key from `key` on.
   * @defaultValue the single key `key`
   */
  readonly rangeEnd?: Uint8Array | undefined;
  /** Every key that starts with `key` (overrides `rangeEnd`). @defaultValue false */
  readonly prefix?: boolean | undefined;
}

/** Options of {@link PdMetaStorage.get}. */
export interface MetaGetOptions extends CallOptions, MetaRangeOptions {
  /** At most this many keys (0: all). @defaultValue 0 */
  readonly limit?: number | undefined;
  /** Read at this past store revision (0: the latest). @defaultValue 0n */
  readonly revision?: bigint | undefined;
}

/** Options of {@link PdMetaStorage.put}. */
export interface MetaPutOptions extends CallOptions {
  /** Report the key-value the put replaced. @defaultValue false */
  readonly prevKv?: boolean | undefined;
  /** Attach the key to this etcd lease (0n: none). @defaultValue 0n */
  readonly leaseId?: bigint | undefined;
}

/** Options of {@link PdMetaStorage.delete}. */
export interface MetaDeleteOptions extends CallOptions {
  /** Report the key-value deleted. @defaultValue false */
  readonly prevKv?: boolean | undefined;
}

/**
 * Options of {@link PdMetaStorage.watch}: `signal` ends the watch (the iteration rejects with
 * its reason), and `timeoutMs`, when given, bounds its whole life.
 */
export interface MetaWatchOptions extends CallOptions, MetaRangeOptions {
  /** Replay the changes from this store revision on (0n: only changes after the call). @defaultValue 0n */
  readonly startRevision?: bigint | undefined;
  /** Report each changed key's previous key-value. @defaultValue false */
  readonly prevKv?: boolean | undefined;
}

/**
 * The end of etcd's prefix range over `key` (etcd's `GetPrefixRangeEnd`, as PD's client uses it
 * for `WithPrefix`): the key with its last byte below 0xff incremented and the rest cut off; `[0]`
 * (every key) when there is none.
 *
 * @param key - the prefix
 * @returns the range end
 */
export function metaPrefixEnd(key: Uint8Array): Uint8Array {
  for (let i = key.length - 1; i >= 0; i--) {
    const b = key[i] as number;
    if (b < 0xff) {
      const end = key.slice(0, i + 1);
      end[i] = b + 1;
      return end;
    }
  }
  return Uint8Array.of(0);
}

function rangeEndOf(key: Uint8Array, o: MetaRangeOptions | undefined): Uint8Array {
  if (o?.prefix === true) return metaPrefixEnd(key);
  return o?.rangeEnd ?? new Uint8Array(0);
}

function kvFromWire(kv: meta_storagepb.KeyValue): MetaKeyValue {
  return {
    key: kv.key,
    value: kv.value,
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  };
}

function optionalKv(kv: meta_storagepb.KeyValue | undefined): MetaKeyValue | undefined {
  return kv === undefined ? undefined : kvFromWire(kv);
}

/** The meta storage header error types by wire number (`meta_storagepb.ErrorType`). */
const META_ERROR_TYPES = { 1: 'UNKNOWN', 2: 'DATA_COMPACTED' } as const;

/**
 * The error a meta storage response header carries (etcd's refusals come back as `UNKNOWN` with
 * etcd's text; a compacted watch start as `DATA_COMPACTED`), as a non-retryable `PdError`.
 *
 * @param header - the response header, if any
 */
export function metaHeaderError(header: meta_storagepb.ResponseHeader | undefined): PdError | undefined {
  const e = header?.error;
  if (e === undefined || e.type === meta_storagepb.ErrorType.OK) return undefined;
  const type = META_ERROR_TYPES[e.type as 1 | 2] ?? 'UNKNOWN';
  return new PdError(type, e.message);
}

const metaClient = (c: PdConnections, url: string) => c.metaStorage(url);

function checkKey(key: BytesLike, name: string): Uint8Array {
  if (typeof key !== 'string' && !(key instanceof Uint8Array)) {
    throw invalidArgument(name, 'a string or a Uint8Array', key);
  }
  const k = toBytes(key);
  if (k.length === 0) throw invalidArgument(name, 'a non-empty key', key);
  return k;
}

/**
 * PD's meta storage (`meta_storagepb.MetaStorage`, PD's Go `MetaStorageClient`): the etcd
 * key-value store PD serves to other components, read, written and watched through the PD
 * leader. Reached as `PdClient.metaStorage`. Unary calls follow the client's retry policy;
 * etcd's refusals reject with a `PdError` (`UNKNOWN`, etcd's text).
 *
 * @example
 * ```ts
 * await pd.metaStorage.put('/my/app/a', '1');
 * const { kvs } = await pd.metaStorage.get('/my/app/', { prefix: true });
 * for await (const { events } of pd.metaStorage.watch('/my/app/', { prefix: true, signal })) { ... }
 * ```
 */
export class PdMetaStorage {
  readonly #caller: PdRpcCaller;

  /** @internal */
  constructor(caller: PdRpcCaller) {
    this.#caller = caller;
  }

  #header(): meta_storagepb.RequestHeader {
    const h = this.#caller.header();
    return { clusterId: h.clusterId, source: h.callerId };
  }

  /**
   * Reads a key, or a range of keys (`rangeEnd`, `prefix`), optionally at a past revision.
   *
   * @throws InvalidArgumentError for an empty key
   * @throws PdError `UNKNOWN` when etcd refuses (a future or compacted revision)
   */
  async get(key: BytesLike, options?: MetaGetOptions): Promise<MetaGetResult> {
    const k = checkKey(key, 'key');
    const limit = options?.limit ?? 0;
    if (!Number.isSafeInteger(limit) || limit < 0) throw invalidArgument('limit', 'an integer >= 0', limit);
    const req: meta_storagepb.GetRequest = {
      header: this.#header(),
      key: k,
      rangeEnd: rangeEndOf(k, options),
      limit: BigInt(limit),
      revision: options?.revision ?? 0n,
    };
    const resp = await this.#caller.serviceCall(
      'MetaStorage.Get',
      options,
      metaClient,
      (rpc, signal) => rpc.get(req, { signal }),
      (r) => metaHeaderError(r.header),
    );
    return {
      kvs: resp.kvs.map(kvFromWire),
      more: resp.more,
      count: resp.count,
      revision: resp.header?.revision ?? 0n,
    };
  }

  /**
   * Writes a key.
   *
   * @throws InvalidArgumentError for an empty key
   * @throws PdError `UNKNOWN` when etcd refuses (an unknown lease)
   */
  async put(key: BytesLike, value: BytesLike, options?: MetaPutOptions): Promise<MetaPutResult> {
    const k = checkKey(key, 'key');
    const req: meta_storagepb.PutRequest = {
      header: this.#header(),
      key: k,
      value: toBytes(value),
      lease: options?.leaseId ?? 0n,
      prevKv: options?.prevKv ?? false,
    };
    const resp = await this.#caller.serviceCall(
      'MetaStorage.Put',
      options,
      metaClient,
      (rpc, signal) => rpc.put(req, { signal }),
      (r) => metaHeaderError(r.header),
    );
    return { prevKv: optionalKv(resp.prevKv), revision: resp.header?.revision ?? 0n };
  }

  /**
   * Deletes one key (PD's service deletes the key it names only; it has no range delete).
   *
   * @returns the deleted key-value when `prevKv` was asked for and the key existed
   * @throws InvalidArgumentError for an empty key
   */
  async delete(key: BytesLike, options?: MetaDeleteOptions): Promise<MetaKeyValue | undefined> {
    const k = checkKey(key, 'key');
    const req: meta_storagepb.DeleteRequest = {
      header: this.#header(),
      key: k,
      rangeEnd: new Uint8Array(0),
      prevKv: options?.prevKv ?? false,
    };
    const resp = await this.#caller.serviceCall(
      'MetaStorage.Delete',
      options,
      metaClient,
      (rpc, signal) => rpc.delete(req, { signal }),
      (r) => metaHeaderError(r.header),
    );
    return optionalKv(resp.prevKvs[0]);
  }

  /**
   * Watches a key or a range: every change, from `startRevision` (replayed) or from now on, one
   * message per batch of changes. The iteration ends when PD ends the stream (after a
   * `compactRevision` message) and rejects when the stream fails or `signal` aborts; `break`
   * cancels the watch.
   *
   * @throws InvalidArgumentError for an empty key (on the first iteration)
   */
  async *watch(
    key: BytesLike,
    options?: MetaWatchOptions,
  ): AsyncGenerator<MetaWatchResponse, void, undefined> {
    const k = checkKey(key, 'key');
    const req: meta_storagepb.WatchRequest = {
      header: this.#header(),
      key: k,
      rangeEnd: rangeEndOf(k, options),
      startRevision: options?.startRevision ?? 0n,
      prevKv: options?.prevKv ?? false,
    };
    const stream = this.#caller.stream('MetaStorage.Watch', options, metaClient, (rpc, signal) =>
      rpc.watch(req, { signal }),
    );
    for await (const resp of stream) {
      const err = metaHeaderError(resp.header);
      const compacted = err?.pdErrorType === 'DATA_COMPACTED';
      if (err !== undefined && !compacted) throw err;
      yield {
        events: resp.events.map((e) => ({
          type: e.type === meta_storagepb.Event_EventType.DELETE ? MetaEventType.DELETE : MetaEventType.PUT,
          kv: kvFromWire(e.kv ?? EMPTY_KV),
          prevKv: optionalKv(e.prevKv),
        })),
        compactRevision: compacted ? resp.compactRevision : 0n,
        revision: resp.header?.revision ?? 0n,
      };
    }
  }
}

const EMPTY_KV: meta_storagepb.KeyValue = {
  key: new Uint8Array(0),
  value: new Uint8Array(0),
  createRevision: 0n,
  modRevision: 0n,
  version: 0n,
  lease: 0n,
};
