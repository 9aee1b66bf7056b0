import {
  bytesToHex,
  ClientClosedError,
  type Clock,
  type Logger,
  PdError,
  raceSignal,
  throwIfAborted,
} from '@tikv/common';
import { type CachedRegion, SyncFlag, type TtlPolicy } from './cached-region.js';
import { type MissReason, publishMiss } from './diagnostics.js';
import type { RegionIndex } from './region-index.js';
import type { RegionLoader } from './region-loader.js';
import type { SourceKeyRange } from './region-source.js';

/** @internal */
export interface RegionFetcherDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly ttl: TtlPolicy;
  /** Aborts when the owning cache closes. */
  readonly signal: AbortSignal;
}

const RELOAD_FLAGS = SyncFlag.NEED_RELOAD_ON_ACCESS | SyncFlag.NEED_DELAYED_RELOAD_READY;

/**
 * The cache's load path (client-go `findRegionByKey`, `LocateRegionByID`):
 * answers from the index when it can, otherwise loads from the source and
 * inserts, with concurrent loads of one key or id sharing one call. Each
 * caller waits with its own signal; the shared load goes on for the others.
 * @internal
 */
export class RegionFetcher {
  private readonly inflight = new Map<string, Promise<CachedRegion>>();

  constructor(
    private readonly index: RegionIndex,
    private readonly loader: RegionLoader,
    private readonly deps: RegionFetcherDeps,
  ) {}

  private shared(tag: string, load: () => Promise<CachedRegion>): Promise<CachedRegion> {
    let p = this.inflight.get(tag);
    if (p === undefined) {
      if (this.deps.signal.aborted) return Promise.reject(new ClientClosedError('region cache is closed'));
      p = load().finally(() => this.inflight.delete(tag));
      this.inflight.set(tag, p);
    }
    return p;
  }

  /** The region holding `key` (or ending at it), loading on a miss. */
  async findByKey(
    key: Uint8Array,
    isEndKey: boolean,
    signal: AbortSignal | undefined,
  ): Promise<CachedRegion> {
    const r = this.index.sorted.searchByKey(key, isEndKey);
    const lookup = isEndKey ? 'endKey' : 'key';
    if (r === undefined || !r.checkRegionCacheTtl(this.deps.clock.now(), this.deps.ttl)) {
      const reason: MissReason = r === undefined ? 'absent' : 'expired';
      publishMiss(() => ({ lookup, reason }));
      return raceSignal(this.loadByKeyAndInsert(key, isEndKey, true), signal);
    }
    const flags = r.resetSyncFlags(RELOAD_FLAGS);
    if (flags === 0) return r;
    publishMiss(() => ({ lookup, reason: 'needReload', regionId: r.id }));
    // A region loaded by id might not hold the key any more: reload by key.
    return this.reloadOrKeep(r, signal, () =>
      this.loadByKeyAndInsert(key, isEndKey, (flags & SyncFlag.NEED_RELOAD_ON_ACCESS) !== 0),
    );
  }

  /** The region with this id, loading on a miss. */
  async findById(id: bigint, signal: AbortSignal | undefined): Promise<CachedRegion> {
    const r = this.index.getById(id);
    if (r?.checkRegionCacheTtl(this.deps.clock.now(), this.deps.ttl)) {
      const flags = r.resetSyncFlags(RELOAD_FLAGS);
      if (flags === 0) return r;
      publishMiss(() => ({ lookup: 'id', reason: 'needReload', regionId: id }));
      const invalidateOld = (flags & SyncFlag.NEED_RELOAD_ON_ACCESS) !== 0;
      return this.reloadOrKeep(r, signal, () => this.loadByIdAndInsert(id, invalidateOld));
    }
    publishMiss(() => ({ lookup: 'id', reason: r === undefined ? 'absent' : 'expired', regionId: id }));
    return raceSignal(this.loadByIdAndInsert(id, true), signal);
  }

  /** Reloads a region marked for reload; on failure keeps serving it, marked again. */
  private async reloadOrKeep(
    r: CachedRegion,
    signal: AbortSignal | undefined,
    reload: () => Promise<CachedRegion>,
  ): Promise<CachedRegion> {
    try {
      return await raceSignal(reload(), signal);
    } catch (e) {
      throwIfAborted(signal);
      this.deps.logger.error('reloading region failed, using the cached one', { regionId: r.id, error: e });
      r.setSyncFlags(SyncFlag.NEED_RELOAD_ON_ACCESS);
      return r;
    }
  }

  private loadByKeyAndInsert(
    key: Uint8Array,
    isEndKey: boolean,
    invalidateOld: boolean,
  ): Promise<CachedRegion> {
    return this.shared(`${isEndKey ? 'e' : 'k'}${bytesToHex(key)}`, async () => {
      let lr = await this.loader.loadByKey(key, isEndKey);
      if (!this.index.insert(lr, invalidateOld)) {
        // The source answered with a stale region: one more try.
        lr = await this.loader.loadByKey(key, isEndKey);
        this.index.insert(lr, invalidateOld);
      }
      return lr;
    });
  }

  /** Loads a region by id and inserts it (shared with concurrent loads of the id). */
  loadByIdAndInsert(id: bigint, invalidateOld: boolean): Promise<CachedRegion> {
    return this.shared(`i${id}`, async () => {
      const lr = await this.loader.loadById(id);
      this.index.insert(lr, invalidateOld);
      return lr;
    });
  }

  /** Loads up to `count` regions of `[startKey, endKey)` (empty end: +infinity) and inserts them. */
  async scanAndInsert(startKey: Uint8Array, endKey: Uint8Array, count: number): Promise<CachedRegion[]> {
    const regions = await this.loader.scan(startKey, endKey, count);
    for (const r of regions) this.index.insert(r, false);
    return regions;
  }

  /**
   * Loads the regions of several ranges (PD `BatchScanRegions`, `limit` regions a call) and
   * inserts them.
   *
   * @throws PdError (`REGION_NOT_FOUND`) when PD returns no region
   */
  async batchScanAndInsert(
    ranges: readonly SourceKeyRange[],
    limit: number,
    options: { readonly needBuckets: boolean; readonly needLeader: boolean },
  ): Promise<CachedRegion[]> {
    const regions = await this.loader.batchScan(ranges, limit, options);
    if (regions.length === 0) {
      throw new PdError('REGION_NOT_FOUND', `PD returned no region for ${ranges.length} ranges`);
    }
    for (const r of regions) this.index.insert(r, false);
    return regions;
  }

  /** Resolves when every load in flight has settled. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.inflight.values()]);
  }
}
