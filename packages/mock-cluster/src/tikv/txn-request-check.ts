import { encodedBytesLength } from '@tikv/common';
import type { errorpb, kvrpcpb } from '@tikv/proto';
import { ApiVersion, keyModeOf } from '../api-version.js';
import type { RegionInfo } from '../cluster/topology-types.js';
import { MvccError } from '../mvcc/mvcc-error.js';
import { compareBytes } from '../storage/ordered-map.js';
import { checkKeyInRegion, checkKeyInRegionInclusive } from './context-check.js';

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

function abort(message: string): never {
  throw new MvccError({ kind: 'Other', message });
}

/**
 * TiKV's API-version gate for transactional commands: the request's version must match the
 * storage's, and in V2 every key must be in transactional (`x`) or TiDB mode.
 */
export function checkTxnApiVersion(
  storage: ApiVersion,
  ctx: kvrpcpb.Context | undefined,
  cmd: string,
  keys: Iterable<Uint8Array>,
): void {
  const requested = ctx?.apiVersion ?? 0;
  const storageWire = storage === ApiVersion.V2 ? 2 : 0;
  if (requested !== storageWire) {
    abort(
      `Api version in request does not match with TiKV storage, cmd: ${cmd}, storage: ${storage}, request: ${requested === 2 ? 'V2' : requested === 1 ? 'V1ttl' : 'V1'}`,
    );
  }
  if (storage !== ApiVersion.V2) return;
  for (const k of keys) {
    const mode = keyModeOf(k);
    if (mode !== 'txn' && mode !== 'tidb') {
      abort(
        `Key mode mismatched with the request mode, cmd: ${cmd}, storage: V2, key: ${Buffer.from(k).toString('hex').toUpperCase()}`,
      );
    }
  }
}

/**
 * TiKV's `max-key-size` check on the keys a prewrite, flush or pessimistic lock brings. TiKV
 * measures the memcomparable-encoded key (`Key::as_encoded`), not the raw one.
 */
export function checkTxnKeySize(keys: Iterable<Uint8Array>, limit: number): void {
  for (const k of keys) {
    const size = encodedBytesLength(k.length);
    if (size > limit) abort(`KeyTooLarge { size: ${size}, limit: ${limit} }`);
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
