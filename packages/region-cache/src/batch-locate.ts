import { compareKeys } from '@tikv/common';
import type { KeyLocation } from './key-location.js';
import type { SourceKeyRange } from './region-source.js';

/** How many ranges one batch scan sends at most (client-go: 16 × `defaultRegionsPerBatch`). */
export const MAX_RANGES_PER_BATCH_SCAN = 16 * 128;

/** Whether `key` is in `[start, end)`. */
function holds(loc: SourceKeyRange, key: Uint8Array): boolean {
  return compareKeys(loc.startKey, key) <= 0 && (loc.endKey.length === 0 || compareKeys(key, loc.endKey) < 0);
}

/**
 * Whether a range ending at `end` (exclusive, empty: +infinity) lies inside `loc` as far as its
 * end goes: `startKey < end <= endKey` (client-go `ContainsByEnd`).
 * @internal
 */
export function containsByEnd(loc: SourceKeyRange, end: Uint8Array): boolean {
  if (end.length === 0) return loc.endKey.length === 0;
  return compareKeys(loc.startKey, end) < 0 && (loc.endKey.length === 0 || compareKeys(end, loc.endKey) <= 0);
}

/**
 * Whether the regions a batch scan returned leave a hole in `ranges` (client-go
 * `regionsHaveGapInRanges`). A full page (`regions.length === limit`) only has to be contiguous.
 * @internal
 */
export function regionsHaveGapInRanges(
  ranges: readonly SourceKeyRange[],
  regions: readonly SourceKeyRange[],
  limit: number,
): boolean {
  if (ranges.length === 0) return false;
  if (regions.length === 0) return true;
  let idx = 0;
  let check = (ranges[0] as SourceKeyRange).startKey;
  for (const r of regions) {
    if (compareKeys(r.startKey, check) > 0) return true;
    if (r.endKey.length === 0) return false;
    check = r.endKey;
    for (;;) {
      const range = ranges[idx] as SourceKeyRange;
      if (range.endKey.length === 0 || compareKeys(check, range.endKey) < 0) break;
      idx++;
      if (idx === ranges.length) return false;
    }
    const range = ranges[idx] as SourceKeyRange;
    if (compareKeys(check, range.startKey) < 0) check = range.startKey;
  }
  if (limit > 0 && regions.length === limit) return false;
  if (idx < ranges.length - 1) return true;
  if (check.length === 0) return false;
  const last = ranges[idx] as SourceKeyRange;
  if (last.endKey.length === 0) return true;
  return compareKeys(check, last.endKey) < 0;
}

/**
 * The part of sorted `ranges` after `splitKey` (client-go `rangesAfterKey`); the input is not
 * changed. An empty `splitKey` (+infinity) leaves nothing.
 * @internal
 */
export function rangesAfterKey(ranges: readonly SourceKeyRange[], splitKey: Uint8Array): SourceKeyRange[] {
  if (ranges.length === 0 || splitKey.length === 0) return [];
  const lastEnd = (ranges[ranges.length - 1] as SourceKeyRange).endKey;
  if (lastEnd.length > 0 && compareKeys(splitKey, lastEnd) >= 0) return [];
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const end = (ranges[mid] as SourceKeyRange).endKey;
    if (end.length === 0 || compareKeys(end, splitKey) > 0) hi = mid;
    else lo = mid + 1;
  }
  const rest = ranges.slice(lo);
  const first = rest[0] as SourceKeyRange;
  if (compareKeys(splitKey, first.startKey) > 0) rest[0] = { startKey: splitKey, endKey: first.endKey };
  return rest;
}

/**
 * Merges regions found in the cache with regions loaded for the cache's holes, in key order
 * (client-go `batchLocateRangesMerger`): a cached region that loaded regions cover entirely is
 * left out (the loaded one is newer); one they only overlap stays.
 * @internal
 */
export class BatchLocateMerger {
  private lastEndKey: Uint8Array | undefined;
  private cachedIdx = 0;
  private readonly out: KeyLocation[] = [];

  /** @param cached - the cached regions, in key order */
  constructor(private readonly cached: readonly KeyLocation[]) {}

  private coveredByLoaded(loc: KeyLocation): boolean {
    return this.lastEndKey !== undefined && compareKeys(this.lastEndKey, loc.endKey) >= 0;
  }

  /** Adds a loaded region (loaded regions arrive in key order). */
  appendLoaded(loc: KeyLocation): void {
    if (loc.startKey.length === 0) {
      this.out.push(loc);
    } else if (this.lastEndKey !== undefined && compareKeys(this.lastEndKey, loc.startKey) >= 0) {
      this.out.push(loc);
    } else {
      for (; this.cachedIdx < this.cached.length; this.cachedIdx++) {
        const c = this.cached[this.cachedIdx] as KeyLocation;
        if (this.coveredByLoaded(c)) continue;
        if (compareKeys(c.startKey, loc.startKey) >= 0) break;
        this.out.push(c);
      }
      this.out.push(loc);
    }
    if (loc.endKey.length === 0) this.cachedIdx = this.cached.length;
    else this.lastEndKey = loc.endKey;
  }

  /** @returns every location in key order */
  build(): KeyLocation[] {
    for (; this.cachedIdx < this.cached.length; this.cachedIdx++) {
      const c = this.cached[this.cachedIdx] as KeyLocation;
      if (!this.coveredByLoaded(c)) this.out.push(c);
    }
    return this.out;
  }
}

/**
 * The regions covering sorted, non-overlapping `ranges` (client-go `BatchLocateKeyRanges`):
 * cached regions first (each range is walked while the cache has it contiguously), then the
 * holes are loaded with batch scans of at most {@link MAX_RANGES_PER_BATCH_SCAN} ranges, page
 * by page, and both are merged in key order.
 *
 * @param ranges - sorted, non-overlapping ranges
 * @param tryLocate - cache-only lookup of a key
 * @param loadBatch - loads the regions of some ranges (at least one region, in key order)
 * @internal
 */
export async function batchLocateRanges(
  ranges: readonly SourceKeyRange[],
  tryLocate: (key: Uint8Array) => KeyLocation | undefined,
  loadBatch: (ranges: readonly SourceKeyRange[]) => Promise<KeyLocation[]>,
): Promise<KeyLocation[]> {
  const uncached: SourceKeyRange[] = [];
  const cached: KeyLocation[] = [];
  let last: KeyLocation | undefined;
  for (const range of ranges) {
    let start = range.startKey;
    const end = range.endKey;
    if (last !== undefined) {
      if (containsByEnd(last, end)) continue;
      if (holds(last, start)) start = last.endKey;
    }
    let loc = tryLocate(start);
    last = loc;
    let covered = false;
    while (loc !== undefined) {
      cached.push(loc);
      last = loc;
      if (containsByEnd(loc, end)) {
        covered = true;
        break;
      }
      start = loc.endKey;
      loc = tryLocate(start);
    }
    if (!covered) uncached.push({ startKey: start, endKey: end });
  }
  const merger = new BatchLocateMerger(cached);
  let rest: SourceKeyRange[] = uncached;
  while (rest.length > 0) {
    const send = rest.length > MAX_RANGES_PER_BATCH_SCAN ? rest.slice(0, MAX_RANGES_PER_BATCH_SCAN) : rest;
    const loaded = await loadBatch(send);
    for (const loc of loaded) merger.appendLoaded(loc);
    rest = rangesAfterKey(rest, (loaded[loaded.length - 1] as KeyLocation).endKey);
  }
  return merger.build();
}
