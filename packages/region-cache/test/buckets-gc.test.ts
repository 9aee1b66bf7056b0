// Ports of client-go region_cache_test.go: TestLocateBucket,
// TestShouldNotRetryFlashback (bucket part), TestUpdateBucketsConcurrently, TestBackgroundCacheGC.
import diagnosticsChannel from 'node:diagnostics_channel';
import { toBytes as b, ManualClock } from '@tikv/common';
import { FakeCluster } from '@tikv/testing';
import {
  REGION_CACHE_INVALIDATE_CHANNEL,
  REGION_CACHE_MISS_CHANNEL,
  type RegionCacheMissEvent,
  type RegionInvalidateEvent,
} from '../src/diagnostics.js';
import { bucketVersion, locateBucket } from '../src/key-location.js';
import { RegionCache } from '../src/region-cache.js';
import { flush, type Suite, setupSuite } from './helpers.js';

let s: Suite;
beforeEach(() => {
  s = setupSuite();
});
afterEach(async () => {
  await s.cache.close();
});

const str = (k: Uint8Array | undefined): string => Buffer.from(k ?? new Uint8Array(0)).toString();
const contains = (bucket: { startKey: Uint8Array; endKey: Uint8Array }, key: Uint8Array): boolean =>
  Buffer.compare(bucket.startKey, key) <= 0 &&
  (bucket.endKey.length === 0 || Buffer.compare(key, bucket.endKey) < 0);

describe('buckets', () => {
  it('TestLocateBucket', async () => {
    s.cluster.setBuckets(s.region1, { version: 1n, keys: [b(''), b('a'), b('b'), b('')] });
    let loc = await s.cache.locateKey(b('a'));
    for (const key of [b(''), Uint8Array.of(96), b('a'), b('a0'), b('b'), b('c')]) {
      const bucket = locateBucket(loc, key);
      expect(bucket).toBeDefined();
      expect(contains(bucket!, key)).toBe(true);
    }
    s.cluster.setBuckets(s.region1, { version: 2n, keys: [b('a'), b('b')] });
    await s.cache.updateBucketsIfNeeded(loc.region, 0n, 2n);
    loc = await s.cache.locateKey(b('a'));
    expect(bucketVersion(loc)).toBe(2n);
    for (const key of [Uint8Array.of(96), b('c')]) {
      const bucket = locateBucket(loc, key);
      expect(bucket).toBeDefined();
      expect(contains(bucket!, key)).toBe(true);
    }
    expect(str(locateBucket(loc, b('a5'))?.endKey)).toBe('b');
  });

  it('TestShouldNotRetryFlashback (buckets): BucketVersionNotMatch replaces older buckets', async () => {
    const loc = await s.cache.locateKey(b('a'));
    s.cache.onBucketVersionNotMatch(loc.region, 1n, [b('a')]);
    const loc2 = await s.cache.locateKey(b('a'));
    expect(loc2.buckets?.version).toBe(1n);
    expect(loc2.buckets?.keys.map(str)).toEqual(['a']);
    s.cache.onBucketVersionNotMatch(loc.region, 0n, [b('q')]);
    expect((await s.cache.locateKey(b('a'))).buckets?.version).toBe(1n);
  });

  it('TestUpdateBucketsConcurrently: one reload per region at a time', async () => {
    const loc = await s.cache.locateKey(b('a'));
    const before = s.cluster.calls.getRegionById;
    s.cluster.setBuckets(s.region1, { version: 5n, keys: [b('c')] });
    await Promise.all([
      s.cache.updateBucketsIfNeeded(loc.region, 0n, 5n),
      s.cache.updateBucketsIfNeeded(loc.region, 0n, 5n),
      s.cache.updateBucketsIfNeeded(loc.region, 0n, 5n),
    ]);
    expect(s.cluster.calls.getRegionById).toBe(before + 1);
    const fresh = await s.cache.locateKey(b('a'));
    await s.cache.updateBucketsIfNeeded(fresh.region, 0n, 5n);
    await s.cache.updateBucketsIfNeeded(fresh.region, 1n, 9n);
    expect(s.cluster.calls.getRegionById).toBe(before + 1);
  });

  it('a reloaded region without buckets keeps the newer cached ones', async () => {
    s.cluster.setBuckets(s.region1, { version: 3n, keys: [b('c')] });
    const loc = await s.cache.locateKey(b('a'));
    s.cluster.setBuckets(s.region1, undefined);
    s.cache.invalidateRegion(loc.region);
    expect((await s.cache.locateKey(b('a'))).buckets?.version).toBe(3n);
  });
});

