/**
 * `@tikv/txn`: the transactional client of the TiKV TypeScript client (client-go's `txnkv`).
 *
 * It holds the transaction's write buffer ({@link MemBuffer}, client-go's `unionstore.MemDB`),
 * the read path that merges it over a snapshot ({@link UnionStore}), the snapshot itself
 * ({@link Snapshot}, client-go's `txnsnapshot.KVSnapshot`), the lock resolver
 * ({@link LockResolver}, client-go's `txnlock.LockResolver`) and the committer
 * ({@link TwoPhaseCommitter}, client-go's `twoPhaseCommitter`: 2PC, async commit, 1PC).
 *
 * @packageDocumentation
 */

export type {
  AdminOperator,
  AdminOracle,
  AdminPd,
  AdminPeer,
  AdminRegionInfo,
} from './admin/admin-deps.js';
export {
  ClusterAdmin,
  type ClusterAdminParts,
  type RegionDescription,
  type RegionPeer,
  type RegionsInRangeOptions,
} from './admin/cluster-admin.js';
export {
  FLASHBACK_REGION_MAX_BACKOFF_MS,
  type FlashbackOptions,
  type FlashbackParts,
  type FlashbackResult,
  flashbackToVersion,
} from './admin/flashback.js';
export {
  getMinSafeTs,
  getStoreSafeTs,
  type MinSafeTs,
  STORE_SAFE_TS_TIMEOUT_MS,
  type StoreSafeTs,
} from './admin/min-safe-ts.js';
export {
  MAX_SPLIT_REGIONS_BACKOFF_MS,
  SPLIT_BATCH_REGION_LIMIT,
  SPLIT_REGION_BACKOFF_MS,
  type SplitParts,
  type SplitRegionsOptions,
  type SplitRegionsResult,
  splitRegions,
  WAIT_SCATTER_REGION_FINISH_BACKOFF_MS,
  type WaitScatterOptions,
  waitScatterRegionFinish,
} from './admin/split-regions.js';
export { LatchLock, LocalLatches } from './client/local-latches.js';
export {
  Transaction,
  type TransactionScanOptions,
  TransactionState,
} from './client/transaction.js';
export {
  type DeleteRangeOptions,
  isRetryableTxnError,
  TransactionClient,
  type TransactionClientParts,
  type TxnClusterParts,
} from './client/transaction-client.js';
export {
  type BeginOptions,
  type ClientSnapshotOptions,
  type CommitCallOptions,
  type CommitOutcome,
  DEFAULT_TRANSACTION_CLIENT_OPTIONS,
  type Isolation,
  type RunOptions,
  type StaleReadOption,
  type TransactionClientOptions,
  type TransactionClientTuning,
} from './client/transaction-options.js';
export {
  TXN_COMMIT_CHANNEL,
  TXN_HEARTBEAT_CHANNEL,
  type TxnCommitEvent,
  type TxnHeartbeatEvent,
} from './commit/commit-diagnostics.js';
export {
  AssertionLevel,
  type CommitKeyFilter,
  type CommitOptions,
  type CommitTuning,
  DEFAULT_COMMIT_OPTIONS,
} from './commit/commit-options.js';
export { CommitProtocol, type CommitResult } from './commit/commit-result.js';
export { DEFAULT_LOCK_TTL_MS, type TxnLockTtlOptions, txnLockTtlMs } from './commit/lock-ttl.js';
export type { MutationCounts } from './commit/mutations.js';
export { TtlManagerState } from './commit/ttl-manager.js';
export {
  commitBuffer,
  TwoPhaseCommitter,
  type TwoPhaseCommitterOptions,
} from './commit/two-phase-committer.js';
export {
  type BatchLockResolving,
  type GcBarrier,
  type GcSafePointAdvance,
  type GcStatesApi,
  type GcStateView,
  gcKeyspaceIdOf,
  NULL_KEYSPACE_ID,
  type TxnSafePointAdvance,
} from './gc/gc-deps.js';
export {
  type GcOptions,
  type GcProgress,
  type GcResult,
  GcWorker,
  type GcWorkerParts,
  type ResolveLocksStats,
} from './gc/gc-worker.js';
export {
  BaseRegionLockResolver,
  type BaseRegionLockResolverParts,
  GC_RESOLVE_LOCK_MAX_BACKOFF_MS,
  GC_SCAN_LOCK_LIMIT,
  type RegionLockResolver,
  type RegionLocks,
  type ResolveLocksForRangeOptions,
  resolveLocksForRange,
} from './gc/region-lock-resolver.js';
export { TxnAbortedByGcError } from './gc/txn-aborted-by-gc-error.js';
export {
  DEFAULT_TXN_SAFE_POINT_CACHE_OPTIONS,
  TxnSafePointCache,
  type TxnSafePointCacheOptions,
  type TxnSafePointCacheTuning,
} from './gc/txn-safe-point-cache.js';
export type { KvPair } from './kv-pair.js';
export { NonAsyncCommitLockError } from './lock-resolver/async-commit-recovery.js';
export {
  type CheckTxnStatusOptions,
  type GetTxnStatusOptions,
  LockResolver,
  type SecondaryLocksCheck,
} from './lock-resolver/lock-resolver.js';
export { LOCK_RESOLVE_CHANNEL, type LockResolveEvent } from './lock-resolver/lock-resolver-diagnostics.js';
export {
  DEFAULT_LOCK_RESOLVER_OPTIONS,
  LOCK_RESOLVER_METRIC,
  type LockResolverOptions,
  type LockResolverTuning,
} from './lock-resolver/lock-resolver-options.js';
export {
  TXN_ACTION_NAMES,
  TxnAction,
  TxnStatus,
  type TxnStatusFields,
} from './lock-resolver/txn-status.js';
export { MAX_KEY_LENGTH as MAX_BUFFER_KEY_BYTES } from './membuffer/art-layout.js';
export {
  applyFlagsOp,
  applyFlagsOps,
  FlagsOp,
  KeyFlags,
  PERSISTENT_KEY_FLAGS,
} from './membuffer/key-flags.js';
export {
  MemBuffer,
  type MemBufferCheckpoint,
  type MemBufferIterOptions,
} from './membuffer/mem-buffer.js';
export type { MemBufferIterator } from './membuffer/mem-buffer-iterator.js';
export {
  DEFAULT_MEM_BUFFER_LIMITS,
  type MemBufferLimits,
  type MemBufferOptions,
} from './membuffer/mem-buffer-options.js';
export type { MemBufferSnapshot, MemBufferSnapshotIterOptions } from './membuffer/mem-buffer-snapshot.js';
export type { LockKeysOptions, LockKeysResult, LockRequestTagger } from './pessimistic/lock-keys-options.js';
export type { LockedValue } from './pessimistic/pessimistic-lock.js';
export {
  type BufferBatchGetter,
  type FlushFn,
  type FlushThresholds,
  PipelinedMemBuffer,
  type PipelinedMemBufferOptions,
} from './pipelined/pipelined-mem-buffer.js';
export { DEFAULT_PIPELINED_OPTIONS, type PipelinedOptions } from './pipelined/pipelined-options.js';
export {
  TXN_STATUS_BROADCAST_CHANNEL,
  type TxnStatusBroadcastEvent,
  type TxnStatusReport,
} from './pipelined/txn-status-broadcast.js';
export {
  DELETE_RANGE_ONE_REGION_MAX_BACKOFF_MS,
  DeleteRangeTask,
  type DeleteRangeTaskOptions,
} from './range-task/delete-range-task.js';
export {
  DEFAULT_RANGE_TASK_OPTIONS,
  type RangeTaskHandler,
  type RangeTaskProgress,
  type RangeTaskResult,
  RangeTaskRunner,
  type RangeTaskRunnerOptions,
  type RangeTaskRunnerTuning,
  type RegionBatchLoader,
} from './range-task/range-task-runner.js';
export { RangeTaskFailure, type RangeTaskStat, type TaskRange } from './range-task/range-task-stat.js';
export {
  isTiFlashStore,
  liveTiKVStores,
  type StoreLister,
  type StoreParts,
  type StoreRecord,
  type StoreSender,
} from './range-task/store-deps.js';
export { UNSAFE_DESTROY_RANGE_TIMEOUT_MS, unsafeDestroyRange } from './range-task/unsafe-destroy-range.js';
export { Snapshot, type SnapshotParts } from './snapshot/snapshot.js';
export {
  DEFAULT_BATCH_GET_SIZE,
  DEFAULT_SCAN_BATCH_SIZE,
  DEFAULT_SNAPSHOT_OPTIONS,
  type ReplicaReadAdjuster,
  type ReplicaReadAdjustment,
  type ResolvedSnapshotOptions,
  SNAPSHOT_READ_MAX_BACKOFF_MS,
  type SnapshotOptions,
  type SnapshotReadOptions,
  type SnapshotScanOptions,
} from './snapshot/snapshot-options.js';
export type {
  LockResolving,
  ResolveLocksOptions,
  ResolveLocksResult,
  TxnOracle,
  TxnParts,
  TxnStores,
} from './txn-deps.js';
export type { SnapshotIterateOptions, SnapshotReader } from './union-store/snapshot-reader.js';
export { type UnionScanOptions, UnionStore, unionIterate } from './union-store/union-store.js';
export type { ValueEntry } from './value-entry.js';
