/**
 * Execution details of one call: what the client spent (RPCs, backoff, retries, region errors)
 * and what the stores reported doing (`kvrpcpb.ExecDetailsV2`). The shapes follow client-go's
 * `util.ExecDetails`, `util.TimeDetail`, `util.ScanDetail`, `util.WriteDetail`,
 * `util.CommitDetails` and `locate.RegionRequestRuntimeStats`; durations carry their unit in
 * their name (milliseconds on the client side, nanoseconds from the store).
 */

/** Time spent in TiKV on the requests of a call, summed over responses (client-go `TimeDetail`). */
export interface TimeDetail {
  /**
   * Wall time spent processing the request payloads, in nanoseconds (TiKV
   * `process_wall_time`); close to CPU time, waits excluded.
   */
  readonly processTimeNs: number;
  /** Time a coprocessor task spent suspended (yielding), in nanoseconds. */
  readonly suspendTimeNs: number;
  /** Off-CPU wall time in TiKV (queueing and other waits), in nanoseconds. */
  readonly waitTimeNs: number;
  /** Time spent in the KV get or scan itself, in nanoseconds (for a get: almost the gRPC time). */
  readonly kvReadWallTimeNs: number;
  /** Time from TiKV receiving a request to starting to handle it, in nanoseconds. */
  readonly kvGrpcProcessTimeNs: number;
  /** Time from a response being ready to its sending, in nanoseconds. */
  readonly kvGrpcWaitTimeNs: number;
  /** Total wall time of the RPCs inside TiKV, in nanoseconds. */
  readonly totalRpcWallTimeNs: number;
}

/** What TiKV's storage read for a call, summed over responses (client-go `ScanDetail`). */
export interface ScanDetail {
  /** MVCC versions met while reading, deleted versions included (TiKV `total_versions`). */
  readonly totalKeys: number;
  /** User keys read, deleted versions excluded (TiKV `processed_versions`). */
  readonly processedKeys: number;
  /** Bytes of the user key-value pairs read (TiKV `processed_versions_size`). */
  readonly processedKeysSize: number;
  /** RocksDB tombstones skipped while iterating. */
  readonly rocksdbDeleteSkippedCount: number;
  /** Internal RocksDB keys skipped while iterating. */
  readonly rocksdbKeySkippedCount: number;
  /** RocksDB block cache hits. */
  readonly rocksdbBlockCacheHitCount: number;
  /** RocksDB block reads that went to disk. */
  readonly rocksdbBlockReadCount: number;
  /** Bytes of those block reads. */
  readonly rocksdbBlockReadBytes: number;
  /** Time spent in those block reads, in nanoseconds. */
  readonly rocksdbBlockReadNs: number;
  /** Time spent getting an engine snapshot, in nanoseconds. */
  readonly getSnapshotNs: number;
  /** In-memory-engine (IA) segment cache hits. */
  readonly iaCacheHitCount: number;
  /** IA segments read remotely. */
  readonly iaRemoteReadSegmentCount: number;
  /** Bytes those remote segment reads returned. */
  readonly iaRemoteReadSegmentBytes: number;
  /** Time serving those remote segment reads, in nanoseconds. */
  readonly iaRemoteReadSegmentNs: number;
}

/** Where TiKV spent the time of a call's writes, summed over responses (client-go `WriteDetail`). */
export interface WriteDetail {
  /** Wait in the raftstore store loop, in nanoseconds. */
  readonly storeBatchWaitNs: number;
  /** Wait before the proposal is sent to the peers, in nanoseconds. */
  readonly proposeSendWaitNs: number;
  /** Time persisting the Raft log, in nanoseconds. */
  readonly persistLogNs: number;
  /** Wait to become the Raft DB write leader, in nanoseconds. */
  readonly raftDbWriteLeaderWaitNs: number;
  /** Time syncing the Raft log to disk, in nanoseconds. */
  readonly raftDbSyncLogNs: number;
  /** Time writing the Raft log to the Raft memtable, in nanoseconds. */
  readonly raftDbWriteMemtableNs: number;
  /** Time waiting for the peers to confirm the proposal, in nanoseconds. */
  readonly commitLogNs: number;
  /** Wait in the apply loop, in nanoseconds. */
  readonly applyBatchWaitNs: number;
  /** Time applying the log, in nanoseconds. */
  readonly applyLogNs: number;
  /** Wait for the KV RocksDB mutex, in nanoseconds. */
  readonly applyMutexLockNs: number;
  /** Wait to become the KV RocksDB write leader, in nanoseconds. */
  readonly applyWriteLeaderWaitNs: number;
  /** Time writing the KV RocksDB WAL, in nanoseconds. */
  readonly applyWriteWalNs: number;
  /** Time writing the KV RocksDB memtable, in nanoseconds. */
  readonly applyWriteMemtableNs: number;
  /** Wait for the scheduler's latches, in nanoseconds. */
  readonly schedulerLatchWaitNs: number;
  /** Time processing the write command in the scheduler, in nanoseconds. */
  readonly schedulerProcessNs: number;
  /** Time throttled in the scheduler, in nanoseconds. */
  readonly schedulerThrottleNs: number;
  /** Time waiting for pessimistic locks in the scheduler, in nanoseconds. */
  readonly schedulerPessimisticLockWaitNs: number;
}

