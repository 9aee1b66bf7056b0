import { type errorpb, kvrpcpb } from '@tikv/proto';
import { ApiVersion } from '../api-version.js';
import type { RegionInfo } from '../cluster/topology-types.js';
import type { ColumnFamily } from '../storage/kv-engine.js';
import { compareBytes } from '../storage/ordered-map.js';
import {
  type AccessKind,
  checkContext,
  checkDiskFull,
  checkKeyInRegion,
  checkKeyInRegionInclusive,
  isRegionError,
} from './context-check.js';
import type { KvDeps } from './kv-deps.js';
import { raftEntryTooLarge } from './region-errors.js';
import {
  checkKeySize,
  checkRawApiVersion,
  checkRawApiVersionRanges,
  rawColumnFamily,
  StorageError,
  TTL_NOT_ENABLED,
} from './storage-errors.js';

/** The part of a ts-proto response codec used to complete rare (error) responses. */
interface ResponseCodec<R> {
  fromPartial(object: { regionError?: errorpb.Error; error?: string }): R;
}

const EMPTY_BYTES = new Uint8Array(0);

/** A complete `KvPair` without error or commit ts. */
function kvPair(key: Uint8Array, value: Uint8Array): kvrpcpb.KvPair {
  return { error: undefined, key, value, commitTs: 0n };
}

/** A complete response carrying only a storage error's message in its `error` string. */
function withError<R>(codec: ResponseCodec<R>): (error: string) => R {
  return (error) => codec.fromPartial({ error });
}

/** Raised inside a handler to answer with a region error. */
class RegionErrorSignal {
  constructor(readonly error: errorpb.Error) {}
}

function fail(e: errorpb.Error | undefined): void {
  if (e !== undefined) throw new RegionErrorSignal(e);
}

function maxKey(a: Uint8Array, b: Uint8Array): Uint8Array {
  return compareBytes(a, b) >= 0 ? a : b;
}

/** `min` of two exclusive upper bounds where empty means unbounded. */
function minUpper(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  if (b.length === 0) return a;
  return compareBytes(a, b) <= 0 ? a : b;
}

/**
 * The raw KV commands of one store, each taking the request and returning the response TiKV would
 * send. Unary calls and BatchCommands both go through these handlers.
 */
export class RawCommands {
  readonly #deps: KvDeps;
  readonly #storeId: bigint;

  constructor(deps: KvDeps, storeId: bigint) {
    this.#deps = deps;
    this.#storeId = storeId;
  }

