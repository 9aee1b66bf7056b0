import { ClientClosedError, type RequestOptions, raceSignal, withOperationScope } from '@tikv/common';
import { runEvery } from './async-utils.js';
import { batchLocateRanges } from './batch-locate.js';
import { BucketReloads } from './bucket-reloads.js';
import { type CachedRegion, SyncFlag, type TtlPolicy } from './cached-region.js';
import { publishMiss, type RegionCacheMissEvent } from './diagnostics.js';
import { applyEpochNotMatch } from './epoch-not-match.js';
import { InvalidReason } from './invalid-reason.js';
import type { KeyLocation } from './key-location.js';
import { locationContains } from './key-location.js';
import { coverRange } from './locate-range.js';
import { applyNotLeader, applySendFail } from './peer-feedback.js';
import {
  type RegionCacheOptions,
  type ResolvedRegionCacheOptions,
  resolveRegionCacheOptions,
} from './region-cache-options.js';
import { RegionFetcher } from './region-fetcher.js';
import { RegionIndex } from './region-index.js';
import { RegionLoader } from './region-loader.js';
import type {
  RegionSource,
  SourceKeyRange,
  SourcePeer,
  SourceRegion,
  SourceRegionMeta,
} from './region-source.js';
import { sweepRegions } from './region-sweep.js';
import type { RegionVerId } from './region-ver-id.js';
import {
  type EpochNotMatchOptions,
  type RoutingDeps,
  type RpcContext,
  type RpcContextOptions,
  routeToPeer,
  type SendFailOptions,
} from './rpc-context.js';
import { Liveness, ResolveState, type Store } from './store.js';
import { StoreCache } from './store-cache.js';

/** Options of {@link RegionCache.batchLocateKeyRanges}. */
export interface BatchLocateOptions extends RequestOptions {
  /** Ask PD for the buckets of the regions it loads. @defaultValue false */
  readonly needBuckets?: boolean | undefined;
  /** Leave out loaded regions without a leader (client-go `WithNeedRegionHasLeaderPeer`). @defaultValue false */
  readonly needRegionHasLeaderPeer?: boolean | undefined;
}

/** How many regions one batch load asks for (client-go `defaultRegionsPerBatch`). */
export const REGIONS_PER_BATCH = 128;

/**
 * The region cache of the TiKV client (client-go `RegionCache`): which region
 * holds a key, which peer and store to send to, and how to react when TiKV
 * says the cached picture is wrong.
 *
 * Regions are indexed by start key in a B+ tree and by id. A lookup that
 * misses (or finds an expired or invalidated region) loads from the
 * {@link RegionSource}; concurrent misses for the same key share one call.
 * Idle regions expire after a TTL. Stores are shared by all regions; a send
 * failure bumps the store's epoch, which lazily invalidates every region routed
 * to it.
 */
export class RegionCache {
  /** The stores the cache knows. */
  readonly storeCache: StoreCache;
  private readonly index = new RegionIndex();
  private readonly loader: RegionLoader;
  private readonly opts: ResolvedRegionCacheOptions;
  private readonly ttl: TtlPolicy;
  private readonly controller = new AbortController();
  private readonly fetcher: RegionFetcher;
  private readonly background: Promise<void>[] = [];
  private readonly bucketReloads: BucketReloads;
  private gcCursor: Uint8Array = new Uint8Array(0);
  private readonly routing: RoutingDeps;

  /**
   * @param source - where regions and stores come from (a `PdClient`)
   * @param options - TTLs, budgets, intervals, clock and logger
   * @throws InvalidArgumentError for an invalid option
   */
  constructor(source: RegionSource, options: RegionCacheOptions = {}) {
    this.opts = resolveRegionCacheOptions(options);
    const { regionCacheTtlMs, regionCacheTtlJitterMs, random } = this.opts;
    this.ttl = {
      ttlMs: regionCacheTtlMs,
      nextTtl: (nowMs) =>
        nowMs +
        regionCacheTtlMs +
        (regionCacheTtlJitterMs > 0 ? Math.floor(random() * regionCacheTtlJitterMs) : 0),
    };
    const signal = this.controller.signal;
    this.storeCache = new StoreCache(source, { ...this.opts, signal });
    this.loader = new RegionLoader(source, this.storeCache, { ...this.opts, ttl: this.ttl, signal });
    this.fetcher = new RegionFetcher(this.index, this.loader, { ...this.opts, ttl: this.ttl, signal });
    this.bucketReloads = new BucketReloads(this.fetcher, this.opts.logger);
    this.routing = {
      storeCache: this.storeCache,
      enableForwarding: this.opts.enableForwarding,
      random: this.opts.random,
      logger: this.opts.logger,
    };
    if (this.opts.backgroundTasks) {
      const { clock, logger } = this.opts;
      const every = (ms: number, what: string, fn: () => unknown): void => {
        this.background.push(
          runEvery(clock, ms, signal, fn, (e) => logger.warn(`${what} failed`, { error: e })),
        );
      };
      every(this.opts.gcIntervalMs, 'region cache sweep', () => this.runGcRound());
      every(this.opts.storeRefreshIntervalMs, 'store refresh', () => this.storeCache.refresh());
      every(this.opts.healthTickIntervalMs, 'store health tick', () => this.tickStoreHealth());
    }
  }