/** The RPCs of one command in a call (client-go `RPCRuntimeStats`). */
export interface RpcStats {
  /** Attempts sent, retries included. */
  readonly count: number;
  /** Their summed wall time in the client, from send to response or failure, in milliseconds. */
  readonly timeMs: number;
  /** Distinct regions that answered the command without a region error. */
  readonly regionCount: number;
}

/**
 * The execution details of one call (client-go `util.ExecDetails` with the snapshot's
 * `RegionRequestRuntimeStats`, backoff maps and TiKV details). Counts and times cover every
 * request the call made, those of concurrent batches summed.
 */
export interface ExecDetails {
  /** Backoff sleeps over all kinds (client-go `BackoffCount`). */
  readonly backoffCount: number;
  /** Time slept in backoff over all kinds, in milliseconds (client-go `BackoffDuration`). */
  readonly backoffMs: number;
  /** Backoff sleeps by kind name (`regionMiss`, `tikvRPC`, `txnLock`...). */
  readonly backoffCountByKind: Readonly<Record<string, number>>;
  /** Time slept in backoff by kind name, in milliseconds (client-go `backoffSleepMS`). */
  readonly backoffMsByKind: Readonly<Record<string, number>>;
  /** RPC attempts sent to TiKV, retries included. */
  readonly rpcCount: number;
  /** Summed wall time of those attempts, in milliseconds (client-go `WaitKVRespDuration`). */
  readonly rpcTimeMs: number;
  /** The attempts by command (`Get`, `Prewrite`, `RawGet`...). */
  readonly rpcByCommand: Readonly<Record<string, RpcStats>>;
  /**
   * Attempts sent as retries of a request, after a region error or a failed send on an earlier
   * attempt (those TiKV sees with `Context.isRetryRequest`).
   */
  readonly retries: number;
  /**
   * Region errors and transport failures by label (`not_leader`, `epoch_not_match`,
   * `server_is_busy`, `rpc:UNAVAILABLE`...), at most 16 labels (client-go `ErrStats`).
   */
  readonly requestErrors: Readonly<Record<string, number>>;
  /** Errors past the 16th distinct label (client-go `OtherErrCnt`). */
  readonly otherErrorCount: number;
  /**
   * Time resolving the locks the call met, in milliseconds (client-go `ResolveLockDetail`):
   * checking their transactions' status and cleaning them up, waits included.
   */
  readonly resolveLockMs: number;
  /** Responses that carried TiKV's execution details. */
  readonly storeDetailCount: number;
  /** TiKV's time details, summed. */
  readonly timeDetail: TimeDetail;
  /** TiKV's scan details, summed. */
  readonly scanDetail: ScanDetail;
  /** TiKV's write details, summed (prewrite, commit, pessimistic lock). */
  readonly writeDetail: WriteDetail;
}

/**
 * The details of one commit (client-go `util.CommitDetails`). Durations are client-side wall
 * times in milliseconds; `exec` holds every RPC of the commit, its backoff and what TiKV reported.
 *
 * A pipelined transaction's commit reports them too. Its prewrite phase is the flushing the
 * commit does: it flushes the last generation as locks (`Flush` requests) and waits for the
 * flush in flight, then fetches the commit ts and commits the primary; the flushed range is
 * resolved in the background, after the details. client-go hands such a commit its
 * `CommitDetails` as well but fills little of it (the flushes' lock resolution, the primary's
 * commit request); here every field is filled with its pipelined counterpart:
 *
 * - `prewriteMs`, `prewriteBackoffKinds`, `prewriteRequestCount`, `prewriteRegionCount`: that
 *   flushing, its sleeps, its `Flush` requests and their regions. Flushes started before
 *   `commit()` was called (the earlier generations) are not counted there, nor in `exec` and
 *   `resolveLockMs`.
 * - `writeKeys`, `writeSizeBytes`: the mutations of every generation and their bytes.
 * - `getCommitTsMs`, `commitMs`, `commitBackoffKinds`: the commit ts, the primary's `Commit`.
 * - `getLatestTsMs`, `localLatchWaitMs`: 0 (no async commit, no 1PC, no local latches).
 */
