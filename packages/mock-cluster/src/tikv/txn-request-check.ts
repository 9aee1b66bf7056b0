import { encodeBytes, encodedBytesLength } from '@tikv/common';
import type { errorpb, kvrpcpb } from '@tikv/proto';
import { ApiVersion, keyModeOf } from '../api-version.js';
import type { RegionInfo } from '../cluster/topology-types.js';
import { MvccError } from '../mvcc/mvcc-error.js';
import { compareBytes } from '../storage/ordered-map.js';
import { checkKeyInRegion, checkKeyInRegionInclusive } from './context-check.js';
import { keyNotInRegion } from './region-errors.js';

const hexUpper = (k: Uint8Array): string => Buffer.from(k).toString('hex').toUpperCase();

/** Raised inside a transactional handler to answer with a region error. */
export class TxnRegionErrorSignal {
  constructor(readonly error: errorpb.Error) {}
}

/** Throws the region error when there is one. */
export function failRegion(e: errorpb.Error | undefined): void {
  if (e !== undefined) throw new TxnRegionErrorSignal(e);
}

/** KeyNotInRegion for the first key outside `[start, end)` of the region. */
export function checkKeysInRegion(keys: Iterable<Uint8Array>, region: RegionInfo): void {
  for (const k of keys) failRegion(checkKeyInRegion(k, region));
}

const hexEncoded = (k: Uint8Array): string => (k.length === 0 ? '' : hexUpper(encodeBytes(k)));

/** Whether `key` lies in the region's `[start, end)`. */
export function keyInRegion(key: Uint8Array, region: RegionInfo): boolean {
  return checkKeyInRegion(key, region) === undefined;
}

/**
 * The error TiKV's region snapshot gives a point access (a lock or write read) of a key outside
 * the region: not a region error but an abort, the key and the region's bounds in their encoded
 * form. (Only a seek of a scan answers KeyNotInRegion.)
 */
export function keyOutOfRegionError(key: Uint8Array, region: RegionInfo): MvccError {
  const text =
    `Key ${hexUpper(encodeBytes(key))} is out of [region ${region.id}] ` +
    `[${hexEncoded(region.startKey)}, ${hexEncoded(region.endKey)})`;
  const inner = JSON.stringify(
    `[components/tikv_kv/src/raftstore_impls.rs:86]: "[components/raftstore/src/store/region_snapshot.rs:289]: ${text}"`,
  );
  return new MvccError({
    kind: 'Storage',
    debug: `Error(Txn(Error(Mvcc(Error(Kv(Error(Other(${inner}))))))))`,
    display: `unknown error ${inner}`,
  });
}

/** Throws {@link keyOutOfRegionError} for the first key outside the region. */
export function checkPointKeysInRegion(keys: Iterable<Uint8Array>, region: RegionInfo): void {
  for (const k of keys) if (!keyInRegion(k, region)) throw keyOutOfRegionError(k, region);
}

function invalidReqRange(
  lower: Uint8Array | undefined,
  upper: Uint8Array | undefined,
  region: RegionInfo,
): never {
  const some = (k: Uint8Array | undefined, raw = true) =>
    k === undefined ? 'None' : `Some([${[...(raw && k.length > 0 ? encodeBytes(k) : k)].join(', ')}])`;
  throw new MvccError({
    kind: 'Storage',
    debug:
      `Error(Txn(Error(InvalidReqRange { start: ${some(lower)}, end: ${some(upper)}, ` +
      `lower_bound: ${some(region.startKey)}, upper_bound: ${some(region.endKey)} })))`,
    display: 'Invalid request range',
  });
}

/**
 * KvScan's bounds as TiKV checks them: the request's range (swapped for a reverse scan; an empty
 * end is open) must lie within the region (`verify_range`: InvalidReqRange otherwise), and the
 * key the scanner seeks to must be in it (KeyNotInRegion, with the encoded key). Returns the
 * range clamped to the region.
 */
export function kvScanBounds(
  region: RegionInfo,
  start: Uint8Array,
  end: Uint8Array,
  reverse: boolean,
): { lower: Uint8Array; upper: Uint8Array } {
  const open = (k: Uint8Array) => (k.length === 0 ? undefined : k);
  // The mock keeps an empty reverse start as "from the region's end".
  const lower = reverse ? open(end) : start;
  const upper = reverse ? open(start) : open(end);
  if (lower !== undefined && region.startKey.length > 0 && compareBytes(lower, region.startKey) < 0) {
    invalidReqRange(lower, upper, region);
  }
  if (upper !== undefined && region.endKey.length > 0 && compareBytes(upper, region.endKey) > 0) {
    invalidReqRange(lower, upper, region);
  }
  const seek = reverse ? upper : lower;
  if (seek !== undefined && checkKeyInRegionInclusive(seek, region) !== undefined) {
    failRegion(keyNotInRegion(encodeBytes(seek), region));
  }
  return {
    lower: lower === undefined ? region.startKey : lower,
    upper: upper === undefined ? region.endKey : upper,
  };
}

/** A storage error TiKV reports as `Error(<variant> { <fields> })` (Debug) or `<display>`. */
function storageError(variant: string, fields: string, display: string): never {
  throw new MvccError({ kind: 'Storage', debug: `Error(${variant} { ${fields} })`, display });
}

