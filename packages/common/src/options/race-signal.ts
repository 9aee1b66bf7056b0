import { offAbort, onAbort } from './abort-listeners.js';

/**
 * Races a promise against an abort signal: rejects with the signal's reason when it aborts
 * first, else settles as the promise does. The promise itself keeps running, so work shared
 * by several callers (a coalesced load, a batched RPC) is not cancelled by one of them.
 *
 * @param promise - the work to wait for
 * @param signal - the caller's signal; undefined waits for the promise alone
 * @returns the promise's outcome, or the signal's reason
 */
export function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    onAbort(signal, reject);
    promise.then(
      (v) => {
        offAbort(signal, reject);
        resolve(v);
      },
      (e: unknown) => {
        offAbort(signal, reject);
        reject(e);
      },
    );
  });
}
