import { DeadlineExceededError, InvalidArgumentError } from '../errors/client-errors.js';
import { type Clock, type ClockTimer, MAX_TIMER_MS, systemClock } from '../time/clock.js';
import { offAbort, onAbort } from './abort-listeners.js';
import type { RequestOptions } from './request-options.js';

/** Options of {@link openOperationScope}. */
export interface OperationScopeOptions {
  /** The clock that measures `timeoutMs`. @defaultValue the system clock */
  readonly clock?: Clock | undefined;
  /**
   * More signals the operation ends with, besides the caller's: a client's close signal, the
   * signal of the operation this one is part of. Undefined entries are skipped.
   */
  readonly follow?: readonly (AbortSignal | undefined)[];
  /**
   * The operation belongs to a background loop nobody awaits: its deadline timer does not
   * keep the process alive. @defaultValue false
   */
  readonly background?: boolean | undefined;
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

/** The scope of an operation nothing can stop: nothing to allocate, nothing to dispose. */
const UNBOUNDED: OperationScope = Object.freeze({
  signal: undefined,
  deadlineAtMs: undefined,
  dispose(): void {},
  [Symbol.dispose](): void {},
});

/** The timer options of a background scope (shared: nothing allocated per scope). */
const BACKGROUND = Object.freeze({ background: true });

class Scope implements OperationScope {
  readonly deadlineAtMs: number | undefined;
  readonly #controller = new AbortController();
  readonly #followed: AbortSignal[] = [];
  readonly #clock: Clock;
  readonly #timeoutMs: number;
  #timer: ClockTimer | undefined;

  constructor(
    signals: readonly AbortSignal[],
    timeoutMs: number | undefined,
    clock: Clock,
    background: boolean,
  ) {
    this.#clock = clock;
    this.#timeoutMs = timeoutMs ?? 0;
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
    this.#timer = clock.setTimer(Math.ceil(timeoutMs), expire, this, background ? BACKGROUND : undefined);
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** A followed signal aborted (the object listener of `onAbort`). */
  handleAbort(reason: unknown): void {
    this.end(reason);
  }

  /** The deadline passed. */
  expire(): void {
    this.#timer = undefined;
    const timeoutMs = this.#timeoutMs;
    this.end(new DeadlineExceededError(`deadline of ${timeoutMs}ms exceeded`, { timeoutMs }));
  }

  /** Aborts with `reason` (first one wins) and lets go of everything. */
  end(reason: unknown): void {
    this.dispose();
    if (!this.#controller.signal.aborted) this.#controller.abort(reason);
  }

  dispose(): void {
    if (this.#timer !== undefined) {
      this.#clock.clearTimer(this.#timer);
      this.#timer = undefined;
    }
    for (const s of this.#followed) offAbort(s, this);
    this.#followed.length = 0;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }
}

function expire(scope: Scope): void {
  scope.expire();
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
