// Ports of client-go region_cache_test.go's testRegionCacheWithDelaySuite: PD answers that were
// computed before a split and arrive after it must not overwrite what the cache learned since.
import { toBytes as b, ManualClock } from '@tikv/common';
import { FakeCluster } from '@tikv/testing';
import { InvalidReason } from '../src/invalid-reason.js';
import { RegionCache } from '../src/region-cache.js';
import type { RegionSource } from '../src/region-source.js';

/**
 * The cluster as PD, but while `delay` is on each region lookup is answered from the cluster
 * as it is now and handed back only when the test releases it (client-go mocktikv `WithDelay`:
 * the answer is computed first, then delayed).
 */
class DelayedSource {
  delay = false;
  readonly #held: (() => void)[] = [];
  readonly #waiters: (() => void)[] = [];
  constructor(readonly cluster: FakeCluster) {}
  /** Hands back every held answer. */
  release(): void {
    for (const r of this.#held.splice(0)) r();
  }
  /** Resolves once `n` answers are held. */
  async held(n: number): Promise<void> {
    while (this.#held.length < n) await new Promise<void>((resolve) => this.#waiters.push(resolve));
  }
  asSource(): RegionSource {
    return new Proxy(this.cluster, {
      get: (target, prop, receiver) => {
        if (prop !== 'getRegion') {
          const v = Reflect.get(target, prop, receiver);
          return typeof v === 'function' ? v.bind(target) : v;
        }
        return async (...args: Parameters<FakeCluster['getRegion']>) => {
          const answer = await target.getRegion(...args);
          if (this.delay) {
            await new Promise<void>((resolve) => {
              this.#held.push(resolve);
              for (const w of this.#waiters.splice(0)) w();
            });
          }
          return answer;
        };
      },
    }) as unknown as RegionSource;
  }
}

describe('testRegionCacheWithDelaySuite', () => {
  let cluster: FakeCluster;
  let region1: bigint;
  let delayed: DelayedSource;
  const caches: RegionCache[] = [];
  const newCache = (source: RegionSource): RegionCache => {
    const c = new RegionCache(source, {
      clock: new ManualClock({ startMs: 1_000_000, autoAdvance: true }),
      backgroundTasks: false,
      regionCacheTtlJitterMs: 0,
    });
    caches.push(c);
    return c;
  };
  beforeEach(() => {
    cluster = new FakeCluster();
    region1 = cluster.bootstrap(1).regionId;
    delayed = new DelayedSource(cluster);
  });
  afterEach(async () => {
    delayed.release();
    await Promise.all(caches.splice(0).map((c) => c.close()));
  });
  const splitAt = (regionId: bigint, key: string): void => {
    const [newRegion, peer] = cluster.allocIds(2) as [bigint, bigint];
    cluster.split(regionId, newRegion, key, [peer], peer);
  };

  test('TestStaleGetRegion: an answer from before a split, arriving after it, does not replace the newer regions', async () => {
    const cache = newCache(cluster);
    const delayCache = newCache(delayed.asSource());
    const r1 = await cache.locateKey(b('a'));
    const r2 = await delayCache.locateKey(b('a'));
    expect(r2.region).toEqual(r1.region);

    // A reload through the slow PD, answered before the split and delivered after it.
    delayed.delay = true;
    delayCache.invalidateRegion(r2.region, InvalidReason.OTHER);
    const slow = delayCache.locateKey(b('b'));
    await delayed.held(1);
    splitAt(region1, 'b');
    cache.invalidateRegion(r1.region, InvalidReason.OTHER);
    expect((await cache.locateKey(b('b'))).startKey).toEqual(b('b'));
    expect((await cache.locateKey(b('c'))).startKey).toEqual(b('b'));

    delayed.delay = false;
    // (Another key than the slow lookup's: a lookup of the same key would join it.)
    expect((await delayCache.locateKey(b('c'))).startKey).toEqual(b('b'));
    delayed.release();
    await slow;
    // The late answer was refused: the cache still has the regions after the split.
    expect((await delayCache.locateKey(b('b'))).startKey).toEqual(b('b'));
    expect((await delayCache.locateKey(b('a'))).endKey).toEqual(b('b'));
  });

  test('TestFollowerGetStaleRegion: a lookup answered with a stale region asks again and gets the current one', async () => {
    const followerDelayCache = newCache(delayed.asSource());
    delayed.delay = true;
    const final = followerDelayCache.locateKey(b('z'));
    await delayed.held(1);
    delayed.delay = false;
    const r = await followerDelayCache.locateKey(b('y'));
    splitAt(r.region.id, 'z');
    followerDelayCache.invalidateRegion(r.region, InvalidReason.OTHER);
    expect((await followerDelayCache.locateKey(b('y'))).endKey).toEqual(b('z'));
    delayed.release();
    expect((await final).startKey).toEqual(b('z'));
  });
});
