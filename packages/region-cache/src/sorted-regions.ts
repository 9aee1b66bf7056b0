import { keyToLatin1 } from '@tikv/common';
import type { CachedRegion } from './cached-region.js';
import { compareKeyStrings } from './key-string.js';
import { type BTree, createBTree } from './sorted-btree-interop.js';

function holds(r: CachedRegion, k: string): boolean {
  return r.startStr <= k && (r.endStr === '' || k < r.endStr);
}

function holdsByEnd(r: CachedRegion, k: string): boolean {
  if (k === '') return r.endStr === '';
  return r.startStr < k && (r.endStr === '' || k <= r.endStr);
}

/**
 * Cached regions ordered by start key, in a B+ tree (client-go `SortedRegions`).
 * Keys are stored as Latin-1 strings so the tree compares them natively.
 * @internal
 */
export class SortedRegions {
  private readonly tree: BTree<string, CachedRegion> = createBTree<string, CachedRegion>(
    compareKeyStrings,
    64,
  );
  private readonly pair: [string, CachedRegion] = ['', undefined as unknown as CachedRegion];

  /** How many regions the tree holds. */
  get size(): number {
    return this.tree.size;
  }

  /** Inserts or replaces the region at its start key; returns the one it replaced. */
  replaceOrInsert(region: CachedRegion): CachedRegion | undefined {
    const old = this.tree.get(region.startStr);
    this.tree.set(region.startStr, region, true);
    return old;
  }

  /** Removes the entry at this start key when it holds exactly this region. */
  delete(region: CachedRegion): boolean {
    if (this.tree.get(region.startStr) !== region) return false;
    return this.tree.delete(region.startStr);
  }

  /**
   * The cached region holding `key`, or, for an end key, the region with
   * `startKey < key <= endKey` (an empty end key means +infinity: the last region).
   */
  searchByKey(key: Uint8Array, isEndKey: boolean): CachedRegion | undefined {
    const k = keyToLatin1(key);
    if (!isEndKey) {
      const found = this.tree.getPairOrNextLower(k, this.pair);
      if (found === undefined) return undefined;
      return holds(found[1], k) ? found[1] : undefined;
    }
    let region: CachedRegion | undefined;
    if (k === '') {
      const last = this.tree.maxKey();
      region = last === undefined ? undefined : this.tree.get(last);
    } else {
      region = this.tree.nextLowerPair(k, this.pair)?.[1];
    }
    return region !== undefined && holdsByEnd(region, k) ? region : undefined;
  }

  /**
   * Removes the regions overlapping `region`'s range, unless one of them has a
   * newer version (then `region` is stale and nothing is removed). Unlike
   * client-go, a region that starts before `region` and reaches into it is
   * removed too, so no lookup keeps landing on it.
   */
  removeIntersecting(region: CachedRegion): { removed: CachedRegion[]; stale: boolean } {
    const candidates: CachedRegion[] = [];
    const prev = this.tree.nextLowerPair(region.startStr, this.pair)?.[1];
    if (prev !== undefined && (prev.endStr === '' || prev.endStr > region.startStr)) candidates.push(prev);
    for (const r of this.tree.values(region.startStr)) {
      if (region.endStr !== '' && r.startStr >= region.endStr) break;
      candidates.push(r);
    }
    for (const r of candidates) {
      if (r.meta.epoch.version > region.meta.epoch.version) return { removed: [], stale: true };
    }
    for (const r of candidates) this.tree.delete(r.startStr);
    return { removed: candidates, stale: false };
  }

  /** Every region in key order from `startKey` (for sweeps). */
  valuesFrom(startKey: Uint8Array): IterableIterator<CachedRegion> {
    return this.tree.values(keyToLatin1(startKey));
  }

  /** Drops every region. */
  clear(): void {
    this.tree.clear();
  }
}
