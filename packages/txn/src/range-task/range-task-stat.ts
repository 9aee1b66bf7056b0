import { TiKVError } from '@tikv/common';

/** What a range task handler did on its range (client-go `rangetask.TaskStat`). */
export interface RangeTaskStat {
  /** Regions the handler finished. */
  readonly completedRegions: number;
  /** Regions the handler gave up on (counted, not retried). @defaultValue 0 */
  readonly failedRegions?: number | undefined;
}

/** A key range `[startKey, endKey)` in the client's keys; an empty end is unbounded. */
export interface TaskRange {
  readonly startKey: Uint8Array;
  readonly endKey: Uint8Array;
}

/**
 * Thrown by a range task handler that failed after doing part of its range: the runner adds
 * `stat` to its counts (client-go handlers return a stat with their error) and fails the run
 * with `cause`.
 */
export class RangeTaskFailure extends TiKVError {
  override name = 'RangeTaskFailure';
  /** What the handler did before it failed. */
  readonly stat: RangeTaskStat;

  /**
   * @param stat - the regions completed and failed
   * @param cause - the failure the run is failed with
   */
  constructor(stat: RangeTaskStat, cause: unknown) {
    super('INTERNAL', `range task handler failed: ${String(cause)}`, { cause });
    this.stat = stat;
  }
}