  /** Whether leader requests may be forwarded through a proxy peer (`enableForwarding`). */
  get forwardingEnabled(): boolean {
    return this.opts.enableForwarding;
  }

  /** How many regions are cached. */
  get size(): number {
    return this.index.size;
  }

  /** Whether {@link RegionCache.close} was called. */
  get closed(): boolean {
    return this.controller.signal.aborted;
  }

  /**
   * Runs one lookup under the caller's signal and timeout. A timeout gets a scope, released
   * (its timer cleared) when the lookup settles; a signal alone is passed on as it is (waits
   * on it share one listener).
   */
  private withCall<T>(
    options: RequestOptions | undefined,
    fn: (signal: AbortSignal | undefined) => Promise<T>,
  ): Promise<T> {
    if (options?.timeoutMs === undefined) return fn(options?.signal);
    return withOperationScope(options, { clock: this.opts.clock }, (scope) => fn(scope.signal));
  }

  private now(): number {
    return this.opts.clock.now();
  }

  // ---------------------------------------------------------------- lookups

  /**
   * The region holding `key`, from the cache or loaded.
   *
   * @param key - the key
   * @param options - signal and timeout
   * @returns the key's location
   */
  locateKey(key: Uint8Array, options?: RequestOptions): Promise<KeyLocation> {
    // Hit path without an async frame: one resolved promise per lookup.
    const r = this.index.sorted.searchByKey(key, false);
    if (r !== undefined && r.syncFlags === 0 && r.checkRegionCacheTtl(this.now(), this.ttl)) {
      return Promise.resolve(r.location());
    }
    return this.withCall(options, (signal) => this.fetcher.findByKey(key, false, signal)).then(locationOf);
  }

  /**
   * The region whose range ends at `key`: `startKey < key <= endKey` (for
   * reverse scans; an empty key means +infinity, the last region).
   *
   * @param key - an exclusive end key
   * @param options - signal and timeout
   * @returns the location
   */
  async locateEndKey(key: Uint8Array, options?: RequestOptions): Promise<KeyLocation> {
    const r = await this.withCall(options, (signal) => this.fetcher.findByKey(key, true, signal));
    return r.location();
  }

  /**
   * The cached, valid region holding `key`, without loading.
   *
   * @param key - the key
   * @returns the location, or undefined on a miss
   */
  tryLocateKey(key: Uint8Array): KeyLocation | undefined {
    const r = this.index.sorted.searchByKey(key, false);
    if (r === undefined || !r.checkRegionCacheTtl(this.now(), this.ttl)) return undefined;
    if (r.checkSyncFlags(SyncFlag.NEED_RELOAD_ON_ACCESS | SyncFlag.NEED_DELAYED_RELOAD_READY))
      return undefined;
    return r.location();
  }

  /**
   * The region with this id, from the cache or loaded.
   *
   * @param id - the region id
   * @param options - signal and timeout
   * @returns the location
   * @throws PdError (`REGION_NOT_FOUND`) when the source has no such region
   */
  async locateRegionById(id: bigint, options?: RequestOptions): Promise<KeyLocation> {
    const r = await this.withCall(options, (signal) => this.fetcher.findById(id, signal));
    return r.location();
  }

  /**
   * Loads a region by id from the source, bypassing and not filling the cache.
   *
   * @param id - the region id
   * @param options - signal and timeout
   * @returns its location
   */
  async locateRegionByIdFromSource(id: bigint, options?: RequestOptions): Promise<KeyLocation> {
    const r = await this.withCall(options, (signal) => raceSignal(this.loader.loadById(id), signal));
    return r.location();
  }

