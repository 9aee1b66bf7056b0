import { DeadlineExceededError } from '../errors/client-errors.js';
import { offAbort, onAbort } from '../options/abort-listeners.js';
import { type Clock, type ClockTimer, MAX_TIMER_MS } from '../time/clock.js';

/** The request whose promise is being created (see the constructor). */
let initializing: PendingRequest<never> | undefined;

/**
 * One request waiting for its owner to answer it: a promise the owner settles (a batcher hands
 * out a TSO range, a stream matches a response to its id), with what every such waiter needs
 * around it, in one place:
 *
 * - the caller's `signal`: aborting it rejects the promise with `signal.reason` (unchanged);
 *   each signal gets one real listener however many requests follow it (`onAbort`), and the
 *   request is its own listener, so no closure is allocated per request;
 * - a per-request timeout measured on the injected {@link Clock} (a `ManualClock` in tests):
 *   once it passes the promise rejects with {@link PendingRequest.timeoutError};
 * - exactly one settlement: the first of {@link PendingRequest.resolve},
 *   {@link PendingRequest.reject}, the abort and the timeout wins, later ones are ignored, and
 *   settling clears the timer and the abort listener.
 *
 * An owner keeps the requests it queued and skips the {@link PendingRequest.settled} ones when
 * it builds the next batch. A subclass carries the request's payload and may override
 * `reject` (which the abort and the timeout go through) to take itself off a stream, and
 * `timeoutError` to name itself.
 *
 * @example
 * ```ts
 * getTimestamp(options?: RequestOptions): Promise<bigint> {
 *   const request = new PendingRequest<bigint>(this.clock, options?.signal, options?.timeoutMs);
 *   if (!request.settled) this.queue.push(request); // an aborted signal settles it at once
 *   return request.promise;
 * }
 * // later, when the batch comes back:
 * for (const r of batch) r.resolve(next++);
 * ```
 */
export class PendingRequest<T> {
  /** Settles with the answer, the caller's abort reason, the timeout or the owner's error. */
  readonly promise: Promise<T>;
  /** The request's own timeout in milliseconds, when it has one. */
  readonly timeoutMs: number | undefined;
  #resolve!: (value: T) => void;
  #reject!: (reason: unknown) => void;
  #settled = false;
  readonly #signal: AbortSignal | undefined;
  readonly #clock: Clock;
  #timer: ClockTimer | undefined;

  /**
   * Starts waiting. With a signal that has already aborted the request is settled (rejected
   * with its reason) before the constructor returns.
   *
   * @param clock - measures the timeout
   * @param signal - the caller's signal; undefined when nothing can abort the request
   * @param timeoutMs - the request's own timeout in milliseconds (0 or less: at the next
   *   timer turn); undefined, or more than 2^31 - 1 (beyond what a timer holds), for none
   */
  constructor(clock: Clock, signal: AbortSignal | undefined, timeoutMs: number | undefined) {
    // The executor is one shared function, not a closure per request: it runs synchronously
    // inside `new Promise`, so it finds this request in `initializing`.
    initializing = this as unknown as PendingRequest<never>;
    this.promise = new Promise<T>(PendingRequest.#capture);
    initializing = undefined;
    this.#clock = clock;
    this.timeoutMs = timeoutMs;
    if (signal !== undefined) {
      if (signal.aborted) {
        this.#signal = undefined;
        this.#settled = true;
        this.#reject(signal.reason);
        return;
      }
      onAbort(signal, this);
    }
    this.#signal = signal;
    if (timeoutMs !== undefined && timeoutMs <= MAX_TIMER_MS) {
      this.#timer = clock.setTimer(
        timeoutMs,
        PendingRequest.#expire,
        this as unknown as PendingRequest<never>,
      );
    }
  }

  /** The promise executor of every request: keeps the settle functions of `initializing`. */
  static #capture(this: void, resolve: (value: never) => void, reject: (reason: unknown) => void): void {
    const r = initializing as PendingRequest<never>;
    r.#resolve = resolve;
    r.#reject = reject;
  }

  /** Whether the request has been settled (answered, failed, aborted or timed out). */
  get settled(): boolean {
    return this.#settled;
  }

  /**
   * Answers the request (ignored once settled).
   *
   * @param value - the answer
   * @returns whether this call settled it
   */
  resolve(value: T): boolean {
    if (this.#settled) return false;
    this.#detach();
    this.#resolve(value);
    return true;
  }

  /**
   * Fails the request (ignored once settled). The caller's abort and the timeout go through
   * here too, so an override sees every failure.
   *
   * @param reason - what the caller's promise rejects with
   * @returns whether this call settled it
   */
  reject(reason: unknown): boolean {
    if (this.#settled) return false;
    this.#detach();
    this.#reject(reason);
    return true;
  }

  /** The abort listener (an object listener of `onAbort`): rejects with the signal's reason. */
  handleAbort(reason: unknown): void {
    this.reject(reason);
  }

  /**
   * The timer callback of every request, which comes as the argument (no closure per
   * request): rejects it with {@link PendingRequest.timeoutError}.
   */
  static #expire(this: void, request: PendingRequest<never>): void {
    request.#timer = undefined;
    if (!request.#settled) request.reject(request.timeoutError(request.timeoutMs ?? 0));
  }

  /**
   * The error a timed-out request rejects with; override it to name the request.
   *
   * @param timeoutMs - the request's timeout
   * @returns a `DeadlineExceededError` by default
   */
  protected timeoutError(timeoutMs: number): unknown {
    return new DeadlineExceededError(`request timed out after ${timeoutMs}ms`, { timeoutMs });
  }

  #detach(): void {
    this.#settled = true;
    if (this.#timer !== undefined) {
      this.#clock.clearTimer(this.#timer);
      this.#timer = undefined;
    }
    if (this.#signal !== undefined) offAbort(this.#signal, this);
  }
}