describe('background sweep (client-go TestBackgroundCacheGC)', () => {
  it('visits every region in rounds and drops expired ones', async () => {
    const regionCount = 100;
    const regions = [s.region1, ...s.cluster.allocIds(regionCount)];
    for (let i = 0; i < regionCount; i++) {
      const peers = s.cluster.allocIds(2);
      s.cluster.split(regions[i]!, regions[i + 1]!, `t${String(i).padStart(8, '0')}`, peers, peers[0]!);
    }
    for (let i = 0; i < regionCount; i++) await s.cache.locateKey(b(`t${String(i).padStart(8, '0')}`));
    s.checkCache(regionCount);
    // 100 regions at 50 per round: two rounds visit everything.
    expect(s.cache.runGcRound()).toBe(0);
    expect(s.cache.runGcRound()).toBe(0);
    let remaining = 0;
    for (const id of regions.slice(1)) {
      const loc = await s.cache.locateRegionById(id);
      const r = s.cache.getCachedRegion(loc.region)!;
      if (id % 3n === 0n) r.ttlMs = 0;
      else remaining++;
    }
    for (let i = 0; i < 4; i++) s.cache.runGcRound();
    expect(s.cache.size).toBe(remaining);
    s.checkCache(remaining);
  });

  it('runs in the background on the clock and stops on close', async () => {
    await s.cache.close();
    const cluster = new FakeCluster();
    cluster.bootstrap(2);
    const clock = new ManualClock({ startMs: 0 });
    const cache = new RegionCache(cluster, { clock, regionCacheTtlMs: 5000, regionCacheTtlJitterMs: 0 });
    const loc = await cache.locateKey(b('a'));
    expect(cache.size).toBe(1);
    for (let i = 0; i < 12; i++) {
      clock.advance(1000);
      await flush();
    }
    expect(cache.size).toBe(0);
    expect(cluster.calls.getAllStores).toBeGreaterThanOrEqual(1);
    expect(cache.getCachedRegion(loc.region)).toBeUndefined();
    await cache.close();
  });
});

describe('diagnostics and helpers', () => {
  it('publishes misses and invalidations without keys', async () => {
    const misses: RegionCacheMissEvent[] = [];
    const invalidations: RegionInvalidateEvent[] = [];
    const onMiss = (m: unknown): void => {
      misses.push(m as RegionCacheMissEvent);
    };
    const onInvalidate = (m: unknown): void => {
      invalidations.push(m as RegionInvalidateEvent);
    };
    diagnosticsChannel.subscribe(REGION_CACHE_MISS_CHANNEL, onMiss);
    diagnosticsChannel.subscribe(REGION_CACHE_INVALIDATE_CHANNEL, onInvalidate);
    try {
      const loc = await s.cache.locateKey(b('a'));
      s.cache.invalidateRegion(loc.region, 'regionNotFound');
      await s.cache.locateKey(b('a'));
      expect(misses).toEqual([
        { lookup: 'key', reason: 'absent' },
        { lookup: 'key', reason: 'expired' },
      ]);
      // The reload finds the old version already invalidated: one event only.
      expect(invalidations).toEqual([
        { regionId: s.region1, confVer: 1n, version: 1n, reason: 'regionNotFound' },
      ]);
    } finally {
      diagnosticsChannel.unsubscribe(REGION_CACHE_MISS_CHANNEL, onMiss);
      diagnosticsChannel.unsubscribe(REGION_CACHE_INVALIDATE_CHANNEL, onInvalidate);
    }
  });
});
