import {
  Backoffer,
  BackoffKinds,
  type Clock,
  compareKeys,
  formatKey,
  isTiKVError,
  keysEqual,
  type Logger,
  PdError,
  TiKVError,
} from '@tikv/common';
import { regionsHaveGapInRanges } from './batch-locate.js';
import { CachedRegion, isSamePeer, type RegionStores, SyncFlag, type TtlPolicy } from './cached-region.js';
import type { RegionSource, SourceKeyRange, SourcePeer, SourceRegion } from './region-source.js';
import type { Store } from './store.js';
import { ResolveState } from './store.js';
import type { StoreCache } from './store-cache.js';

/**
 * The key the loader asks PD about to find the last region: 64 bytes of 0xff, above every key
 * clients write in practice (TiDB's keys start with `t` or `m`, API V2 keys with a keyspace
 * prefix). A region that starts above it is still found, by walking forward.
 */
export const LAST_REGION_PROBE_KEY: Uint8Array = new Uint8Array(64).fill(0xff);

/** @internal */
export interface RegionLoaderDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly loadBackoffMs: number;
  readonly needBuckets: boolean;
  readonly ttl: TtlPolicy;
  /** Aborts when the owning cache closes. */
  readonly signal: AbortSignal;
}

/**
 * Loads regions from the region source and builds cached regions from them
 * (client-go `loadRegion`, `loadRegionByID`, `scanRegions`, `newRegion`).
 * @internal
 */
export class RegionLoader {
  constructor(
    private readonly source: RegionSource,
    private readonly stores: StoreCache,
    private readonly deps: RegionLoaderDeps,
  ) {}

  private backoffer(): Backoffer {
    const { clock, loadBackoffMs, signal, logger } = this.deps;
    return new Backoffer({ maxBackoffMs: loadBackoffMs, backoffWeight: 1, clock, signal, logger });
  }

  /**
   * Loads the region holding `key` (or, for an end key, the region whose range
   * ends at `key`).
   */
  async loadByKey(key: Uint8Array, isEndKey: boolean): Promise<CachedRegion> {
    if (isEndKey && key.length === 0) return this.loadLast();
    const { needBuckets, signal } = this.deps;
    const bo = this.backoffer();
    let searchPrev = false;
    for (;;) {
      let reg: SourceRegion | undefined;
      try {
        reg = searchPrev
          ? await this.source.getPrevRegion(key, { needBuckets, signal })
          : await this.source.getRegion(key, { needBuckets, signal });
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        if (isTiKVError(e, 'CODEC_ERROR')) throw e;
        await bo.backoff(BackoffKinds.pdRPC, e);
        continue;
      }
      if (reg === undefined) {
        await bo.backoff(
          BackoffKinds.pdRPC,
          new PdError('REGION_NOT_FOUND', `no region for key ${formatKey(key)}`),
        );
        continue;
      }
      if (reg.region.peers.length === 0) {
        throw new TiKVError('INTERNAL', `region ${reg.region.id} has no peer`);
      }
      if (isEndKey && !searchPrev && key.length !== 0 && keysEqual(reg.region.startKey, key)) {
        searchPrev = true;
        continue;
      }
      return this.build(reg);
    }
  }

