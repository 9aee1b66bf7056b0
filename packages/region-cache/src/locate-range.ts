import { keyToLatin1 } from '@tikv/common';
import type { CachedRegion } from './cached-region.js';
import type { KeyLocation } from './key-location.js';

/**
 * The regions covering `[startKey, endKey)` (client-go `LocateKeyRange`):
 * walks cached regions while they are contiguous, and loads a batch where the
 * cache has a hole.
 *
 * @internal
 */
export async function coverRange(
  startKey: Uint8Array,
  endKey: Uint8Array,
  tryLocate: (key: Uint8Array) => KeyLocation | undefined,
  loadBatch: (from: Uint8Array) => Promise<CachedRegion[]>,
): Promise<KeyLocation[]> {
  const end = keyToLatin1(endKey);
  const reachesEnd = (regionEnd: Uint8Array): boolean =>
    regionEnd.length === 0 || (end !== '' && keyToLatin1(regionEnd) >= end);
  const out: KeyLocation[] = [];
  let start = startKey;
  for (;;) {
    for (let loc = tryLocate(start); loc !== undefined; loc = tryLocate(start)) {
      out.push(loc);
      if (reachesEnd(loc.endKey)) return out;
      start = loc.endKey;
    }
    const batch = await loadBatch(start);
    for (const r of batch) out.push(r.location());
    const last = batch[batch.length - 1] as CachedRegion;
    if (reachesEnd(last.endKey)) return out;
    start = last.endKey;
  }
}
