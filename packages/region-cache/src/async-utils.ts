import type { Clock } from '@tikv/common';

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
      // A background loop nobody awaits: its timer must not keep the process alive.
      await clock.sleep(intervalMs, signal, { background: true });
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