  /**
   * The last region (+infinity as an end key). PD has no call for it, so the region holding
   * {@link LAST_REGION_PROBE_KEY} is asked for directly: past every key clients write in
   * practice, it is the last region, which its empty end key confirms. Only when some region
   * starts above the probe does the loader walk forward from there, a page of regions at a time.
   */
  private async loadLast(): Promise<CachedRegion> {
    const { needBuckets, signal } = this.deps;
    const bo = this.backoffer();
    let last: SourceRegion | undefined;
    while (last === undefined) {
      try {
        last = await this.source.getRegion(LAST_REGION_PROBE_KEY, { needBuckets, signal });
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        if (isTiKVError(e, 'CODEC_ERROR')) throw e;
        await bo.backoff(BackoffKinds.pdRPC, e);
        continue;
      }
      if (last === undefined) {
        await bo.backoff(BackoffKinds.pdRPC, new PdError('REGION_NOT_FOUND', 'no region for the last key'));
      }
    }
    while (last.region.endKey.length !== 0) {
      let batch: SourceRegion[];
      try {
        batch = await this.source.scanRegions(last.region.endKey, new Uint8Array(0), 128, { signal });
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        await bo.backoff(BackoffKinds.pdRPC, e);
        continue;
      }
      const tail = batch[batch.length - 1];
      if (tail === undefined) {
        await bo.backoff(
          BackoffKinds.pdRPC,
          new PdError('REGION_NOT_FOUND', 'no region after the last known one'),
        );
        continue;
      }
      last = tail;
    }
    if (last.region.peers.length === 0) {
      throw new TiKVError('INTERNAL', `region ${last.region.id} has no peer`);
    }
    return this.build(last);
  }

  /** Loads the region with this id; a region the source does not know is an error. */
  async loadById(id: bigint): Promise<CachedRegion> {
    const { needBuckets, signal } = this.deps;
    const bo = this.backoffer();
    for (;;) {
      let reg: SourceRegion | undefined;
      try {
        reg = await this.source.getRegionById(id, { needBuckets, signal });
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        if (isTiKVError(e, 'CODEC_ERROR')) throw e;
        await bo.backoff(BackoffKinds.pdRPC, e);
        continue;
      }
      if (reg === undefined) throw new PdError('REGION_NOT_FOUND', `region ${id} not found`);
      if (reg.region.peers.length === 0) throw new TiKVError('INTERNAL', `region ${id} has no peer`);
      return this.build(reg);
    }
  }

  /**
   * Scans up to `limit` regions from the one holding `startKey`, in key order.
   * Regions without a leader are left out; an empty answer, a gap, or only
   * leaderless regions are retried with backoff.
   */
  async scan(startKey: Uint8Array, endKey: Uint8Array, limit: number): Promise<CachedRegion[]> {
    if (limit === 0) return [];
    const ranges = [{ startKey, endKey }];
    return this.scanWith(ranges, limit, true, (signal) =>
      this.source.scanRegions(startKey, endKey, limit, { signal }),
    );
  }

  /**
   * Up to `limit` regions overlapping sorted `ranges`, in key order (client-go
   * `batchScanRegions`), with one `BatchScanRegions` call; a source without it is scanned
   * range by range (client-go `batchScanRegionsFallback`). Answers that are empty or leave a
   * hole are retried with backoff.
   *
   * @param options - `needBuckets`; `needLeader` leaves out regions without a leader
   */
  async batchScan(
    ranges: readonly SourceKeyRange[],
    limit: number,
    options: { readonly needBuckets: boolean; readonly needLeader: boolean },
  ): Promise<CachedRegion[]> {
    if (limit === 0 || ranges.length === 0) return [];
    const source = this.source;
    if (source.batchScanRegions === undefined) return this.batchScanFallback(ranges, limit);
    const batchScan = source.batchScanRegions.bind(source);
    return this.scanWith(ranges, limit, options.needLeader, (signal) =>
      batchScan(ranges, limit, { needBuckets: options.needBuckets, containAllKeyRange: true, signal }),
    );
  }

  private async batchScanFallback(ranges: readonly SourceKeyRange[], limit: number): Promise<CachedRegion[]> {
    this.deps.logger.warn('the region source has no batch scan; scanning range by range', {
      ranges: ranges.length,
    });
    const out: CachedRegion[] = [];
    let last: CachedRegion | undefined;
    let left = limit;
    for (const range of ranges) {
      let start = range.startKey;
      if (last !== undefined) {
        if (last.endKey.length === 0) break;
        if (range.endKey.length > 0 && compareKeys(last.endKey, range.endKey) >= 0) continue;
        if (compareKeys(last.endKey, start) > 0) start = last.endKey;
      }
      const regions = await this.scan(start, range.endKey, left);
      if (regions.length > 0) last = regions[regions.length - 1];
      out.push(...regions);
      if (regions.length >= left) return out;
      left -= regions.length;
    }
    return out;
  }

