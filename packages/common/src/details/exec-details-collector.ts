import type {
  ExecDetails,
  ExecDetailsOptions,
  LockKeysDetails,
  RpcStats,
  ScanDetail,
  TimeDetail,
  WriteDetail,
} from './exec-details.js';

/** `kvrpcpb.TimeDetail` as the collector reads it (the older, millisecond fields). */
export interface WireTimeDetail {
  readonly waitWallTimeMs: bigint;
  readonly processWallTimeMs: bigint;
  readonly kvReadWallTimeMs: bigint;
  readonly totalRpcWallTimeNs: bigint;
}

/** `kvrpcpb.TimeDetailV2` as the collector reads it. */
export interface WireTimeDetailV2 {
  readonly waitWallTimeNs: bigint;
  readonly processWallTimeNs: bigint;
  readonly processSuspendWallTimeNs: bigint;
  readonly kvReadWallTimeNs: bigint;
  readonly totalRpcWallTimeNs: bigint;
  readonly kvGrpcProcessTimeNs: bigint;
  readonly kvGrpcWaitTimeNs: bigint;
}

/** `kvrpcpb.ScanDetailV2` as the collector reads it. */
export interface WireScanDetailV2 {
  readonly processedVersions: bigint;
  readonly totalVersions: bigint;
  readonly processedVersionsSize: bigint;
  readonly rocksdbDeleteSkippedCount: bigint;
  readonly rocksdbKeySkippedCount: bigint;
  readonly rocksdbBlockCacheHitCount: bigint;
  readonly rocksdbBlockReadCount: bigint;
  readonly rocksdbBlockReadByte: bigint;
  readonly rocksdbBlockReadNanos: bigint;
  readonly getSnapshotNanos: bigint;
  readonly iaCacheHitCount?: bigint | undefined;
  readonly iaRemoteReadSegmentCount?: bigint | undefined;
  readonly iaRemoteReadSegmentBytes?: bigint | undefined;
  readonly iaRemoteReadSegmentNanos?: bigint | undefined;
}

/** `kvrpcpb.WriteDetail` as the collector reads it. */
export interface WireWriteDetail {
  readonly storeBatchWaitNanos: bigint;
  readonly proposeSendWaitNanos: bigint;
  readonly persistLogNanos: bigint;
  readonly raftDbWriteLeaderWaitNanos: bigint;
  readonly raftDbSyncLogNanos: bigint;
  readonly raftDbWriteMemtableNanos: bigint;
  readonly commitLogNanos: bigint;
  readonly applyBatchWaitNanos: bigint;
  readonly applyLogNanos: bigint;
  readonly applyMutexLockNanos: bigint;
  readonly applyWriteLeaderWaitNanos: bigint;
  readonly applyWriteWalNanos: bigint;
  readonly applyWriteMemtableNanos: bigint;
  readonly latchWaitNanos: bigint;
  readonly processNanos: bigint;
  readonly throttleNanos: bigint;
  readonly pessimisticLockWaitNanos: bigint;
}

/** `kvrpcpb.ExecDetailsV2` as the collector reads it: what TiKV puts in a response. */
export interface WireExecDetails {
  readonly timeDetail?: WireTimeDetail | undefined;
  readonly timeDetailV2?: WireTimeDetailV2 | undefined;
  readonly scanDetailV2?: WireScanDetailV2 | undefined;
  readonly writeDetail?: WireWriteDetail | undefined;
}

/** client-go keeps at most this many distinct error labels, counting the rest together. */
export const MAX_REQUEST_ERROR_LABELS = 16;

const NS_PER_MS = 1_000_000;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface CommandStats {
  count: number;
  timeMs: number;
  /** The ids of the regions that answered without a region error. */
  readonly regions: Set<bigint>;
}

function zeroTime(): Mutable<TimeDetail> {
  return {
    processTimeNs: 0,
    suspendTimeNs: 0,
    waitTimeNs: 0,
    kvReadWallTimeNs: 0,
    kvGrpcProcessTimeNs: 0,
    kvGrpcWaitTimeNs: 0,
    totalRpcWallTimeNs: 0,
  };
}

