// An in-memory stand-in for the region cache and the region request sender, for unit tests:
// @tikv/testing's key space (regions with epochs, a locator whose cache goes stale on `split`)
// with raw column families, TTLs, injected region errors and hangs.
import { type Backoffer, compareKeys, crc64 } from '@tikv/common';
import type { RegionVerId } from '@tikv/region-cache';
import type { ResponseFor, TikvRequest } from '@tikv/rpc';
import { FakeKeySpace, regionHolds } from '@tikv/testing';
import type { RawRequestSender, RawSendOptions } from '../src/index.js';

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : new TextDecoder().decode(b);

interface Entry {
  key: Uint8Array;
  value: Uint8Array;
  ttl: bigint;
}

const id = (k: Uint8Array): string => Buffer.from(k).toString('latin1');

function inScan(k: Uint8Array, lower: Uint8Array, upper: Uint8Array): boolean {
  return compareKeys(lower, k) <= 0 && (upper.length === 0 || compareKeys(k, upper) < 0);
}

type AnyValue = Record<string, unknown>;

export interface SentRequest {
  readonly $case: string;
  readonly value: AnyValue;
  readonly region: RegionVerId;
}

/** A fake cluster; `locator` holds a cache that goes stale on `split` until a region error refreshes it. */
export class FakeCluster extends FakeKeySpace {
  readonly cfs = new Map<string, Map<string, Entry>>();
  readonly sent: SentRequest[] = [];
  nowSeconds = 1000n;
  /** Region errors to answer with, consumed one per matching request. */
  regionErrors: { $case?: string; regionId?: bigint; error: AnyValue }[] = [];
  /** Requests of these kinds never answer (until their backoffer's signal aborts). */
  hang = new Set<string>();
  /** Rejects the next request of a kind with this error. */
  failures = new Map<string, unknown>();
  /** Called before each send. */
  onSend: ((req: SentRequest) => void) | undefined;

  cf(name: string): Map<string, Entry> {
    const n = name === '' ? 'default' : name;
    let m = this.cfs.get(n);
    if (m === undefined) {
      m = new Map();
      this.cfs.set(n, m);
    }
    return m;
  }

  private live(cf: string, k: Uint8Array): Entry | undefined {
    const e = this.cf(cf).get(id(k));
    if (e === undefined) return undefined;
    if (e.ttl !== 0n && e.ttl <= this.nowSeconds) {
      this.cf(cf).delete(id(k));
      return undefined;
    }
    return e;
  }

  private sorted(cf: string): Entry[] {
    return [...this.cf(cf).values()]
      .filter((e) => this.live(cf, e.key) !== undefined)
      .sort((a, b) => compareKeys(a.key, b.key));
  }

  readonly sender: RawRequestSender = {
    sendRequest: <R extends TikvRequest>(
      bo: Backoffer,
      request: R,
      region: RegionVerId,
      _options?: RawSendOptions,
    ): Promise<ResponseFor<R>> => this.handle(bo, request, region) as Promise<ResponseFor<R>>,
  };

