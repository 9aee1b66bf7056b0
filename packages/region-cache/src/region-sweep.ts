import { type CachedRegion, SyncFlag } from './cached-region.js';
import type { RegionIndex } from './region-index.js';

/**
 * One step of the background sweep (client-go `gcRoundFunc`): visits up to
 * `limit` regions from `cursor`, drops the expired ones, promotes delayed
 * reloads, and lets regions with a failed or unreachable store expire after
 * their TTL.
 *
 * @returns how many regions were dropped and where the next step starts
 * @internal
 */
export function sweepRegions(
  index: RegionIndex,
  cursor: Uint8Array,
  limit: number,
  nowMs: number,
): { removed: number; cursor: Uint8Array } {
  const expired: CachedRegion[] = [];
  let count = 0;
  let next: Uint8Array | undefined;
  for (const r of index.sorted.valuesFrom(cursor)) {
    if (++count > limit) {
      next = r.startKey;
      break;
    }
    if (r.isCacheTtlExpired(nowMs)) {
      expired.push(r);
      continue;
    }
    if (r.checkSyncFlags(SyncFlag.NEED_DELAYED_RELOAD_READY)) continue;
    if (r.checkSyncFlags(SyncFlag.NEED_DELAYED_RELOAD_PENDING)) {
      r.setSyncFlags(SyncFlag.NEED_DELAYED_RELOAD_READY);
      continue;
    }
    if (!r.checkSyncFlags(SyncFlag.NEED_EXPIRE_AFTER_TTL) && r.hasStaleOrUnreachableStore()) {
      r.setSyncFlags(SyncFlag.NEED_EXPIRE_AFTER_TTL);
    }
  }
  for (const r of expired) index.remove(r);
  return { removed: expired.length, cursor: next ?? new Uint8Array(0) };
}
