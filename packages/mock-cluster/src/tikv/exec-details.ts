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
export function writeExecDetails(started: bigint): kvrpcpb.ExecDetailsV2 {
  const ns = elapsedNs(started);
  return kvrpcpb.ExecDetailsV2.fromPartial({
    ...timeDetails(ns),
    scanDetailV2: {},
    writeDetail: { processNanos: ns },
  });
}
