import {
  anySignal,
  compareKeys,
  type Logger,
  mustBePositiveInteger,
  noopLogger,
  openOperationScope,
  type RequestOptions,
  type Resolved,
  resolveOptions,
} from '@tikv/common';
import type { KeyLocation } from '@tikv/region-cache';
import type { KeyLocator } from '@tikv/rpc';
import { RangeTaskFailure, type RangeTaskStat, type TaskRange } from './range-task-stat.js';

/**
 * Runs a range task on one task range (up to `regionsPerTask` regions); `signal` aborts when
 * the caller aborts or another task failed.
 */
export type RangeTaskHandler = (range: TaskRange, signal: AbortSignal) => Promise<RangeTaskStat>;

/** Progress of a {@link RangeTaskRunner}, after each task range. */
export interface RangeTaskProgress {
  /** The runner's name. */
  readonly name: string;
  /** Regions completed so far. */
  readonly completedRegions: number;
  /** Regions failed so far. */
  readonly failedRegions: number;
  /** Task ranges finished so far. */
  readonly completedTasks: number;
  /** The range of the task that just finished. */
  readonly lastRange: TaskRange;
}

/** Region loading in batches (`@tikv/region-cache`'s `RegionCache.batchLoadRegions`). */
export interface RegionBatchLoader {
  batchLoadRegions(
    startKey: Uint8Array,
    endKey: Uint8Array,
    count: number,
    options?: RequestOptions,
  ): Promise<KeyLocation[]>;
}

/** Tuning of a {@link RangeTaskRunner}. */
export interface RangeTaskRunnerTuning {
  /** Task ranges in flight at once. @defaultValue 8 */
  readonly concurrency?: number | undefined;
  /** Regions per task range (client-go `defaultRegionsPerTask`). @defaultValue 128 */
  readonly regionsPerTask?: number | undefined;
  /** Told after each task range. @defaultValue none */
  readonly onProgress?: ((progress: RangeTaskProgress) => void) | undefined;
  /** @defaultValue silent */
  readonly logger?: Logger | undefined;
}

/** Options of a {@link RangeTaskRunner}. */
export interface RangeTaskRunnerOptions extends RangeTaskRunnerTuning {
  /** Names the task in log lines and progress. */
  readonly name: string;
  /** Runs the task on one task range. */
  readonly handler: RangeTaskHandler;
  /**
   * Locates regions: `@tikv/rpc`'s `executor.locator` (the region cache, which also loads
   * regions in batches when it can).
   */
  readonly locator: KeyLocator & Partial<RegionBatchLoader>;
}

/** Defaults of {@link RangeTaskRunnerTuning}. */
export const DEFAULT_RANGE_TASK_OPTIONS: Resolved<Omit<RangeTaskRunnerTuning, 'onProgress'>> = Object.freeze({
  concurrency: 8,
  regionsPerTask: 128,
  logger: noopLogger,
});

/** What a range task did. */
export interface RangeTaskResult {
  readonly completedRegions: number;
  readonly failedRegions: number;
}

/**
 * Runs a task over a key range, cut into task ranges of `regionsPerTask` regions, with bounded
 * concurrency (client-go `rangetask.Runner`). The handler retries its own region errors (as
 * {@link DeleteRangeTask} and GC lock resolution do); the first handler failure cancels the
 * others and is thrown once they settle (a {@link RangeTaskFailure} adds its partial stat to the
 * counts and the run fails with its cause).
 *
 * @example
 * ```ts
 * const runner = new RangeTaskRunner({
 *   name: 'count-regions',
 *   locator: executor.locator,
 *   handler: async (range) => ({ completedRegions: 1 }),
 *   onProgress: (p) => console.log(`${p.completedRegions} regions`),
 * });
 * await runner.runOnRange(new Uint8Array(0), new Uint8Array(0), { signal });
 * ```
 */
export class RangeTaskRunner {
  readonly #o: RangeTaskRunnerOptions & Resolved<Omit<RangeTaskRunnerTuning, 'onProgress'>>;
  #completed = 0;
  #failed = 0;

  /**
   * @param options - the name, the handler, the locator and the tuning
   * @throws InvalidArgumentError for a bad tuning value
   */
  constructor(options: RangeTaskRunnerOptions) {
    const tuning = resolveOptions<Omit<RangeTaskRunnerTuning, 'onProgress'>>(
      DEFAULT_RANGE_TASK_OPTIONS,
      { concurrency: options.concurrency, regionsPerTask: options.regionsPerTask, logger: options.logger },
      { concurrency: mustBePositiveInteger, regionsPerTask: mustBePositiveInteger },
    );
    this.#o = { ...options, ...tuning };
  }