  /**
   * The regions covering `[startKey, endKey)` in key order (client-go
   * `LocateKeyRange`): cached regions first, the rest loaded in batches.
   *
   * @param startKey - inclusive start
   * @param endKey - exclusive end (empty: +infinity)
   * @param options - signal and timeout
   * @returns the locations
   */
  async locateRange(
    startKey: Uint8Array,
    endKey: Uint8Array,
    options?: RequestOptions,
  ): Promise<KeyLocation[]> {
    return this.withCall(options, (signal) =>
      coverRange(
        startKey,
        endKey,
        (k) => this.tryLocateKey(k),
        (from) => {
          this.miss({ lookup: 'range', reason: 'absent' });
          return raceSignal(this.fetcher.scanAndInsert(from, endKey, REGIONS_PER_BATCH), signal);
        },
      ),
    );
  }

  /**
   * The regions covering several sorted, non-overlapping ranges (client-go
   * `BatchLocateKeyRanges`): what the cache holds contiguously is answered from it; the holes
   * are loaded with PD `BatchScanRegions` (at most 2048 ranges and 128 regions a call, page by
   * page) and inserted. A region that covers several ranges is listed once.
   *
   * @param ranges - `[startKey, endKey)` ranges in key order, not overlapping (empty end: +infinity)
   * @param options - `needBuckets`, `needRegionHasLeaderPeer` (leave out loaded regions PD knows
   *   no leader of), signal and timeout
   * @returns the locations in key order
   */
  async batchLocateKeyRanges(
    ranges: readonly SourceKeyRange[],
    options?: BatchLocateOptions,
  ): Promise<KeyLocation[]> {
    const scan = {
      needBuckets: options?.needBuckets === true,
      needLeader: options?.needRegionHasLeaderPeer === true,
    };
    return this.withCall(options, (signal) =>
      batchLocateRanges(
        ranges,
        (k) => this.tryLocateKey(k),
        async (batch) => {
          this.miss({ lookup: 'range', reason: 'absent' });
          const regions = await raceSignal(
            this.fetcher.batchScanAndInsert(batch, REGIONS_PER_BATCH, scan),
            signal,
          );
          return regions.map(locationOf);
        },
      ),
    );
  }

  /**
   * The ids of the regions covering `[startKey, endKey]` (client-go `ListRegionIDsInKeyRange`).
   *
   * @param startKey - inclusive start
   * @param endKey - inclusive end
   * @param options - signal and timeout
   * @returns region ids in key order
   */
  async listRegionIdsInRange(
    startKey: Uint8Array,
    endKey: Uint8Array,
    options?: RequestOptions,
  ): Promise<bigint[]> {
    const ids: bigint[] = [];
    let start = startKey;
    for (;;) {
      const loc = await this.locateKey(start, options);
      ids.push(loc.region.id);
      if (locationContains(loc, endKey) || loc.endKey.length === 0) return ids;
      start = loc.endKey;
    }
  }

  /**
   * Loads up to `count` regions from `startKey` into the cache (client-go
   * `BatchLoadRegionsWithKeyRange`).
   *
   * @param startKey - inclusive start
   * @param endKey - exclusive end (empty: +infinity)
   * @param count - how many regions at most
   * @param options - signal and timeout
   * @returns the loaded regions' locations
   */
  async batchLoadRegions(
    startKey: Uint8Array,
    endKey: Uint8Array,
    count: number,
    options?: RequestOptions,
  ): Promise<KeyLocation[]> {
    const regions = await this.withCall(options, (signal) =>
      raceSignal(this.fetcher.scanAndInsert(startKey, endKey, count), signal),
    );
    return regions.map((r) => r.location());
  }

  private miss(event: RegionCacheMissEvent): void {
    publishMiss(() => event);
  }

  // ------------------------------------------------------ request routing

  /**
   * The cached region for exactly this version, valid or not.
   *
   * @param verId - the region version
   * @returns the region, or undefined when the cache holds another version or none
   */
  getCachedRegion(verId: RegionVerId): CachedRegion | undefined {
    return this.index.getByVerId(verId);
  }

