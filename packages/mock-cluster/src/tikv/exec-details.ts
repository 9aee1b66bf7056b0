import { kvrpcpb } from '@tikv/proto';

/** What a read looked at, for its scan details. */
export interface ReadStats {
  /** Keys the read met (requested keys for point reads): TiKV's `total_versions`. */
  readonly metKeys: number;
  /** Keys it found a value for: TiKV's `processed_versions`. */
  readonly processedKeys: number;
  /** Bytes of those keys and values: TiKV's `processed_versions_size`. */
  readonly processedBytes: number;
}

const NS_PER_MS = 1_000_000n;

/** Starts timing a command: pass the result to {@link readExecDetails} or {@link writeExecDetails}. */
export function startTimer(): bigint {
  return process.hrtime.bigint();
}

function elapsedNs(started: bigint): bigint {
  const ns = process.hrtime.bigint() - started;
  return ns > 0n ? ns : 1n;
}

function timeDetails(ns: bigint): Pick<kvrpcpb.ExecDetailsV2, 'timeDetail' | 'timeDetailV2'> {
  return {
    // The older millisecond fields, which TiKV still fills next to V2.
    timeDetail: {
      waitWallTimeMs: 0n,
      processWallTimeMs: ns / NS_PER_MS,
      kvReadWallTimeMs: ns / NS_PER_MS,
      totalRpcWallTimeNs: ns,
    },
    timeDetailV2: {
      waitWallTimeNs: 0n,
      processWallTimeNs: ns,
      processSuspendWallTimeNs: 0n,
      kvReadWallTimeNs: ns,
      totalRpcWallTimeNs: ns,
      kvGrpcProcessTimeNs: 0n,
      kvGrpcWaitTimeNs: 0n,
    },
  };
}

/**
 * The `exec_details_v2` of a KvGet or KvBatchGet as TiKV's `future_get` / `future_batch_get`
 * fill it: the time details (the whole read as processing, the mock never queues) and the scan
 * details of what was read.
 *
 * @param started - {@link startTimer} at the start of the command
 * @param stats - what the read met and found
 */
export function readExecDetails(started: bigint, stats: ReadStats): kvrpcpb.ExecDetailsV2 {
  return kvrpcpb.ExecDetailsV2.fromPartial({
    ...timeDetails(elapsedNs(started)),
    scanDetailV2: {
      totalVersions: BigInt(stats.metKeys),
      processedVersions: BigInt(stats.processedKeys),
      processedVersionsSize: BigInt(stats.processedBytes),
    },
  });
}

/**
 * The `exec_details_v2` of a transactional write (prewrite, commit) as TiKV's
 * `txn_command_future` fills it: time details, and write details with the scheduler's
 * processing time (the mock has no Raft: the other write stages stay 0).
 *
 * @param started - {@link startTimer} at the start of the command
 */
export function writeExecDetails(started: bigint, lockWaitNs = 0n): kvrpcpb.ExecDetailsV2 {
  const total = elapsedNs(started);
  const wait = lockWaitNs < total ? lockWaitNs : 0n;
  const details = kvrpcpb.ExecDetailsV2.fromPartial({
    ...timeDetails(total - wait),
    scanDetailV2: {},
    writeDetail: { processNanos: total - wait, pessimisticLockWaitNanos: wait },
  });
  // The whole RPC, the lock wait included (TiKV's `set_total_time`).
  if (details.timeDetail !== undefined) details.timeDetail.totalRpcWallTimeNs = total;
  if (details.timeDetailV2 !== undefined) details.timeDetailV2.totalRpcWallTimeNs = total;
  return details;
}

/** A transactional command's response, as far as its execution details go. */
interface TxnCommandResponse {
  regionError?: unknown;
  execDetailsV2?: kvrpcpb.ExecDetailsV2 | undefined;
}

/**
 * Runs a scheduler command (KvPessimisticLock, KvCheckTxnStatus, KvResolveLock, KvTxnHeartBeat,
 * KvCheckSecondaryLocks, KvPessimisticRollback, KvBatchRollback) and sets its `exec_details_v2`
 * as TiKV's `txn_command_future` does: on every response without a region error, key errors
 * included, with the scheduler's processing time as write detail. A command that waited for a
 * lock (it answers later, as a promise) reports the wait as `pessimistic_lock_wait_nanos` (TiKV's
 * waiter manager sets it when the waiter is woken or times out), the RPC's total time including it.
 *
 * @param command - runs the command
 * @returns the command's response, its details set
 */
export function withTxnCommandDetails<R extends TxnCommandResponse>(
  command: () => R | Promise<R>,
): R | Promise<R> {
  const started = startTimer();
  const out = command();
  if (!(out instanceof Promise)) return withDetails(out, started, 0n);
  const waitStarted = startTimer();
  return out.then((r) => withDetails(r, started, elapsedNs(waitStarted)));
}

function withDetails<R extends TxnCommandResponse>(response: R, started: bigint, lockWaitNs: bigint): R {
  if (response.regionError === undefined) response.execDetailsV2 = writeExecDetails(started, lockWaitNs);
  return response;
}