  /**
   * Runs `body` after the region checks; maps region errors to `{ regionError }` and storage
   * errors through `onError`. Every response is complete, so the host encodes it as it is.
   */
  #run<R>(
    codec: ResponseCodec<R>,
    ctx: kvrpcpb.Context | undefined,
    access: AccessKind,
    precheck: () => void,
    body: (region: RegionInfo) => R,
    onError: (message: string) => R,
  ): R {
    try {
      precheck();
      const checked = checkContext(this.#deps.model, this.#storeId, ctx, access);
      if (isRegionError(checked)) return codec.fromPartial({ regionError: checked });
      if (access === 'write') {
        const full = checkDiskFull(this.#deps.model, this.#storeId, ctx);
        if (full !== undefined) return codec.fromPartial({ regionError: full });
      }
      return body(checked.region);
    } catch (e) {
      if (e instanceof RegionErrorSignal) return codec.fromPartial({ regionError: e.error });
      if (e instanceof StorageError) return onError(e.message);
      throw e;
    }
  }

  #cf(name: string): ColumnFamily {
    return rawColumnFamily(this.#deps.apiVersion, name);
  }

  #checkWriteSize(region: RegionInfo, bytes: number): void {
    if (bytes > this.#deps.limits.raftEntryMaxSizeBytes) fail(raftEntryTooLarge(region.id, BigInt(bytes)));
  }

  #ttl(ttl: bigint): bigint {
    if (ttl !== 0n && this.#deps.apiVersion !== ApiVersion.V2) throw new StorageError(TTL_NOT_ENABLED);
    return ttl;
  }

  rawGet(req: kvrpcpb.RawGetRequest): kvrpcpb.RawGetResponse {
    return this.#run(
      kvrpcpb.RawGetResponse,
      req.context,
      'read',
      () => checkRawApiVersion(this.#deps.apiVersion, req.context, 'raw_get', [req.key]),
      (region) => {
        const cf = this.#cf(req.cf);
        fail(checkKeyInRegion(req.key, region));
        const value = this.#deps.raw.get(cf, req.key);
        return value === undefined
          ? { regionError: undefined, error: '', value: EMPTY_BYTES, notFound: true }
          : { regionError: undefined, error: '', value, notFound: false };
      },
      withError(kvrpcpb.RawGetResponse),
    );
  }

  rawBatchGet(req: kvrpcpb.RawBatchGetRequest): kvrpcpb.RawBatchGetResponse {
    return this.#run(
      kvrpcpb.RawBatchGetResponse,
      req.context,
      'read',
      () => checkRawApiVersion(this.#deps.apiVersion, req.context, 'raw_batch_get', req.keys),
      (region) => {
        const cf = this.#cf(req.cf);
        for (const k of req.keys) fail(checkKeyInRegion(k, region));
        const pairs: kvrpcpb.KvPair[] = [];
        for (const key of req.keys) {
          const value = this.#deps.raw.get(cf, key);
          if (value !== undefined) pairs.push(kvPair(key, value));
        }
        return { regionError: undefined, pairs };
      },
      (abort) => kvrpcpb.RawBatchGetResponse.fromPartial({ pairs: [{ error: { abort } }] }),
    );
  }

  rawPut(req: kvrpcpb.RawPutRequest): kvrpcpb.RawPutResponse {
    return this.#run(
      kvrpcpb.RawPutResponse,
      req.context,
      'write',
      () => {
        checkKeySize([req.key], this.#deps.limits.maxKeySizeBytes);
        checkRawApiVersion(this.#deps.apiVersion, req.context, 'raw_put', [req.key]);
        this.#ttl(req.ttl);
      },
      (region) => {
        const cf = this.#cf(req.cf);
        this.#checkWriteSize(region, req.key.length + req.value.length);
        fail(checkKeyInRegion(req.key, region));
        this.#deps.raw.put(cf, req.key, req.value, req.ttl);
        return { regionError: undefined, error: '' };
      },
      withError(kvrpcpb.RawPutResponse),
    );
  }

  rawBatchPut(req: kvrpcpb.RawBatchPutRequest): kvrpcpb.RawBatchPutResponse {
    const keys = req.pairs.map((p) => p.key);
    return this.#run(
      kvrpcpb.RawBatchPutResponse,
      req.context,
      'write',
      () => {
        checkKeySize(keys, this.#deps.limits.maxKeySizeBytes);
        checkRawApiVersion(this.#deps.apiVersion, req.context, 'raw_batch_put', keys);
        const ttls = req.ttls.length === 0 ? [] : req.ttls;
        if (this.#deps.apiVersion !== ApiVersion.V2) {
          if (ttls.some((t) => t !== 0n)) throw new StorageError(TTL_NOT_ENABLED);
        } else if (ttls.length !== 0 && ttls.length !== req.pairs.length) {
          throw new StorageError('The length of ttls does not equal to the length of pairs');
        }
      },
      (region) => {
        const cf = this.#cf(req.cf);
        let bytes = 0;
        for (const p of req.pairs) bytes += p.key.length + p.value.length;
        this.#checkWriteSize(region, bytes);
        for (const k of keys) fail(checkKeyInRegion(k, region));
        for (const [i, p] of req.pairs.entries()) this.#deps.raw.put(cf, p.key, p.value, req.ttls[i] ?? 0n);
        return { regionError: undefined, error: '' };
      },
      withError(kvrpcpb.RawBatchPutResponse),
    );
  }

  rawDelete(req: kvrpcpb.RawDeleteRequest): kvrpcpb.RawDeleteResponse {
    return this.#run(
      kvrpcpb.RawDeleteResponse,
      req.context,
      'write',
      () => {
        checkKeySize([req.key], this.#deps.limits.maxKeySizeBytes);
        checkRawApiVersion(this.#deps.apiVersion, req.context, 'raw_delete', [req.key]);
      },
      (region) => {
        const cf = this.#cf(req.cf);
        fail(checkKeyInRegion(req.key, region));
        this.#deps.raw.delete(cf, req.key);
        return { regionError: undefined, error: '' };
      },
      withError(kvrpcpb.RawDeleteResponse),
    );
  }

  rawBatchDelete(req: kvrpcpb.RawBatchDeleteRequest): kvrpcpb.RawBatchDeleteResponse {
    return this.#run(
      kvrpcpb.RawBatchDeleteResponse,
      req.context,
      'write',
      () => {
        checkKeySize(req.keys, this.#deps.limits.maxKeySizeBytes);
        checkRawApiVersion(this.#deps.apiVersion, req.context, 'raw_batch_delete', req.keys);
      },
      (region) => {
        const cf = this.#cf(req.cf);
        for (const k of req.keys) fail(checkKeyInRegion(k, region));
        for (const k of req.keys) this.#deps.raw.delete(cf, k);
        return { regionError: undefined, error: '' };
      },
      withError(kvrpcpb.RawBatchDeleteResponse),
    );
  }

  rawDeleteRange(req: kvrpcpb.RawDeleteRangeRequest): kvrpcpb.RawDeleteRangeResponse {
    return this.#run(
      kvrpcpb.RawDeleteRangeResponse,
      req.context,
      'write',
      () => {
        checkKeySize([req.startKey, req.endKey], this.#deps.limits.maxKeySizeBytes);
        checkRawApiVersionRanges(this.#deps.apiVersion, req.context, 'raw_delete_range', [
          [req.startKey, req.endKey],
        ]);
      },
      (region) => {
        const cf = this.#cf(req.cf);
        fail(checkKeyInRegion(req.startKey, region));
        if (req.endKey.length > 0) fail(checkKeyInRegionInclusive(req.endKey, region));
        const end = minUpper(req.endKey, region.endKey);
        this.#deps.raw.deleteRange(cf, req.startKey, end);
        return { regionError: undefined, error: '' };
      },
      withError(kvrpcpb.RawDeleteRangeResponse),
    );
  }

  /** Bounds of a scan clamped to the region, after TiKV's seek check on the start key. */
  #scanBounds(region: RegionInfo, start: Uint8Array, end: Uint8Array, reverse: boolean) {
    if (reverse) {
      const upper = start.length === 0 ? region.endKey : start;
      if (start.length > 0) fail(checkKeyInRegionInclusive(start, region));
      return { lower: maxKey(end, region.startKey), upper: minUpper(upper, region.endKey), reverse };
    }
    fail(checkKeyInRegionInclusive(start, region));
    return { lower: start, upper: minUpper(end, region.endKey), reverse };
  }

  rawScan(req: kvrpcpb.RawScanRequest): kvrpcpb.RawScanResponse {
    return this.#run(
      kvrpcpb.RawScanResponse,
      req.context,
      'read',
      () =>
        checkRawApiVersionRanges(this.#deps.apiVersion, req.context, 'raw_scan', [
          [req.startKey, req.endKey],
        ]),
      (region) => {
        const cf = this.#cf(req.cf);
        const bounds = this.#scanBounds(region, req.startKey, req.endKey, req.reverse);
        const kvs = this.#deps.raw
          .scan(cf, bounds, req.limit, req.keyOnly)
          .map((p) => kvPair(p.key, p.value));
        return { regionError: undefined, kvs };
      },
      (abort) => kvrpcpb.RawScanResponse.fromPartial({ kvs: [{ error: { abort } }] }),
    );
  }

  rawBatchScan(req: kvrpcpb.RawBatchScanRequest): kvrpcpb.RawBatchScanResponse {
    return this.#run(
      kvrpcpb.RawBatchScanResponse,
      req.context,
      'read',
      () => {
        checkRawApiVersionRanges(
          this.#deps.apiVersion,
          req.context,
          'raw_batch_scan',
          req.ranges.map((r): readonly [Uint8Array, Uint8Array] => [r.startKey, r.endKey]),
        );
        if (!validRanges(req.ranges, req.reverse)) throw new StorageError('Invalid KeyRanges');
      },
      (region) => {
        const cf = this.#cf(req.cf);
        const kvs: kvrpcpb.KvPair[] = [];
        req.ranges.forEach((r, i) => {
          const next = req.ranges[i + 1];
          const end = r.endKey.length > 0 || next === undefined ? r.endKey : next.startKey;
          const bounds = this.#scanBounds(region, r.startKey, end, req.reverse);
          for (const p of this.#deps.raw.scan(cf, bounds, req.eachLimit, req.keyOnly)) {
            kvs.push(kvPair(p.key, p.value));
          }
        });
        return { regionError: undefined, kvs };
      },
      (abort) => kvrpcpb.RawBatchScanResponse.fromPartial({ kvs: [{ error: { abort } }] }),
    );
  }

  rawGetKeyTtl(req: kvrpcpb.RawGetKeyTTLRequest): kvrpcpb.RawGetKeyTTLResponse {
    return this.#run(
      kvrpcpb.RawGetKeyTTLResponse,
      req.context,
      'read',
      () => {
        checkRawApiVersion(this.#deps.apiVersion, req.context, 'raw_get_key_ttl', [req.key]);
        if (this.#deps.apiVersion !== ApiVersion.V2) throw new StorageError(TTL_NOT_ENABLED);
      },
      (region) => {
        const cf = this.#cf(req.cf);
        fail(checkKeyInRegion(req.key, region));
        const ttl = this.#deps.raw.getTtlSeconds(cf, req.key);
        return ttl === undefined
          ? { regionError: undefined, error: '', ttl: 0n, notFound: true }
          : { regionError: undefined, error: '', ttl, notFound: false };
      },
      withError(kvrpcpb.RawGetKeyTTLResponse),
    );
  }

  rawCompareAndSwap(req: kvrpcpb.RawCASRequest): kvrpcpb.RawCASResponse {
    return this.#run(
      kvrpcpb.RawCASResponse,
      req.context,
      'write',
      () => {
        checkKeySize([req.key], this.#deps.limits.maxKeySizeBytes);
        checkRawApiVersion(this.#deps.apiVersion, req.context, 'raw_compare_and_swap', [req.key]);
        this.#ttl(req.ttl);
      },
      (region) => {
        const cf = this.#cf(req.cf);
        this.#checkWriteSize(region, req.key.length + req.value.length);
        fail(checkKeyInRegion(req.key, region));
        const expected = req.previousNotExist ? undefined : req.previousValue;
        const next = req.delete ? undefined : req.value;
        const { previous, swapped } = this.#deps.raw.compareAndSwap(cf, req.key, expected, next, req.ttl);
        return previous === undefined
          ? {
              regionError: undefined,
              error: '',
              succeed: swapped,
              previousNotExist: true,
              previousValue: EMPTY_BYTES,
            }
          : {
              regionError: undefined,
              error: '',
              succeed: swapped,
              previousNotExist: false,
              previousValue: previous,
            };
      },
      withError(kvrpcpb.RawCASResponse),
    );
  }

  rawChecksum(req: kvrpcpb.RawChecksumRequest): kvrpcpb.RawChecksumResponse {
    return this.#run(
      kvrpcpb.RawChecksumResponse,
      req.context,
      'read',
      () => {
        if (req.algorithm !== 0) throw new StorageError(`unknown checksum algorithm ${req.algorithm}`);
        checkRawApiVersionRanges(
          this.#deps.apiVersion,
          req.context,
          'raw_checksum',
          req.ranges.map((r) => [r.startKey, r.endKey] as const),
        );
      },
      (region) => {
        const bounds = req.ranges.map((r) => this.#scanBounds(region, r.startKey, r.endKey, false));
        const { crc64Xor, totalKvs, totalBytes } = this.#deps.raw.checksum(this.#cf(''), bounds);
        return { regionError: undefined, error: '', checksum: crc64Xor, totalKvs, totalBytes };
      },
      withError(kvrpcpb.RawChecksumResponse),
    );
  }
}

/** TiKV's range sanity check for batch scans: ordered, non-overlapping, each non-empty. */
function validRanges(ranges: readonly kvrpcpb.KeyRange[], reverse: boolean): boolean {
  for (let i = 0; i < ranges.length; i++) {
    const r = ranges[i] as kvrpcpb.KeyRange;
    const next = ranges[i + 1];
    if (!reverse) {
      if (r.endKey.length > 0 && compareBytes(r.startKey, r.endKey) >= 0) return false;
      if (next !== undefined) {
        const bound = r.endKey.length > 0 ? r.endKey : r.startKey;
        if (compareBytes(bound, next.startKey) > 0) return false;
      }
    } else {
      if (r.endKey.length > 0 && compareBytes(r.startKey, r.endKey) <= 0) return false;
      if (
        next !== undefined &&
        compareBytes(r.endKey.length > 0 ? r.endKey : r.startKey, next.startKey) < 0
      ) {
        return false;
      }
    }
  }
  return true;
}
