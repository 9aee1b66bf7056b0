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