  /** Regions completed by the current (or last) run. */
  get completedRegions(): number {
    return this.#completed;
  }

  /** Regions failed in the current (or last) run. */
  get failedRegions(): number {
    return this.#failed;
  }

  /**
   * Runs the task on `[startKey, endKey)` (an empty end is unbounded; in API V2, the
   * keyspace's end). An empty range does nothing.
   *
   * @param startKey - inclusive start
   * @param endKey - exclusive end
   * @param options - signal and deadline of the whole run
   * @returns the regions completed and failed
   * @throws the first handler failure, or the signal's reason
   */
  async runOnRange(
    startKey: Uint8Array,
    endKey: Uint8Array,
    options?: RequestOptions,
  ): Promise<RangeTaskResult> {
    this.#completed = 0;
    this.#failed = 0;
    const { name, logger } = this.#o;
    if (endKey.length > 0 && compareKeys(startKey, endKey) >= 0) {
      logger.info('empty range task executed, ignored', { name });
      return { completedRegions: 0, failedRegions: 0 };
    }
    const scope = openOperationScope(options);
    const failure = new AbortController();
    const signal = scope.signal === undefined ? failure.signal : anySignal([scope.signal, failure.signal]);
    logger.info('range task started', { name, concurrency: this.#o.concurrency });
    let key: Uint8Array | undefined = startKey;
    let producing: Promise<unknown> = Promise.resolve();
    const produce = async (): Promise<TaskRange | undefined> => {
      if (key === undefined) return undefined;
      const from: Uint8Array = key;
      let taskEnd = await this.#taskEnd(from, endKey, signal);
      const isLast = taskEnd.length === 0 || (endKey.length > 0 && compareKeys(taskEnd, endKey) >= 0);
      if (isLast) taskEnd = endKey;
      key = isLast ? undefined : taskEnd;
      return { startKey: from, endKey: taskEnd };
    };
    const nextTask = (): Promise<TaskRange | undefined> => {
      const p = producing.then(produce);
      producing = p.catch(() => {});
      return p;
    };
    let firstError: { error: unknown } | undefined;
    let completedTasks = 0;
    const worker = async (): Promise<void> => {
      try {
        for (;;) {
          signal.throwIfAborted();
          const task = await nextTask();
          if (task === undefined) return;
          const stat = await this.#o.handler(task, signal);
          this.#completed += stat.completedRegions;
          this.#failed += stat.failedRegions ?? 0;
          completedTasks++;
          this.#o.onProgress?.({
            name,
            completedRegions: this.#completed,
            failedRegions: this.#failed,
            completedTasks,
            lastRange: task,
          });
        }
      } catch (thrown) {
        let e = thrown;
        if (thrown instanceof RangeTaskFailure) {
          this.#completed += thrown.stat.completedRegions;
          this.#failed += thrown.stat.failedRegions ?? 0;
          e = thrown.cause;
        }
        if (firstError === undefined) {
          firstError = { error: scope.signal?.aborted === true ? scope.signal.reason : e };
          failure.abort(e);
        }
      }
    };
    try {
      await Promise.all(Array.from({ length: this.#o.concurrency }, worker));
    } finally {
      scope.dispose();
    }
    if (firstError !== undefined) {
      logger.info('range task failed', {
        name,
        completedRegions: this.#completed,
        error: String(firstError.error),
      });
      throw firstError.error;
    }
    logger.info('range task finished', { name, completedRegions: this.#completed });
    return { completedRegions: this.#completed, failedRegions: this.#failed };
  }

  /** The end of the task range starting at `key`: the end of its `regionsPerTask`-th region. */
  async #taskEnd(key: Uint8Array, endKey: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    const { locator, regionsPerTask } = this.#o;
    if (locator.batchLoadRegions !== undefined) {
      const locs = await locator.batchLoadRegions(key, endKey, regionsPerTask, { signal });
      const last = locs[locs.length - 1];
      if (last !== undefined && (last.endKey.length === 0 || compareKeys(last.endKey, key) > 0)) {
        return last.endKey;
      }
    }
    let at = key;
    for (let i = 0; i < regionsPerTask; i++) {
      const loc = await locator.locateKey(at, { signal });
      at = loc.endKey;
      if (at.length === 0 || (endKey.length > 0 && compareKeys(at, endKey) >= 0)) break;
    }
    return at;
  }
}