function zeroScan(): Mutable<ScanDetail> {
  return {
    totalKeys: 0,
    processedKeys: 0,
    processedKeysSize: 0,
    rocksdbDeleteSkippedCount: 0,
    rocksdbKeySkippedCount: 0,
    rocksdbBlockCacheHitCount: 0,
    rocksdbBlockReadCount: 0,
    rocksdbBlockReadBytes: 0,
    rocksdbBlockReadNs: 0,
    getSnapshotNs: 0,
    iaCacheHitCount: 0,
    iaRemoteReadSegmentCount: 0,
    iaRemoteReadSegmentBytes: 0,
    iaRemoteReadSegmentNs: 0,
  };
}

function zeroWrite(): Mutable<WriteDetail> {
  return {
    storeBatchWaitNs: 0,
    proposeSendWaitNs: 0,
    persistLogNs: 0,
    raftDbWriteLeaderWaitNs: 0,
    raftDbSyncLogNs: 0,
    raftDbWriteMemtableNs: 0,
    commitLogNs: 0,
    applyBatchWaitNs: 0,
    applyLogNs: 0,
    applyMutexLockNs: 0,
    applyWriteLeaderWaitNs: 0,
    applyWriteWalNs: 0,
    applyWriteMemtableNs: 0,
    schedulerLatchWaitNs: 0,
    schedulerProcessNs: 0,
    schedulerThrottleNs: 0,
    schedulerPessimisticLockWaitNs: 0,
  };
}

const NO_COUNTS_BY_NAME: Readonly<Record<string, number>> = Object.freeze({});
const NO_RPC_STATS: Readonly<Record<string, RpcStats>> = Object.freeze({});
const ZERO_TIME: TimeDetail = Object.freeze(zeroTime());
const ZERO_SCAN: ScanDetail = Object.freeze(zeroScan());
const ZERO_WRITE: WriteDetail = Object.freeze(zeroWrite());

function copyTime(t: TimeDetail): TimeDetail {
  return {
    processTimeNs: t.processTimeNs,
    suspendTimeNs: t.suspendTimeNs,
    waitTimeNs: t.waitTimeNs,
    kvReadWallTimeNs: t.kvReadWallTimeNs,
    kvGrpcProcessTimeNs: t.kvGrpcProcessTimeNs,
    kvGrpcWaitTimeNs: t.kvGrpcWaitTimeNs,
    totalRpcWallTimeNs: t.totalRpcWallTimeNs,
  };
}

function copyScan(s: ScanDetail): ScanDetail {
  return {
    totalKeys: s.totalKeys,
    processedKeys: s.processedKeys,
    processedKeysSize: s.processedKeysSize,
    rocksdbDeleteSkippedCount: s.rocksdbDeleteSkippedCount,
    rocksdbKeySkippedCount: s.rocksdbKeySkippedCount,
    rocksdbBlockCacheHitCount: s.rocksdbBlockCacheHitCount,
    rocksdbBlockReadCount: s.rocksdbBlockReadCount,
    rocksdbBlockReadBytes: s.rocksdbBlockReadBytes,
    rocksdbBlockReadNs: s.rocksdbBlockReadNs,
    getSnapshotNs: s.getSnapshotNs,
    iaCacheHitCount: s.iaCacheHitCount,
    iaRemoteReadSegmentCount: s.iaRemoteReadSegmentCount,
    iaRemoteReadSegmentBytes: s.iaRemoteReadSegmentBytes,
    iaRemoteReadSegmentNs: s.iaRemoteReadSegmentNs,
  };
}

function copyWrite(w: WriteDetail): WriteDetail {
  return {
    storeBatchWaitNs: w.storeBatchWaitNs,
    proposeSendWaitNs: w.proposeSendWaitNs,
    persistLogNs: w.persistLogNs,
    raftDbWriteLeaderWaitNs: w.raftDbWriteLeaderWaitNs,
    raftDbSyncLogNs: w.raftDbSyncLogNs,
    raftDbWriteMemtableNs: w.raftDbWriteMemtableNs,
    commitLogNs: w.commitLogNs,
    applyBatchWaitNs: w.applyBatchWaitNs,
    applyLogNs: w.applyLogNs,
    applyMutexLockNs: w.applyMutexLockNs,
    applyWriteLeaderWaitNs: w.applyWriteLeaderWaitNs,
    applyWriteWalNs: w.applyWriteWalNs,
    applyWriteMemtableNs: w.applyWriteMemtableNs,
    schedulerLatchWaitNs: w.schedulerLatchWaitNs,
    schedulerProcessNs: w.schedulerProcessNs,
    schedulerThrottleNs: w.schedulerThrottleNs,
    schedulerPessimisticLockWaitNs: w.schedulerPessimisticLockWaitNs,
  };
}