  /** One scan call retried until it answers without a hole, built into cached regions. */
  private async scanWith(
    ranges: readonly SourceKeyRange[],
    limit: number,
    needLeader: boolean,
    call: (signal: AbortSignal) => Promise<SourceRegion[]>,
  ): Promise<CachedRegion[]> {
    const { signal } = this.deps;
    const bo = this.backoffer();
    for (;;) {
      let regs: SourceRegion[];
      try {
        regs = await call(signal);
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        if (isTiKVError(e, 'CODEC_ERROR')) throw e;
        await bo.backoff(BackoffKinds.pdRPC, e);
        continue;
      }
      let problem: string | undefined;
      if (regs.length === 0) problem = 'PD returned no region';
      else if (
        regionsHaveGapInRanges(
          ranges,
          regs.map((r) => r.region),
          limit,
        )
      )
        problem = 'PD returned regions with gaps';
      const kept = needLeader ? regs.filter((r) => r.leader !== undefined && r.leader.id !== 0n) : regs;
      if (problem === undefined && kept.length === 0) problem = 'every returned region has no leader';
      if (problem !== undefined) {
        await bo.backoff(
          BackoffKinds.pdRPC,
          new PdError('REGION_NOT_FOUND', `${problem}, ranges ${ranges.length}, limit ${limit}`),
        );
        continue;
      }
      if (kept.length < regs.length) this.deps.logger.warn('scanned regions without a leader were left out');
      const out: CachedRegion[] = [];
      for (const r of kept) out.push(await this.build(r));
      return out;
    }
  }

  /**
   * Builds a cached region (client-go `newRegion`): resolves each peer's store,
   * leaves out peers that are down, on tombstone stores or witnesses (unless
   * the leader), and starts at the leader.
   *
   * @throws TiKVError (`INTERNAL`) when no peer is left
   */
  async build(reg: SourceRegion, buckets = reg.buckets): Promise<CachedRegion> {
    const { region, leader, downPeers } = reg;
    const stores: Store[] = [];
    const storeEpochs: number[] = [];
    const tikv: number[] = [];
    const tiflash: number[] = [];
    const available: SourcePeer[] = [];
    let leaderAccessIdx = 0;
    for (const p of region.peers) {
      const store = this.stores.getOrInsertDefault(p.storeId);
      const addr =
        store.resolveState === ResolveState.UNRESOLVED
          ? await this.stores.initResolve(store)
          : store.resolveState === ResolveState.TOMBSTONE
            ? ''
            : store.address;
      if (addr === '' || downPeers.some((d) => isSamePeer(d, p))) continue;
      const isLeader = isSamePeer(p, leader);
      if (p.isWitness && !isLeader) continue;
      if (isLeader) leaderAccessIdx = tikv.length;
      available.push(p);
      (store.isTiFlash ? tiflash : tikv).push(stores.length);
      stores.push(store);
      storeEpochs.push(store.epoch);
    }
    if (available.length === 0) {
      throw new TiKVError('INTERNAL', `no available peers, region ${region.id}`, true);
    }
    const rs: RegionStores = {
      stores,
      storeEpochs,
      tikv,
      tiflash,
      workTiKVIdx: leaderAccessIdx,
      proxyTiKVIdx: -1,
      workTiFlashIdx: 0,
      buckets,
      pendingPeers: reg.pendingPeers,
      downPeers,
    };
    const cached = new CachedRegion(
      {
        id: region.id,
        startKey: region.startKey,
        endKey: region.endKey,
        epoch: region.epoch,
        peers: available,
      },
      rs,
      this.deps.ttl.nextTtl(this.deps.clock.now()),
    );
    if (downPeers.length > 0) cached.setSyncFlags(SyncFlag.NEED_EXPIRE_AFTER_TTL);
    return cached;
  }
}
