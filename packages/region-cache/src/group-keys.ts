import type { RequestOptions } from '@tikv/common';
import { type KeyLocation, locationContains } from './key-location.js';
import { type RegionVerId, regionVerIdKey } from './region-ver-id.js';

/** The keys of one region, from {@link RegionCache.groupKeysByRegion}. */
export interface RegionKeyGroup {
  /** The region the keys belong to. */
  readonly location: KeyLocation;
  /** The keys, in input order. */
  readonly keys: Uint8Array[];
}

/** The answer of {@link RegionCache.groupKeysByRegion}. */
export interface GroupedKeys {
  /** One group per region, in order of first appearance. */
  readonly groups: RegionKeyGroup[];
  /** The region of the first key kept (a transaction's primary), if any. */
  readonly first: RegionVerId | undefined;
}

/** Options of {@link RegionCache.groupKeysByRegion}. */
export interface GroupKeysOptions extends RequestOptions {
  /** Leaves out a key when it returns true; called when a key opens a new region. */
  readonly filter?: (key: Uint8Array, regionStartKey: Uint8Array) => boolean;
}

/**
 * Splits keys by region (client-go `GroupKeysByRegion`): a key opens a lookup
 * only when it falls outside the previous key's region, so sorted keys cost
 * one lookup per region.
 *
 * @param keys - the keys
 * @param locate - finds a key's region
 * @param filter - leaves out a key that opens a region when it returns true
 * @returns the groups and the region of the first key
 * @internal
 */
export async function groupKeys(
  keys: readonly Uint8Array[],
  locate: (key: Uint8Array) => Promise<KeyLocation>,
  filter: GroupKeysOptions['filter'],
): Promise<GroupedKeys> {
  const byRegion = new Map<string, RegionKeyGroup>();
  const groups: RegionKeyGroup[] = [];
  let first: RegionVerId | undefined;
  let last: KeyLocation | undefined;
  let lastGroup: RegionKeyGroup | undefined;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as Uint8Array;
    if (last === undefined || lastGroup === undefined || !locationContains(last, k)) {
      last = await locate(k);
      if (filter?.(k, last.startKey) === true) {
        lastGroup = undefined;
        continue;
      }
      const tag = regionVerIdKey(last.region);
      lastGroup = byRegion.get(tag);
      if (lastGroup === undefined) {
        lastGroup = { location: last, keys: [] };
        byRegion.set(tag, lastGroup);
        groups.push(lastGroup);
      }
    }
    if (i === 0) first = last.region;
    lastGroup.keys.push(k);
  }
  return { groups, first };
}
