import type { RegionVerId } from '@tikv/region-cache';

/** One request's worth of work for one region. */
export interface RegionBatch<T> {
  /** The region version the items were located in. */
  readonly region: RegionVerId;
  /** The items (keys or pairs), in input order. */
  readonly items: T[];
}

/**
 * Cuts one region's items into batches of at most `maxCount` items (client-go
 * `AppendKeyBatches` with `rawBatchPairCount`).
 *
 * @param out - batches are appended here
 * @param region - the region
 * @param items - the region's items
 * @param maxCount - most items per batch (>= 1)
 * @internal
 */
export function appendCountBatches<T>(
  out: RegionBatch<T>[],
  region: RegionVerId,
  items: readonly T[],
  maxCount: number,
): void {
  for (let i = 0; i < items.length; i += maxCount) {
    out.push({ region, items: items.slice(i, i + maxCount) });
  }
}

/**
 * Cuts one region's items into batches by size (client-go `AppendBatches` with
 * `rawBatchPutSize`): a batch is closed once its keys and values reach `maxBytes`, so every
 * batch holds at least one item and at most one item past the limit.
 *
 * @param out - batches are appended here
 * @param region - the region
 * @param items - the region's items
 * @param sizeOf - bytes an item counts for
 * @param maxBytes - the size at which a batch is closed
 * @internal
 */
export function appendSizeBatches<T>(
  out: RegionBatch<T>[],
  region: RegionVerId,
  items: readonly T[],
  sizeOf: (item: T) => number,
  maxBytes: number,
): void {
  let current: T[] = [];
  let size = 0;
  for (const item of items) {
    if (size >= maxBytes) {
      out.push({ region, items: current });
      current = [];
      size = 0;
    }
    current.push(item);
    size += sizeOf(item);
  }
  if (current.length > 0) out.push({ region, items: current });
}
