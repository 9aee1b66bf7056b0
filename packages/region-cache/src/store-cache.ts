import { Backoffer, BackoffKinds, type Clock, type Logger, TiKVError } from '@tikv/common';
import { publishStore } from './diagnostics.js';
import type { HealthFeedbackRequester } from './region-cache-options.js';
import type { RegionSource, SourceStore } from './region-source.js';
import { Liveness, ResolveState, Store } from './store.js';

/**
 * Probes whether a store answers, typically with a gRPC health check. It must
 * settle promptly and reject or resolve when `signal` aborts.
 */
export type LivenessProbe = (store: Store, signal: AbortSignal) => Promise<Liveness>;

/** @internal */
export interface StoreCacheDeps {
  readonly clock: Clock;
  readonly logger: Logger;
  readonly loadBackoffMs: number;
  readonly healthCheckIntervalMs: number;
  readonly storeReResolveIntervalMs: number;
  readonly livenessProbe: LivenessProbe | undefined;
  /** Asks a store for fresh health feedback (the health tick's active update). */
  readonly requestHealthFeedback: HealthFeedbackRequester | undefined;
  /** Aborts when the owning cache closes. */
  readonly signal: AbortSignal;
}

/**
 * The stores the cache knows, by id (client-go `storeCache`): resolving a
 * store's address from the region source (concurrent first resolutions share
 * one call), re-resolving stores marked after a failure (an address that moved
 * is picked up; a removed store becomes a tombstone), adding stores PD reports
 * that the cache has not seen, and liveness bookkeeping with a health-check
 * loop for unreachable stores.
 */
export class StoreCache {
  private readonly stores = new Map<bigint, Store>();
  private checking: Promise<void> | undefined;
  /** A store was marked while a check ran: check again when it ends (client-go's one-slot trigger). */
  private checkAgain = false;
  private readonly healthLoops = new Set<Promise<void>>();

  /**
   * @param source - where store metadata comes from
   * @param deps - clock, logger, budgets and the close signal
   */
  constructor(
    private readonly source: RegionSource,
    private readonly deps: StoreCacheDeps,
  ) {}

  /** @returns the store with this id, if the cache has seen it */
  get(id: bigint): Store | undefined {
    return this.stores.get(id);
  }

  /**
   * The store with this id, creating an unresolved one when it is new.
   *
   * @param id - the store id
   * @returns the cached store object (the same object for the cache's lifetime)
   */
  getOrInsertDefault(id: bigint): Store {
    let store = this.stores.get(id);
    if (store === undefined) {
      store = new Store(id);
      this.stores.set(id, store);
    }
    return store;
  }

  /** @returns every cached store */
  all(): Store[] {
    return [...this.stores.values()];
  }

  /**
   * @param predicate - which stores to keep
   * @returns the cached stores that match
   */
  filter(predicate: (store: Store) => boolean): Store[] {
    return this.all().filter(predicate);
  }

  /** Forgets every store. */
  clear(): void {
    this.stores.clear();
  }

  /**
   * Resolves the address of a store that has never been resolved; other states
   * answer at once. Concurrent calls for one store share one source call.
   * Source errors are retried with the `pdRPC` backoff until the load budget is spent.
   *
   * @param store - the store
   * @returns its address, or `''` when it is a tombstone or unknown to the source
   */
  initResolve(store: Store): Promise<string> {
    if (store.resolveState !== ResolveState.UNRESOLVED) {
      return Promise.resolve(store.resolveState === ResolveState.TOMBSTONE ? '' : store.address);
    }
    if (store.resolving === undefined) {
      store.resolving = this.fetchAndInit(store).finally(() => {
        store.resolving = undefined;
      });
    }
    return store.resolving;
  }

  private async fetchAndInit(store: Store): Promise<string> {
    const { clock, loadBackoffMs, signal, logger } = this.deps;
    const bo = new Backoffer({ maxBackoffMs: loadBackoffMs, backoffWeight: 1, clock, signal, logger });
    for (;;) {
      let meta: SourceStore | undefined;
      try {
        meta = await this.source.getStore(store.id, { signal });
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        await bo.backoff(BackoffKinds.pdRPC, e);
        continue;
      }
      return this.initByMeta(store, meta);
    }
  }

