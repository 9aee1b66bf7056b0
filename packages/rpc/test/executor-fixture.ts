// An in-memory key space for the region executor's tests: regions with epochs, a locator whose
// cache goes stale on `split` until a region error refreshes it, and a sender that answers with
// the region errors TiKV would (or ones a test injects) and otherwise lets a test decide.
import { type Backoffer, compareKeys } from '@tikv/common';
import type { errorpb } from '@tikv/proto';
import type { KeyLocation, RegionVerId } from '@tikv/region-cache';
import type { KeyLocator } from '../src/key-locator.js';
import type { RegionSender } from '../src/region-sender.js';
import type { RegionRequestOptions } from '../src/request-options.js';
import type { ResponseFor, TikvRequest } from '../src/tikv-commands.js';

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

interface Region {
  id: bigint;
  version: bigint;
  confVer: bigint;
  start: Uint8Array;
  end: Uint8Array;
}

function contains(r: Region, k: Uint8Array): boolean {
  return compareKeys(r.start, k) <= 0 && (r.end.length === 0 || compareKeys(k, r.end) < 0);
}

/** One request the sender saw. */
export interface Sent {
  readonly request: TikvRequest;
  readonly region: RegionVerId;
  readonly bo: Backoffer;
  readonly options: RegionRequestOptions | undefined;
}

/** The keys a request carries, as strings (RawBatchGet, RawBatchPut, RawGet, RawScan bounds...). */
export function keysOf(request: TikvRequest): string[] {
  const v = request.value as {
    keys?: Uint8Array[];
    pairs?: { key: Uint8Array }[];
    key?: Uint8Array;
  };
  if (v.keys !== undefined) return v.keys.map(dec);
  if (v.pairs !== undefined) return v.pairs.map((p) => dec(p.key));
  if (v.key !== undefined) return [dec(v.key)];
  return [];
}

/** Keys a request touches, for the KeyNotInRegion check. */
function touched(request: TikvRequest): Uint8Array[] {
  const v = request.value as {
    keys?: Uint8Array[];
    pairs?: { key: Uint8Array }[];
    key?: Uint8Array;
    startKey?: Uint8Array;
  };
  if (v.keys !== undefined) return v.keys;
  if (v.pairs !== undefined) return v.pairs.map((p) => p.key);
  if (v.key !== undefined) return [v.key];
  return [];
}

export class Keyspace {
  regions: Region[] = [
    { id: 1n, version: 1n, confVer: 1n, start: new Uint8Array(0), end: new Uint8Array(0) },
  ];
  private cache: Region[] = this.snapshot();
  private nextId = 2n;
  readonly sent: Sent[] = [];
  /** Region errors to answer with, consumed one per matching request. */
  readonly regionErrors: { regionId?: bigint; key?: string; error: errorpb.DeepPartial<errorpb.Error> }[] =
    [];
  /** Called on each request that passes the region checks; its value is the response's. */
  answer: (sent: Sent) => Promise<object> | object = () => ({});
  locateCalls = 0;

  private snapshot(): Region[] {
    return this.regions.map((r) => ({ ...r }));
  }

  /** Splits at each key: the left part gets a new id, both versions bump; the cache goes stale. */
  split(...keys: string[]): this {
    for (const s of keys) {
      const k = enc(s);
      const i = this.regions.findIndex((r) => contains(r, k));
      const r = this.regions[i] as Region;
      if (compareKeys(r.start, k) === 0) continue;
      const left: Region = {
        id: this.nextId++,
        version: r.version + 1n,
        confVer: r.confVer,
        start: r.start,
        end: k,
      };
      const right: Region = { ...r, version: r.version + 1n, start: k };
      this.regions.splice(i, 1, left, right);
    }
    return this;
  }

  refreshCache(): this {
    this.cache = this.snapshot();
    return this;
  }

  regionOf(key: string): bigint {
    const r = this.regions.find((c) => contains(c, enc(key)));
    if (r === undefined) throw new Error('no region');
    return r.id;
  }

  private loc(r: Region): KeyLocation {
    return {
      region: { id: r.id, confVer: r.confVer, version: r.version },
      startKey: r.start,
      endKey: r.end,
      buckets: undefined,
    };
  }

  readonly locator: KeyLocator = {
    locateKey: async (key) => {
      this.locateCalls++;
      const r = this.cache.find((c) => contains(c, key));
      if (r === undefined) throw new Error('no region');
      return this.loc(r);
    },
    locateEndKey: async (key) => {
      this.locateCalls++;
      const r =
        key.length === 0
          ? this.cache[this.cache.length - 1]
          : this.cache.find(
              (c) => compareKeys(c.start, key) < 0 && (c.end.length === 0 || compareKeys(key, c.end) <= 0),
            );
      if (r === undefined) throw new Error('no region');
      return this.loc(r);
    },
  };

  readonly sender: RegionSender = {
    sendRequest: async <R extends TikvRequest>(
      bo: Backoffer,
      request: R,
      region: RegionVerId,
      options?: RegionRequestOptions,
    ): Promise<ResponseFor<R>> => {
      const sent: Sent = { request, region, bo, options };
      this.sent.push(sent);
      if (bo.signal?.aborted) throw bo.signal.reason;
      const wrap = (value: object) => ({ $case: request.$case, value }) as unknown as ResponseFor<R>;
      const keys = touched(request);
      const injected = this.regionErrors.findIndex(
        (e) =>
          (e.regionId === undefined || e.regionId === region.id) &&
          (e.key === undefined || keys.some((k) => dec(k) === e.key)),
      );
      if (injected >= 0) {
        const [e] = this.regionErrors.splice(injected, 1);
        return wrap({ regionError: { message: 'injected', ...e?.error } });
      }
      const current = this.regions.find((r) => r.id === region.id);
      if (current === undefined || current.version !== region.version || current.confVer !== region.confVer) {
        this.refreshCache();
        return wrap({ regionError: { message: 'epoch not match', epochNotMatch: { currentRegions: [] } } });
      }
      if (!keys.every((k) => contains(current, k))) {
        return wrap({ regionError: { message: 'key not in region', keyNotInRegion: {} } });
      }
      return wrap(await this.answer(sent));
    },
  };
}

/** Runs `p` to completion, moving the manual clock 1 ms per event-loop turn. */
export async function drive<T>(clock: { advance(ms: number): void }, p: Promise<T>): Promise<T> {
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

/** A promise and the function that resolves it. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open: () => void = () => {};
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
