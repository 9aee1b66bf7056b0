import { offAbort, onAbort } from '@tikv/common';

/**
 * Resolves after `ms`, or at once when `signal` aborts (so a closing cluster leaves no timer).
 * Any number of delayed requests share one listener on the signal (a store's lifetime), so a
 * slow store under load raises no `MaxListenersExceededWarning`.
 */
export function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      offAbort(signal, done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    onAbort(signal, done);
  });
}
