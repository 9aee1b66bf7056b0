import { DeadlineExceededError, InvalidArgumentError } from '../errors/client-errors.js';
import { type Clock, systemClock } from '../time/clock.js';
import { offAbort, onAbort } from './abort-listeners.js';
import type { RequestOptions } from './request-options.js';

/** Options of {@link openOperationScope}. */
export interface OperationScopeOptions {
  /** The clock that measures `timeoutMs`. @defaultValue the system clock */
  readonly clock?: Clock;
  /**
   * More signals the operation ends with, besides the caller's: a client's close signal, the
   * signal of the operation this one is part of. Undefined entries are skipped.
   */
  readonly follow?: readonly (AbortSignal | undefined)[];
  /**
   * The operation belongs to a background loop nobody awaits: its deadline timer does not
   * keep the process alive. @defaultValue false
   */
  readonly background?: boolean;
}

/**
 * The cancellation of one operation: one signal that aborts with the caller's
 * `signal.reason`, with a {@link DeadlineExceededError} once `timeoutMs` passes, or with the
 * reason of a followed signal, whichever comes first; and the deadline as a point in time.
 *
 * Dispose it when the operation settles: that clears the deadline timer (a caller awaiting
 * the operation is what keeps it alive, so it is a ref'd timer) and stops following the
 * caller's and the followed signals. Every signal it follows gets one listener however many
 * scopes follow it.
 *
 * @example
 * ```ts
 * async get(key: Uint8Array, opts?: RequestOptions) {
 *   const scope = openOperationScope(opts, { clock: this.clock });
 *   try {
 *     return await this.send(key, scope.signal, scope.deadlineAtMs);
 *   } finally {
 *     scope.dispose();
 *   }
 * }
 * ```
 */
export interface OperationScope extends Disposable {
  /** Aborts when the operation must stop; undefined when nothing can stop it. */
  readonly signal: AbortSignal | undefined;
  /** The deadline in the clock's milliseconds, when `timeoutMs` was given. */
  readonly deadlineAtMs: number | undefined;
  /** Clears the timer and stops following the signals. Idempotent; the signal stays as it is. */
  dispose(): void;
}

/** Timers longer than this overflow in Node; a longer timeout is treated as none. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The scope of an operation nothing can stop: nothing to allocate, nothing to dispose. */
const UNBOUNDED: OperationScope = Object.freeze({
  signal: undefined,
  deadlineAtMs: undefined,
  dispose(): void {},
  [Symbol.dispose](): void {},
});

class Scope implements OperationScope {
  readonly deadlineAtMs: number | undefined;
  readonly #controller = new AbortController();
  readonly #followed: AbortSignal[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Cancels the deadline's sleep on a clock other than the system clock. */
  #clockTimer: AbortController | undefined;

  constructor(
    signals: readonly AbortSignal[],
    timeoutMs: number | undefined,
    clock: Clock,
    background: boolean,
  ) {
    for (const s of signals) {
      if (s.aborted) {
        this.#controller.abort(s.reason);
        this.deadlineAtMs = timeoutMs === undefined ? undefined : clock.now() + timeoutMs;
        return;
      }
    }
    for (const s of signals) {
      onAbort(s, this);
      this.#followed.push(s);
    }
    if (timeoutMs === undefined) {
      this.deadlineAtMs = undefined;
      return;
    }
    this.deadlineAtMs = clock.now() + timeoutMs;
    if (timeoutMs > MAX_TIMER_MS) return;
    if (clock === systemClock) {
      this.#timer = setTimeout(expire, Math.ceil(timeoutMs), this, timeoutMs);
      if (background) this.#timer.unref?.();
    } else {
      const cancel = new AbortController();
      this.#clockTimer = cancel;
      clock.sleep(timeoutMs, cancel.signal, { background }).then(
        () => expire(this, timeoutMs),
        () => {},
      );
    }
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** A followed signal aborted (the object listener of `onAbort`). */
  handleAbort(reason: unknown): void {
    this.end(reason);
  }

  /** Aborts with `reason` (first one wins) and lets go of everything. */
  end(reason: unknown): void {
    this.dispose();
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
  }

  dispose(): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    if (this.#clockTimer !== undefined) {
      this.#clockTimer.abort();
      this.#clockTimer = undefined;
    }
    for (const s of this.#followed) offAbort(s, this);
    this.#followed.length = 0;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

function expire(scope: Scope, timeoutMs: number): void {
  scope.end(new DeadlineExceededError(`deadline of ${timeoutMs}ms exceeded`, { timeoutMs }));
}

/**
 * Opens the {@link OperationScope} of one operation from its {@link RequestOptions}.
 * Without a signal, a timeout or a followed signal it allocates nothing and its `signal` is
 * undefined.
 *
 * @param opts - the caller's `signal` and `timeoutMs`
 * @param options - the clock, signals to follow as well, and whether it is background work
 * @returns the scope; dispose it when the operation settles
 * @throws InvalidArgumentError when `timeoutMs` is negative or not a number
 */
export function openOperationScope(
  opts: RequestOptions | undefined,
  options?: OperationScopeOptions,
): OperationScope {
  const timeoutMs = opts?.timeoutMs;
  if (timeoutMs !== undefined && !(timeoutMs >= 0)) {
    throw new InvalidArgumentError(`timeoutMs must be >= 0, got ${timeoutMs}`);
  }
  const signals: AbortSignal[] = [];
  if (opts?.signal !== undefined) signals.push(opts.signal);
  const follow = options?.follow;
  if (follow !== undefined) for (const s of follow) if (s !== undefined) signals.push(s);
  if (signals.length === 0 && timeoutMs === undefined) return UNBOUNDED;
  return new Scope(signals, timeoutMs, options?.clock ?? systemClock, options?.background === true);
}

/**
 * Runs `fn` inside an {@link OperationScope} and disposes the scope when `fn` settles.
 *
 * @param opts - the caller's `signal` and `timeoutMs`
 * @param options - the clock, signals to follow as well, and whether it is background work
 * @param fn - the operation, given the scope
 * @returns what `fn` returns
 */
export async function withOperationScope<T>(
  opts: RequestOptions | undefined,
  options: OperationScopeOptions | undefined,
  fn: (scope: OperationScope) => Promise<T>,
): Promise<T> {
  const scope = openOperationScope(opts, options);
  try {
    return await fn(scope);
  } finally {
    scope.dispose();
  }
}
