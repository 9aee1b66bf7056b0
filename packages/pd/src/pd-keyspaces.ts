import { invalidArgument, PdError } from '@tikv/common';
import type { keyspacepb } from '@tikv/proto';
import type { CallOptions } from './call-options.js';
import type { PdRpcCaller } from './pd-rpc-caller.js';

/**
 * The keyspace part of the PD client: keyspace metadata from PD's keyspace service
 * (`keyspacepb.Keyspace`) on the leader, with the client's retry policy. Reached as
 * `PdClient.keyspaces`; it satisfies `@tikv/keyspace`'s `KeyspaceSource`.
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
    const caller = this.#caller;
    const resp = await caller.keyspaceCall('LoadKeyspaceByID', options, (rpc, signal) =>
      rpc.loadKeyspaceByID({ header: caller.header(), keyspace: { $case: 'id', value: id } }, { signal }),
    );
    if (resp.keyspace === undefined) throw new PdError('ENTRY_NOT_FOUND', `keyspace ${id} not found`);
    return resp.keyspace;
  }
}
