import { compareKeys } from './key-utils.js';

/** The distinct keys of a list in ascending order, and where each listed key went. */
export interface SortedKeys {
  /** The distinct keys, ascending. */
  readonly keys: readonly Uint8Array[];
  /**
   * For each input index, the index of its key in {@link SortedKeys.keys}; undefined when the
   * input was already ascending without repeats (then `keys` is the input itself).
   */
  readonly slots: Uint32Array | undefined;
}

/** Whether `keys` is strictly ascending (so also free of repeats). */
function strictlyAscending(keys: readonly Uint8Array[]): boolean {
  for (let i = 1; i < keys.length; i++) {
    if (compareKeys(keys[i - 1] as Uint8Array, keys[i] as Uint8Array) >= 0) return false;
  }
  return true;
}

/** The input indexes ordered by key, then by index (a stable sort). */
function sortedOrder(keys: readonly Uint8Array[]): number[] {
  const order = new Array<number>(keys.length);
  for (let i = 0; i < keys.length; i++) order[i] = i;
  return order.sort((a, b) => compareKeys(keys[a] as Uint8Array, keys[b] as Uint8Array) || a - b);
}

/**
 * Sorts keys and drops repeats, by comparing bytes: no per-key string or hash. A list that is
 * already ascending without repeats (one pass to tell) comes back as it is.
 *
 * @example
 * ```ts
 * const { keys: distinct, slots } = sortKeys(keys);
 * const values = await readSorted(distinct);             // aligned with `distinct`
 * return slots === undefined ? values : Array.from(slots, (s) => values[s]);
 * ```
 * @param keys - the keys
 * @returns the distinct keys ascending, and where each input key went
 */
export function sortKeys(keys: readonly Uint8Array[]): SortedKeys {
  if (strictlyAscending(keys)) return { keys, slots: undefined };
  const order = sortedOrder(keys);
  const slots = new Uint32Array(keys.length);
  const distinct: Uint8Array[] = [];
  let last: Uint8Array | undefined;
  for (const i of order) {
    const k = keys[i] as Uint8Array;
    if (last === undefined || compareKeys(last, k) !== 0) {
      distinct.push(k);
      last = k;
    }
    slots[i] = distinct.length - 1;
  }
  return { keys: distinct, slots };
}

/**
 * The first index whose key repeats an earlier one, comparing bytes.
 *
 * @param keys - the keys
 * @returns the smallest `i` such that `keys[i]` equals some `keys[j]` with `j < i`, or -1
 */
export function firstRepeatedKey(keys: readonly Uint8Array[]): number {
  if (strictlyAscending(keys)) return -1;
  const order = sortedOrder(keys);
  let first = -1;
  for (let n = 1; n < order.length; n++) {
    const i = order[n] as number;
    // Equal keys sort by index: the second of a run is its first repeat.
    if (compareKeys(keys[order[n - 1] as number] as Uint8Array, keys[i] as Uint8Array) === 0) {
      if (first === -1 || i < first) first = i;
    }
  }
  return first;
}

/**
 * Finds a key in an ascending list by binary search.
 *
 * @param sorted - distinct keys, ascending
 * @param key - the key to find
 * @returns its index, or -1 when it is not there
 */
export function searchSortedKey(sorted: readonly Uint8Array[], key: Uint8Array): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const c = compareKeys(sorted[mid] as Uint8Array, key);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}
