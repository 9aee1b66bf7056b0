import type { ApiVersion } from '../api-version.js';
import type { ClusterModel } from '../cluster/cluster-model.js';
import type { FaultRegistry } from '../faults/fault-registry.js';
import type { RawStore } from '../storage/raw-store.js';
import type { TxnDeps } from './txn-request-runner.js';

/** Size limits TiKV enforces on requests. */
export interface KvLimits {
  /** Largest key accepted by writes (TiKV's `max-key-size`, 8 KiB by default). */
  readonly maxKeySizeBytes: number;
  /** Largest write a region accepts in one raft entry (`raft-entry-max-size`, 8 MiB). */
  readonly raftEntryMaxSizeBytes: number;
  /** Most commands one BatchCommands message may carry before the stream is rejected. */
  readonly maxBatchCommands: number;
}

/** Everything a store's KV service reads and writes: shared by all stores of a cluster. */
export interface KvDeps {
  readonly model: ClusterModel;
  readonly raw: RawStore;
  readonly apiVersion: ApiVersion;
  readonly faults: FaultRegistry;
  readonly limits: KvLimits;
  /** The transactional storage (MVCC); without it the Kv* commands answer UNIMPLEMENTED. */
  readonly txn?: TxnDeps;
}
