import type { CachedRegion, TtlPolicy } from './cached-region.js';
import { InvalidReason } from './invalid-reason.js';
import type { RegionVerId } from './region-ver-id.js';
import { SortedRegions } from './sorted-regions.js';

/**
 * The cached regions: ordered by start key and by id (client-go
 * `regionIndexMu`). Inserting a region removes every cached region it
 * overlaps, unless one of them is newer.
 * @internal
 */
export class RegionIndex {
  /** Regions by start key. */
  readonly sorted = new SortedRegions();
  /** The latest cached version of each region id. */
  private readonly byId = new Map<bigint, CachedRegion>();

  /** How many regions are cached. */
  get size(): number {
    return this.byId.size;
  }

  /** @returns the cached region for exactly this version */
  getByVerId(v: RegionVerId): CachedRegion | undefined {
    const r = this.byId.get(v.id);
    if (r === undefined || r.verId.version !== v.version || r.verId.confVer !== v.confVer) return undefined;
    return r;
  }

  /** @returns the latest cached version of a region id */
  getById(id: bigint): CachedRegion | undefined {
    return this.byId.get(id);
  }

  /** Every cached region (any order). */
  all(): IterableIterator<CachedRegion> {
    return this.byId.values();
  }

  /**
   * Inserts a region (client-go `insertRegionToCache`).
   *
   * @param region - a freshly built region (never one already cached)
   * @param invalidateOld - invalidate the regions it replaces, so requests
   *   still holding them reload
   * @returns false when the region is older than what the cache holds
   */
  insert(region: CachedRegion, invalidateOld: boolean): boolean {
    const newVer = region.verId;
    const old = this.byId.get(newVer.id);
    if (old !== undefined && (old.verId.version > newVer.version || old.verId.confVer > newVer.confVer))
      return false;
    const { removed, stale } = this.sorted.removeIntersecting(region);
    if (stale) return false;
    this.sorted.replaceOrInsert(region);
    const inherit = removed.find((r) => r.id === region.id) ?? removed[0];
    if (inherit !== undefined) {
      const rs = region.rs;
      const oldRs = inherit.rs;
      if (inherit.invalidReason === InvalidReason.NO_LEADER && rs.tikv.length > 0) {
        // The old leader may have stepped down: start from the next peer.
        rs.workTiKVIdx = (oldRs.workTiKVIdx + 1) % rs.tikv.length;
      }
      rs.workTiFlashIdx = oldRs.workTiFlashIdx;
      if (
        rs.buckets === undefined ||
        (oldRs.buckets !== undefined && rs.buckets.version < oldRs.buckets.version)
      ) {
        region.setBuckets(oldRs.buckets);
      }
    }
    for (const r of removed) {
      if (this.byId.get(r.id) === r) this.byId.delete(r.id);
      if (invalidateOld) r.invalidate(InvalidReason.OTHER);
    }
    this.byId.set(newVer.id, region);
    return true;
  }

  /** Drops a region from both indexes (sweep of expired regions). */
  remove(region: CachedRegion): void {
    this.sorted.delete(region);
    if (this.byId.get(region.id) === region) this.byId.delete(region.id);
  }

  /** Drops everything. */
  clear(): void {
    this.sorted.clear();
    this.byId.clear();
  }

  /** How many cached regions are valid now (tests). */
  countValid(nowMs: number, policy: TtlPolicy): number {
    let n = 0;
    for (const r of this.byId.values()) if (r.checkRegionCacheTtl(nowMs, policy)) n++;
    return n;
  }
}