/**
 * Gathers the {@link ExecDetails} of one call. It travels on the call's `Backoffer` (as
 * client-go's `ExecDetails` travels in the backoffer's context): every copy and fork of that
 * backoffer records its sleeps here, and the request sender records each attempt and each
 * response's TiKV details. Only calls that ask for details (`onDetails`) make one, so the
 * request path pays one `undefined` check when nobody asks.
 *
 * Single-threaded JavaScript needs no locks: concurrent batches of one call add to the same
 * counters.
 */
export class ExecDetailsCollector {
  #backoffCount = 0;
  #backoffMs = 0;
  readonly #backoffCountByKind: Record<string, number> = {};
  readonly #backoffMsByKind: Record<string, number> = {};
  readonly #backoffKinds: string[] = [];
  #rpcCount = 0;
  #rpcTimeMs = 0;
  readonly #rpcByCommand = new Map<string, CommandStats>();
  #retries = 0;
  readonly #errors = new Map<string, number>();
  #otherErrors = 0;
  #storeDetails = 0;
  #resolveLockMs = 0;
  readonly #time = zeroTime();
  readonly #scan = zeroScan();
  readonly #write = zeroWrite();

  /**
   * Records one backoff sleep (the `Backoffer` calls it after each sleep).
   *
   * @param kind - the backoff kind's name
   * @param sleepMs - how long it slept, in milliseconds
   */
  recordBackoff(kind: string, sleepMs: number): void {
    this.#backoffCount++;
    this.#backoffMs += sleepMs;
    this.#backoffCountByKind[kind] = (this.#backoffCountByKind[kind] ?? 0) + 1;
    this.#backoffMsByKind[kind] = (this.#backoffMsByKind[kind] ?? 0) + sleepMs;
    this.#backoffKinds.push(kind);
  }

  /**
   * Records one RPC attempt (client-go `RecordRPCRuntimeStats`).
   *
   * @param command - the command (`Get`, `RawPut`...)
   * @param elapsedMs - its wall time, from send to response or failure, in milliseconds
   * @param isRetry - the attempt retried an earlier one of the same request
   * @param answeredBy - the region that answered it without a region error, if one did
   */
  recordRpc(command: string, elapsedMs: number, isRetry: boolean, answeredBy?: bigint): void {
    this.#rpcCount++;
    this.#rpcTimeMs += elapsedMs;
    if (isRetry) this.#retries++;
    let stats = this.#rpcByCommand.get(command);
    if (stats === undefined) {
      stats = { count: 0, timeMs: 0, regions: new Set() };
      this.#rpcByCommand.set(command, stats);
    }
    stats.count++;
    stats.timeMs += elapsedMs;
    if (answeredBy !== undefined) stats.regions.add(answeredBy);
  }

  /**
   * Records time spent resolving locks.
   *
   * @param elapsedMs - how long one lock resolution took, in milliseconds
   */
  recordResolveLock(elapsedMs: number): void {
    this.#resolveLockMs += elapsedMs;
  }