  /**
   * Initializes a store from metadata already at hand.
   *
   * @param store - the store
   * @param meta - its metadata; undefined or a tombstone makes it a tombstone
   * @returns its address, `''` for a tombstone
   * @throws TiKVError (`INTERNAL`) when the metadata has no address
   */
  initByMeta(store: Store, meta: SourceStore | undefined): string {
    if (meta === undefined || meta.state === 'tombstone') {
      store.resolveState = ResolveState.TOMBSTONE;
      return '';
    }
    if (meta.address === '') throw new TiKVError('INTERNAL', `empty address of store ${store.id}`);
    store.updateFrom(meta);
    store.changeResolveState(ResolveState.UNRESOLVED, ResolveState.RESOLVED);
    return store.address;
  }

  /**
   * Fetches a store's metadata again. A store that is gone becomes a tombstone
   * and its epoch is bumped (its regions reload lazily); a changed address or
   * changed labels are taken over in place.
   *
   * @param store - the store
   * @returns false when the store is a tombstone or gone, true otherwise
   * @throws the source's error, or TiKVError (`INTERNAL`) for an empty address
   */
  async reResolve(store: Store): Promise<boolean> {
    const meta = await this.source.getStore(store.id, { signal: this.deps.signal });
    if (meta === undefined || meta.state === 'tombstone') {
      store.epoch += 1;
      store.resolveState = ResolveState.TOMBSTONE;
      this.deps.logger.info('store removed, invalidating its regions', {
        storeId: store.id,
        address: store.address,
      });
      publishStore(() => ({ storeId: store.id, event: 'tombstone', address: store.address }));
      return false;
    }
    if (meta.address === '') throw new TiKVError('INTERNAL', `empty address of store ${store.id}`);
    if (meta.address !== store.address || !store.isSameLabels(meta.labels)) {
      this.deps.logger.info('store address or labels changed', {
        storeId: store.id,
        oldAddress: store.address,
        newAddress: meta.address,
      });
      store.updateFrom(meta);
      store.resolveState = ResolveState.RESOLVED;
      publishStore(() => ({ storeId: store.id, event: 'addressChanged', address: store.address }));
      return true;
    }
    store.changeResolveState(ResolveState.NEED_CHECK, ResolveState.RESOLVED);
    return true;
  }

  /**
   * Marks a resolved store for re-resolution and schedules the check.
   *
   * @param store - the store
   */
  markNeedCheck(store: Store): void {
    if (
      store.resolveState === ResolveState.RESOLVED &&
      store.changeResolveState(ResolveState.RESOLVED, ResolveState.NEED_CHECK)
    ) {
      this.scheduleCheck();
    }
  }

  /**
   * Takes a failed send to a store: unless another failure did it since the request was routed
   * (the store's epoch moved past `seenEpoch`), bumps the store's epoch, which invalidates
   * lazily every region routed to it; either way the store is re-resolved.
   *
   * @param store - the store the request went to
   * @param seenEpoch - the store's epoch when the request was routed
   */
  bumpEpoch(store: Store, seenEpoch: number): void {
    if (store.epoch === seenEpoch) {
      store.epoch = seenEpoch + 1;
      this.deps.logger.info('store failed; its regions reload on next access', {
        storeId: store.id,
        address: store.address,
      });
      publishStore(() => ({ storeId: store.id, event: 'epoch', address: store.address }));
    }
    this.markNeedCheck(store);
  }

  private scheduleCheck(): void {
    if (this.deps.signal.aborted) return;
    if (this.checking !== undefined) {
      this.checkAgain = true;
      return;
    }
    this.checking = (async () => {
      do {
        this.checkAgain = false;
        // Stores marked in the same tick join this round.
        await Promise.resolve();
        await this.checkAndResolve().catch(() => undefined);
      } while (this.checkAgain && !this.deps.signal.aborted);
    })().finally(() => {
      this.checking = undefined;
    });
  }

  /**
   * Re-resolves the stores that match `needCheck` (by default those marked
   * `needCheck`). Errors are logged; the store stays marked.
   *
   * @param needCheck - which stores to re-resolve
   * @returns the stores that were re-resolved
   */
  async checkAndResolve(
    needCheck: (s: Store) => boolean = (s) => s.resolveState === ResolveState.NEED_CHECK,
  ): Promise<Store[]> {
    const picked = this.filter(needCheck);
    for (const store of picked) {
      try {
        await this.reResolve(store);
      } catch (e) {
        this.deps.logger.warn('re-resolving store failed', { storeId: store.id, error: e });
      }
    }
    return picked;
  }

  /** Resolves when the scheduled check (if any) has finished. */
  async whenIdle(): Promise<void> {
    while (this.checking !== undefined) await this.checking;
  }

