import {
  type BytesLike,
  compareKeys,
  InvalidArgumentError,
  MaxScanLimitExceededError,
  toBytes,
} from '@tikv/common';
import { EntryTooLargeError, KeyTooLargeError } from './raw-errors.js';
import { MAX_ENTRY_SIZE_BYTES, MAX_KEY_SIZE_BYTES, MAX_RAW_SCAN_LIMIT } from './raw-limits.js';

/**
 * Converts a key argument and checks it: not empty, not longer than TiKV's `max-key-size`.
 *
 * @param key - the caller's key
 * @param what - how the message names it
 * @returns the key's bytes
 * @internal
 */
export function pointKey(key: BytesLike, what = 'key'): Uint8Array {
  const k = bytesArg(key, what);
  if (k.length === 0) throw new InvalidArgumentError(`${what} must not be empty`);
  if (k.length > MAX_KEY_SIZE_BYTES) throw new KeyTooLargeError(k.length, MAX_KEY_SIZE_BYTES);
  return k;
}

/**
 * Converts a range bound (empty allowed) and checks its length.
 *
 * @internal
 */
export function boundKey(key: BytesLike | undefined, what: string): Uint8Array {
  if (key === undefined) return new Uint8Array(0);
  const k = bytesArg(key, what);
  if (k.length > MAX_KEY_SIZE_BYTES) throw new KeyTooLargeError(k.length, MAX_KEY_SIZE_BYTES);
  return k;
}

/**
 * Converts a value and checks the entry's size against TiKV's `raft-entry-max-size`.
 *
 * @internal
 */
export function valueArg(key: Uint8Array, value: BytesLike): Uint8Array {
  const v = bytesArg(value, 'value');
  const size = key.length + v.length;
  if (size > MAX_ENTRY_SIZE_BYTES) throw new EntryTooLargeError(size, MAX_ENTRY_SIZE_BYTES);
  return v;
}

function bytesArg(v: BytesLike, what: string): Uint8Array {
  if (typeof v !== 'string' && !(v instanceof Uint8Array)) {
    throw new InvalidArgumentError(`${what} must be a Uint8Array or a string`);
  }
  return toBytes(v);
}

/**
 * Checks a TTL in seconds.
 *
 * @internal
 */
export function ttlArg(ttl: number | undefined): bigint {
  if (ttl === undefined) return 0n;
  if (!Number.isSafeInteger(ttl) || ttl < 0) {
    throw new InvalidArgumentError(`ttlSeconds must be a non-negative integer, got ${ttl}`);
  }
  return BigInt(ttl);
}

/**
 * Checks a scan limit: a non-negative integer no larger than client-go's `MaxRawKVScanLimit`.
 *
 * @internal
 */
export function scanLimitArg(limit: number | undefined, what = 'limit'): number {
  if (limit === undefined) return MAX_RAW_SCAN_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new InvalidArgumentError(`${what} must be a non-negative integer, got ${limit}`);
  }
  if (limit > MAX_RAW_SCAN_LIMIT) throw new MaxScanLimitExceededError(limit, MAX_RAW_SCAN_LIMIT);
  return limit;
}

/**
 * Checks a forward range `[start, end)`: `start > end` (with a bounded end) is inverted.
 *
 * @internal
 */
export function forwardRange(start: Uint8Array, end: Uint8Array): void {
  if (end.length > 0 && compareKeys(start, end) > 0) {
    throw new InvalidArgumentError('startKey must not be greater than endKey');
  }
}

/**
 * Checks a reverse range (client-go `ReverseScan`: `startKey` is the exclusive upper bound,
 * `endKey` the inclusive lower one): `start < end` is inverted.
 *
 * @internal
 */
export function reverseRange(start: Uint8Array, end: Uint8Array): void {
  if (compareKeys(start, end) < 0) {
    throw new InvalidArgumentError('reverse scan: startKey (upper bound) must not be less than endKey');
  }
}

/**
 * Checks an options-object column family.
 *
 * @internal
 */
export function columnFamilyArg(cf: string | undefined, fallback: string): string {
  if (cf === undefined) return fallback;
  if (typeof cf !== 'string') throw new InvalidArgumentError('columnFamily must be a string');
  return cf;
}
