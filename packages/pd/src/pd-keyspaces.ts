import { invalidArgument, PdError } from '@tikv/common';
import { keyspacepb } from '@tikv/proto';
import type { CallOptions } from './call-options.js';
import { errorFromHeader } from './pd-errors.js';
import type { PdRpcCaller } from './pd-rpc-caller.js';

/** Options of {@link PdKeyspaces.getAllKeyspaces}. */
export interface GetAllKeyspacesOptions {
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
  /** The first keyspace id to list. @defaultValue 0 */
  readonly startId?: number | undefined;
  /** At most this many keyspaces (0: PD's page size). @defaultValue 0 */
  readonly limit?: number | undefined;
}

function checkKeyspaceId(id: unknown): void {
  if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id > 0xffffffff) {
    throw invalidArgument('id', 'a uint32 keyspace id', id);
  }
}

/**
 * The keyspace part of the PD client (PD's Go `KeyspaceClient`): keyspace metadata and
 * administration from PD's keyspace service (`keyspacepb.Keyspace`) on the leader, with the
 * client's retry policy. Reached as `PdClient.keyspaces`; it satisfies `@tikv/keyspace`'s
 * `KeyspaceSource`.
 */
export class PdKeyspaces {
  readonly #caller: PdRpcCaller;

  /** @internal */
  constructor(caller: PdRpcCaller) {
    this.#caller = caller;
  }

  /**
   * Loads a keyspace's meta by name (`LoadKeyspace`).
   *
   * @throws PdError of type `ENTRY_NOT_FOUND` for an unknown keyspace
   */
  async loadKeyspace(name: string, options?: CallOptions): Promise<keyspacepb.KeyspaceMeta> {
    if (typeof name !== 'string') throw invalidArgument('name', 'a string', name);
    const caller = this.#caller;
    const resp = await caller.keyspaceCall('LoadKeyspace', options, (rpc, signal) =>
      rpc.loadKeyspace({ header: caller.header(), name }, { signal }),
    );
    if (resp.keyspace === undefined) throw new PdError('ENTRY_NOT_FOUND', `keyspace ${name} not found`);
    return resp.keyspace;
  }

  /**
   * Loads a keyspace's meta by id (`LoadKeyspaceByID`).
   *
   * @throws PdError of type `ENTRY_NOT_FOUND` for an unknown keyspace
   */
  async loadKeyspaceById(id: number, options?: CallOptions): Promise<keyspacepb.KeyspaceMeta> {
    checkKeyspaceId(id);
    const caller = this.#caller;
    const resp = await caller.keyspaceCall('LoadKeyspaceByID', options, (rpc, signal) =>
      rpc.loadKeyspaceByID({ header: caller.header(), keyspace: { $case: 'id', value: id } }, { signal }),
    );
    if (resp.keyspace === undefined) throw new PdError('ENTRY_NOT_FOUND', `keyspace ${id} not found`);
    return resp.keyspace;
  }

  /**
   * Moves a keyspace to another state (`UpdateKeyspaceState`). PD allows ENABLED <-> DISABLED,
   * DISABLED -> ARCHIVED, ARCHIVED -> TOMBSTONE, and any state to itself.
   *
   * @returns the keyspace's meta after the change
   * @throws PdError `ENTRY_NOT_FOUND` for an unknown keyspace; `UNKNOWN` for a transition PD
   *   refuses or for the default keyspace (which cannot change)
   */
  async updateKeyspaceState(
    id: number,
    state: keyspacepb.KeyspaceState,
    options?: CallOptions,
  ): Promise<keyspacepb.KeyspaceMeta> {
    checkKeyspaceId(id);
    if (keyspacepb.KeyspaceState[state] === undefined || state === keyspacepb.KeyspaceState.UNRECOGNIZED) {
      throw invalidArgument('state', 'a keyspacepb.KeyspaceState', state);
    }
    const caller = this.#caller;
    const resp = await caller.keyspaceCall('UpdateKeyspaceState', options, (rpc, signal) =>
      rpc.updateKeyspaceState(
        { header: caller.header(), keyspace: { $case: 'id', value: id }, state },
        { signal },
      ),
    );
    if (resp.keyspace === undefined) throw new PdError('ENTRY_NOT_FOUND', `keyspace ${id} not found`);
    return resp.keyspace;
  }

  /** Lists keyspaces by id from `startId` (`GetAllKeyspaces`; the default keyspace included). */
  async getAllKeyspaces(options?: GetAllKeyspacesOptions): Promise<keyspacepb.KeyspaceMeta[]> {
    const startId = options?.startId ?? 0;
    checkKeyspaceId(startId);
    const limit = options?.limit ?? 0;
    if (!Number.isInteger(limit) || limit < 0 || limit > 0xffffffff) {
      throw invalidArgument('limit', 'a uint32', limit);
    }
    const caller = this.#caller;
    const resp = await caller.keyspaceCall('GetAllKeyspaces', options, (rpc, signal) =>
      rpc.getAllKeyspaces(
        { header: caller.header(), startKeyspace: { $case: 'startId', value: startId }, limit },
        { signal },
      ),
    );
    return resp.keyspaces;
  }

  /**
   * Watches every keyspace (`WatchKeyspaces`): the first message lists them all, each later one
   * the keyspaces that changed (created, or their state or config). PD's Go client leaves this
   * unimplemented; PD's server serves it. `break` or `signal` ends the watch.
   */
  async *watchKeyspaces(options?: CallOptions): AsyncGenerator<keyspacepb.KeyspaceMeta[], void, undefined> {
    const caller = this.#caller;
    const stream = caller.stream(
      'WatchKeyspaces',
      options,
      (c, url) => c.keyspace(url),
      (rpc, signal) => rpc.watchKeyspaces({ header: caller.header() }, { signal }),
    );
    for await (const resp of stream) {
      const err = errorFromHeader(resp.header, 0n);
      if (err !== undefined) throw err;
      yield resp.keyspaces;
    }
  }
}
