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
