import type { CachedRegion } from './cached-region.js';
import { InvalidReason } from './invalid-reason.js';
import type { RegionIndex } from './region-index.js';
import type { RegionLoader } from './region-loader.js';
import type { SourceRegionMeta } from './region-source.js';
import { type RegionVerId, sameRegionVerId } from './region-ver-id.js';
import type { EpochNotMatchOptions } from './rpc-context.js';

/**
 * Applies an EpochNotMatch answer (client-go `OnRegionEpochNotMatch`).
 *
 * @returns true when the request's epoch is ahead of TiKV's (the caller backs off and retries)
 * @internal
 */
export async function applyEpochNotMatch(
  index: RegionIndex,
  loader: RegionLoader,
  verId: RegionVerId,
  currentRegions: readonly SourceRegionMeta[],
  options: EpochNotMatchOptions,
): Promise<boolean> {
  const cached = index.getByVerId(verId);
  if (currentRegions.length === 0) {
    cached?.invalidate(InvalidReason.EPOCH_NOT_MATCH);
    return false;
  }
  for (const m of currentRegions) {
    if (m.id === verId.id && (m.epoch.confVer < verId.confVer || m.epoch.version < verId.version))
      return true;
  }
  // The new regions inherit the old one's buckets: TiKV's error does not carry any.
  const buckets = cached?.buckets;
  let invalidateOld = true;
  const fresh: CachedRegion[] = [];
  for (const meta of currentRegions) {
    const region = await loader.build(
      { region: meta, leader: undefined, downPeers: [], pendingPeers: [], buckets },
      buckets,
    );
    const leaderStore = options.fromTiFlash === true ? region.findElectableStoreId() : options.storeId;
    if (leaderStore !== undefined) region.switchWorkLeaderToPeer(region.peerOnStore(leaderStore));
    fresh.push(region);
    if (sameRegionVerId(verId, region.verId)) invalidateOld = false;
  }
  if (invalidateOld) cached?.invalidate(InvalidReason.EPOCH_NOT_MATCH);
  for (const region of fresh) index.insert(region, true);
  return false;
}
