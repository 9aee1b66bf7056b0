// Ports of client-go region_cache_test.go store tests on the cache: resolve states, labels,
// health feedback; plus the liveness loop and store refresh (the slow-score ports are in src).
import diagnosticsChannel from 'node:diagnostics_channel';
import { toBytes as b, ManualClock } from '@tikv/common';
import { FakeCluster } from '@tikv/testing';
import { REGION_CACHE_STORE_CHANNEL, type StoreEvent } from '../src/diagnostics.js';
import { RegionCache } from '../src/region-cache.js';
import { Liveness, ResolveState } from '../src/store.js';
import { flush, type Suite, setupSuite } from './helpers.js';

let s: Suite;
beforeEach(() => {
  s = setupSuite();
});
afterEach(async () => {
  await s.cache.close();
});

describe('store cache (client-go TestStoreLabels, TestResolveStateTransition)', () => {
  it('TestStoreLabels: stores are found by label', async () => {
    for (const id of [s.store1, s.store2]) {
      s.cluster.updateStoreLabels(id, [{ key: 'id', value: String(id) }]);
      const store = s.cache.storeCache.getOrInsertDefault(id);
      await s.cache.storeCache.initResolve(store);
      const labels = [{ key: 'id', value: String(id) }];
      const found = s.cache.storeCache.filter((st) => st.isLabelsMatch(labels));
      expect(found).toHaveLength(1);
      expect(found[0]?.labels).toEqual(labels);
      expect(found[0]?.labelValue('id')).toBe(String(id));
    }
  });

  it('TestResolveStateTransition', async () => {
    const sc = s.cache.storeCache;
    for (const id of [s.store1, s.store2]) {
      const store = sc.getOrInsertDefault(id);
      expect(store.resolveState).toBe(ResolveState.UNRESOLVED);
      expect(await sc.initResolve(store)).toBe(s.storeAddr(id));
      expect(store.resolveState).toBe(ResolveState.RESOLVED);
    }
    // needCheck -> resolved
    let store = sc.getOrInsertDefault(s.store1);
    sc.markNeedCheck(store);
    expect(store.resolveState).toBe(ResolveState.NEED_CHECK);
    await sc.whenIdle();
    expect(store.resolveState).toBe(ResolveState.RESOLVED);
    // needCheck and tombstone -> tombstone
    s.cluster.markTombstone(s.store1);
    sc.markNeedCheck(store);
    await sc.whenIdle();
    expect(store.resolveState).toBe(ResolveState.TOMBSTONE);
    s.cluster.startStore(s.store1);
    // needCheck and removed from PD -> tombstone
    s.cache.clear();
    store = sc.getOrInsertDefault(s.store1);
    await sc.initResolve(store);
    const meta = s.cluster.getStoreMeta(s.store1)!;
    s.cluster.removeStore(s.store1);
    sc.markNeedCheck(store);
    await sc.whenIdle();
    expect(store.resolveState).toBe(ResolveState.TOMBSTONE);
    s.cluster.addStore(meta.id, meta.address, meta.labels);
    // address and labels changed: same object, new address
    s.cache.clear();
    store = sc.getOrInsertDefault(s.store1);
    await sc.initResolve(store);
    const newAddr = `${store.address}0`;
    s.cluster.updateStoreAddr(s.store1, newAddr, [{ key: 'k', value: 'v' }]);
    sc.markNeedCheck(store);
    await sc.whenIdle();
    expect(sc.getOrInsertDefault(s.store1)).toBe(store);
    expect(store.resolveState).toBe(ResolveState.RESOLVED);
    expect(store.address).toBe(newAddr);
    // initResolve of a tombstone / dropped store
    for (const prep of [() => s.cluster.markTombstone(s.store1), () => s.cluster.removeStore(s.store1)]) {
      s.cache.clear();
      prep();
      store = sc.getOrInsertDefault(s.store1);
      for (let i = 0; i < 2; i++) {
        expect(await sc.initResolve(store)).toBe('');
        expect(store.resolveState).toBe(ResolveState.TOMBSTONE);
      }
    }
  });

  it('coalesces concurrent first resolutions', async () => {
    const store = s.cache.storeCache.getOrInsertDefault(s.store1);
    const addrs = await Promise.all([1, 2, 3].map(() => s.cache.storeCache.initResolve(store)));
    expect(addrs).toEqual([s.storeAddr(s.store1), s.storeAddr(s.store1), s.storeAddr(s.store1)]);
    expect(s.cluster.calls.getStore).toBe(1);
  });

  it('an empty address is an error', async () => {
    s.cluster.updateStoreAddr(s.store1, '');
    const store = s.cache.storeCache.getOrInsertDefault(s.store1);
    await expect(s.cache.storeCache.initResolve(store)).rejects.toMatchObject({ code: 'INTERNAL' });
  });

  it('invalidateStore bumps the epoch and publishes on the store channel', async () => {
    const events: StoreEvent[] = [];
    const onEvent = (m: unknown): void => {
      events.push(m as StoreEvent);
    };
    diagnosticsChannel.subscribe(REGION_CACHE_STORE_CHANNEL, onEvent);
    try {
      const loc = await s.cache.locateKey(b('a'));
      expect(s.cache.regionsOnStore(s.store1).map((r) => r.id)).toEqual([s.region1]);
      s.cache.invalidateStore(s.store1);
      expect(s.cache.getStore(s.store1)?.epoch).toBe(1);
      expect(await s.cache.getRpcContext(loc.region)).toBeUndefined();
      await s.cache.storeCache.whenIdle();
      expect(events.map((e) => e.event)).toContain('epoch');
      expect(
        s.cache
          .getAllStores()
          .map((st) => st.id)
          .sort(),
      ).toEqual([s.store1, s.store2]);
    } finally {
      diagnosticsChannel.unsubscribe(REGION_CACHE_STORE_CHANNEL, onEvent);
    }
  });

  it('refresh adds stores the cache has not seen', async () => {
    const store3 = s.cluster.allocId();
    s.cluster.addStore(store3, 'store-new');
    await s.cache.storeCache.refresh();
    expect(s.cache.getStore(store3)?.address).toBe('store-new');
  });

  it('TestHealthCheckWithAddressChange: the health loop follows a moved store', async () => {
    await s.cache.close();
    const cluster = new FakeCluster();
    const { storeIds } = cluster.bootstrap(2);
    const clock = new ManualClock({ startMs: 0 });
    let up = false;
    const probed: string[] = [];
    const cache = new RegionCache(cluster, {
      clock,
      backgroundTasks: false,
      storeReResolveIntervalMs: 30_000,
      livenessProbe: async (store) => {
        probed.push(store.address);
        return up && store.address === 'moved' ? Liveness.REACHABLE : Liveness.UNREACHABLE;
      },
    });
    try {
      await cache.locateKey(b('a'));
      const store1 = cache.getStore(storeIds[0]!)!;
      expect(await cache.storeCache.requestLiveness(store1)).toBe(Liveness.UNREACHABLE);
      expect(store1.liveness).toBe(Liveness.UNREACHABLE);
      expect(store1.unreachableSinceMs).toBe(0);
      for (let i = 0; i < 5; i++) {
        clock.advance(1000);
        await flush();
      }
      expect(probed.length).toBeGreaterThanOrEqual(5);
      cluster.updateStoreAddr(storeIds[0]!, 'moved');
      up = true;
      for (let i = 0; i < 30 && store1.liveness !== Liveness.REACHABLE; i++) {
        clock.advance(1000);
        await flush();
      }
      expect(store1.address).toBe('moved');
      expect(store1.liveness).toBe(Liveness.REACHABLE);
    } finally {
      await cache.close();
    }
  });
});

