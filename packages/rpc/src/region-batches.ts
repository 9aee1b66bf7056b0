import { compareKeys, InvalidArgumentError, keysEqual, type RequestOptions } from '@tikv/common';
import { type KeyLocation, locationContains, type RegionVerId } from '@tikv/region-cache';
import type { KeyLocator } from './key-locator.js';

/** The items of one region, from {@link groupByRegion}. */
export interface RegionGroup<T> {
  /** The region the items were located in. */
  readonly location: KeyLocation;
  /** The items, in input order. */
  readonly items: readonly T[];
}

/** One request's worth of work for one region. */
export interface RegionBatch<T> {
  /** The region version the items were located in. */
  readonly region: RegionVerId;
  /** The items, in input order. */
  readonly items: readonly T[];
  /** Whether the batch holds the primary key of a primary-first run (client-go `batch.isPrimary`). */
  readonly primary: boolean;
}

/** Cut a region's items into batches of at most `maxCount` items (client-go `AppendKeyBatches`). */
export interface CountLimit {
  /** Most items per batch (>= 1). */
  readonly maxCount: number;
}

/**
 * Cut a region's items into batches by size (client-go `AppendBatches`): a batch is closed once
 * its items reach `maxBytes`, so every batch holds at least one item and at most one item past
 * the limit.
 */
export interface SizeLimit<T> {
  /** The size at which a batch is closed, in bytes (>= 1). */
  readonly maxBytes: number;
  /** The bytes an item counts for (raw batch put and 2PC prewrite: key plus value). */
  readonly sizeOf: (item: T) => number;
}

/** How a region's items are cut into batches. */
export type BatchLimit<T> = CountLimit | SizeLimit<T>;

/** Options of {@link groupByRegion}. */
export interface GroupByRegionOptions<T> extends RequestOptions {
  /** An item's key. */
  readonly keyOf: (item: T) => Uint8Array;
  /**
   * The items are in ascending key order (as `sortKeys` leaves keys, or a transaction's
   * mutations): only the last key is checked against the first one's region, and region
   * boundaries are found by binary search. Unsorted items given as sorted are grouped wrongly
   * (TiKV then answers KeyNotInRegion). @defaultValue false
   */
  readonly sorted?: boolean | undefined;
}

/**
 * Groups items by the region of their keys (client-go `GroupKeysByRegion`). A key is located
 * only when it falls outside the region of the key before it, so sorted keys cost one lookup per
 * region, and items that all fall in one region come back as one group sharing the input array.
 * Groups are in order of first appearance; items keep their input order within a group.
 *
 * @param locator - finds a key's region
 * @param items - the items
 * @param options - the key of an item, the lookups' signal and timeout
 * @returns one group per region version
 */
export async function groupByRegion<T>(
  locator: KeyLocator,
  items: readonly T[],
  options: GroupByRegionOptions<T>,
): Promise<RegionGroup<T>[]> {
  const { keyOf } = options;
  const first = items[0];
  if (first === undefined) return [];
  const locateOptions = options.signal === undefined && options.timeoutMs === undefined ? undefined : options;
  const location = await locator.locateKey(keyOf(first), locateOptions);
  const sorted = options.sorted === true;
  return (
    oneRegion(items, keyOf, location, sorted) ??
    groupFrom(locator, items, keyOf, location, locateOptions, sorted)
  );
}

/**
 * The common case (a batch that fits one region), decided without a lookup: the items as one
 * group sharing the input array when every key falls in the first one's region. For items in
 * ascending key order only the last key needs checking.
 *
 * @param location - the region of the first item's key
 * @param sorted - the items are in ascending key order
 * @returns the group, or undefined when some key lies elsewhere
 * @internal
 */
export function oneRegion<T>(
  items: readonly T[],
  keyOf: (item: T) => Uint8Array,
  location: KeyLocation,
  sorted: boolean,
): RegionGroup<T>[] | undefined {
  if (sorted) {
    const last = items[items.length - 1] as T;
    return locationContains(location, keyOf(last)) ? [{ location, items }] : undefined;
  }
  for (let i = 1; i < items.length; i++)
    if (!locationContains(location, keyOf(items[i] as T))) return undefined;
  return [{ location, items }];
}

