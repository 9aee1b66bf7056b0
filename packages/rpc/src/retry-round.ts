import { type Backoffer, InvalidArgumentError } from '@tikv/common';
import { boundedMap } from './bounded-map.js';

/**
 * Runs one round of concurrent work of one operation: `fn` on every item with at most
 * `concurrency` calls in flight, each with its own backoffer cloned from one fork of `bo`.
 *
 * The fork is what the first failure cancels: every call's backoffer then aborts, no new call
 * starts, and the failure is thrown once the calls in flight settle. A clone shares the fork's
 * signal (nothing cancels one call alone) and carries on `bo`'s exponential sequences. The
 * sleep of the call that slept longest flows back into `bo` (client-go's `UpdateUsingForked`),
 * and so do its backoff sequences: the next round starts from what this one used, as one retry
 * loop would, instead of starting over at the shortest step (client-go's forks do), which let
 * a budget buy dozens of rounds, each a full RPC.
 *
 * @param bo - the operation's backoffer
 * @param items - the work
 * @param concurrency - most calls in flight (>= 1)
 * @param fn - one call
 * @returns the results, aligned with `items`
 * @internal
 */
export async function runRound<T, U>(
  bo: Backoffer,
  items: readonly T[],
  concurrency: number,
  fn: (item: T, bo: Backoffer, index: number) => Promise<U>,
): Promise<U[]> {
  const round = bo.fork({ keepSequences: true });
  let longest: Backoffer | undefined;
  try {
    return await boundedMap(
      items,
      concurrency,
      async (item, index) => {
        const child = round.backoffer.clone({ keepSequences: true });
        try {
          return await fn(item, child, index);
        } finally {
          if (longest === undefined || child.totalSleepMs >= longest.totalSleepMs) longest = child;
        }
      },
      (e) => round.cancel(e),
    );
  } finally {
    bo.updateUsingForked(longest);
    round.dispose();
  }
}

/**
 * Checks a concurrency option.
 *
 * @internal
 */
export function concurrencyArg(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(Number.isSafeInteger(value) && value >= 1)) {
    throw new InvalidArgumentError(`${name} must be an integer >= 1, got ${String(value)}`);
  }
  return value;
}
