import { type Backoffer, compareKeys, nextKey } from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import { throwIfPairError, throwIfStorageError } from './raw-errors.js';
import type { KvPair, RawChecksum } from './raw-types.js';
import type { RegionExecutor } from './region-executor.js';

const EMPTY = new Uint8Array(0);

/** What one scan request needs besides its bounds. @internal */
export interface ScanShape {
  readonly keyOnly: boolean;
  readonly cf: string;
}

function toPairs(kvs: readonly kvrpcpb.KvPair[], out: KvPair[]): void {
  throwIfPairError(kvs);
  for (const p of kvs) out.push({ key: p.key, value: p.value ?? EMPTY });
}

/**
 * One RawScan request in the region of `start` (forward) or the region ending at `start`
 * (reverse), after region-error retries.
 *
 * @returns the pairs and the region's bounds
 * @internal
 */
export async function scanOneRegion(
  exec: RegionExecutor,
  bo: Backoffer,
  start: Uint8Array,
  end: Uint8Array,
  limit: number,
  reverse: boolean,
  shape: ScanShape,
): Promise<{ pairs: KvPair[]; regionStart: Uint8Array; regionEnd: Uint8Array }> {
  const {
    response: { value },
    location,
  } = await exec.sendToKey(bo, start, reverse, () => ({
    $case: 'RawScan' as const,
    value: {
      context: undefined,
      startKey: start,
      endKey: end,
      limit,
      keyOnly: shape.keyOnly,
      cf: shape.cf,
      reverse,
    },
  }));
  const pairs: KvPair[] = [];
  toPairs(value.kvs, pairs);
  return { pairs, regionStart: location.startKey, regionEnd: location.endKey };
}

/**
 * client-go `Scan`: `[start, end)` region by region, up to `limit` pairs, ascending.
 *
 * @internal
 */
export async function scanForward(
  exec: RegionExecutor,
  bo: Backoffer,
  startKey: Uint8Array,
  end: Uint8Array,
  limit: number,
  shape: ScanShape,
): Promise<KvPair[]> {
  const out: KvPair[] = [];
  let start = startKey;
  while (out.length < limit && (end.length === 0 || compareKeys(start, end) < 0)) {
    const r = await scanOneRegion(exec, bo, start, end, limit - out.length, false, shape);
    out.push(...r.pairs);
    start = r.regionEnd;
    if (start.length === 0) break;
  }
  return out;
}

/**
 * client-go `ReverseScan`: keys `< start` and `>= end`, descending, region by region.
 * An empty `start` scans nothing (as in client-go); an empty `end` is unbounded.
 *
 * @internal
 */
export async function scanReverse(
  exec: RegionExecutor,
  bo: Backoffer,
  startKey: Uint8Array,
  end: Uint8Array,
  limit: number,
  shape: ScanShape,
): Promise<KvPair[]> {
  const out: KvPair[] = [];
  let start = startKey;
  while (out.length < limit && compareKeys(start, end) > 0) {
    const r = await scanOneRegion(exec, bo, start, end, limit - out.length, true, shape);
    out.push(...r.pairs);
    start = r.regionStart;
    if (start.length === 0) break;
  }
  return out;
}

/**
 * Pages through a range: at most `pageSize` pairs per request, moving to the next region
 * when one is exhausted. Each page gets its own backoffer from `newBackoffer`.
 *
 * @internal
 */
export async function* scanPages(
  exec: RegionExecutor,
  newBackoffer: () => Backoffer,
  startKey: Uint8Array,
  endKey: Uint8Array,
  pageSize: number,
  reverse: boolean,
  shape: ScanShape,
): AsyncGenerator<KvPair[], void, undefined> {
  let start = startKey;
  const more = (): boolean =>
    reverse ? compareKeys(start, endKey) > 0 : endKey.length === 0 || compareKeys(start, endKey) < 0;
  while (more()) {
    const r = await scanOneRegion(exec, newBackoffer(), start, endKey, pageSize, reverse, shape);
    if (r.pairs.length > 0) yield r.pairs;
    const last = r.pairs[r.pairs.length - 1];
    if (last !== undefined && r.pairs.length >= pageSize) {
      // The region may hold more: continue right after (or below) the last key.
      start = reverse ? last.key : nextKey(last.key);
      continue;
    }
    start = reverse ? r.regionStart : r.regionEnd;
    if (start.length === 0) return;
  }
}

/**
 * client-go `Checksum`: one RawChecksum per region over `[start, end)`, XOR-ing the CRCs and
 * summing the counts.
 *
 * @internal
 */
export async function checksumRange(
  exec: RegionExecutor,
  bo: Backoffer,
  startKey: Uint8Array,
  end: Uint8Array,
): Promise<RawChecksum> {
  let crc64Xor = 0n;
  let totalKvs = 0n;
  let totalBytes = 0n;
  let start = startKey;
  while (end.length === 0 || compareKeys(start, end) < 0) {
    const {
      response: { value },
      location,
    } = await exec.sendToKey(bo, start, false, () => ({
      $case: 'RawChecksum' as const,
      value: {
        context: undefined,
        algorithm: kvrpcpb.ChecksumAlgorithm.Crc64_Xor,
        ranges: [{ startKey: start, endKey: end }],
      },
    }));
    throwIfStorageError(value.error);
    crc64Xor ^= value.checksum;
    totalKvs += value.totalKvs;
    totalBytes += value.totalBytes;
    start = location.endKey;
    if (start.length === 0) break;
  }
  return { crc64Xor, totalKvs, totalBytes };
}

/**
 * client-go `DeleteRange`: one RawDeleteRange per region, each clipped to the region's end.
 *
 * @internal
 */
export async function deleteRangeWalk(
  exec: RegionExecutor,
  bo: Backoffer,
  startKey: Uint8Array,
  end: Uint8Array,
  cf: string,
  maxExecutionDurationMs: number,
): Promise<void> {
  let start = startKey;
  while (end.length === 0 || compareKeys(start, end) < 0) {
    let actualEnd = end;
    const {
      response: { value },
    } = await exec.sendToKey(
      bo,
      start,
      false,
      (loc) => {
        actualEnd =
          loc.endKey.length > 0 && (end.length === 0 || compareKeys(loc.endKey, end) < 0) ? loc.endKey : end;
        return {
          $case: 'RawDeleteRange' as const,
          value: { context: undefined, startKey: start, endKey: actualEnd, cf },
        };
      },
      { maxExecutionDurationMs },
    );
    throwIfStorageError(value.error);
    if (actualEnd.length === 0) break;
    start = actualEnd;
  }
}
