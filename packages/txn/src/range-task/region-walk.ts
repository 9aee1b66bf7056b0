import { Backoffer, compareKeys } from '@tikv/common';
import type {
  RangeStep,
  RegionExecutor,
  RegionRequestOptions,
  RegionSpan,
  ResponseFor,
  TikvRequest,
} from '@tikv/rpc';
import type { RangeTaskStat, TaskRange } from './range-task-stat.js';

/** Options of {@link walkRegions}. */
export interface WalkRegionsOptions<R extends TikvRequest> {
  /** Backoff budget of each region's part (a fresh budget per region, as client-go's range tasks). */
  readonly maxBackoffMs: number;
  /** The request for one region's part of the range. */
  readonly build: (span: RegionSpan) => R;
  /** Checks one region's response; throws to fail the task. */
  readonly check: (response: ResponseFor<R>, span: RegionSpan) => void;
  /** Aborts the walk. */
  readonly signal: AbortSignal;
  /** Options of every request (request source, priority...). @defaultValue none */
  readonly request?: RegionRequestOptions | undefined;
}

/**
 * Sends one request per region of a task range, in key order, each region with a fresh backoff
 * budget; region errors are retried by locating again (the body of client-go's
 * `DeleteRangeTask.sendReqOnRange` and of flashback's per-region phases).
 *
 * @returns the regions completed
 * @internal
 */
export async function walkRegions<R extends TikvRequest>(
  exec: RegionExecutor,
  range: TaskRange,
  options: WalkRegionsOptions<R>,
): Promise<RangeTaskStat> {
  let completedRegions = 0;
  let start: Uint8Array | undefined = range.startKey;
  while (start !== undefined && (range.endKey.length === 0 || compareKeys(start, range.endKey) < 0)) {
    const bo = new Backoffer({
      maxBackoffMs: options.maxBackoffMs,
      signal: options.signal,
      clock: exec.tuning.clock,
    });
    const step: RangeStep<R> = await exec.sendRangeStep(
      bo,
      { start, end: range.endKey },
      options.build,
      options.request,
    );
    options.check(step.response, step.span);
    completedRegions++;
    start = step.next;
  }
  return { completedRegions };
}