/** The index of the first of `items[from..]` whose key is not below `end` (empty: none is). */
function firstAtOrAfter<T>(
  items: readonly T[],
  keyOf: (item: T) => Uint8Array,
  from: number,
  end: Uint8Array,
): number {
  if (end.length === 0) return items.length;
  let lo = from;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareKeys(keyOf(items[mid] as T), end) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The groups of items in ascending key order, the first item's region already known: each
 * region's items are a run, found by binary search on the region's end key.
 */
async function groupSorted<T>(
  locator: KeyLocator,
  items: readonly T[],
  keyOf: (item: T) => Uint8Array,
  location: KeyLocation,
  locateOptions: RequestOptions | undefined,
): Promise<RegionGroup<T>[]> {
  const groups: RegionGroup<T>[] = [];
  let loc = location;
  let start = 0;
  for (;;) {
    // A cache that moved on between lookups may hand back a region that does not hold the
    // key: at least one item per run keeps the walk going (TiKV's region error sorts it out).
    const end = Math.max(start + 1, firstAtOrAfter(items, keyOf, start, loc.endKey));
    groups.push({
      location: loc,
      items: start === 0 && end === items.length ? items : items.slice(start, end),
    });
    if (end >= items.length) return groups;
    start = end;
    loc = await locator.locateKey(keyOf(items[start] as T), locateOptions);
  }
}

/**
 * The groups of items spread over several regions, the first item's region already known.
 *
 * @param sorted - the items are in ascending key order: each region's items are a run
 * @internal
 */
export async function groupFrom<T>(
  locator: KeyLocator,
  items: readonly T[],
  keyOf: (item: T) => Uint8Array,
  location: KeyLocation,
  locateOptions: RequestOptions | undefined,
  sorted: boolean,
): Promise<RegionGroup<T>[]> {
  if (sorted) return groupSorted(locator, items, keyOf, location, locateOptions);
  const head: { location: KeyLocation; items: T[] } = { location, items: [] };
  const groups = [head];
  // By region id; a second version of one id (the cache changed under the lookups) gets a group
  // of its own.
  const byId = new Map<bigint, { location: KeyLocation; items: T[] }>([[location.region.id, head]]);
  let current = head;
  for (const item of items) {
    const key = keyOf(item);
    if (!locationContains(current.location, key)) {
      const loc = await locator.locateKey(key, locateOptions);
      let group = byId.get(loc.region.id);
      if (group === undefined || !sameVersion(group.location.region, loc.region)) {
        group = { location: loc, items: [] };
        byId.set(loc.region.id, group);
        groups.push(group);
      }
      current = group;
    }
    current.items.push(item);
  }
  return groups;
}

function sameVersion(a: RegionVerId, b: RegionVerId): boolean {
  return a === b || (a.id === b.id && a.version === b.version && a.confVer === b.confVer);
}

/**
 * Checks a {@link BatchLimit}.
 *
 * @throws InvalidArgumentError naming the bad field
 * @internal
 */
export function checkBatchLimit<T>(limit: BatchLimit<T>): void {
  if ('maxCount' in limit) {
    if (!(Number.isInteger(limit.maxCount) && limit.maxCount >= 1)) {
      throw new InvalidArgumentError(`limit.maxCount must be an integer >= 1, got ${String(limit.maxCount)}`);
    }
    return;
  }
  if (!(Number.isInteger(limit.maxBytes) && limit.maxBytes >= 1)) {
    throw new InvalidArgumentError(`limit.maxBytes must be an integer >= 1, got ${String(limit.maxBytes)}`);
  }
}

/**
 * Cuts one region's items into batches and appends them to `out`.
 *
 * @param out - batches are appended here
 * @param region - the region
 * @param items - the region's items
 * @param limit - by count or by size
 * @param isPrimary - tells whether a batch holds the primary key; undefined outside a
 *   primary-first run
 * @internal
 */
export function appendBatches<T>(
  out: RegionBatch<T>[],
  region: RegionVerId,
  items: readonly T[],
  limit: BatchLimit<T>,
  isPrimary: ((items: readonly T[]) => boolean) | undefined,
): void {
  const first = out.length;
  if ('maxCount' in limit) {
    const max = limit.maxCount;
    if (items.length <= max) out.push({ region, items, primary: false });
    else
      for (let i = 0; i < items.length; i += max)
        out.push({ region, items: items.slice(i, i + max), primary: false });
  } else {
    const { maxBytes, sizeOf } = limit;
    let start = 0;
    let size = 0;
    for (let i = 0; i < items.length; i++) {
      size += sizeOf(items[i] as T);
      if (size >= maxBytes) {
        const part = start === 0 && i === items.length - 1 ? items : items.slice(start, i + 1);
        out.push({ region, items: part, primary: false });
        start = i + 1;
        size = 0;
      }
    }
    if (start < items.length)
      out.push({ region, items: start === 0 ? items : items.slice(start), primary: false });
  }
  if (isPrimary === undefined) return;
  for (let i = first; i < out.length; i++) {
    const b = out[i] as RegionBatch<T>;
    if (isPrimary(b.items)) out[i] = { region, items: b.items, primary: true };
  }
}

/**
 * Whether some item's key equals `primaryKey`.
 *
 * @internal
 */
export function holdsKey<T>(
  items: readonly T[],
  keyOf: (item: T) => Uint8Array,
  primaryKey: Uint8Array,
): boolean {
  for (const item of items) if (keysEqual(keyOf(item), primaryKey)) return true;
  return false;
}
