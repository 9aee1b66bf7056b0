import { isFakeEpochNotMatch, type RegionError, serverBusyHintMs } from '../errors/region-error.js';
import { BackoffKinds } from './backoff-kind.js';
import type { Backoffer, BackoffOptions } from './backoffer.js';

/**
 * Backs off for a region error when it needs it (client-go's
 * `MayBackoffForRegionError`): a real EpochNotMatch (one that lists the
 * current regions) is retried at once; any other region error, including the
 * "fake" EpochNotMatch without regions, sleeps with the `regionMiss` kind.
 * A ServerIsBusy backoff hint becomes the sleep's floor.
 *
 * @param err - the region error, or undefined for none
 * @param bo - the backoffer of the operation
 * @param options - a per-call signal and cap
 * @returns a promise that resolves when the caller may retry
 */
export async function mayBackoffForRegionError(
  err: RegionError | undefined,
  bo: Backoffer,
  options: Omit<BackoffOptions, 'minSleepMs'> = {},
): Promise<void> {
  if (err === undefined) return;
  if (err.kind === 'EpochNotMatch' && !isFakeEpochNotMatch(err)) return;
  const hint = serverBusyHintMs(err);
  await bo.backoff(
    BackoffKinds.regionMiss,
    err,
    hint === undefined ? options : { ...options, minSleepMs: hint },
  );
}
