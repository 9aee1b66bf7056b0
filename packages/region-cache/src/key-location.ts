import { compareKeys } from '@tikv/common';
import type { SourceBuckets } from './region-source.js';
import type { RegionVerId } from './region-ver-id.js';

/** Where a key lives: the region version and its range (client-go `KeyLocation`). */
export interface KeyLocation {
  /** The region version to send requests with. */
  readonly region: RegionVerId;
  /** Inclusive start key of the region. */
  readonly startKey: Uint8Array;
  /** Exclusive end key of the region (empty: +infinity). */
  readonly endKey: Uint8Array;
  /** The region's buckets, when known. */
  readonly buckets: SourceBuckets | undefined;
}

/** A bucket: a sub-range of a region. */
export interface Bucket {
  /** Inclusive start key. */
  readonly startKey: Uint8Array;
  /** Exclusive end key (empty: +infinity). */
  readonly endKey: Uint8Array;
}

function inRange(start: Uint8Array, end: Uint8Array, key: Uint8Array): boolean {
  return compareKeys(start, key) <= 0 && (end.length === 0 || compareKeys(key, end) < 0);
}

/**
 * Whether a location's range holds `key`.
 *
 * @param loc - the location
 * @param key - the key
 * @returns true when `startKey <= key < endKey`
 */
export function locationContains(loc: KeyLocation, key: Uint8Array): boolean {
  return inRange(loc.startKey, loc.endKey, key);
}

/**
 * @param loc - the location
 * @returns the bucket version, 0 without buckets
 */
export function bucketVersion(loc: KeyLocation): bigint {
  return loc.buckets?.version ?? 0n;
}

function findBucket(keys: readonly Uint8Array[], key: Uint8Array): Bucket | undefined {
  const searchLen = keys.length - 1;
  let lo = 0;
  let hi = searchLen;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(key, keys[mid] as Uint8Array) < 0) hi = mid;
    else lo = mid + 1;
  }
  const i = lo;
  if (i <= 0) return undefined;
  const last = keys[searchLen] as Uint8Array;
  if (i === searchLen && last.length !== 0 && compareKeys(key, last) >= 0) return undefined;
  return { startKey: keys[i - 1] as Uint8Array, endKey: keys[i] as Uint8Array };
}

function clampToRegion(loc: KeyLocation, bucket: Bucket): Bucket {
  let { startKey, endKey } = bucket;
  if (compareKeys(startKey, loc.startKey) < 0) startKey = loc.startKey;
  if (loc.endKey.length > 0 && (endKey.length === 0 || compareKeys(endKey, loc.endKey) > 0))
    endKey = loc.endKey;
  if (endKey.length > 0 && compareKeys(startKey, endKey) >= 0)
    return { startKey: loc.startKey, endKey: loc.endKey };
  if (startKey === bucket.startKey && endKey === bucket.endKey) return bucket;
  return { startKey, endKey };
}

/**
 * The bucket holding `key`, clamped to the region's range (buckets may be
 * stale and stick out of it). Keys before the first or after the last bucket
 * boundary get the region's edge as the missing bound; a region without
 * buckets is one bucket.
 *
 * @param loc - the location
 * @param key - the key
 * @returns the bucket, or undefined when the region does not hold the key
 */
export function locateBucket(loc: KeyLocation, key: Uint8Array): Bucket | undefined {
  const keys = loc.buckets?.keys ?? [];
  const found = findBucket(keys, key);
  if (found !== undefined) return clampToRegion(loc, found);
  if (!locationContains(loc, key)) return undefined;
  const first = keys[0];
  if (first === undefined) return { startKey: loc.startKey, endKey: loc.endKey };
  if (compareKeys(key, first) < 0) return { startKey: loc.startKey, endKey: first };
  const last = keys[keys.length - 1] as Uint8Array;
  if (compareKeys(last, key) <= 0) return { startKey: last, endKey: loc.endKey };
  return { startKey: loc.startKey, endKey: loc.endKey };
}
