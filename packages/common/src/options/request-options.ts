import { DeadlineExceededError, InvalidArgumentError } from '../errors/client-errors.js';
import { isTiKVError } from '../errors/is-tikv-error.js';
import { type Clock, MAX_TIMER_MS, systemClock } from '../time/clock.js';

/** The options every async operation accepts as its last argument. */
export interface RequestOptions {
  /** Aborts the operation; it then rejects with `signal.reason`, unchanged. */
  readonly signal?: AbortSignal | undefined;
  /**
   * The operation's deadline, in milliseconds from the call, covering every
   * retry and backoff. When it passes the operation rejects with a
   * `DeadlineExceededError` (code `DEADLINE_EXCEEDED`).
   * @defaultValue no deadline
   */
  readonly timeoutMs?: number | undefined;
}

/**
 * Combines signals into one that aborts with the reason of the first that
 * aborts (`AbortSignal.any`, with a fallback for runtimes without it).
 *
 * @param signals - the signals to follow
 * @returns the combined signal
 */
export function anySignal(signals: readonly AbortSignal[]): AbortSignal {
  if (signals.length === 1) return signals[0]!;
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([...signals]);
  const controller = new AbortController();
  const onAbort = (event: Event): void => {
    for (const s of signals) s.removeEventListener('abort', onAbort);
    controller.abort((event.target as AbortSignal).reason);
  };
  for (const s of signals) {
    if (s.aborted) {
      controller.abort(s.reason);
      break;
    }
    s.addEventListener('abort', onAbort, { once: true });
  }
  return controller.signal;
}

/**
 * A signal that aborts with a {@link DeadlineExceededError} after `timeoutMs`.
 * With the system clock it rides on `AbortSignal.timeout`; with another clock
 * (a test's `ManualClock`) it follows that clock.
 *
 * Its timer is never cleared and does not keep the process alive, so it suits
 * only work nobody awaits. For an operation a caller awaits use
 * `openOperationScope`, whose ref'd timer is cleared when the operation ends.
 *
 * @deprecated use `openOperationScope`
 *
 * @param timeoutMs - the timeout in milliseconds (finite, >= 0)
 * @param clock - the clock that measures it
 * @returns the signal
 */
export function deadlineSignal(timeoutMs: number, clock: Clock = systemClock): AbortSignal {
  if (!(timeoutMs >= 0)) throw new InvalidArgumentError(`timeoutMs must be >= 0, got ${timeoutMs}`);
  const controller = new AbortController();
  const fire = (): void => {
    controller.abort(new DeadlineExceededError(`deadline of ${timeoutMs}ms exceeded`, { timeoutMs }));
  };
  if (timeoutMs > MAX_TIMER_MS) return controller.signal;
  if (clock === systemClock) {
    AbortSignal.timeout(Math.ceil(timeoutMs)).addEventListener('abort', fire, { once: true });
  } else {
    clock.setTimer(timeoutMs, fire, undefined, { background: true });
  }
  return controller.signal;
}

/**
 * Turns an operation's {@link RequestOptions} into one `AbortSignal`: it
 * aborts with the user's `signal.reason` when the user aborts, and with a
 * {@link DeadlineExceededError} when `timeoutMs` passes first. The deadline is
 * a {@link deadlineSignal}: never cleared, and it does not keep the process
 * alive.
 *
 * @deprecated use `openOperationScope`, which clears its timer and stops
 *   following the caller's signal when the operation is disposed
 * @param opts - the operation's options
 * @param clock - the clock that measures `timeoutMs` (default: the system clock)
 * @returns a signal; one that never aborts when neither option is set
 */
export function combineSignal(opts: RequestOptions = {}, clock: Clock = systemClock): AbortSignal {
  const signals: AbortSignal[] = [];
  if (opts.signal !== undefined) signals.push(opts.signal);
  if (opts.timeoutMs !== undefined) signals.push(deadlineSignal(opts.timeoutMs, clock));
  if (signals.length === 0) return new AbortController().signal;
  return anySignal(signals);
}

/**
 * Throws the signal's reason when it has aborted: the user's reason unchanged,
 * or a {@link DeadlineExceededError} from {@link combineSignal}'s deadline.
 *
 * @param signal - the signal to check (nothing happens when undefined)
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw signal.reason;
}

/**
 * The reason a signal aborted with, or undefined while it has not aborted.
 *
 * @param signal - the signal
 * @returns `signal.reason` when aborted
 */
export function abortReason(signal: AbortSignal | undefined): unknown {
  return signal?.aborted ? signal.reason : undefined;
}

/**
 * Tells whether an error (typically an abort reason) is this client's own
 * deadline rather than a user's abort.
 *
 * @param error - any value
 * @returns true for a `DEADLINE_EXCEEDED` TiKV error
 */
export function isDeadlineExceeded(error: unknown): error is DeadlineExceededError {
  return isTiKVError(error, 'DEADLINE_EXCEEDED');
}