describe('slow scores', () => {
  it('onHealthFeedback feeds the TiKV-side score', async () => {
    await s.cache.locateKey(b('a'));
    s.cache.onHealthFeedback(s.store1, 100);
    expect(s.cache.getStore(s.store1)?.health.isSlow).toBe(true);
  });

  it('TestRegionCacheHandleHealthStatus: feedback makes a store slow and well again; updates too close together are ignored', async () => {
    await s.cache.locateKey(b('k'));
    const store1 = s.cache.getStore(s.store1)!;
    expect(store1.health.isSlow).toBe(false);
    s.cache.onHealthFeedback(s.store1, 100);
    expect(store1.health.isSlow).toBe(true);
    expect(store1.health.detail().tikvSideSlowScore).toBe(100);
    // Too soon after the last update: ignored.
    s.cache.onHealthFeedback(s.store1, 90);
    expect(store1.health.detail().tikvSideSlowScore).toBe(100);
    s.clock.advance(1000);
    s.cache.onHealthFeedback(s.store1, 90);
    expect(store1.health.detail().tikvSideSlowScore).toBe(90);
    s.clock.advance(1000);
    s.cache.onHealthFeedback(s.store1, 50);
    expect(store1.health.isSlow).toBe(false);
    expect(store1.health.detail().tikvSideSlowScore).toBe(50);
    // Store 2 is not touched by store 1's feedback.
    const store2 = s.cache.getStore(s.store2)!;
    expect(store2.health.detail().tikvSideSlowScore).toBeLessThanOrEqual(1);
    expect(store2.health.isSlow).toBe(false);
  });
});