  /**
   * Where to send a request for this region version (client-go `GetTiKVRPCContext`).
   *
   * @param verId - the region version the request is for
   * @param options - replica read kind, seed, label and store filters
   * @returns the context, or undefined when the region must be reloaded
   *   (dropped, expired, its store gone or failed since): locate the key again
   */
  getRpcContext(verId: RegionVerId, options: RpcContextOptions = {}): Promise<RpcContext | undefined> {
    const r = this.index.getByVerId(verId);
    if (r === undefined || !r.isValid(this.now(), this.ttl)) return Promise.resolve(undefined);
    return routeToPeer(r, verId, options, this.routing);
  }

  /**
   * Takes a NotLeader answer (client-go `UpdateLeader`): with a leader hint the
   * work peer moves to it (the region is invalidated when it has no such peer);
   * without one the next peer is tried.
   *
   * @param verId - the region version the request was for
   * @param leader - the new leader from the error, if any
   * @param currentPeerIdx - the access index the request went to
   */
  updateLeader(verId: RegionVerId, leader: SourcePeer | undefined, currentPeerIdx: number): void {
    const r = this.index.getByVerId(verId);
    if (r !== undefined) applyNotLeader(r, leader, currentPeerIdx, this.opts.logger);
  }

  /**
   * Takes an EpochNotMatch answer (client-go `OnRegionEpochNotMatch`): the
   * cached region is replaced with the regions TiKV reported (they inherit its
   * buckets; their work peer is the one on the store that answered).
   *
   * @param verId - the region version the request was for
   * @param currentRegions - the error's current regions (decoded keys)
   * @param options - the store that answered
   * @returns true when the request's epoch is ahead of TiKV's (TiKV applies
   *   slowly): the caller backs off (`regionMiss`) and retries as is
   */
  async onRegionEpochNotMatch(
    verId: RegionVerId,
    currentRegions: readonly SourceRegionMeta[],
    options: EpochNotMatchOptions = {},
  ): Promise<boolean> {
    return applyEpochNotMatch(this.index, this.loader, verId, currentRegions, options);
  }

  /**
   * Invalidates a cached region version (RegionNotFound, NoLeader, ...): the
   * next lookup reloads it. Nothing happens when the cache holds another version.
   *
   * @param verId - the region version
   * @param reason - why
   */
  invalidateRegion(verId: RegionVerId, reason: InvalidReason = InvalidReason.OTHER): void {
    this.index.getByVerId(verId)?.invalidate(reason);
  }

  /**
   * Takes a failure to send (client-go `OnSendFail`). With an error, the
   * store's epoch is bumped, which invalidates lazily every region routed to
   * it, and the store is re-resolved; either way the region moves on to its
   * next peer.
   *
   * @param ctx - the context the request was sent with
   * @param err - the transport error (undefined: the peer answered but cannot serve)
   * @param options - `scheduleReload` to reload the region on its next access
   */
  onSendFail(ctx: RpcContext, err?: unknown, options: SendFailOptions = {}): void {
    const r = this.index.getByVerId(ctx.region);
    if (r !== undefined) applySendFail(r, ctx, err, options, this.storeCache, this.opts.logger);
  }

  /**
   * Invalidates, lazily, every cached region routed to a store and schedules
   * its address to be fetched again.
   *
   * @param storeId - the store
   */
  invalidateStore(storeId: bigint): void {
    const store = this.storeCache.get(storeId);
    if (store !== undefined) this.storeCache.bumpEpoch(store, store.epoch);
  }

  /**
   * Marks a store unreachable (a health check loop takes over when a liveness
   * probe is configured; forwarding picks a proxy for it).
   *
   * @param storeId - the store
   */
  markStoreUnreachable(storeId: bigint): void {
    this.setStoreLiveness(storeId, Liveness.UNREACHABLE);
  }

  /**
   * Sets a store's liveness.
   *
   * @param storeId - the store
   * @param liveness - reachable, unreachable or unknown
   */
  setStoreLiveness(storeId: bigint, liveness: Liveness): void {
    const store = this.storeCache.get(storeId);
    if (store !== undefined) this.storeCache.setLiveness(store, liveness);
  }

  /**
   * Takes the slow score TiKV reported in health feedback.
   *
   * @param storeId - the store
   * @param slowScore - TiKV's slow score (1 healthy .. 100)
   */
  onHealthFeedback(storeId: bigint, slowScore: number): void {
    this.storeCache.get(storeId)?.health.updateTikvSlowScore(slowScore, this.now());
  }

  /**
   * The cached regions with a peer on this store.
   *
   * @param storeId - the store
   * @returns the regions
   */
  regionsOnStore(storeId: bigint): CachedRegion[] {
    const out: CachedRegion[] = [];
    for (const r of this.index.all()) if (r.stores.some((s) => s.id === storeId)) out.push(r);
    return out;
  }

