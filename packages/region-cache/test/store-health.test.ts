// Store liveness and TiKV health feedback, after client-go internal/locate/store_cache.go
// (requestLivenessAndStartHealthCheckLoopIfNeeded, updateTiKVServerSideSlowScoreOnTick) and
// region_cache_test.go TestTiKVSideSlowScore / TestHealthCheckWithStoreReplace.
import { toBytes as b, ManualClock } from '@tikv/common';
import { FakeCluster } from '@tikv/testing';
import { RegionCache } from '../src/region-cache.js';
import type { RegionCacheOptions } from '../src/region-cache-options.js';
import { Liveness, StoreType } from '../src/store.js';
import { flush } from './helpers.js';

function setup(options: RegionCacheOptions = {}) {
  const cluster = new FakeCluster();
  const { storeIds } = cluster.bootstrap(2);
  const clock = new ManualClock({ startMs: 0 });
  const cache = new RegionCache(cluster, { clock, backgroundTasks: false, ...options });
  return { cluster, clock, cache, store1: storeIds[0]!, store2: storeIds[1]! };
}

describe('checkStoreLiveness (requestLivenessAndStartHealthCheckLoopIfNeeded)', () => {
  it('without a probe answers unreachable and marks nothing', async () => {
    const { cache, store1 } = setup();
    try {
      await cache.locateKey(b('a'));
      expect(await cache.checkStoreLiveness(store1)).toBe(Liveness.UNREACHABLE);
      expect(cache.getStore(store1)!.liveness).toBe(Liveness.REACHABLE);
      expect(await cache.checkStoreLiveness(999n)).toBe(Liveness.UNREACHABLE);
    } finally {
      await cache.close();
    }
  });

  it('marks an unreachable store and its health loop marks it reachable again', async () => {
    let up = false;
    const { cache, clock, store1 } = setup({
      healthCheckIntervalMs: 1000,
      livenessProbe: async () => (up ? Liveness.REACHABLE : Liveness.UNREACHABLE),
    });
    try {
      await cache.locateKey(b('a'));
      expect(await cache.checkStoreLiveness(store1)).toBe(Liveness.UNREACHABLE);
      const store = cache.getStore(store1)!;
      expect(store.liveness).toBe(Liveness.UNREACHABLE);
      clock.advance(1000);
      await flush();
      expect(store.liveness).toBe(Liveness.UNREACHABLE);
      up = true;
      clock.advance(1000);
      await flush();
      expect(store.liveness).toBe(Liveness.REACHABLE);
      expect(store.unreachableSinceMs).toBeUndefined();
    } finally {
      await cache.close();
    }
  });

  it('answers unknown for a store whose address is not resolved, and runs no loop for TiFlash', async () => {
    const probe = jest.fn(async () => Liveness.UNREACHABLE);
    const { cache, store1, store2 } = setup({ livenessProbe: probe });
    try {
      const unresolved = cache.storeCache.getOrInsertDefault(77n);
      expect(await cache.storeCache.requestLiveness(unresolved)).toBe(Liveness.UNKNOWN);
      await cache.locateKey(b('a'));
      const tiflash = cache.getStore(store2)!;
      tiflash.storeType = StoreType.TIFLASH;
      expect(await cache.checkStoreLiveness(store2)).toBe(Liveness.UNREACHABLE);
      expect(tiflash.liveness).toBe(Liveness.REACHABLE);
      expect(await cache.checkStoreLiveness(store1)).toBe(Liveness.UNREACHABLE);
      expect(probe).toHaveBeenCalledTimes(2);
    } finally {
      await cache.close();
    }
  });
});

describe('TiKV-side slow score on the health tick (updateTiKVServerSideSlowScoreOnTick)', () => {
  it('asks a store for fresh feedback after 15 s of silence instead of decaying', async () => {
    let cache: RegionCache | undefined;
    const asked: bigint[] = [];
    const env = setup({
      requestHealthFeedback: async (store) => {
        asked.push(store.id);
        cache?.onHealthFeedback(store.id, 90); // TiKV answers: still slow
      },
    });
    cache = env.cache;
    try {
      await cache.locateKey(b('a'));
      cache.onHealthFeedback(env.store1, 90);
      const health = cache.getStore(env.store1)!.health;
      await cache.tickStoreHealth();
      expect(asked).toEqual([]); // fresh: nothing to ask
      env.clock.advance(15_000);
      await cache.tickStoreHealth();
      expect(asked).toEqual([env.store1]);
      expect(health.detail().tikvSideSlowScore).toBe(90);
      expect(health.isSlow).toBe(true);
    } finally {
      await cache.close();
    }
  });

  it('decays the score when the store cannot be asked (unreachable, or the request fails)', async () => {
    const { cache, clock, store1 } = setup({
      requestHealthFeedback: async () => {
        throw new Error('no answer');
      },
    });
    try {
      await cache.locateKey(b('a'));
      cache.onHealthFeedback(store1, 90);
      clock.advance(60_000);
      await cache.tickStoreHealth();
      const health = cache.getStore(store1)!.health;
      expect(health.detail().tikvSideSlowScore).toBe(70); // 20 per minute
      expect(health.isSlow).toBe(false);
    } finally {
      await cache.close();
    }
  });
});
