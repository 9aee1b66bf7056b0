import type { Backoffer, Logger } from '@tikv/common';
import type { RegionExecutor } from '@tikv/rpc';

/**
 * The lock cleanups a resolver runs after a read has gone on (client-go's
 * `asyncResolveTaskPool`): a read that may already bypass or read through a lock does not wait
 * for the `ResolveLock` requests that clean it up. At most `limit` run at once; past that the
 * caller runs the cleanup itself. Each task has its own backoffer with its own budget, bound to
 * the pool's signal only (not the reader's): `close()` aborts the tasks and waits for them.
 *
 * @internal
 */
export class BackgroundResolves {
  readonly #exec: RegionExecutor;
  readonly #limit: number;
  readonly #maxBackoffMs: number;
  readonly #logger: Logger;
  readonly #controller = new AbortController();
  readonly #running = new Set<Promise<void>>();
  #closed = false;

  /**
   * @param exec - makes the tasks' backoffers
   * @param limit - most tasks at once (0: every cleanup runs in place)
   * @param maxBackoffMs - each task's budget
   * @param logger - receives the failures of tasks (they are not reported otherwise)
   */
  constructor(exec: RegionExecutor, limit: number, maxBackoffMs: number, logger: Logger) {
    this.#exec = exec;
    this.#limit = limit;
    this.#maxBackoffMs = maxBackoffMs;
    this.#logger = logger;
  }

  /** How many tasks are running. */
  get size(): number {
    return this.#running.size;
  }

  /**
   * Starts `task` in the background when there is room.
   *
   * @param what - names the task in the log line of a failure
   * @param task - the work, given its own backoffer
   * @returns whether it was started; when false the caller runs the work itself
   */
  tryRun(what: string, task: (bo: Backoffer) => Promise<unknown>): boolean {
    if (this.#closed || this.#running.size >= this.#limit) return false;
    const { bo, scope } = this.#exec.begin(
      { signal: this.#controller.signal },
      { maxBackoffMs: this.#maxBackoffMs },
    );
    const p: Promise<void> = task(bo).then(
      () => undefined,
      (e: unknown) => {
        if (!this.#controller.signal.aborted) this.#logger.info(`background ${what} failed`, { error: e });
      },
    );
    const tracked = p.finally(() => {
      scope.dispose();
      this.#running.delete(tracked);
    });
    this.#running.add(tracked);
    return true;
  }

  /** Resolves once every task running now has settled (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }

  /** Refuses new tasks, aborts the running ones and waits for them. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#controller.abort();
    await this.idle();
  }
}
