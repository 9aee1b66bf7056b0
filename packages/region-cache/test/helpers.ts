import { toBytes as b, ManualClock } from '@tikv/common';
import { FakeCluster } from '@tikv/testing';
import { RegionCache } from '../src/region-cache.js';
import type { RegionCacheOptions } from '../src/region-cache-options.js';
import type { ReplicaRead } from '../src/rpc-context.js';

/** The client-go suite's fixture: two stores, one region, peer1 on store1 leads. */
export interface Suite {
  cluster: FakeCluster;
  cache: RegionCache;
  clock: ManualClock;
  store1: bigint;
  store2: bigint;
  peer1: bigint;
  peer2: bigint;
  region1: bigint;
  getAddr(key: string, replicaRead?: ReplicaRead, seed?: number): Promise<string>;
  storeAddr(id: bigint): string;
  checkCache(n: number): void;
}

/**
 * Builds the fixture. Time is a ManualClock that advances on sleeps (backoff
 * never waits for real), and background tasks are off: tests call the sweep.
 */
export function setupSuite(options: RegionCacheOptions = {}): Suite {
  const cluster = new FakeCluster();
  const { storeIds, peerIds, regionId } = cluster.bootstrap(2);
  const clock = new ManualClock({ startMs: 1_000_000, autoAdvance: true });
  const cache = new RegionCache(cluster, {
    clock,
    backgroundTasks: false,
    regionCacheTtlJitterMs: 0,
    ...options,
  });
  const suite: Suite = {
    cluster,
    cache,
    clock,
    store1: storeIds[0] as bigint,
    store2: storeIds[1] as bigint,
    peer1: peerIds[0] as bigint,
    peer2: peerIds[1] as bigint,
    region1: regionId,
    storeAddr: (id) => `store${id}`,
    async getAddr(key, replicaRead = 'leader', seed = 0) {
      const loc = await cache.locateKey(b(key));
      const ctx = await cache.getRpcContext(loc.region, { replicaRead, seed });
      return ctx?.addr ?? '';
    },
    checkCache(n) {
      expect(cache.validRegionCount()).toBe(n);
    },
  };
  return suite;
}

/** Lets pending promise callbacks run. */
export async function flush(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
