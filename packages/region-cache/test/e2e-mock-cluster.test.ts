// End to end against @tikv/mock-cluster through @tikv/pd's PdClient (real gRPC on
// loopback): splits, merges and leader transfers as seen by the cache.

import { toBytes as b } from '@tikv/common';
import { MockCluster } from '@tikv/mock-cluster';
import { PdClient } from '@tikv/pd';
import { RegionCache } from '../src/region-cache.js';
import type { RegionSource } from '../src/region-source.js';

jest.setTimeout(30_000);

let cluster: MockCluster;
let pd: PdClient;
let cache: RegionCache;

beforeEach(async () => {
  cluster = await MockCluster.start({ stores: 3 });
  pd = await PdClient.connect({ endpoints: cluster.pdEndpoints });
  // PdClient satisfies RegionSource structurally, no adapter.
  const source: RegionSource = pd;
  cache = new RegionCache(source, { backgroundTasks: false });
});

afterEach(async () => {
  await cache.close();
  await pd.close();
  await cluster.close();
});

async function leaderStoreOf(key: string): Promise<bigint | undefined> {
  const loc = await cache.locateKey(b(key));
  return (await cache.getRpcContext(loc.region))?.store.id;
}

it('locates keys, follows a split after EpochNotMatch-style invalidation', async () => {
  const before = await cache.locateKey(b('k5'));
  expect(before.startKey).toEqual(new Uint8Array(0));
  cluster.split(b('k3'));
  cache.invalidateRegion(before.region, 'epochNotMatch');
  const left = await cache.locateKey(b('k1'));
  const right = await cache.locateKey(b('k5'));
  expect(left.region.id).not.toBe(right.region.id);
  expect(Buffer.from(right.startKey).toString()).toBe('k3');
  expect(Buffer.from(left.endKey).toString()).toBe('k3');
  const ranges = await cache.locateRange(b('k0'), b('k9'));
  expect(ranges.map((l) => l.region.id)).toEqual([left.region.id, right.region.id]);
  expect((await cache.locateEndKey(b('k3'))).region.id).toBe(left.region.id);
});

it('replaces split regions from an EpochNotMatch error without asking PD', async () => {
  const before = await cache.locateKey(b('a'));
  cluster.split([b('g'), b('p')]);
  const current = (await pd.scanRegions(new Uint8Array(0), new Uint8Array(0), 0)).map((r) => r.region);
  expect(current).toHaveLength(3);
  expect(await cache.onRegionEpochNotMatch(before.region, current)).toBe(false);
  expect(cache.size).toBe(3);
  expect((await cache.locateKey(b('h'))).startKey).toEqual(b('g'));
});

it('follows a merge', async () => {
  cluster.split(b('m'));
  const left = await cache.locateKey(b('a'));
  const right = await cache.locateKey(b('x'));
  const merged = cluster.merge(left.region.id, right.region.id);
  cache.invalidateRegion(left.region, 'epochNotMatch');
  cache.invalidateRegion(right.region, 'epochNotMatch');
  const loc = await cache.locateKey(b('x'));
  expect(loc.region.id).toBe(merged.id);
  expect(cache.size).toBe(1);
});

it('follows a leader transfer through updateLeader and through a reload', async () => {
  const loc = await cache.locateKey(b('a'));
  const r = cache.getCachedRegion(loc.region)!;
  const oldLeader = r.leaderStore!.id;
  const target = r.stores.find((s) => s.id !== oldLeader)!.id;
  cluster.transferLeader(loc.region.id, target);
  const newLeader = r.meta.peers.find((p) => p.storeId === target)!;
  cache.updateLeader(loc.region, newLeader, r.workAccessIndex);
  expect(await leaderStoreOf('a')).toBe(target);

  const third = r.stores.find((s) => s.id !== oldLeader && s.id !== target)!.id;
  cluster.transferLeader(loc.region.id, third);
  cache.invalidateRegion(loc.region, 'noLeader');
  expect(await leaderStoreOf('a')).toBe(third);
});

it('resolves store addresses from PD', async () => {
  const loc = await cache.locateKey(b('a'));
  const ctx = await cache.getRpcContext(loc.region);
  expect(ctx?.addr).toMatch(/^127\.0\.0\.1:\d+$/);
  expect(cache.getAllStores()).toHaveLength(3);
});

it('batch-locates many ranges with PD BatchScanRegions and finds the last region directly', async () => {
  cluster.split([b('c'), b('g'), b('p'), b('t')]);
  const locs = await cache.batchLocateKeyRanges([
    { startKey: b('a'), endKey: b('b') },
    { startKey: b('d'), endKey: b('e') },
    { startKey: b('h'), endKey: b('q') },
    { startKey: b('u'), endKey: new Uint8Array(0) },
  ]);
  expect(locs.map((l) => Buffer.from(l.startKey).toString())).toEqual(['', 'c', 'g', 'p', 't']);
  cache.clear();
  const last = await cache.locateEndKey(new Uint8Array(0));
  expect(Buffer.from(last.startKey).toString()).toBe('t');
  expect(last.endKey).toEqual(new Uint8Array(0));
});
