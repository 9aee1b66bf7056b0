/**
 * Region cache lookups: `locateKey` (async, the API the sender calls) and
 * `tryLocateKey` (sync) over 100,000 cached regions, next to a bare binary
 * search over the same sorted start keys as the baseline.
 */
import { compareKeys } from '@tikv/common';
import { RegionCache, type RegionSource, type SourceRegion, type SourceStore } from '@tikv/region-cache';
import { measure, measureAsync, printTable } from './harness.js';

const REGIONS = 100_000;
const LOOKUPS = 1_000_000;

function key(i: number): Uint8Array {
  return new TextEncoder().encode(`t${String(i).padStart(8, '0')}`);
}

/** A region source over a fixed, sorted list of regions on three stores. */
function makeSource(): { source: RegionSource; indexOf: (k: Uint8Array) => number } {
  const startKeys = Array.from({ length: REGIONS }, (_, i) => (i === 0 ? new Uint8Array(0) : key(i)));
  const regions: SourceRegion[] = startKeys.map((startKey, i) => {
    const peers = [1n, 2n, 3n].map((storeId) => ({
      id: BigInt(i) * 3n + storeId + 1000n,
      storeId,
      role: 'voter' as const,
      isWitness: false,
    }));
    return {
      region: {
        id: BigInt(i + 1),
        startKey,
        endKey: i + 1 < REGIONS ? (startKeys[i + 1] as Uint8Array) : new Uint8Array(0),
        epoch: { confVer: 1n, version: 1n },
        peers,
      },
      leader: peers[i % 3],
      downPeers: [],
      pendingPeers: [],
      buckets: undefined,
    };
  });
  const indexOf = (k: Uint8Array): number => {
    let lo = 0;
    let hi = startKeys.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (compareKeys(startKeys[mid] as Uint8Array, k) <= 0) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const store = (id: bigint): SourceStore => ({
    id,
    address: `127.0.0.1:${20160 + Number(id)}`,
    peerAddress: '',
    statusAddress: '',
    state: 'up',
    labels: [],
  });
  const source: RegionSource = {
    getRegion: async (k) => regions[indexOf(k)],
    getPrevRegion: async (k) => regions[indexOf(k) - 1],
    getRegionById: async (id) => regions[Number(id) - 1],
    scanRegions: async (start, _end, limit) => {
      const i = indexOf(start);
      return regions.slice(i, i + (limit > 0 ? limit : regions.length));
    },
    getStore: async (id) => store(id),
    getAllStores: async () => [1n, 2n, 3n].map(store),
  };
  return { source, indexOf };
}

/** Runs the region cache suite. */
export async function runRegionCacheBench(): Promise<void> {
  const { source, indexOf } = makeSource();
  const cache = new RegionCache(source, { backgroundTasks: false });
  try {
    let next: Uint8Array = new Uint8Array(0);
    while (cache.size < REGIONS) {
      const locs = await cache.batchLoadRegions(next, new Uint8Array(0), 1024);
      const last = locs[locs.length - 1];
      if (last === undefined || last.endKey.length === 0) break;
      next = last.endKey;
    }
    // Lookup keys fall inside regions, spread pseudo-randomly over the keyspace.
    const probes = Array.from({ length: 4096 }, (_, i) => {
      const r = (i * 7919 + 13) % REGIONS;
      const k = key(r);
      const out = new Uint8Array(k.length + 1);
      out.set(k);
      out[k.length] = 0x78;
      return out;
    });
    let i = 0;
    const nextProbe = (): Uint8Array => probes[i++ & 4095] as Uint8Array;

    const baseline = measure('binary search (bare)', () => indexOf(nextProbe()), { iterations: LOOKUPS });
    const sync = measure('tryLocateKey (sync)', () => cache.tryLocateKey(nextProbe()), {
      iterations: LOOKUPS,
    });
    const async = await measureAsync('locateKey (await)', () => cache.locateKey(nextProbe()), {
      iterations: LOOKUPS,
    });
    printTable(
      `region cache: ${REGIONS.toLocaleString('en-US')} cached regions`,
      [baseline, sync, async],
      baseline,
    );
  } finally {
    await cache.close();
  }
}