  /**
   * The periodic refresh: re-resolves marked stores and adds stores the source
   * reports that the cache does not know yet.
   */
  async refresh(): Promise<void> {
    await this.checkAndResolve();
    const metas = await this.source.getAllStores({ signal: this.deps.signal });
    for (const meta of metas) {
      if (this.stores.has(meta.id) || meta.state === 'tombstone' || meta.address === '') continue;
      const store = this.getOrInsertDefault(meta.id);
      this.initByMeta(store, meta);
    }
  }

  /**
   * Sets a store's liveness. A store that turns unreachable gets a health-check
   * loop when a {@link LivenessProbe} is configured.
   *
   * @param store - the store
   * @param liveness - the new liveness
   */
  setLiveness(store: Store, liveness: Liveness): void {
    const old = store.liveness;
    if (old === liveness) return;
    store.liveness = liveness;
    store.unreachableSinceMs = liveness === Liveness.REACHABLE ? undefined : this.deps.clock.now();
    publishStore(() => ({ storeId: store.id, event: 'liveness', address: store.address, liveness }));
    if (old === Liveness.REACHABLE && !store.isTiFlash) this.startHealthCheck(store);
  }

  /**
   * Probes a store (when a probe is configured) and records the answer; an
   * unreachable store starts its health-check loop.
   *
   * @param store - the store
   * @returns the liveness found (`reachable` without a probe)
   */
  async requestLiveness(store: Store): Promise<Liveness> {
    const probe = this.deps.livenessProbe;
    if (probe === undefined) return store.liveness;
    if (store.resolveState !== ResolveState.RESOLVED && store.resolveState !== ResolveState.NEED_CHECK)
      return Liveness.UNKNOWN;
    let liveness: Liveness;
    try {
      liveness = await probe(store, this.deps.signal);
    } catch {
      liveness = Liveness.UNKNOWN;
    }
    // The health-check loop is TiKV's only (client-go skips other stores).
    if (liveness !== Liveness.REACHABLE && !store.isTiFlash && !this.deps.signal.aborted)
      this.setLiveness(store, liveness);
    return liveness;
  }

  private startHealthCheck(store: Store): void {
    const probe = this.deps.livenessProbe;
    if (probe === undefined || this.deps.signal.aborted) return;
    const loop = this.healthCheckLoop(store, probe).catch(() => undefined);
    this.healthLoops.add(loop);
    void loop.finally(() => this.healthLoops.delete(loop));
  }

  private async healthCheckLoop(store: Store, probe: LivenessProbe): Promise<void> {
    const { clock, signal, healthCheckIntervalMs, storeReResolveIntervalMs } = this.deps;
    let lastResolveMs = clock.now();
    while (!signal.aborted && store.liveness !== Liveness.REACHABLE) {
      await clock.sleep(healthCheckIntervalMs, signal, { background: true });
      if (clock.now() - lastResolveMs > storeReResolveIntervalMs) {
        lastResolveMs = clock.now();
        try {
          if (!(await this.reResolve(store))) return;
        } catch (e) {
          this.deps.logger.warn('re-resolving unreachable store failed', { storeId: store.id, error: e });
        }
      }
      let liveness: Liveness;
      try {
        liveness = await probe(store, signal);
      } catch {
        liveness = Liveness.UNKNOWN;
      }
      if (signal.aborted) return;
      store.liveness = liveness;
      if (liveness === Liveness.REACHABLE) {
        store.unreachableSinceMs = undefined;
        publishStore(() => ({ storeId: store.id, event: 'liveness', address: store.address, liveness }));
      }
    }
  }

  /**
   * One health tick over every store: asks a reachable store whose TiKV slow score (> 1) went
   * 15 s without feedback for fresh feedback, then folds the scores (a score still stale decays).
   */
  async tickHealth(): Promise<void> {
    const { requestHealthFeedback: request, signal, clock, logger } = this.deps;
    for (const s of this.stores.values()) {
      if (
        request !== undefined &&
        s.liveness === Liveness.REACHABLE &&
        s.address !== '' &&
        s.health.needsTikvRefresh(clock.now())
      ) {
        try {
          await request(s, signal);
        } catch (e) {
          if (signal.aborted) return;
          logger.warn('requesting health feedback failed', { storeId: s.id, error: e });
        }
      }
      s.health.tick(clock.now());
    }
  }

  /** Resolves when every health-check loop has stopped (after the cache closes). */
  async drain(): Promise<void> {
    await Promise.all([...this.healthLoops, this.checking]);
  }
}
