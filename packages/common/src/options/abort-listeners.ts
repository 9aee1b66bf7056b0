/**
 * Something waiting for a signal to abort: a function, or an object with a `handleAbort`
 * method (no closure per waiter on hot paths).
 */
export type AbortListener = ((reason: unknown) => void) | { handleAbort(reason: unknown): void };

/**
 * Waiters per signal. Each signal gets one real `abort` listener however many waiters follow
 * it, so a caller who shares one `AbortSignal` among many concurrent calls never sees Node's
 * `MaxListenersExceededWarning`, and a long-lived signal keeps no listener once its waiters
 * are gone.
 */
const waiters = new WeakMap<AbortSignal, Set<AbortListener>>();

function dispatch(event: Event): void {
  const signal = event.target as AbortSignal;
  const set = waiters.get(signal);
  if (set === undefined) return;
  // Each waiter leaves the set before it runs, so one that removes another stops it running.
  for (const listener of set) {
    set.delete(listener);
    if (typeof listener === 'function') listener(signal.reason);
    else listener.handleAbort(signal.reason);
  }
  waiters.delete(signal);
}

/**
 * Calls `listener` with `signal.reason` when the signal aborts, once. Does nothing when the
 * signal has already aborted: check `signal.aborted` first.
 *
 * @param signal - the signal to follow
 * @param listener - called once with the abort reason; remove it with {@link offAbort} when
 *   the wait ends
 */
export function onAbort(signal: AbortSignal, listener: AbortListener): void {
  if (signal.aborted) return;
  let set = waiters.get(signal);
  if (set === undefined) {
    set = new Set();
    waiters.set(signal, set);
    signal.addEventListener('abort', dispatch, { once: true });
  }
  set.add(listener);
}

/**
 * Stops following a signal: the listener given to {@link onAbort} will not be called. The
 * signal's own listener goes when its last waiter does.
 *
 * @param signal - the signal
 * @param listener - the listener given to `onAbort`
 */
export function offAbort(signal: AbortSignal, listener: AbortListener): void {
  const set = waiters.get(signal);
  if (set === undefined || !set.delete(listener) || set.size > 0) return;
  waiters.delete(signal);
  signal.removeEventListener('abort', dispatch);
}