export interface CommitDetails {
  /** Time getting the commit timestamp from PD, in milliseconds. */
  readonly getCommitTsMs: number;
  /**
   * Time getting the latest timestamp from PD before an async commit or 1PC prewrite, in
   * milliseconds (client-go `GetLatestTsTime`: the min commit ts must exceed every snapshot
   * taken before); 0 when none was fetched (2PC, or causal consistency).
   */
  readonly getLatestTsMs: number;
  /**
   * Time waiting for this client's local latches of the keys, in milliseconds (client-go
   * `LocalLatchTime`); 0 without local latches (and for pessimistic and pipelined transactions,
   * which bypass them).
   */
  readonly localLatchWaitMs: number;
  /**
   * Time of the prewrite phase (1PC and async commit included), in milliseconds; for a
   * pipelined transaction, the flushing its commit does.
   */
  readonly prewriteMs: number;
  /** Time committing the primary (what the caller waits for), in milliseconds; 0 without a commit phase. */
  readonly commitMs: number;
  /** Time slept in backoff during prewrite and commit, in milliseconds (client-go `CommitBackoffTime`). */
  readonly commitBackoffMs: number;
  /** The backoff kinds of the prewrite phase, one entry a sleep, in order. */
  readonly prewriteBackoffKinds: readonly string[];
  /** The backoff kinds of the commit phase, one entry a sleep, in order. */
  readonly commitBackoffKinds: readonly string[];
  /** Regions the prewrite phase wrote to (pipelined: regions of the commit's `Flush` requests). */
  readonly prewriteRegionCount: number;
  /** Prewrite requests sent (pipelined: the commit's `Flush` requests). */
  readonly prewriteRequestCount: number;
  /** Keys written (pipelined: over every generation). */
  readonly writeKeys: number;
  /** Bytes written, keys and values (pipelined: over every generation). */
  readonly writeSizeBytes: number;
  /**
   * Time resolving locks met by prewrite (pipelined: by the commit's flushes), in milliseconds
   * (client-go `ResolveLock.ResolveLockTime`).
   */
  readonly resolveLockMs: number;
  /** The commit's execution details (RPCs, retries, errors, TiKV's write details). */
  readonly exec: ExecDetails;
}

/**
 * The details of one `lockKeys` call (client-go `util.LockKeysDetails`). Durations are
 * client-side wall times in milliseconds; `exec` holds every request of the call (PessimisticLock
 * and the lock resolution's), its backoff and what TiKV reported (lock wait included).
 */
export interface LockKeysDetails {
  /** Time of the whole call, in milliseconds (client-go `TotalTime`). */
  readonly totalMs: number;
  /** Regions the PessimisticLock requests were answered by (client-go `RegionNum`). */
  readonly regionCount: number;
  /**
   * Keys the call had to lock: the given keys, deduplicated, less those the transaction already
   * held (client-go `LockKeys`); 0 in an optimistic transaction, which locks nothing in TiKV.
   */
  readonly lockKeys: number;
  /**
   * In an aggressive locking stage, keys locked by this call's requests (client-go
   * `AggressiveLockNewCount`); 0 outside one.
   */
  readonly aggressiveLockNewCount: number;
  /**
   * In an aggressive locking stage, keys whose lock from the stage's previous attempt was kept
   * without a request (client-go `AggressiveLockDerivedCount`); 0 outside one.
   */
  readonly aggressiveLockDerivedCount: number;
  /**
   * In an aggressive locking stage, keys locked over a newer commit (client-go
   * `LockedWithConflictCount`); 0 outside one.
   */
  readonly lockedWithConflictCount: number;
  /** Time resolving the locks the requests met, in milliseconds (client-go `ResolveLock.ResolveLockTime`). */
  readonly resolveLockMs: number;
  /** Time slept in backoff, in milliseconds (client-go `BackoffTime`). */
  readonly backoffMs: number;
  /** The backoff kinds slept with, one entry a sleep, in order (client-go `BackoffTypes`). */
  readonly backoffKinds: readonly string[];
  /** Summed wall time of the PessimisticLock attempts, in milliseconds (client-go `LockRPCTime`). */
  readonly lockRpcTimeMs: number;
  /** PessimisticLock attempts sent, retries included (client-go `LockRPCCount`). */
  readonly lockRpcCount: number;
  /**
   * Times the call locked again at a newer for-update ts after a write conflict (what client-go
   * counts in `RetryCount` when TiDB merges the details of a statement's retries).
   */
  readonly retryCount: number;
  /** The call's execution details (every request, backoff, errors, TiKV's details). */
  readonly exec: ExecDetails;
}

/** Asks a `lockKeys` call for its {@link LockKeysDetails}. Nothing is collected when unset. */
export interface LockKeysDetailsOptions {
  /**
   * Receives the call's lock details once, when the call settles (resolved or rejected). Errors
   * thrown by the callback are ignored. @defaultValue none: nothing is collected
   */
  readonly onLockDetails?: ((details: LockKeysDetails) => void) | undefined;
}

/** Asks a call for its {@link ExecDetails}. Nothing is collected when unset. */
export interface ExecDetailsOptions {
  /**
   * Receives the call's execution details once, when the call settles (resolved or rejected).
   * Errors thrown by the callback are ignored. @defaultValue none: nothing is collected
   */
  readonly onDetails?: ((details: ExecDetails) => void) | undefined;
}

/** Asks a commit for its {@link CommitDetails}. Nothing is collected when unset. */
export interface CommitDetailsOptions {
  /**
   * Receives the commit's details once, when the commit settles (resolved or rejected), a
   * pipelined transaction's included (see {@link CommitDetails} for what its fields mean there).
   * Errors thrown by the callback are ignored. @defaultValue none: nothing is collected
   */
  readonly onCommitDetails?: ((details: CommitDetails) => void) | undefined;
}
