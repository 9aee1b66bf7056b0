import { InvalidArgumentError, type RequestOptions, TiKVError } from '@tikv/common';
import type { RegionExecutor, TikvRequest } from '@tikv/rpc';
import type { GcStatesApi } from '../gc/gc-deps.js';
import {
  type RangeTaskHandler,
  type RangeTaskProgress,
  RangeTaskRunner,
} from '../range-task/range-task-runner.js';
import { walkRegions } from '../range-task/region-walk.js';
import type { AdminOracle } from './admin-deps.js';

/** Backoff budget of one region's flashback phase. */
export const FLASHBACK_REGION_MAX_BACKOFF_MS = 300_000;

type PrepareRequest = Extract<TikvRequest, { $case: 'PrepareFlashbackToVersion' }>;
type FlashbackRequest = Extract<TikvRequest, { $case: 'FlashbackToVersion' }>;

/** What flashback runs on. */
export interface FlashbackParts {
  readonly executor: RegionExecutor;
  /** Start and commit timestamps of the flashback. */
  readonly oracle: AdminOracle;
  /** When given, a version below the GC safe point is refused (its data may be gone). */
  readonly gcStates?: Pick<GcStatesApi, 'getGcState'> | undefined;
}

/** Options of {@link flashbackToVersion}. */
export interface FlashbackOptions extends RequestOptions {
  /** Task ranges in flight at once in each phase. @defaultValue 8 */
  readonly concurrency?: number | undefined;
  /** Told after each task range of each phase (`name`: `flashback-prepare` or `flashback`). */
  readonly onProgress?: ((progress: RangeTaskProgress) => void) | undefined;
}

/** What {@link flashbackToVersion} did. */
export interface FlashbackResult {
  /** The flashback's start ts (its locks and the prepare phase). */
  readonly startTs: bigint;
  /** The ts the restored versions are committed at. */
  readonly commitTs: bigint;
  /** Regions flashed back. */
  readonly completedRegions: number;
}

/**
 * Restores `[startKey, endKey)` to its state at `version` (TiDB's `FLASHBACK CLUSTER`, over
 * TiKV's two-phase flashback): phase one (`PrepareFlashbackToVersion`) stops writes to every
 * region of the range and locks it at a fresh start ts; phase two (`FlashbackToVersion`) writes,
 * at a fresh commit ts, the version of every key as of `version`, and lets writes in again. A
 * failure between the phases leaves regions in flashback: run it again with the same range.
 *
 * @param parts - the executor, the oracle, the GC states
 * @param version - the ts to go back to
 * @param startKey - inclusive start, in the client's keys
 * @param endKey - exclusive end; empty is unbounded (the keyspace's end in API V2)
 * @param options - concurrency, progress, signal and deadline
 * @throws InvalidArgumentError when `version` is not in the past or is below the GC safe point
 */
export async function flashbackToVersion(
  parts: FlashbackParts,
  version: bigint,
  startKey: Uint8Array,
  endKey: Uint8Array,
  options?: FlashbackOptions,
): Promise<FlashbackResult> {
  const call = { signal: options?.signal, timeoutMs: options?.timeoutMs };
  if (parts.gcStates !== undefined) {
    const { gcSafePoint } = await parts.gcStates.getGcState(call);
    if (version < gcSafePoint) {
      throw new InvalidArgumentError(
        `cannot flashback to ${version}: below the GC safe point ${gcSafePoint}`,
      );
    }
  }
  const startTs = await parts.oracle.getTimestamp(call);
  if (version >= startTs) {
    throw new InvalidArgumentError(`cannot flashback to ${version}: not before the current ts ${startTs}`);
  }
  const exec = parts.executor;
  const runPhase = (name: string, handler: RangeTaskHandler) =>
    new RangeTaskRunner({
      name,
      locator: exec.locator,
      concurrency: options?.concurrency,
      onProgress: options?.onProgress,
      logger: exec.tuning.logger,
      handler,
    }).runOnRange(startKey, endKey, call);
  const fail = (phase: string, error: string): never => {
    throw new TiKVError('INTERNAL', `${phase} failed: ${error}`);
  };
  await runPhase('flashback-prepare', (range, signal) =>
    walkRegions(exec, range, {
      maxBackoffMs: FLASHBACK_REGION_MAX_BACKOFF_MS,
      signal,
      build: (span): PrepareRequest => ({
        $case: 'PrepareFlashbackToVersion',
        value: { context: undefined, startKey: span.startKey, endKey: span.endKey, startTs, version },
      }),
      check: (r) => {
        if (r.value.error !== '') fail('prepare flashback', r.value.error);
      },
    }),
  );
  const commitTs = await parts.oracle.getTimestamp(call);
  const done = await runPhase('flashback', (range, signal) =>
    walkRegions(exec, range, {
      maxBackoffMs: FLASHBACK_REGION_MAX_BACKOFF_MS,
      signal,
      build: (span): FlashbackRequest => ({
        $case: 'FlashbackToVersion',
        value: {
          context: undefined,
          version,
          startKey: span.startKey,
          endKey: span.endKey,
          startTs,
          commitTs,
        },
      }),
      check: (r) => {
        if (r.value.error !== '') fail('flashback', r.value.error);
      },
    }),
  );
  return { startTs, commitTs, completedRegions: done.completedRegions };
}
