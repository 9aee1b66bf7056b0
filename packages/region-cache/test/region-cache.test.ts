// Ports of client-go internal/locate/region_cache_test.go (testRegionCacheSuite):
// lookups, splits, merges, invalidation and TTL.
import { toBytes as b, CodecError, ManualClock } from '@tikv/common';
import { FakeCluster } from '@tikv/testing';
import { CachedRegion, SyncFlag } from '../src/cached-region.js';
import { InvalidReason } from '../src/invalid-reason.js';
import { locationContains } from '../src/key-location.js';
import { RegionCache } from '../src/region-cache.js';
import { Liveness } from '../src/store.js';
import { type Suite, setupSuite } from './helpers.js';

let s: Suite;
beforeEach(() => {
  s = setupSuite();
});
afterEach(async () => {
  await s.cache.close();
});

function sampleRegion(startKey: Uint8Array, endKey: Uint8Array): CachedRegion {
  return new CachedRegion(
    { id: 1n, startKey, endKey, epoch: { confVer: 1n, version: 1n }, peers: [] },
    {
      stores: [],
      storeEpochs: [],
      tikv: [],
      tiflash: [],
      workTiKVIdx: 0,
      proxyTiKVIdx: -1,
      workTiFlashIdx: 0,
      buckets: undefined,
      pendingPeers: [],
      downPeers: [],
    },
    Number.POSITIVE_INFINITY,
  );
}

