import { type RequestOptions, TiKVError } from '@tikv/common';
import type { RegionExecutor, TikvRequest } from '@tikv/rpc';
import { type RangeTaskProgress, type RangeTaskResult, RangeTaskRunner } from './range-task-runner.js';
import type { RangeTaskStat, TaskRange } from './range-task-stat.js';
import { walkRegions } from './region-walk.js';

type DeleteRangeRequest = Extract<TikvRequest, { $case: 'DeleteRange' }>;

/** Backoff budget of deleting one region's part (client-go `deleteRangeOneRegionMaxBackoff`). */
export const DELETE_RANGE_ONE_REGION_MAX_BACKOFF_MS = 100_000;

/** Options of a {@link DeleteRangeTask}. */
export interface DeleteRangeTaskOptions {
  /** Inclusive start, in the client's keys. */
  readonly startKey: Uint8Array;
  /** Exclusive end; empty is unbounded (the keyspace's end in API V2). */
  readonly endKey: Uint8Array;
  /** Task ranges in flight at once. @defaultValue 8 */
  readonly concurrency?: number | undefined;
  /**
   * Only tell TiKV about the range (`notify_only`: observers such as TiFlash learn of it), do
   * not delete. @defaultValue false
   */
  readonly notifyOnly?: boolean | undefined;
  /** Regions per task range. @defaultValue 128 */
  readonly regionsPerTask?: number | undefined;
  /** Told after each task range. @defaultValue none */
  readonly onProgress?: ((progress: RangeTaskProgress) => void) | undefined;
}

/**
 * Deletes every version of every key of a range at once, region by region (client-go
 * `rangetask.DeleteRangeTask`; `notifyOnly` is `NewNotifyDeleteRangeTask`). It does not keep
 * recent MVCC versions and takes no snapshot: callers make sure nobody uses the range.
 *
 * @example
 * ```ts
 * const task = new DeleteRangeTask({ executor }, { startKey: k('a'), endKey: k('b'), concurrency: 4 });
 * const { completedRegions } = await task.execute({ signal });
 * ```
 */
export class DeleteRangeTask {
  readonly #exec: RegionExecutor;
  readonly #o: DeleteRangeTaskOptions;
  #completed = 0;

  /**
   * @param parts - the executor requests go through
   * @param options - the range, concurrency, notify-only, progress
   */
  constructor(parts: { readonly executor: RegionExecutor }, options: DeleteRangeTaskOptions) {
    this.#exec = parts.executor;
    this.#o = options;
  }

  /** Regions completed by the last {@link DeleteRangeTask.execute}. */
  get completedRegions(): number {
    return this.#completed;
  }

  /**
   * Runs the task.
   *
   * @param options - signal and deadline
   * @returns the regions completed
   * @throws TiKVError `INTERNAL` when a store reports a DeleteRange error
   */
  async execute(options?: RequestOptions): Promise<RangeTaskResult> {
    const runner = new RangeTaskRunner({
      name: this.#o.notifyOnly === true ? 'delete-range-notify' : 'delete-range',
      locator: this.#exec.locator,
      handler: (range, signal) => this.#sendOnRange(range, signal),
      concurrency: this.#o.concurrency,
      regionsPerTask: this.#o.regionsPerTask,
      onProgress: this.#o.onProgress,
      logger: this.#exec.tuning.logger,
    });
    try {
      return await runner.runOnRange(this.#o.startKey, this.#o.endKey, options);
    } finally {
      this.#completed = runner.completedRegions;
    }
  }

  /** Deletes one task range, one region at a time, each with its own budget. */
  #sendOnRange(range: TaskRange, signal: AbortSignal): Promise<RangeTaskStat> {
    const notifyOnly = this.#o.notifyOnly === true;
    return walkRegions(this.#exec, range, {
      maxBackoffMs: DELETE_RANGE_ONE_REGION_MAX_BACKOFF_MS,
      signal,
      build: (span): DeleteRangeRequest => ({
        $case: 'DeleteRange',
        value: { context: undefined, startKey: span.startKey, endKey: span.endKey, notifyOnly },
      }),
      check: (response) => {
        if (response.value.error !== '') {
          throw new TiKVError('INTERNAL', `unexpected DeleteRange error: ${response.value.error}`);
        }
      },
    });
  }
}