describe('a store that comes back with new labels (client-go TestIssue1401, TestStoreRestartWithNewLabels)', () => {
  /** A cache whose health checks answer from `up` (client-go setMockRequestLiveness). */
  function withProbe(up: (id: bigint) => boolean) {
    const cluster = new FakeCluster();
    const { storeIds } = cluster.bootstrap(2);
    const clock = new ManualClock({ startMs: 0 });
    const cache = new RegionCache(cluster, {
      clock,
      backgroundTasks: false,
      livenessProbe: async (store) => (up(store.id) ? Liveness.REACHABLE : Liveness.UNREACHABLE),
    });
    return { cluster, cache, clock, store1: storeIds[0]! };
  }

  it('TestIssue1401: an unreachable store marked for a check is re-resolved in place with its new labels and found reachable', async () => {
    const { cluster, cache, clock, store1: id } = withProbe(() => true);
    try {
      await cache.locateKey(b('a'));
      const store1 = cache.getStore(id)!;
      expect(store1.resolveState).toBe(ResolveState.RESOLVED);
      cluster.updateStoreAddr(id, store1.address, [
        ...store1.labels,
        { key: 'host', value: '0.0.0.0:20161' },
      ]);
      // Unreachable (its health-check loop starts) and marked for a check.
      cache.setStoreLiveness(id, Liveness.UNREACHABLE);
      store1.resolveState = ResolveState.NEED_CHECK;
      await cache.storeCache.checkAndResolve();
      for (let i = 0; i < 5 && store1.liveness !== Liveness.REACHABLE; i++) {
        clock.advance(1000);
        await flush();
      }
      // The same instance, resolved, reachable, with the new label.
      expect(cache.getStore(id)).toBe(store1);
      expect(store1.resolveState).toBe(ResolveState.RESOLVED);
      expect(store1.liveness).toBe(Liveness.REACHABLE);
      expect(store1.labelValue('host')).toBe('0.0.0.0:20161');
    } finally {
      await cache.close();
    }
  });

  it('TestStoreRestartWithNewLabels: a request built while the store was down sees it back, with its new labels', async () => {
    let store1Up = true;
    const { cluster, cache, clock, store1: id } = withProbe((sid) => sid !== id || store1Up);
    try {
      const loc = await cache.locateKey(b('a'));
      const store1 = cache.getStore(id)!;
      expect(store1.resolveState).toBe(ResolveState.RESOLVED);
      expect(store1.liveness).toBe(Liveness.REACHABLE);
      // Down: unreachable, with its health-check loop running.
      store1Up = false;
      cache.setStoreLiveness(id, Liveness.UNREACHABLE);
      // What a replica selector built now holds: the region's store instances.
      const region = cache.getCachedRegion(loc.region)!;
      const held = region.rs.stores.find((st) => st.id === id)!;
      expect(held).toBe(store1);
      expect(held.liveness).toBe(Liveness.UNREACHABLE);
      // It restarts with a new label and is checked again.
      cluster.updateStoreAddr(id, store1.address, [...store1.labels, { key: 'zone', value: 'zone1' }]);
      store1Up = true;
      store1.resolveState = ResolveState.NEED_CHECK;
      await cache.storeCache.checkAndResolve();
      for (let i = 0; i < 5 && held.liveness !== Liveness.REACHABLE; i++) {
        clock.advance(1000);
        await flush();
      }
      // The held instance is the cache's, up to date.
      expect(cache.getStore(id)).toBe(held);
      expect(held.resolveState).toBe(ResolveState.RESOLVED);
      expect(held.liveness).toBe(Liveness.REACHABLE);
      expect(held.labelValue('zone')).toBe('zone1');
    } finally {
      await cache.close();
    }
  });
});
