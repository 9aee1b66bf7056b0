import { compareKeys } from './key-utils.js';

/**
 * A half-open key range `[startKey, endKey)`. An empty `endKey` means
 * +infinity (the end of the keyspace), as in TiKV region ranges.
 */
export interface KeyRange {
  /** The first key in the range (inclusive); empty means the start of the keyspace. */
  readonly startKey: Uint8Array;
  /** The first key after the range (exclusive); empty means +infinity. */
  readonly endKey: Uint8Array;
}

/**
 * Compares two range end keys, treating an empty key as +infinity.
 *
 * @param a - an end key
 * @param b - another end key
 * @returns negative, 0 or positive as a is before, equal to or after b
 */
export function compareEndKeys(a: Uint8Array, b: Uint8Array): number {
  if (a.length === 0) return b.length === 0 ? 0 : 1;
  if (b.length === 0) return -1;
  return compareKeys(a, b);
}

/**
 * Tells whether a key falls in `[startKey, endKey)`, an empty end meaning +infinity.
 *
 * @param key - the key
 * @param startKey - the range start (inclusive)
 * @param endKey - the range end (exclusive; empty = +infinity)
 * @returns true when the key is in the range
 */
export function keyInRange(key: Uint8Array, startKey: Uint8Array, endKey: Uint8Array): boolean {
  return compareKeys(key, startKey) >= 0 && (endKey.length === 0 || compareKeys(key, endKey) < 0);
}

/**
 * Tells whether a range holds no key (its end is at or before its start).
 *
 * @param range - the range
 * @returns true for an empty range
 */
export function isRangeEmpty(range: KeyRange): boolean {
  return range.endKey.length !== 0 && compareKeys(range.startKey, range.endKey) >= 0;
}

/**
 * The intersection of two ranges.
 *
 * @param a - a range
 * @param b - another range
 * @returns the overlapping range, or undefined when they do not overlap
 */
export function rangeIntersect(a: KeyRange, b: KeyRange): KeyRange | undefined {
  const startKey = compareKeys(a.startKey, b.startKey) >= 0 ? a.startKey : b.startKey;
  const endKey = compareEndKeys(a.endKey, b.endKey) <= 0 ? a.endKey : b.endKey;
  const range = { startKey, endKey };
  return isRangeEmpty(range) ? undefined : range;
}

/**
 * Tells whether `outer` contains every key of `inner`.
 *
 * @param outer - the containing range
 * @param inner - the contained range
 * @returns true when inner ⊆ outer
 */
export function rangeContains(outer: KeyRange, inner: KeyRange): boolean {
  return compareKeys(inner.startKey, outer.startKey) >= 0 && compareEndKeys(inner.endKey, outer.endKey) <= 0;
}