  private async handle(bo: Backoffer, request: TikvRequest, region: RegionVerId): Promise<unknown> {
    const sent: SentRequest = { $case: request.$case, value: request.value as unknown as AnyValue, region };
    this.sent.push(sent);
    this.onSend?.(sent);
    const signal = bo.signal;
    if (signal?.aborted) throw signal.reason;
    const failure = this.failures.get(request.$case);
    if (failure !== undefined) {
      this.failures.delete(request.$case);
      throw failure;
    }
    if (this.hang.has(request.$case)) {
      await new Promise((_, reject) => {
        signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    }
    const wrap = (value: AnyValue) => ({
      $case: request.$case,
      value: { regionError: undefined, error: '', ...value },
    });
    const injected = this.regionErrors.findIndex(
      (e) =>
        (e.$case === undefined || e.$case === request.$case) &&
        (e.regionId === undefined || e.regionId === region.id),
    );
    if (injected >= 0) {
      const [e] = this.regionErrors.splice(injected, 1);
      return wrap({ regionError: { message: 'injected', ...e?.error } });
    }
    const current = this.currentRegion(region);
    if (current === undefined) {
      return wrap({ regionError: { message: 'epoch not match', epochNotMatch: { currentRegions: [] } } });
    }
    const keyNotInRegion = () => wrap({ regionError: { message: 'key not in region', keyNotInRegion: {} } });
    const v = request.value as unknown as AnyValue;
    const cf = (v.cf as string | undefined) ?? '';
    switch (request.$case) {
      case 'RawGet': {
        const k = v.key as Uint8Array;
        if (!regionHolds(current, k)) return keyNotInRegion();
        const e = this.live(cf, k);
        return wrap(
          e === undefined
            ? { notFound: true, value: new Uint8Array(0) }
            : { notFound: false, value: e.value },
        );
      }
      case 'RawBatchGet': {
        const keys = v.keys as Uint8Array[];
        if (!keys.every((k) => regionHolds(current, k))) return keyNotInRegion();
        const pairs = keys.flatMap((k) => {
          const e = this.live(cf, k);
          return e === undefined ? [] : [{ key: k, value: e.value }];
        });
        return wrap({ pairs });
      }
      case 'RawPut': {
        const k = v.key as Uint8Array;
        if (!regionHolds(current, k)) return keyNotInRegion();
        const ttl = v.ttl as bigint;
        this.cf(cf).set(id(k), {
          key: k,
          value: v.value as Uint8Array,
          ttl: ttl === 0n ? 0n : this.nowSeconds + ttl,
        });
        return wrap({});
      }
      case 'RawBatchPut': {
        const pairs = v.pairs as { key: Uint8Array; value: Uint8Array }[];
        if (!pairs.every((p) => regionHolds(current, p.key))) return keyNotInRegion();
        const ttls = v.ttls as bigint[];
        pairs.forEach((p, i) => {
          const ttl = ttls[i] ?? 0n;
          this.cf(cf).set(id(p.key), {
            key: p.key,
            value: p.value,
            ttl: ttl === 0n ? 0n : this.nowSeconds + ttl,
          });
        });
        return wrap({});
      }
      case 'RawDelete': {
        const k = v.key as Uint8Array;
        if (!regionHolds(current, k)) return keyNotInRegion();
        this.cf(cf).delete(id(k));
        return wrap({});
      }
      case 'RawBatchDelete': {
        const keys = v.keys as Uint8Array[];
        if (!keys.every((k) => regionHolds(current, k))) return keyNotInRegion();
        for (const k of keys) this.cf(cf).delete(id(k));
        return wrap({});
      }
      case 'RawDeleteRange': {
        const start = v.startKey as Uint8Array;
        const end = v.endKey as Uint8Array;
        if (!regionHolds(current, start)) return keyNotInRegion();
        if (current.end.length > 0 && (end.length === 0 || compareKeys(end, current.end) > 0))
          return keyNotInRegion();
        for (const e of this.sorted(cf)) if (inScan(e.key, start, end)) this.cf(cf).delete(id(e.key));
        return wrap({});
      }
      case 'RawScan': {
        const start = v.startKey as Uint8Array;
        const end = v.endKey as Uint8Array;
        const limit = v.limit as number;
        const reverse = v.reverse as boolean;
        const keyOnly = v.keyOnly as boolean;
        let lower: Uint8Array;
        let upper: Uint8Array;
        if (reverse) {
          upper =
            start.length === 0 || (current.end.length > 0 && compareKeys(current.end, start) < 0)
              ? current.end
              : start;
          lower = compareKeys(end, current.start) > 0 ? end : current.start;
        } else {
          if (!regionHolds(current, start)) return keyNotInRegion();
          lower = start;
          upper =
            end.length === 0 || (current.end.length > 0 && compareKeys(current.end, end) < 0)
              ? current.end
              : end;
        }
        let hits = this.sorted(cf).filter((e) => inScan(e.key, lower, upper));
        if (reverse) hits = hits.reverse();
        const kvs = hits
          .slice(0, limit)
          .map((e) => ({ key: e.key, value: keyOnly ? new Uint8Array(0) : e.value }));
        return { $case: 'RawScan', value: { regionError: undefined, kvs } };
      }
      case 'RawGetKeyTTL': {
        const e = this.live(cf, v.key as Uint8Array);
        if (e === undefined) return wrap({ notFound: true, ttl: 0n });
        return wrap({ notFound: false, ttl: e.ttl === 0n ? 0n : e.ttl - this.nowSeconds });
      }
      case 'RawCompareAndSwap': {
        const k = v.key as Uint8Array;
        const e = this.live(cf, k);
        const expectedAbsent = v.previousNotExist as boolean;
        const ok = expectedAbsent
          ? e === undefined
          : e !== undefined && compareKeys(e.value, v.previousValue as Uint8Array) === 0;
        if (ok) this.cf(cf).set(id(k), { key: k, value: v.value as Uint8Array, ttl: 0n });
        return wrap({
          succeed: ok,
          previousNotExist: e === undefined,
          previousValue: e === undefined ? new Uint8Array(0) : e.value,
        });
      }
      case 'RawChecksum': {
        const [range] = v.ranges as { startKey: Uint8Array; endKey: Uint8Array }[];
        const start = range?.startKey ?? new Uint8Array(0);
        const end = range?.endKey ?? new Uint8Array(0);
        const upper =
          end.length === 0 || (current.end.length > 0 && compareKeys(current.end, end) < 0)
            ? current.end
            : end;
        let checksum = 0n;
        let totalKvs = 0n;
        let totalBytes = 0n;
        for (const e of this.sorted('')) {
          if (!inScan(e.key, start, upper)) continue;
          checksum ^= crc64(e.key, e.value);
          totalKvs++;
          totalBytes += BigInt(e.key.length + e.value.length);
        }
        return wrap({ checksum, totalKvs, totalBytes });
      }
      default:
        throw new Error(`unsupported ${request.$case}`);
    }
  }
}