describe('RegionCache (client-go TestRegionCache)', () => {
  it('TestSimple: locates, routes to leader and follower, expires by TTL', async () => {
    const loc = await s.cache.locateKey(b('a'));
    expect(loc.region.id).toBe(s.region1);
    expect(await s.getAddr('a', 'leader')).toBe(s.storeAddr(s.store1));
    expect(await s.getAddr('a', 'follower', 7)).toBe(s.storeAddr(s.store2));
    s.checkCache(1);
    const r = s.cache.getCachedRegion(loc.region) as CachedRegion;
    expect(r.leaderPeer?.id).toBe(s.peer1);
    r.ttlMs = 0;
    expect(s.cache.tryLocateKey(b('a'))).toBeUndefined();
  });

  it('TestRegionCacheValidAfterLoading: loads keep valid regions valid and replace invalidated ones', async () => {
    s.cache.clear();
    // Split at "a", "b", ..., "j".
    const regions = [s.region1];
    let region1 = s.region1;
    for (let i = 0; i < 10; i++) {
      const region2 = s.cluster.allocId();
      const peers = s.cluster.allocIds(2);
      s.cluster.split(region1, region2, String.fromCharCode(0x61 + i), peers, peers[0] as bigint);
      region1 = region2;
      regions.push(region1);
    }
    const loads: [string, () => Promise<unknown>][] = [
      ['locateRange', () => s.cache.locateRange(b('a'), b('e'))],
      ['batchLocateKeyRanges', () => s.cache.batchLocateKeyRanges([{ startKey: b('a'), endKey: b('e') }])],
      ['locateKey', () => s.cache.locateKey(b('b'))],
      ['locateEndKey', () => s.cache.locateEndKey(b('c'))],
      ['locateRegionById', () => Promise.all(regions.map((id) => s.cache.locateRegionById(id)))],
      ['listRegionIdsInRange', () => s.cache.listRegionIdsInRange(b('a'), b('e'))],
      ['batchLoadRegions', () => s.cache.batchLoadRegions(b('a'), b('e'), 10)],
    ];
    // Loaded from PD or found in the cache, a valid cached region stays valid.
    for (const [name, load] of loads) {
      const loc = await s.cache.locateKey(b('b'));
      const region = s.cache.getCachedRegion(loc.region) as CachedRegion;
      await load();
      expect([name, region.invalidReason]).toEqual([name, InvalidReason.OK]);
    }
    // An invalidated region stays invalid, and the load puts a valid one in its place.
    for (const [name, load] of loads) {
      const loc = await s.cache.locateKey(b('b'));
      const region = s.cache.getCachedRegion(loc.region) as CachedRegion;
      region.invalidate(InvalidReason.OTHER);
      expect(s.cache.tryLocateKey(b('b'))).toBeUndefined();
      await load();
      expect([name, region.invalidReason]).toEqual([name, InvalidReason.OTHER]);
      expect([name, s.cache.tryLocateKey(b('b'))?.region.id]).toEqual([name, loc.region.id]);
    }
  });

  it('TestScanRegions: regions from a key up to the limit, with their leaders; leaderless ones left out', async () => {
    // Split at "a", "b", "c", "d".
    const regions = [s.region1, ...s.cluster.allocIds(4)];
    const leaders = [s.peer1];
    for (let i = 0; i < 4; i++) {
      const peers = s.cluster.allocIds(2);
      leaders.push(peers[0] as bigint);
      s.cluster.split(
        regions[i] as bigint,
        regions[i + 1] as bigint,
        String.fromCharCode(0x61 + i),
        peers,
        peers[0] as bigint,
      );
    }
    const scan = async (start: string, limit: number): Promise<[bigint, bigint | undefined][]> => {
      const locs = await s.cache.batchLoadRegions(b(start), new Uint8Array(0), limit);
      return locs.map((l) => [l.region.id, s.cache.getCachedRegion(l.region)?.leaderPeer?.id]);
    };
    const want = (...idx: number[]) => idx.map((i) => [regions[i], leaders[i]]);
    expect(await scan('', 100)).toEqual(want(0, 1, 2, 3, 4));
    expect(await scan('a', 3)).toEqual(want(1, 2, 3));
    expect(await scan('a1', 1)).toEqual(want(1));
    s.cluster.clearLeader(regions[1] as bigint);
    s.cluster.clearLeader(regions[3] as bigint);
    expect(await scan('', 5)).toEqual(want(0, 2, 4));
  });

  it('TestBatchLoadRegions: loads up to the limit from a key, or within a range', async () => {
    // Split at "a", "b", "c", "d".
    const regions = [s.region1, ...s.cluster.allocIds(4)];
    for (let i = 0; i < 4; i++) {
      const peers = s.cluster.allocIds(2);
      s.cluster.split(
        regions[i] as bigint,
        regions[i + 1] as bigint,
        String.fromCharCode(0x61 + i),
        peers,
        peers[0] as bigint,
      );
    }
    const cases: [string, string, number, string, bigint[]][] = [
      ['', 'a', 1, 'a', [regions[0] as bigint]],
      ['a', 'b1', 2, 'c', [regions[1] as bigint, regions[2] as bigint]],
      ['a1', 'd', 2, 'c', [regions[1] as bigint, regions[2] as bigint]],
      ['c', 'c1', 2, '', [regions[3] as bigint]],
      ['d', '', 2, '', [regions[4] as bigint]],
    ];
    const dec = new TextDecoder();
    for (const [start, end, limit, nextKey, ids] of cases) {
      // client-go BatchLoadRegionsFromKey: the key after the loaded regions ('' at the end).
      const fromKey = await s.cache.batchLoadRegions(b(start), new Uint8Array(0), limit);
      expect(dec.decode(fromKey.at(-1)?.endKey)).toBe(nextKey);
      // client-go BatchLoadRegionsWithKeyRange.
      const inRange = await s.cache.batchLoadRegions(b(start), b(end), limit);
      expect(inRange.map((l) => l.region.id)).toEqual(ids);
    }
    s.checkCache(regions.length);
  });

  it('TestSplit: after invalidation the cache reloads both halves', async () => {
    const loc = await s.cache.locateKey(b('x'));
    expect(loc.region.id).toBe(s.region1);
    expect(await s.getAddr('x', 'leader')).toBe(s.storeAddr(s.store1));
    expect(await s.getAddr('x', 'follower', 3)).toBe(s.storeAddr(s.store2));

    const region2 = s.cluster.allocId();
    const newPeers = s.cluster.allocIds(2);
    s.cluster.split(s.region1, region2, 'm', newPeers, newPeers[0] as bigint);
    s.cache.invalidateRegion(loc.region);
    s.checkCache(0);

    const loc2 = await s.cache.locateKey(b('x'));
    expect(loc2.region.id).toBe(region2);
    expect(await s.getAddr('x', 'leader')).toBe(s.storeAddr(s.store1));
    expect(await s.getAddr('x', 'follower', 3)).toBe(s.storeAddr(s.store2));
    s.checkCache(1);

    const loc3 = await s.cache.locateEndKey(b('m'));
    expect(loc3.region.id).toBe(s.region1);
    s.checkCache(2);
  });

  it('TestMerge: a merged region replaces the two halves', async () => {
    const region2 = s.cluster.allocId();
    const newPeers = s.cluster.allocIds(2);
    s.cluster.split(s.region1, region2, 'm', newPeers, newPeers[0] as bigint);
    const loc = await s.cache.locateKey(b('x'));
    expect(loc.region.id).toBe(region2);
    s.cluster.merge(s.region1, region2);
    s.cache.invalidateRegion(loc.region);
    s.checkCache(0);
    const loc2 = await s.cache.locateKey(b('x'));
    expect(loc2.region.id).toBe(s.region1);
    s.checkCache(1);
  });

  it('TestReconnect: an invalidated region is reloaded with its leader', async () => {
    const loc = await s.cache.locateKey(b('a'));
    s.cache.invalidateRegion(loc.region);
    const loc2 = await s.cache.locateKey(b('a'));
    expect(loc2.region.id).toBe(s.region1);
    expect(await s.getAddr('a', 'leader')).toBe(s.storeAddr(s.store1));
    expect(await s.getAddr('x', 'follower', 5)).toBe(s.storeAddr(s.store2));
    s.checkCache(1);
  });

  it('TestListRegionIDsInCache', async () => {
    const region2 = s.cluster.allocId();
    const newPeers = s.cluster.allocIds(2);
    s.cluster.split(s.region1, region2, 'm', newPeers, newPeers[0] as bigint);
    expect(await s.cache.listRegionIdsInRange(b('a'), b('z'))).toEqual([s.region1, region2]);
    expect(await s.cache.listRegionIdsInRange(b('m'), b('z'))).toEqual([region2]);
    expect(await s.cache.listRegionIdsInRange(b('a'), b('m'))).toEqual([s.region1, region2]);
  });

  it('TestContains', () => {
    const e = new Uint8Array(0);
    const k = (n: number) => Uint8Array.of(n);
    expect(sampleRegion(e, e).contains(e)).toBe(true);
    expect(sampleRegion(e, e).contains(k(10))).toBe(true);
    expect(sampleRegion(k(10), e).contains(e)).toBe(false);
    expect(sampleRegion(k(10), e).contains(k(9))).toBe(false);
    expect(sampleRegion(k(10), e).contains(k(10))).toBe(true);
    expect(sampleRegion(e, k(10)).contains(e)).toBe(true);
    expect(sampleRegion(e, k(10)).contains(k(9))).toBe(true);
    expect(sampleRegion(e, k(10)).contains(k(10))).toBe(false);
    expect(sampleRegion(k(10), k(20)).contains(e)).toBe(false);
    expect(sampleRegion(k(10), k(20)).contains(k(15))).toBe(true);
    expect(sampleRegion(k(10), k(20)).contains(k(30))).toBe(false);
  });

  it('TestContainsByEnd', () => {
    const e = new Uint8Array(0);
    const k = (n: number) => Uint8Array.of(n);
    expect(sampleRegion(e, e).containsByEnd(e)).toBe(true);
    expect(sampleRegion(e, e).containsByEnd(k(10))).toBe(true);
    expect(sampleRegion(k(10), e).containsByEnd(e)).toBe(true);
    expect(sampleRegion(k(10), e).containsByEnd(k(10))).toBe(false);
    expect(sampleRegion(k(10), e).containsByEnd(k(11))).toBe(true);
    expect(sampleRegion(e, k(10)).containsByEnd(e)).toBe(false);
    expect(sampleRegion(e, k(10)).containsByEnd(k(10))).toBe(true);
    expect(sampleRegion(e, k(10)).containsByEnd(k(11))).toBe(false);
    expect(sampleRegion(k(10), k(20)).containsByEnd(e)).toBe(false);
    expect(sampleRegion(k(10), k(20)).containsByEnd(k(15))).toBe(true);
    expect(sampleRegion(k(10), k(20)).containsByEnd(k(30))).toBe(false);
  });

  it('TestRemoveIntersectingRegions: a newer region evicts the regions it overlaps', async () => {
    const regions = [s.region1, ...s.cluster.allocIds(4)];
    const peers = [[s.peer1, s.peer2]];
    for (let i = 0; i < 4; i++) peers.push(s.cluster.allocIds(2));
    for (let i = 0; i < 4; i++) {
      const p = peers[i + 1] as bigint[];
      s.cluster.split(
        regions[i] as bigint,
        regions[i + 1] as bigint,
        String.fromCharCode(98 + i),
        p,
        p[0] as bigint,
      );
    }
    for (let c = 0; c < 5; c++) {
      const loc = await s.cache.locateKey(Uint8Array.of(97 + c));
      expect(loc.region.id).toBe(regions[c]);
    }
    for (let i = 1; i <= 3; i++) s.cluster.merge(regions[0] as bigint, regions[i] as bigint);
    // The cache still answers with the stale region for 'c': expected.
    expect((await s.cache.locateKey(b('c'))).region.id).not.toBe(regions[0]);
    expect((await s.cache.locateKey(b('e'))).region.id).toBe(regions[4]);

    const merged = await s.cluster.getRegion(b('c'));
    expect(await s.cache.insertRegion(merged!)).toBe(true);
    expect((await s.cache.locateKey(b('c'))).region.id).toBe(regions[0]);
    s.checkCache(2);

    s.cluster.merge(regions[0] as bigint, regions[4] as bigint);
    const all = await s.cluster.getRegion(b('e'));
    expect(await s.cache.insertRegion(all!)).toBe(true);
    expect((await s.cache.locateKey(b('e'))).region.id).toBe(regions[0]);
    s.checkCache(1);
  });

  it('TestGetRegionByIDFromCache: an empty EpochNotMatch invalidates; newer epochs replace the region by id', async () => {
    let loc = await s.cache.locateRegionById(s.region1);
    // EpochNotMatch without current regions: the region stays cached, invalidated.
    await s.cache.onRegionEpochNotMatch(loc.region, []);
    const stale = s.cache.getCachedRegion(loc.region) as CachedRegion;
    expect(stale).toBeDefined();
    expect(stale.invalidReason).not.toBe(InvalidReason.OK);
    expect(s.cache.tryLocateKey(b('a'))).toBeUndefined();
    // Refilled by id.
    loc = await s.cache.locateRegionById(s.region1);
    expect(loc.region.id).toBe(s.region1);

    const src = (await s.cluster.getRegionById(s.region1))!;
    const withEpoch = (startKey: Uint8Array, confVer: bigint, version: bigint) => ({
      ...src,
      region: { ...src.region, startKey, epoch: { confVer, version } },
    });
    // A newer conf version with a new start key.
    const confVer2 = loc.region.confVer + 1n;
    expect(await s.cache.insertRegion(withEpoch(Uint8Array.of(1), confVer2, loc.region.version))).toBe(true);
    loc = await s.cache.locateRegionById(s.region1);
    expect([loc.region.confVer, loc.region.version]).toEqual([confVer2, src.region.epoch.version]);
    expect(loc.startKey).toEqual(Uint8Array.of(1));
    // Then a newer range version.
    const version3 = loc.region.version + 1n;
    expect(await s.cache.insertRegion(withEpoch(Uint8Array.of(2), confVer2, version3))).toBe(true);
    loc = await s.cache.locateRegionById(s.region1);
    expect([loc.region.confVer, loc.region.version]).toEqual([confVer2, version3]);
    expect(loc.startKey).toEqual(Uint8Array.of(2));
  });

  it('refuses a region older than the cached one (stale answer from PD)', async () => {
    const old = await s.cluster.getRegion(b('a'));
    const region2 = s.cluster.allocId();
    const newPeers = s.cluster.allocIds(2);
    s.cluster.split(s.region1, region2, 'm', newPeers, newPeers[0] as bigint);
    await s.cache.locateKey(b('a'));
    await s.cache.locateKey(b('x'));
    expect(await s.cache.insertRegion(old!)).toBe(false);
    s.checkCache(2);
  });

  describe('testSplitThenLocateKey', () => {
    const marks: [string, (r: CachedRegion) => void][] = [
      ['TestSplitThenLocateInvalidRegion', (r) => r.invalidate(InvalidReason.OTHER)],
      ['TestSplitThenLocateRegionNeedReloadOnAccess', (r) => r.setSyncFlags(SyncFlag.NEED_RELOAD_ON_ACCESS)],
      [
        'TestSplitThenLocateRegionNeedDelayedReload',
        (r) => r.setSyncFlags(SyncFlag.NEED_DELAYED_RELOAD_READY),
      ],
    ];
    it.each(marks)('%s', async (_name, mark) => {
      const k = b('k');
      await s.cache.locateRegionById(s.region1);
      const r1loc = s.cache.tryLocateKey(k);
      expect(r1loc).toBeDefined();
      const r1 = s.cache.getCachedRegion(r1loc!.region) as CachedRegion;
      const ids = s.cluster.allocIds(3);
      s.cluster.split(s.region1, ids[0] as bigint, k, ids.slice(1), ids[1] as bigint);
      mark(r1);
      expect(s.cache.tryLocateKey(r1.startKey)).toBeUndefined();
      expect(s.cache.tryLocateKey(k)).toBeUndefined();
      const loc1 = await s.cache.locateKey(r1.startKey);
      expect(locationContains(loc1, k)).toBe(false);
      const loc2 = await s.cache.locateKey(k);
      expect(locationContains(loc2, k)).toBe(true);
    });
  });

  it('TestNeedExpireRegionAfterTTL: regions with down peers reload every TTL', async () => {
    await s.cache.close();
    s = setupSuite({ regionCacheTtlMs: 3000 });
    s.cluster.markPeerDown(s.peer2);
    for (let i = 0; i < 50; i++) {
      s.clock.advance(100);
      await s.cache.locateKey(b('a'));
    }
    expect(s.cluster.calls.getRegion).toBe(2);
  });

  it('TestNeedExpireRegionAfterTTL: regions with stale stores reload every TTL', async () => {
    await s.cache.close();
    s = setupSuite({ regionCacheTtlMs: 3000 });
    await s.cache.locateKey(b('a'));
    const store2 = s.cache.getStore(s.store2)!;
    for (let i = 0; i < 50; i++) {
      store2.epoch = i + 1;
      s.clock.advance(100);
      s.cache.runGcRound();
      await s.cache.locateKey(b('a'));
    }
    expect(s.cluster.calls.getRegion).toBe(2);
  });

  it('TestNeedExpireRegionAfterTTL: regions with unreachable stores reload every TTL', async () => {
    await s.cache.close();
    s = setupSuite({ regionCacheTtlMs: 3000 });
    await s.cache.locateKey(b('a'));
    s.cache.getStore(s.store2)!.liveness = Liveness.UNREACHABLE;
    for (let i = 0; i < 50; i++) {
      s.clock.advance(100);
      s.cache.runGcRound();
      await s.cache.locateKey(b('a'));
    }
    expect(s.cluster.calls.getRegion).toBe(2);
  });

  it('TestTiFlashRecoveredFromDown: a down TiFlash peer is left out until it recovers and the region reloads', async () => {
    await s.cache.close();
    s = setupSuite({ regionCacheTtlMs: 3000 });
    const [store3, peer3, store4, peer4] = s.cluster.allocIds(4) as [bigint, bigint, bigint, bigint];
    for (const [store, peer] of [
      [store3, peer3],
      [store4, peer4],
    ] as const) {
      s.cluster.addStore(store, s.storeAddr(store), [{ key: 'engine', value: 'tiflash' }]);
      s.cluster.addPeer(s.region1, store, peer, 'learner');
    }
    const tiflashStores = async (): Promise<{ ids: bigint[]; region: CachedRegion }> => {
      const loc = await s.cache.locateKey(b('a'));
      expect(loc.region.id).toBe(s.region1);
      const region = s.cache.getCachedRegion(loc.region) as CachedRegion;
      return { ids: region.rs.tiflash.map((i) => region.rs.stores[i]!.id), region };
    };
    // No down peer: both TiFlash peers, no expiry flag.
    let { ids, region } = await tiflashStores();
    expect(ids.sort()).toEqual([store3, store4].sort());
    expect(region.checkSyncFlags(SyncFlag.NEED_EXPIRE_AFTER_TTL)).toBe(false);
    s.cache.clear();
    // peer3 down: left out, and the region expires after its TTL however often it is used.
    s.cluster.markPeerDown(peer3);
    ({ ids, region } = await tiflashStores());
    expect(ids).toEqual([store4]);
    expect(region.checkSyncFlags(SyncFlag.NEED_EXPIRE_AFTER_TTL)).toBe(true);
    let latest = region;
    for (let i = 0; i <= 3; i++) {
      s.clock.advance(1000);
      const now = await tiflashStores();
      expect(now.ids).not.toContain(store3);
      latest = now.region;
    }
    expect(latest).not.toBe(region);
    // Back up: the next reload brings it back.
    s.cluster.removeDownPeer(peer3);
    let back = false;
    for (let i = 0; i <= 10 && !back; i++) {
      back = (await tiflashStores()).ids.includes(store3);
      s.clock.advance(1000);
    }
    expect(back).toBe(true);
  });

  it('an accessed region keeps living past its TTL', async () => {
    await s.cache.close();
    s = setupSuite({ regionCacheTtlMs: 3000 });
    for (let i = 0; i < 50; i++) {
      s.clock.advance(100);
      await s.cache.locateKey(b('a'));
    }
    expect(s.cluster.calls.getRegion).toBe(1);
    s.clock.advance(3001);
    await s.cache.locateKey(b('a'));
    expect(s.cluster.calls.getRegion).toBe(2);
  });

  it('TestFilterDownPeersOrPeersOnTombstoneOrDroppedStores', async () => {
    const verify = async (peerCount: number) => {
      const loc = await s.cache.locateKey(b('a'));
      const r = s.cache.getCachedRegion(loc.region)!;
      expect(r.meta.peers).toHaveLength(peerCount);
      expect(r.stores).toHaveLength(peerCount);
      const leader = await s.cache.getRpcContext(loc.region, { replicaRead: 'leader' });
      expect(leader?.meta).toBe(r.meta);
      const follower = await s.cache.getRpcContext(loc.region, { replicaRead: 'follower', seed: 11 });
      expect(follower?.meta).toBe(r.meta);
      return r;
    };
    await verify(2);
    s.checkCache(1);
    s.cache.clear();

    s.cluster.markTombstone(s.store1);
    let r = await verify(1);
    expect(r.meta.peers.every((p) => p.storeId !== s.store1)).toBe(true);
    s.cache.clear();
    s.cluster.startStore(s.store1);

    const meta = s.cluster.getStoreMeta(s.store1)!;
    s.cluster.removeStore(s.store1);
    r = await verify(1);
    expect(r.stores.every((st) => st.id !== s.store1)).toBe(true);
    s.cache.clear();
    s.cluster.addStore(meta.id, meta.address, meta.labels);

    s.cluster.markTombstone(s.store1);
    s.cluster.markTombstone(s.store2);
    await expect(s.cache.locateKey(b('a'))).rejects.toThrow(/no available peers/);
  });

  it('TestReturnRegionWithNoLeader: scans skip and retry leaderless answers', async () => {
    const first = await s.cluster.getRegion(b('x'));
    let scans = 0;
    s.cluster.hook = (call) => {
      if (call !== 'scanRegions') return undefined;
      scans += 1;
      return scans === 1 ? Promise.resolve([{ ...first!, leader: undefined }]) : undefined;
    };
    const locs = await s.cache.batchLoadRegions(new Uint8Array(0), new Uint8Array(0), 100);
    expect(locs).toHaveLength(1);
    expect(locs[0]?.region.id).toBe(s.region1);
    expect(scans).toBe(2);
  });

  it('TestNoBackoffWhenFailToDecodeRegion', async () => {
    s.cluster.hook = () => Promise.reject(new CodecError('bad key'));
    await expect(s.cache.locateKey(b('k'))).rejects.toMatchObject({ code: 'CODEC_ERROR' });
    await expect(s.cache.locateRegionById(s.region1)).rejects.toMatchObject({ code: 'CODEC_ERROR' });
    await expect(s.cache.batchLoadRegions(new Uint8Array(0), new Uint8Array(0), 10)).rejects.toMatchObject({
      code: 'CODEC_ERROR',
    });
    expect(s.clock.sleeps).toEqual([]);
  });

  it('retries source errors with pdRPC backoff until it answers', async () => {
    let failures = 2;
    s.cluster.hook = (call) => {
      if (call === 'getRegion' && failures > 0) {
        failures -= 1;
        return Promise.reject(new Error('pd unavailable'));
      }
      return undefined;
    };
    const loc = await s.cache.locateKey(b('a'));
    expect(loc.region.id).toBe(s.region1);
    expect(s.clock.sleeps).toHaveLength(2);
  });

  it('gives up when the load budget is spent', async () => {
    await s.cache.close();
    s = setupSuite({ loadBackoffMs: 1000 });
    s.cluster.hook = () => Promise.reject(new Error('pd unavailable'));
    await expect(s.cache.locateKey(b('a'))).rejects.toMatchObject({ code: 'BACKOFF_EXCEEDED' });
  });

  it('locateRegionById loads, caches, and reloads a region marked for reload', async () => {
    const loc = await s.cache.locateRegionById(s.region1);
    expect(loc.region.id).toBe(s.region1);
    expect(s.cluster.calls.getRegionById).toBe(1);
    await s.cache.locateRegionById(s.region1);
    expect(s.cluster.calls.getRegionById).toBe(1);
    s.cache.getCachedRegion(loc.region)!.setSyncFlags(SyncFlag.NEED_RELOAD_ON_ACCESS);
    await s.cache.locateRegionById(s.region1);
    expect(s.cluster.calls.getRegionById).toBe(2);
    await expect(s.cache.locateRegionById(999n)).rejects.toMatchObject({ code: 'PD_ERROR' });
    const direct = await s.cache.locateRegionByIdFromSource(s.region1);
    expect(direct.region).toEqual(loc.region);
  });

  it('keeps the cached region when a reload on access fails', async () => {
    const loc = await s.cache.locateKey(b('a'));
    s.cache.getCachedRegion(loc.region)!.setSyncFlags(SyncFlag.NEED_RELOAD_ON_ACCESS);
    await s.cache.close();
    const again = await s.cache.locateKey(b('a'));
    expect(again.region).toEqual(loc.region);
    expect(s.cache.getCachedRegion(loc.region)!.checkSyncFlags(SyncFlag.NEED_RELOAD_ON_ACCESS)).toBe(true);
  });

  it('locateEndKey finds the region ending at a key and the last region for +infinity', async () => {
    const ids = s.cluster.allocIds(6);
    s.cluster.split(s.region1, ids[0]!, 'g', [ids[1]!, ids[2]!], ids[1]!);
    s.cluster.split(ids[0]!, ids[3]!, 'p', [ids[4]!, ids[5]!], ids[4]!);
    expect((await s.cache.locateEndKey(b('g'))).region.id).toBe(s.region1);
    expect((await s.cache.locateEndKey(b('h'))).region.id).toBe(ids[0]);
    expect(s.cluster.calls.getPrevRegion).toBe(1);
    expect((await s.cache.locateEndKey(new Uint8Array(0))).region.id).toBe(ids[3]);
    // cached now
    expect((await s.cache.locateEndKey(new Uint8Array(0))).region.id).toBe(ids[3]);
    expect((await s.cache.locateEndKey(b('g'))).region.id).toBe(s.region1);
  });

  it('locateRange covers the range with cached and loaded regions', async () => {
    const ids = s.cluster.allocIds(6);
    s.cluster.split(s.region1, ids[0]!, 'g', [ids[1]!, ids[2]!], ids[1]!);
    s.cluster.split(ids[0]!, ids[3]!, 'p', [ids[4]!, ids[5]!], ids[4]!);
    await s.cache.locateKey(b('a'));
    const locs = await s.cache.locateRange(b('b'), b('q'));
    expect(locs.map((l) => l.region.id)).toEqual([s.region1, ids[0], ids[3]]);
    expect(s.cluster.calls.scanRegions).toBe(1);
    const again = await s.cache.locateRange(b('b'), new Uint8Array(0));
    expect(again.map((l) => l.region.id)).toEqual([s.region1, ids[0], ids[3]]);
    expect(s.cluster.calls.scanRegions).toBe(1);
    const one = await s.cache.locateRange(b('h'), b('i'));
    expect(one.map((l) => l.region.id)).toEqual([ids[0]]);
  });

  it('coalesces concurrent misses for the same key into one source call', async () => {
    let open: () => void = () => undefined;
    s.cluster.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const pending = Array.from({ length: 20 }, () => s.cache.locateKey(b('a')));
    open();
    const locs = await Promise.all(pending);
    expect(new Set(locs).size).toBe(1);
    expect(s.cluster.calls.getRegion).toBe(1);
    s.cluster.gate = undefined;
  });

  it('an aborted lookup rejects with the signal reason while the shared load goes on', async () => {
    let open: () => void = () => undefined;
    s.cluster.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const controller = new AbortController();
    const aborted = s.cache.locateKey(b('a'), { signal: controller.signal });
    const other = s.cache.locateKey(b('a'));
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    open();
    expect((await other).region.id).toBe(s.region1);
    s.cluster.gate = undefined;
    await expect(s.cache.locateKey(b('a'), { signal: controller.signal })).resolves.toBeDefined();
    await expect(s.cache.locateKey(b('zz'), { signal: controller.signal })).resolves.toBeDefined();
    s.cache.invalidateRegion((await other).region);
    await expect(s.cache.locateKey(b('a'), { signal: controller.signal })).rejects.toBe(reason);
  });

  it('a lookup with timeoutMs leaves no timer pending once it settles, and the timeout still bounds it (issue 10)', async () => {
    const cluster = new FakeCluster();
    const { regionId } = cluster.bootstrap(2);
    const clock = new ManualClock();
    const cache = new RegionCache(cluster, { clock, backgroundTasks: false, regionCacheTtlJitterMs: 0 });
    try {
      for (let i = 0; i < 20; i++) {
        await cache.locateRegionByIdFromSource(regionId, { timeoutMs: 60_000 });
        await cache.locateEndKey(b(''), { timeoutMs: 60_000 });
        await cache.locateRange(b(''), b(''), { timeoutMs: 60_000 });
        await cache.batchLoadRegions(b(''), b(''), 10, { timeoutMs: 60_000 });
      }
      expect(clock.pendingSleeps).toBe(0);
      cluster.gate = new Promise<void>(() => {});
      const stuck = cache.locateRegionByIdFromSource(regionId, { timeoutMs: 50 });
      clock.advance(50);
      await expect(stuck).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
      expect(clock.pendingSleeps).toBe(0);
    } finally {
      cluster.gate = undefined;
      await cache.close();
    }
  });

  it('rejects loads with CLIENT_CLOSED after close', async () => {
    await s.cache.close();
    await expect(s.cache.locateKey(b('a'))).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(s.cache.closed).toBe(true);
  });

  it('validates options', () => {
    expect(() => new RegionCache(s.cluster, { gcRegionsPerRound: 0 })).toThrow(/gcRegionsPerRound/);
  });
});
