import type { RequestOptions } from '@tikv/common';

/**
 * Per-call options every async method of this package accepts: `signal` cancels the call
 * (it rejects with the signal's reason) and `timeoutMs` bounds it, retries and backoff
 * included (it rejects with a `DeadlineExceededError`).
 */
export type CallOptions = RequestOptions;

/**
 * Races a promise against a signal: rejects with the signal's reason when it aborts first.
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
