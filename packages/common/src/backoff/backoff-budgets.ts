/**
 * client-go's backoff budgets per operation, in milliseconds, before the
 * backoffer's weight (2 by default) multiplies them. Pass one as a
 * `Backoffer`'s `maxBackoffMs` to keep client-go's retry horizon.
 */
export const MAX_BACKOFF_MS = Object.freeze({
  /** Raw KV operations (rawkv `rawkvMaxBackoff`). */
  rawkv: 20000,
  /** Transactional point get (`getMaxBackoff`). */
  get: 20000,
  /** Transactional batch get (`batchGetMaxBackoff`). */
  batchGet: 20000,
  /** One page of a transactional scan (`scannerNextMaxBackoff`). */
  scan: 20000,
  /** Prewrite (`PrewriteMaxBackoff`). */
  prewrite: 40000,
  /** Commit of the primary (`CommitMaxBackoff`). */
  commit: 40000,
  /** Commit of secondaries (`CommitSecondaryMaxBackoff`). */
  commitSecondary: 41000,
  /** Cleanup after a failed commit (`cleanupMaxBackoff`). */
  cleanup: 20000,
  /** Acquiring pessimistic locks (`pessimisticLockMaxBackoff`). */
  pessimisticLock: 20000,
  /** Rolling back pessimistic locks (`pessimisticRollbackMaxBackoff`). */
  pessimisticRollback: 20000,
  /** TTL heartbeats of a large transaction (`keepAliveMaxBackoff`). */
  keepAlive: 20000,
  /** Broadcasting to all stores (`broadcastMaxBackoff`). */
  broadcast: 10000,
  /** Fetching a timestamp (`TsoMaxBackoff`). */
  tso: 15000,
  /** Checking a transaction's status while resolving a lock (`getTxnStatusMaxBackoff`). */
  getTxnStatus: 20000,
  /** Resolving locks asynchronously (`asyncResolveLockMaxBackoff`). */
  asyncResolveLock: 40000,
  /** Resolving locks during GC (`gcResolveLockMaxBackoff`). */
  gcResolveLock: 100000,
  /** Locating a region for a range task (`locateRegionMaxBackoff`). */
  locateRegion: 20000,
  /** Deleting a range in one region (`deleteRangeOneRegionMaxBackoff`). */
  deleteRangeOneRegion: 100000,
  /** Splitting one region (`splitRegionBackoff`). */
  splitRegion: 20000,
  /** Splitting many regions (`maxSplitRegionsBackoff`). */
  splitRegions: 120000,
  /** Waiting for scatter to finish (`waitScatterRegionFinishBackoff`). */
  waitScatterRegion: 120000,
} as const);
