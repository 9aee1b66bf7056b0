// Ports of client-go internal/locate/region_cache_test.go: TestBatchScanRegions,
// TestBatchScanRegionsFallback, TestBatchLoadLimitRanges; and the last-region lookup.
import { toBytes as b } from '@tikv/common';
import type { KeyLocation } from '../src/key-location.js';
import { RegionCache } from '../src/region-cache.js';
import { LAST_REGION_PROBE_KEY } from '../src/region-loader.js';
import type { RegionSource, SourceKeyRange } from '../src/region-source.js';
import { type Suite, setupSuite } from './helpers.js';

let s: Suite;
afterEach(async () => {
  await s.cache.close();
});

function toRanges(...keys: string[]): SourceKeyRange[] {
  const out: SourceKeyRange[] = [];
  for (let i = 0; i < keys.length; i += 2) out.push({ startKey: b(keys[i]!), endKey: b(keys[i + 1]!) });
  return out;
}

/** Splits the suite's region at 'a' .. 'g': regions[0] is (-inf, 'a'), regions[7] is ['g', +inf). */
function splitSeven(): bigint[] {
  const regions = [s.region1, ...s.cluster.allocIds(7)];
  for (let i = 0; i < 7; i++) {
    const peers = s.cluster.allocIds(2);
    s.cluster.split(regions[i]!, regions[i + 1]!, String.fromCharCode(0x61 + i), peers, peers[0]!);
  }
  return regions;
}

async function fill(cache: RegionCache, cached: SourceKeyRange[]): Promise<void> {
  for (const r of cached) {
    let start = r.startKey;
    for (;;) {
      const loc: KeyLocation = await cache.locateKey(start);
      if (loc.endKey.length === 0 || Buffer.compare(loc.endKey, r.endKey) >= 0) break;
      start = loc.endKey;
    }
  }
}

describe.each([
  ['TestBatchScanRegions', true],
  ['TestBatchScanRegionsFallback (a source without batchScanRegions)', false],
])('%s', (_name, withBatchScan) => {
  let cache: RegionCache;
  let regions: bigint[];
  beforeEach(() => {
    s = setupSuite();
    regions = splitSeven();
    const c = s.cluster;
    // The fallback case: the same cluster, seen without its batchScanRegions.
    const source: RegionSource = withBatchScan
      ? c
      : new Proxy(c, {
          get: (target, prop) => (prop === 'batchScanRegions' ? undefined : Reflect.get(target, prop)),
        });
    cache = new RegionCache(source, { clock: s.clock, backgroundTasks: false });
  });
  afterEach(async () => {
    await cache.close();
  });

  const check = async (
    scan: SourceKeyRange[],
    cached: SourceKeyRange[],
    expected: bigint[],
    afterCacheLoad?: () => void,
  ): Promise<void> => {
    cache.clear();
    await fill(cache, cached);
    afterCacheLoad?.();
    const locs = await cache.batchLocateKeyRanges(scan);
    expect(locs.map((l) => l.region.id)).toEqual(expected);
  };

  it('locates ranges from the cache, PD, or both', async () => {
    await check(toRanges('A', 'B', 'C', 'D', 'E', 'F'), toRanges('', 'a'), regions.slice(0, 1));
    await check(toRanges('A', 'B', 'C', 'D', 'E', 'F', 'G', 'c'), toRanges('', 'c'), regions.slice(0, 3));
    await check(toRanges('a', 'g'), [], regions.slice(1, 7));
    await check(toRanges('a', 'g'), toRanges('a', 'd'), regions.slice(1, 7));
    const r = regions;
    await check(toRanges('a', 'd', 'e', 'g'), toRanges('a', 'd'), [r[1]!, r[2]!, r[3]!, r[5]!, r[6]!]);
    await check(toRanges('a', 'd', 'e', 'g'), toRanges('a', 'b', 'e', 'f'), [
      r[1]!,
      r[2]!,
      r[3]!,
      r[5]!,
      r[6]!,
    ]);
  });

  it('regions loaded from PD replace the cached ones they cover (after a merge)', async () => {
    const r = regions;
    await check(
      toRanges('a', 'd', 'e', 'g'),
      toRanges('a', 'b', 'e', 'f'),
      [r[1]!, r[3]!, r[5]!, r[6]!],
      () => s.cluster.merge(r[1]!, r[2]!),
    );
  });

  it('keeps a cached region that the loaded regions do not cover', async () => {
    const r = regions;
    s.cluster.merge(r[1]!, r[2]!); // as left by the previous case in client-go's test
    const [new1, new2] = s.cluster.allocIds(2);
    await check(
      toRanges('a', 'd3', 'e', 'g'),
      toRanges('a', 'c', 'e', 'f'),
      [r[1]!, r[3]!, r[4]!, new1!, r[5]!, r[6]!],
      () => {
        s.cluster.merge(r[4]!, r[5]!);
        let peers = s.cluster.allocIds(2);
        s.cluster.split(r[4]!, new1!, 'd2', peers, peers[0]!);
        peers = s.cluster.allocIds(2);
        s.cluster.split(new1!, new2!, 'e1', peers, peers[0]!);
      },
    );
  });

  it('loaded regions are cached', async () => {
    await cache.batchLocateKeyRanges(toRanges('a', 'c', 'e', 'g'));
    const calls = { ...s.cluster.calls };
    const again = await cache.batchLocateKeyRanges(toRanges('a', 'c', 'e', 'g'));
    expect(again.map((l) => l.region.id)).toEqual([regions[1], regions[2], regions[5], regions[6]]);
    expect(s.cluster.calls).toEqual(calls);
  });
});

