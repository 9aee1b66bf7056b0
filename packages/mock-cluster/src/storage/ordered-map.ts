import { compareKeys } from '@tikv/common';
import * as btreeModule from 'sorted-btree';

/** The subset of `sorted-btree`'s B+ tree the mock uses, keyed by byte strings. */
export interface ByteMap<V> {
  readonly size: number;
  get(key: Uint8Array): V | undefined;
  set(key: Uint8Array, value: V): boolean;
  delete(key: Uint8Array): boolean;
  /** Ascending entries from `lowestKey` (inclusive). */
  entries(lowestKey?: Uint8Array): IterableIterator<[Uint8Array, V]>;
  /** Descending entries from `highestKey` (excluded when `skipHighest`). */
  entriesReversed(
    highestKey?: Uint8Array,
    reusedArray?: undefined,
    skipHighest?: boolean,
  ): IterableIterator<[Uint8Array, V]>;
  values(): IterableIterator<V>;
  /** The entry with the greatest key strictly below `key`. */
  nextLowerPair(key: Uint8Array | undefined): [Uint8Array, V] | undefined;
  /** Deletes keys in `[low, high)` (or `[low, high]`); returns the count. */
  deleteRange(low: Uint8Array, high: Uint8Array, includeHigh: boolean): number;
}

type ByteMapConstructor = new (
  entries: undefined,
  compare: (a: Uint8Array, b: Uint8Array) => number,
) => ByteMap<unknown>;

let resolved: ByteMapConstructor | undefined;

/**
 * `sorted-btree` is CommonJS with a `default` export; depending on whether this file runs as ESM
 * or CommonJS the constructor sits one or two `default`s deep.
 */
function bTreeConstructor(): ByteMapConstructor {
  if (resolved !== undefined) return resolved;
  const first: unknown = (btreeModule as unknown as { default: unknown }).default;
  resolved =
    typeof first === 'function'
      ? (first as ByteMapConstructor)
      : (first as { default: ByteMapConstructor }).default;
  return resolved;
}

/** Below this length a JavaScript loop beats the native `Buffer.compare` call. */
const SHORT_KEY_BYTES = 64;

/** Lexicographic byte order, the order TiKV keeps its keys in. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return a.length > SHORT_KEY_BYTES && b.length > SHORT_KEY_BYTES ? Buffer.compare(a, b) : compareKeys(a, b);
}

/** Creates an empty {@link ByteMap}. */
export function createByteMap<V>(): ByteMap<V> {
  const Ctor = bTreeConstructor();
  return new Ctor(undefined, compareBytes) as ByteMap<V>;
}