function apiVersionName(v: kvrpcpb.APIVersion | ApiVersion): string {
  if (v === ApiVersion.V2 || v === 2) return 'V2';
  return v === 1 ? 'V1ttl' : 'V1';
}

function requestVersion(ctx: kvrpcpb.Context | undefined): 'V1' | 'V2' | 'other' {
  const v = ctx?.apiVersion ?? 0;
  return v === 0 ? 'V1' : v === 2 ? 'V2' : 'other';
}

function notMatched(storage: ApiVersion, ctx: kvrpcpb.Context | undefined, cmd: string): never {
  const [st, req] = [apiVersionName(storage), apiVersionName(ctx?.apiVersion ?? 0)];
  storageError(
    'ApiVersionNotMatched',
    `cmd: ${cmd}, storage_api_version: ${st}, req_api_version: ${req}`,
    `Api version in request does not match with TiKV storage, cmd: ${cmd}, storage: ${st}, request: ${req}`,
  );
}

/** The key mode a V2 storage wants for a transactional request: txn keys, or TiDB keys from a V1 request. */
function wantedMode(storage: ApiVersion, ctx: kvrpcpb.Context | undefined, cmd: string): string | undefined {
  const req = requestVersion(ctx);
  if (storage === ApiVersion.V1 && req === 'V1') return undefined;
  if (storage === ApiVersion.V2 && req === 'V1') return 'tidb';
  if (storage === ApiVersion.V2 && req === 'V2') return 'txn';
  return notMatched(storage, ctx, cmd);
}

/**
 * TiKV's `check_api_version` for transactional commands (get, batch_get, buffer_batch_get,
 * prewrite, flush, acquire_pessimistic_lock: the others are not checked): a V1 storage takes V1
 * requests; a V2 storage takes V2 requests on txn-mode (`x`) keys and, for compatibility, V1
 * requests on TiDB keys (`t`, `m`). Keys are judged, and reported, in their encoded form.
 */
export function checkTxnApiVersion(
  storage: ApiVersion,
  ctx: kvrpcpb.Context | undefined,
  cmd: string,
  keys: Iterable<Uint8Array>,
): void {
  const want = wantedMode(storage, ctx, cmd);
  if (want === undefined) return;
  for (const k of keys) {
    if (keyModeOf(k) !== want) {
      const key = hexUpper(encodeBytes(k));
      storageError(
        'InvalidKeyMode',
        `cmd: ${cmd}, storage_api_version: V2, key: "${key}"`,
        `Key mode mismatched with the request mode, cmd: ${cmd}, storage: V2, key: ${key}`,
      );
    }
  }
}

/**
 * TiKV's `check_api_version_ranges` (scan, delete_range): in V2 a range has a mode only when both
 * bounds are present and share their first byte, so an open end (`None`) is refused.
 */
export function checkTxnApiVersionRange(
  storage: ApiVersion,
  ctx: kvrpcpb.Context | undefined,
  cmd: string,
  start: Uint8Array,
  end: Uint8Array | undefined,
): void {
  const want = wantedMode(storage, ctx, cmd);
  if (want === undefined) return;
  const s = encodeBytes(start);
  const e = end === undefined ? undefined : encodeBytes(end);
  const sameMode =
    e !== undefined &&
    s.length > 0 &&
    e.length > 0 &&
    (s[0] === e[0] || (e.length === 1 && e[0] === s[0]! + 1));
  if (sameMode && keyModeOf(s) === want) return;
  const bound = (k: Uint8Array | undefined) => (k === undefined ? 'None' : `Some("${hexUpper(k)}")`);
  const range = `(${bound(s)}, ${bound(e)})`;
  storageError(
    'InvalidKeyRangeMode',
    `cmd: ${cmd}, storage_api_version: V2, range: ${range}`,
    `Key mode mismatched with the request mode, cmd: ${cmd}, storage: V2, range: ${range}`,
  );
}

/**
 * TiKV's `max-key-size` check on the keys a prewrite, flush or pessimistic lock brings. TiKV
 * measures the memcomparable-encoded key (`Key::as_encoded`), not the raw one.
 */
export function checkTxnKeySize(keys: Iterable<Uint8Array>, limit: number): void {
  for (const k of keys) {
    const size = encodedBytesLength(k.length);
    if (size > limit) {
      storageError(
        'KeyTooLarge',
        `size: ${size}, limit: ${limit}`,
        `max key size exceeded, size: ${size}, limit: ${limit}`,
      );
    }
  }
}

/** Scan bounds clamped to the region, after TiKV's check of the seek key. */
export function txnScanBounds(
  region: RegionInfo,
  start: Uint8Array,
  end: Uint8Array,
  reverse: boolean,
): { lower: Uint8Array; upper: Uint8Array } {
  const maxKey = (a: Uint8Array, b: Uint8Array) => (compareBytes(a, b) >= 0 ? a : b);
  const minUpper = (a: Uint8Array, b: Uint8Array) =>
    a.length === 0 ? b : b.length === 0 ? a : compareBytes(a, b) <= 0 ? a : b;
  if (reverse) {
    if (start.length > 0) failRegion(checkKeyInRegionInclusive(start, region));
    const upper = start.length === 0 ? region.endKey : start;
    return { lower: maxKey(end, region.startKey), upper: minUpper(upper, region.endKey) };
  }
  failRegion(checkKeyInRegionInclusive(start, region));
  return { lower: maxKey(start, region.startKey), upper: minUpper(end, region.endKey) };
}