describe('batchLocateKeyRanges against PD', () => {
  beforeEach(() => {
    s = setupSuite();
  });

  it('uses one BatchScanRegions call for many ranges, not one scan per range', async () => {
    splitSeven();
    const locs = await s.cache.batchLocateKeyRanges(toRanges('a', 'a1', 'b', 'b1', 'c', 'c1', 'f', ''));
    expect(locs).toHaveLength(5);
    expect(s.cluster.calls.batchScanRegions).toBe(1);
    expect(s.cluster.calls.scanRegions).toBe(0);
  });

  it('TestBatchLoadLimitRanges: at most 2048 ranges per call, paged by regions', async () => {
    const sizes: number[] = [];
    s.cluster.hook = (call, arg) => {
      if (call === 'batchScanRegions') sizes.push((arg as { ranges: unknown[] }).ranges.length);
      return undefined;
    };
    const ranges: SourceKeyRange[] = [];
    for (let i = 0; i < 5000; i++) {
      const k = (n: number): Uint8Array => {
        const out = new Uint8Array(8);
        new DataView(out.buffer).setBigUint64(0, BigInt(n));
        return out;
      };
      ranges.push({ startKey: k(i * 2), endKey: k(i * 2 + 1) });
    }
    const locs = await s.cache.batchLocateKeyRanges(ranges);
    expect(locs.map((l) => l.region.id)).toEqual([s.region1]);
    expect(sizes.length).toBeGreaterThan(0);
    for (const n of sizes) expect(n).toBeLessThanOrEqual(2048);
  });

  it('needRegionHasLeaderPeer leaves out regions without a leader; buckets on request', async () => {
    const regions = splitSeven();
    s.cluster.setBuckets(regions[2]!, { version: 3n, keys: [b('b'), b('b5'), b('c')] });
    const withBuckets = await s.cache.batchLocateKeyRanges(toRanges('b', 'b1'), { needBuckets: true });
    expect(withBuckets[0]!.buckets?.version).toBe(3n);
    s.cache.clear();
    s.cluster.clearLeader(regions[3]!);
    let seen = 0;
    s.cluster.hook = (call) => {
      if (call === 'batchScanRegions' && ++seen === 2)
        s.cluster.changeLeader(regions[3]!, s.cluster.region(regions[3]!).peers[0]!.id);
      return undefined;
    };
    const locs = await s.cache.batchLocateKeyRanges(toRanges('c', 'c1'), { needRegionHasLeaderPeer: true });
    expect(locs.map((l) => l.region.id)).toEqual([regions[3]]);
    expect(seen).toBe(2); // the leaderless answer was retried
  });

  it('rejects with the signal reason when aborted', async () => {
    const ac = new AbortController();
    s.cluster.gate = new Promise(() => undefined);
    const p = s.cache.batchLocateKeyRanges(toRanges('a', 'b'), { signal: ac.signal });
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    s.cluster.gate = undefined;
  });
});

describe('locateEndKey(+infinity)', () => {
  beforeEach(() => {
    s = setupSuite();
  });

  it('asks PD for the last region directly, without walking the regions', async () => {
    const regions = splitSeven();
    const loc = await s.cache.locateEndKey(new Uint8Array(0));
    expect(loc.region.id).toBe(regions[7]);
    expect(s.cluster.calls.getRegion).toBe(1);
    expect(s.cluster.calls.scanRegions).toBe(0);
  });

  it('walks forward when a region starts above the probe key', async () => {
    const regions = splitSeven();
    const [tail] = s.cluster.allocIds(1);
    const peers = s.cluster.allocIds(2);
    const above = new Uint8Array([...LAST_REGION_PROBE_KEY, 1]);
    s.cluster.split(regions[7]!, tail!, above, peers, peers[0]!);
    const loc = await s.cache.locateEndKey(new Uint8Array(0));
    expect(loc.region.id).toBe(tail);
    expect(s.cluster.calls.scanRegions).toBe(1);
  });
});