  /** @returns the store with this id, if known */
  getStore(storeId: bigint): Store | undefined {
    return this.storeCache.get(storeId);
  }

  /** @returns every resolved store */
  getAllStores(): Store[] {
    return this.storeCache.filter((s) => s.resolveState === ResolveState.RESOLVED);
  }

  /**
   * Takes a BucketVersionNotMatch answer: newer buckets replace the cached ones.
   *
   * @param verId - the region version
   * @param version - the buckets version TiKV has
   * @param keys - TiKV's bucket boundaries
   */
  onBucketVersionNotMatch(verId: RegionVerId, version: bigint, keys: readonly Uint8Array[]): void {
    const r = this.index.getByVerId(verId);
    if (r === undefined) return;
    if (r.buckets === undefined || r.buckets.version < version) r.setBuckets({ version, keys });
  }

  /**
   * Reloads a region in the background when TiKV reports newer buckets than
   * the cache has (client-go `UpdateBucketsIfNeeded`). One reload per region at a time.
   *
   * @param verId - the region version
   * @param requestBucketsVersion - the buckets version the request carried (0: none)
   * @param latestBucketsVersion - the version TiKV reported
   * @returns the reload, for callers that want to wait (it never rejects)
   */
  updateBucketsIfNeeded(
    verId: RegionVerId,
    requestBucketsVersion: bigint,
    latestBucketsVersion: bigint,
  ): Promise<void> {
    const r = this.index.getByVerId(verId);
    if (r === undefined) return Promise.resolve();
    return this.bucketReloads.reloadIfNeeded(r, requestBucketsVersion, latestBucketsVersion);
  }

  // ----------------------------------------------------------- maintenance

  /**
   * One step of the background sweep (client-go `gcRoundFunc`): visits up to
   * `gcRegionsPerRound` regions from where the last step stopped, drops the
   * expired ones, and lets regions with a failed or unreachable store expire.
   *
   * @returns how many regions were dropped
   */
  runGcRound(): number {
    const { removed, cursor } = sweepRegions(
      this.index,
      this.gcCursor,
      this.opts.gcRegionsPerRound,
      this.now(),
    );
    this.gcCursor = cursor;
    return removed;
  }

  /**
   * The health tick (client-go `StoreHealthStatus.tick`): updates every store's slow scores;
   * TiKV's score of a reachable store that went 15 s without feedback is asked for again first
   * (`requestHealthFeedback`), and decays only when no fresh feedback came.
   */
  tickStoreHealth(): Promise<void> {
    return this.storeCache.tickHealth();
  }

  /**
   * Probes a store after a request to it failed (client-go
   * `requestLivenessAndStartHealthCheckLoopIfNeeded`). A TiKV store found unreachable (or
   * unknown) is marked so, which keeps the replica selector away from it, and gets a
   * background health-check loop that marks it reachable again when it answers.
   *
   * @param storeId - the store
   * @returns its liveness; `unreachable` without a `livenessProbe` (nothing is marked then)
   */
  async checkStoreLiveness(storeId: bigint): Promise<Liveness> {
    const store = this.storeCache.get(storeId);
    if (store === undefined || this.opts.livenessProbe === undefined) return Liveness.UNREACHABLE;
    return this.storeCache.requestLiveness(store);
  }

  /**
   * Inserts a region built from source data, as if loaded (tests, warm-up).
   *
   * @param region - the region as the source reports it
   * @returns false when the cache holds a newer version
   */
  async insertRegion(region: SourceRegion): Promise<boolean> {
    return this.index.insert(await this.loader.build(region), true);
  }

  /**
   * How many cached regions are valid now.
   *
   * @returns the count
   */
  validRegionCount(): number {
    return this.index.countValid(this.now(), this.ttl);
  }

  /** Drops every cached region and store. */
  clear(): void {
    this.index.clear();
    this.storeCache.clear();
  }

  /**
   * Stops the background tasks and waits for them. Lookups after closing that
   * need the source reject with `CLIENT_CLOSED`.
   */
  async close(): Promise<void> {
    if (!this.closed) this.controller.abort(new ClientClosedError('region cache is closed'));
    await Promise.all(this.background);
    await this.storeCache.drain();
    await this.fetcher.drain();
  }
}

function locationOf(r: CachedRegion): KeyLocation {
  return r.location();
}
