/**
 * Runs `fn` on every item with at most `concurrency` calls in flight. On the first rejection
 * no new call starts, `onFirstError` runs (to cancel the ones in flight), and once those settle
 * the promise rejects with that first error.
 *
 * @param items - the inputs
 * @param concurrency - most calls in flight (>= 1)
 * @param fn - the work
 * @param onFirstError - called once with the first error
 * @returns the results, aligned with `items`
 * @internal
 */
export async function boundedMap<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
  onFirstError?: (error: unknown) => void,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  let firstError: unknown;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i);
      } catch (e) {
        if (!failed) {
          failed = true;
          firstError = e;
          onFirstError?.(e);
        }
      }
    }
  };
  const workers: Promise<void>[] = [];
  for (let w = 0; w < Math.min(concurrency, items.length); w++) workers.push(worker());
  await Promise.all(workers);
  if (failed) throw firstError;
  return results;
}