  /**
   * Records a region error or a failed send by label (client-go `RecordRPCErrorStats`): at most
   * {@link MAX_REQUEST_ERROR_LABELS} labels, the rest counted together.
   *
   * @param label - the error's label (`not_leader`, `rpc:UNAVAILABLE`...)
   */
  recordRequestError(label: string): void {
    const n = this.#errors.get(label);
    if (n !== undefined) this.#errors.set(label, n + 1);
    else if (this.#errors.size < MAX_REQUEST_ERROR_LABELS) this.#errors.set(label, 1);
    else this.#otherErrors++;
  }

  /**
   * Adds the execution details a TiKV response carried (client-go `MergeFromTimeDetail`,
   * `MergeFromScanDetailV2`, `MergeFromWriteDetailPb`): the time details from `timeDetailV2`,
   * or from the older millisecond `timeDetail` when the store sent only that.
   *
   * @param d - the response's `execDetailsV2`
   */
  recordStoreDetails(d: WireExecDetails): void {
    this.#storeDetails++;
    const t = this.#time;
    const v2 = d.timeDetailV2;
    if (v2 !== undefined) {
      t.waitTimeNs += Number(v2.waitWallTimeNs);
      t.processTimeNs += Number(v2.processWallTimeNs);
      t.suspendTimeNs += Number(v2.processSuspendWallTimeNs);
      t.kvReadWallTimeNs += Number(v2.kvReadWallTimeNs);
      t.kvGrpcProcessTimeNs += Number(v2.kvGrpcProcessTimeNs);
      t.kvGrpcWaitTimeNs += Number(v2.kvGrpcWaitTimeNs);
      t.totalRpcWallTimeNs += Number(v2.totalRpcWallTimeNs);
    } else if (d.timeDetail !== undefined) {
      const v1 = d.timeDetail;
      t.waitTimeNs += Number(v1.waitWallTimeMs) * NS_PER_MS;
      t.processTimeNs += Number(v1.processWallTimeMs) * NS_PER_MS;
      t.kvReadWallTimeNs += Number(v1.kvReadWallTimeMs) * NS_PER_MS;
      t.totalRpcWallTimeNs += Number(v1.totalRpcWallTimeNs);
    }
    const s = d.scanDetailV2;
    if (s !== undefined) {
      const o = this.#scan;
      o.totalKeys += Number(s.totalVersions);
      o.processedKeys += Number(s.processedVersions);
      o.processedKeysSize += Number(s.processedVersionsSize);
      o.rocksdbDeleteSkippedCount += Number(s.rocksdbDeleteSkippedCount);
      o.rocksdbKeySkippedCount += Number(s.rocksdbKeySkippedCount);
      o.rocksdbBlockCacheHitCount += Number(s.rocksdbBlockCacheHitCount);
      o.rocksdbBlockReadCount += Number(s.rocksdbBlockReadCount);
      o.rocksdbBlockReadBytes += Number(s.rocksdbBlockReadByte);
      o.rocksdbBlockReadNs += Number(s.rocksdbBlockReadNanos);
      o.getSnapshotNs += Number(s.getSnapshotNanos);
      o.iaCacheHitCount += Number(s.iaCacheHitCount ?? 0n);
      o.iaRemoteReadSegmentCount += Number(s.iaRemoteReadSegmentCount ?? 0n);
      o.iaRemoteReadSegmentBytes += Number(s.iaRemoteReadSegmentBytes ?? 0n);
      o.iaRemoteReadSegmentNs += Number(s.iaRemoteReadSegmentNanos ?? 0n);
    }
    const w = d.writeDetail;
    if (w !== undefined) {
      const o = this.#write;
      o.storeBatchWaitNs += Number(w.storeBatchWaitNanos);
      o.proposeSendWaitNs += Number(w.proposeSendWaitNanos);
      o.persistLogNs += Number(w.persistLogNanos);
      o.raftDbWriteLeaderWaitNs += Number(w.raftDbWriteLeaderWaitNanos);
      o.raftDbSyncLogNs += Number(w.raftDbSyncLogNanos);
      o.raftDbWriteMemtableNs += Number(w.raftDbWriteMemtableNanos);
      o.commitLogNs += Number(w.commitLogNanos);
      o.applyBatchWaitNs += Number(w.applyBatchWaitNanos);
      o.applyLogNs += Number(w.applyLogNanos);
      o.applyMutexLockNs += Number(w.applyMutexLockNanos);
      o.applyWriteLeaderWaitNs += Number(w.applyWriteLeaderWaitNanos);
      o.applyWriteWalNs += Number(w.applyWriteWalNanos);
      o.applyWriteMemtableNs += Number(w.applyWriteMemtableNanos);
      o.schedulerLatchWaitNs += Number(w.latchWaitNanos);
      o.schedulerProcessNs += Number(w.processNanos);
      o.schedulerThrottleNs += Number(w.throttleNanos);
      o.schedulerPessimisticLockWaitNs += Number(w.pessimisticLockWaitNanos);
    }
  }

  /** Time slept so far, in milliseconds. */
  get backoffMs(): number {
    return this.#backoffMs;
  }

  /** Backoff sleeps so far. */
  get backoffCount(): number {
    return this.#backoffCount;
  }

  /**
   * The kinds slept with from the `from`-th sleep on, in order (a commit takes the kinds of
   * each phase this way).
   *
   * @param from - the index of the first sleep (a {@link ExecDetailsCollector.backoffCount} read before)
   * @returns the kind names
   */
  backoffKindsSince(from = 0): string[] {
    return this.#backoffKinds.slice(from);
  }

  /**
   * The details gathered so far, as a plain object (a copy: later records do not change it).
   * Treat it as read-only: parts nothing was recorded in are shared, frozen empties.
   *
   * @returns the details
   */
  snapshot(): ExecDetails {
    // Plain literals of one shape, and shared frozen empties for what most calls never fill:
    // freezing and spreading every nested object cost microseconds per call in profiles.
    let rpcByCommand: Readonly<Record<string, RpcStats>> = NO_RPC_STATS;
    if (this.#rpcByCommand.size > 0) {
      const out: Record<string, RpcStats> = {};
      for (const [cmd, s] of this.#rpcByCommand) {
        out[cmd] = { count: s.count, timeMs: s.timeMs, regionCount: s.regions.size };
      }
      rpcByCommand = out;
    }
    let requestErrors = NO_COUNTS_BY_NAME;
    if (this.#errors.size > 0) {
      const out: Record<string, number> = {};
      for (const [label, n] of this.#errors) out[label] = n;
      requestErrors = out;
    }
    const stored = this.#storeDetails > 0;
    return {
      backoffCount: this.#backoffCount,
      backoffMs: this.#backoffMs,
      backoffCountByKind: this.#backoffCount === 0 ? NO_COUNTS_BY_NAME : { ...this.#backoffCountByKind },
      backoffMsByKind: this.#backoffCount === 0 ? NO_COUNTS_BY_NAME : { ...this.#backoffMsByKind },
      rpcCount: this.#rpcCount,
      rpcTimeMs: this.#rpcTimeMs,
      rpcByCommand,
      retries: this.#retries,
      requestErrors,
      otherErrorCount: this.#otherErrors,
      resolveLockMs: this.#resolveLockMs,
      storeDetailCount: this.#storeDetails,
      timeDetail: stored ? copyTime(this.#time) : ZERO_TIME,
      scanDetail: stored ? copyScan(this.#scan) : ZERO_SCAN,
      writeDetail: stored ? copyWrite(this.#write) : ZERO_WRITE,
    };
  }
}

/**
 * Calls a details callback, ignoring what it throws: a faulty callback must not turn a call's
 * result into its error.
 *
 * @param callback - the user's callback
 * @param details - what it receives
 * @internal
 */
export function deliverDetails<T>(callback: (details: T) => void, details: T): void {
  try {
    callback(details);
  } catch {
    // The caller's observer failed; the call's outcome stands.
  }
}

function sumRecords(
  a: Readonly<Record<string, number>>,
  b: Readonly<Record<string, number>>,
): Record<string, number> {
  const out: Record<string, number> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

function sumFields<T extends object>(a: T, b: T): T {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(a)) out[k] = (v as number) + ((b as Record<string, number>)[k] ?? 0);
  return Object.freeze(out) as T;
}

/**
 * The details of two calls added together (client-go's `Merge` of the detail types): counts,
 * times and TiKV's details summed, kinds, commands and labels joined.
 *
 * @param a - one call's details
 * @param b - another call's details
 * @returns their sum, frozen
 */
export function mergeExecDetails(a: ExecDetails, b: ExecDetails): ExecDetails {
  const rpcByCommand: Record<string, RpcStats> = { ...a.rpcByCommand };
  for (const [cmd, s] of Object.entries(b.rpcByCommand)) {
    const own = rpcByCommand[cmd];
    rpcByCommand[cmd] = Object.freeze(
      own === undefined
        ? { ...s }
        : {
            count: own.count + s.count,
            timeMs: own.timeMs + s.timeMs,
            regionCount: own.regionCount + s.regionCount,
          },
    );
  }
  return Object.freeze({
    backoffCount: a.backoffCount + b.backoffCount,
    backoffMs: a.backoffMs + b.backoffMs,
    backoffCountByKind: Object.freeze(sumRecords(a.backoffCountByKind, b.backoffCountByKind)),
    backoffMsByKind: Object.freeze(sumRecords(a.backoffMsByKind, b.backoffMsByKind)),
    rpcCount: a.rpcCount + b.rpcCount,
    rpcTimeMs: a.rpcTimeMs + b.rpcTimeMs,
    rpcByCommand: Object.freeze(rpcByCommand),
    retries: a.retries + b.retries,
    requestErrors: Object.freeze(sumRecords(a.requestErrors, b.requestErrors)),
    otherErrorCount: a.otherErrorCount + b.otherErrorCount,
    resolveLockMs: a.resolveLockMs + b.resolveLockMs,
    storeDetailCount: a.storeDetailCount + b.storeDetailCount,
    timeDetail: sumFields(a.timeDetail, b.timeDetail),
    scanDetail: sumFields(a.scanDetail, b.scanDetail),
    writeDetail: sumFields(a.writeDetail, b.writeDetail),
  });
}

/**
 * The lock details of two `lockKeys` calls added together (client-go `LockKeysDetails.Merge`, as
 * TiDB adds the calls of a statement's retries): times, counts and execution details summed,
 * backoff kinds joined in order. As in client-go each merge counts one retry; the calls' own
 * for-update ts retries are added too.
 *
 * @param a - the earlier call's details
 * @param b - the later call's details
 * @returns their sum, frozen
 */
export function mergeLockKeysDetails(a: LockKeysDetails, b: LockKeysDetails): LockKeysDetails {
  return Object.freeze({
    totalMs: a.totalMs + b.totalMs,
    regionCount: a.regionCount + b.regionCount,
    lockKeys: a.lockKeys + b.lockKeys,
    aggressiveLockNewCount: a.aggressiveLockNewCount + b.aggressiveLockNewCount,
    aggressiveLockDerivedCount: a.aggressiveLockDerivedCount + b.aggressiveLockDerivedCount,
    lockedWithConflictCount: a.lockedWithConflictCount + b.lockedWithConflictCount,
    resolveLockMs: a.resolveLockMs + b.resolveLockMs,
    backoffMs: a.backoffMs + b.backoffMs,
    backoffKinds: Object.freeze([...a.backoffKinds, ...b.backoffKinds]),
    lockRpcTimeMs: a.lockRpcTimeMs + b.lockRpcTimeMs,
    lockRpcCount: a.lockRpcCount + b.lockRpcCount,
    retryCount: a.retryCount + b.retryCount + 1,
    exec: mergeExecDetails(a.exec, b.exec),
  });
}

/** The details of a call that sent nothing (answered from a buffer or a cache). */
export const EMPTY_EXEC_DETAILS: ExecDetails = new ExecDetailsCollector().snapshot();

/**
 * Runs a call so that its `onDetails` is called exactly once when it settles, whether the call
 * reached TiKV zero, one or several times: the details of every inner operation are added
 * together, and a call that sent nothing reports {@link EMPTY_EXEC_DETAILS}.
 *
 * @param options - the call's options
 * @param fn - the call, given the options to pass to its inner operations
 * @returns what `fn` returns
 * @internal
 */
export async function withExecDetails<O extends ExecDetailsOptions, T>(
  options: O | undefined,
  fn: (options: O | undefined) => Promise<T>,
): Promise<T> {
  const onDetails = options?.onDetails;
  if (onDetails === undefined) return fn(options);
  let sum: ExecDetails | undefined;
  const inner = {
    ...options,
    onDetails: (d: ExecDetails) => {
      sum = sum === undefined ? d : mergeExecDetails(sum, d);
    },
  } as O;
  try {
    return await fn(inner);
  } finally {
    deliverDetails(onDetails, sum ?? EMPTY_EXEC_DETAILS);
  }
}
