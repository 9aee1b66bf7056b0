import { toBytes as b, compareKeys } from '@tikv/common';
import { RegionCache } from '@tikv/region-cache';
import { FakeCluster } from '@tikv/testing';
import { dec, enc, Keyspace } from '../test/executor-fixture.js';
import { appendBatches, checkBatchLimit, groupByRegion, type RegionBatch } from './region-batches.js';

const region = { id: 1n, confVer: 1n, version: 1n };
const identity = (k: Uint8Array): Uint8Array => k;

describe('appendBatches', () => {
  test('cuts at the count (client-go AppendKeyBatches); a group that fits is one batch sharing its array', () => {
    const out: RegionBatch<number>[] = [];
    appendBatches(out, region, [1, 2, 3, 4, 5], { maxCount: 2 }, undefined);
    expect(out.map((x) => x.items)).toEqual([[1, 2], [3, 4], [5]]);
    const items = [1, 2];
    const one: RegionBatch<number>[] = [];
    appendBatches(one, region, items, { maxCount: 2 }, undefined);
    expect(one[0]?.items).toBe(items);
  });

  test('closes a batch once it reaches the size (client-go AppendBatches)', () => {
    const out: RegionBatch<number>[] = [];
    appendBatches(out, region, [5, 5, 5, 20, 1], { maxBytes: 10, sizeOf: (n) => n }, undefined);
    expect(out.map((x) => x.items)).toEqual([[5, 5], [5, 20], [1]]);
    const exact: RegionBatch<number>[] = [];
    appendBatches(exact, region, [4, 6], { maxBytes: 10, sizeOf: (n) => n }, undefined);
    expect(exact.map((x) => x.items)).toEqual([[4, 6]]);
  });

  test('marks the batch holding the primary', () => {
    const out: RegionBatch<number>[] = [];
    appendBatches(out, region, [1, 2, 3], { maxCount: 1 }, (part) => part.includes(2));
    expect(out.map((x) => x.primary)).toEqual([false, true, false]);
  });

  test('refuses a limit below 1', () => {
    expect(() => checkBatchLimit({ maxCount: 0 })).toThrow(/limit.maxCount must be an integer >= 1, got 0/);
    expect(() => checkBatchLimit({ maxBytes: 0.5, sizeOf: () => 1 })).toThrow(/limit.maxBytes/);
    expect(() => checkBatchLimit({ maxCount: 3 })).not.toThrow();
  });
});

describe('groupByRegion', () => {
  test('items in one region: one lookup, one group sharing the input array', async () => {
    const ks = new Keyspace();
    const keys = ['a', 'c', 'b'].map(enc);
    const groups = await groupByRegion(ks.locator, keys, { keyOf: identity });
    expect(groups).toHaveLength(1);
    expect(groups[0]?.items).toBe(keys);
    expect(ks.locateCalls).toBe(1);
    expect(await groupByRegion(ks.locator, [], { keyOf: identity })).toEqual([]);
  });

  test('sorted keys cost one lookup per region; unsorted keys join their region’s group', async () => {
    const ks = new Keyspace().split('g', 'p').refreshCache();
    const sorted = ['a', 'b', 'h', 'i', 'q', 'r'].map(enc);
    const groups = await groupByRegion(ks.locator, sorted, { keyOf: identity });
    expect(groups.map((g) => g.items.map(dec))).toEqual([
      ['a', 'b'],
      ['h', 'i'],
      ['q', 'r'],
    ]);
    expect(ks.locateCalls).toBe(3);
    const mixed = ['h', 'a', 'q', 'i', 'b'].map(enc);
    const again = await groupByRegion(ks.locator, mixed, { keyOf: identity });
    expect(again.map((g) => g.items.map(dec))).toEqual([['h', 'i'], ['a', 'b'], ['q']]);
  });

  test('sorted: one region check for the whole list, runs found by binary search', async () => {
    const ks = new Keyspace().split('g', 'p').refreshCache();
    const keys = ['a', 'b', 'c', 'h', 'i', 'q'].map(enc);
    const groups = await groupByRegion(ks.locator, keys, { keyOf: identity, sorted: true });
    expect(groups.map((g) => g.items.map(dec))).toEqual([['a', 'b', 'c'], ['h', 'i'], ['q']]);
    expect(ks.locateCalls).toBe(3);
    // Only the last key decides the one-region case: the middle is not looked at.
    let seen = 0;
    const counted = (k: Uint8Array): Uint8Array => {
      seen++;
      return k;
    };
    const one = ['a', 'b', 'c', 'd'].map(enc);
    const single = await groupByRegion(ks.locator, one, { keyOf: counted, sorted: true });
    expect(single[0]?.items).toBe(one);
    expect(seen).toBe(2);
    // A region ending exactly at a key starts the next run with it.
    const edge = await groupByRegion(ks.locator, ['f', 'g', 'p'].map(enc), { keyOf: identity, sorted: true });
    expect(edge.map((g) => g.items.map(dec))).toEqual([['f'], ['g'], ['p']]);
  });

  // The case of region-cache's former groupKeysByRegion test, on the real cache.
  test('the region cache is a key locator: a batch split by region, in order of first appearance', async () => {
    const cluster = new FakeCluster();
    const region1 = cluster.bootstrap(2).regionId;
    const cache = new RegionCache(cluster, { backgroundTasks: false });
    try {
      const ids = cluster.allocIds(3);
      cluster.split(region1, ids[0] as bigint, 'm', [ids[1] as bigint, ids[2] as bigint], ids[1] as bigint);
      // Split before the first lookup: the cache loads both regions as they are now.
      const groups = await groupByRegion(cache, ['a', 'b', 'x', 'y', 'c'].map(b), { keyOf: identity });
      expect(groups.map((g) => g.location.region.id)).toEqual([region1, ids[0]]);
      expect(groups.map((g) => g.items.map(dec))).toEqual([
        ['a', 'b', 'c'],
        ['x', 'y'],
      ]);
    } finally {
      await cache.close();
    }
  });

  test('a second version of one region id gets a group of its own', async () => {
    const ks = new Keyspace().split('m').refreshCache();
    let calls = 0;
    const locator = {
      ...ks.locator,
      locateKey: async (key: Uint8Array) => {
        const loc = await ks.locator.locateKey(key);
        // The cache moves on between lookups: the same id comes back at another version.
        calls++;
        return calls === 3 ? { ...loc, region: { ...loc.region, version: loc.region.version + 1n } } : loc;
      },
    };
    const groups = await groupByRegion(locator, ['a', 'x', 'b'].map(enc), { keyOf: identity });
    expect(groups.map((g) => g.items.map(dec))).toEqual([['a'], ['x'], ['b']]);
    expect(groups[0]?.location.region.id).toBe(groups[2]?.location.region.id);
    expect(compareKeys(enc('a'), enc('b'))).toBeLessThan(0);
  });
});
