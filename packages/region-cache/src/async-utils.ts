import type { Clock } from '@tikv/common';

/**
 * Races a promise against a signal: rejects with the signal's reason when it
 * aborts first. The promise keeps running (others may share it).
 *
 * @internal
 */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

/**
 * Runs `fn` every `intervalMs` on `clock` until `signal` aborts. Errors go to
 * `onError`; the loop goes on.
 *
 * @internal
 */
export async function runEvery(
  clock: Clock,
  intervalMs: number,
  signal: AbortSignal,
  fn: () => unknown,
  onError: (e: unknown) => void,
): Promise<void> {
  while (!signal.aborted) {
    try {
      await clock.sleep(intervalMs, signal);
    } catch {
      return;
    }
    try {
      await fn();
    } catch (e) {
      if (signal.aborted) return;
      onError(e);
    }
  }
}
