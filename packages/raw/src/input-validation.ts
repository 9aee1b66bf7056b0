import {
  checkOptionalNonNegativeInteger,
  checkOptionalString,
  InvalidArgumentError,
  invalidArgument,
  MaxScanLimitExceededError,
} from '@tikv/common';
import { MAX_RAW_SCAN_LIMIT } from './raw-limits.js';

/**
 * The raw-only argument checks; keys, values, ranges and call options are checked with
 * `@tikv/common`'s checkers, shared with the transactional client.
 */

/**
 * Checks a TTL in seconds.
 *
 * @param ttl - what the caller passed
 * @param name - how messages name it
 * @internal
 */
export function ttlArg(ttl: unknown, name = 'options.ttlSeconds'): bigint {
  return BigInt(checkOptionalNonNegativeInteger(ttl, name) ?? 0);
}

/**
 * Checks `batchPut`'s `ttlSeconds`: one TTL for every pair, or one per pair (aligned with them).
 *
 * @param ttls - what the caller passed
 * @param count - the number of pairs
 * @returns the TTL of every pair, or one per pair
 * @internal
 */
export function ttlsArg(ttls: unknown, count: number): bigint | bigint[] {
  if (!Array.isArray(ttls)) {
    if (ttls !== undefined && typeof ttls !== 'number') {
      throw invalidArgument('options.ttlSeconds', 'a number, an array of numbers or undefined', ttls);
    }
    return ttlArg(ttls);
  }
  if (ttls.length !== count) {
    throw new InvalidArgumentError(`options.ttlSeconds has ${ttls.length} entries for ${count} pairs`);
  }
  return ttls.map((t, i) => ttlArg(t, `options.ttlSeconds[${i}]`));
}

/**
 * Checks a scan limit: a non-negative integer no larger than client-go's `MaxRawKVScanLimit`.
 *
 * @internal
 */
export function scanLimitArg(limit: unknown, name = 'options.limit'): number {
  const n = checkOptionalNonNegativeInteger(limit, name);
  if (n === undefined) return MAX_RAW_SCAN_LIMIT;
  if (n > MAX_RAW_SCAN_LIMIT) throw new MaxScanLimitExceededError(n, MAX_RAW_SCAN_LIMIT);
  return n;
}

/**
 * Checks an options-object column family.
 *
 * @internal
 */
export function columnFamilyArg(cf: unknown, fallback: string): string {
  return checkOptionalString(cf, 'options.columnFamily') ?? fallback;
}
