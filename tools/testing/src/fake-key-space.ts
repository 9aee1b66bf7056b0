// An in-memory key space split into regions with epochs, and a locator over a cache of it that
// goes stale on `split` until `refreshCache`: what the raw client's and the region executor's
// unit tests route with.
import { compareKeys } from '@tikv/common';

/** One region of a {@link FakeKeySpace}. */
export interface FakeKeyRegion {
  id: bigint;
  version: bigint;
  confVer: bigint;
  /** Inclusive start key. */
  start: Uint8Array;
  /** Exclusive end key; empty is +infinity. */
  end: Uint8Array;
}

/** A region version, as requests carry it. */
export interface FakeRegionVerId {
  readonly id: bigint;
  readonly confVer: bigint;
  readonly version: bigint;
}

/** Where a key lives (the shape of `@tikv/region-cache`'s `KeyLocation`). */
export interface FakeKeyLocation {
  readonly region: FakeRegionVerId;
  readonly startKey: Uint8Array;
  readonly endKey: Uint8Array;
  readonly buckets: undefined;
}

const utf8 = new TextEncoder();

/** Whether a region holds a key. */
export function regionHolds(r: FakeKeyRegion, key: Uint8Array): boolean {
  return compareKeys(r.start, key) <= 0 && (r.end.length === 0 || compareKeys(key, r.end) < 0);
}

/** A key space of regions; `locator` answers from a cache that `split` leaves stale. */
export class FakeKeySpace {
  regions: FakeKeyRegion[] = [
    { id: 1n, version: 1n, confVer: 1n, start: new Uint8Array(0), end: new Uint8Array(0) },
  ];
  #cache: FakeKeyRegion[] = this.#snapshot();
  #nextId = 2n;
  /** Lookups answered by `locator`. */
  locateCalls = 0;

  #snapshot(): FakeKeyRegion[] {
    return this.regions.map((r) => ({ ...r }));
  }

  /** Splits at each key (as a region split: the left part gets a new id, both versions bump). */
  split(...keys: string[]): this {
    for (const s of keys) {
      const k = utf8.encode(s);
      const i = this.regions.findIndex((r) => regionHolds(r, k));
      const r = this.regions[i] as FakeKeyRegion;
      if (compareKeys(r.start, k) === 0) continue;
      const left: FakeKeyRegion = {
        id: this.#nextId++,
        version: r.version + 1n,
        confVer: r.confVer,
        start: r.start,
        end: k,
      };
      const right: FakeKeyRegion = { ...r, version: r.version + 1n, start: k };
      this.regions.splice(i, 1, left, right);
    }
    return this;
  }

  /** Makes the locator's cache the current regions. */
  refreshCache(): this {
    this.#cache = this.#snapshot();
    return this;
  }

  /** The id of the region holding `key` now. */
  regionOf(key: string): bigint {
    const k = utf8.encode(key);
    const r = this.regions.find((c) => regionHolds(c, k));
    if (r === undefined) throw new Error('no region');
    return r.id;
  }

  /**
   * The current region of exactly this version; undefined (after refreshing the cache, as an
   * EpochNotMatch answer would) when the version is stale.
   */
  currentRegion(verId: FakeRegionVerId): FakeKeyRegion | undefined {
    const r = this.regions.find((c) => c.id === verId.id);
    if (r === undefined || r.version !== verId.version || r.confVer !== verId.confVer) {
      this.refreshCache();
      return undefined;
    }
    return r;
  }

  #location(r: FakeKeyRegion): FakeKeyLocation {
    return {
      region: { id: r.id, confVer: r.confVer, version: r.version },
      startKey: r.start,
      endKey: r.end,
      buckets: undefined,
    };
  }

  /** Locates keys from the cache (`KeyLocator` of `@tikv/rpc`). */
  readonly locator = {
    locateKey: async (key: Uint8Array): Promise<FakeKeyLocation> => {
      this.locateCalls++;
      const r = this.#cache.find((c) => regionHolds(c, key));
      if (r === undefined) throw new Error('no region');
      return this.#location(r);
    },
    locateEndKey: async (key: Uint8Array): Promise<FakeKeyLocation> => {
      this.locateCalls++;
      const r =
        key.length === 0
          ? this.#cache[this.#cache.length - 1]
          : this.#cache.find(
              (c) => compareKeys(c.start, key) < 0 && (c.end.length === 0 || compareKeys(key, c.end) <= 0),
            );
      if (r === undefined) throw new Error('no region');
      return this.#location(r);
    },
  };
}

/**
 * Runs `p` to completion, moving a manual clock 1 ms per event-loop turn (backoff sleeps
 * without real time).
 *
 * @param clock - the clock the code under test sleeps on
 * @param p - the operation
 * @returns what `p` settles with
 */
export async function driveClock<T>(clock: { advance(ms: number): void }, p: Promise<T>): Promise<T> {
  let settled = false;
  const done = p.finally(() => {
    settled = true;
  });
  done.catch(() => {});
  for (let i = 0; i < 100_000 && !settled; i++) {
    await new Promise((r) => setImmediate(r));
    clock.advance(1);
  }
  return done;
}
