import { type Backoffer, compareKeys, nextKey } from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import type { RangeStep, RegionExecutor, RegionRequestOptions, RegionSpan } from '@tikv/rpc';
import { throwIfPairError, throwIfStorageError } from './raw-errors.js';
import type { KvPair, RawChecksum } from './raw-types.js';

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
 * The RawScan request for one region: from the walk's position (forward: the span's start;
 * reverse: its end, the exclusive upper bound) to the walk's bound, as client-go sends it.
 */
function scanRequest(span: RegionSpan, end: Uint8Array, limit: number, reverse: boolean, shape: ScanShape) {
  return {
    $case: 'RawScan' as const,
    value: {
      context: undefined,
      startKey: reverse ? span.endKey : span.startKey,
      endKey: end,
      limit,
      keyOnly: shape.keyOnly,
      cf: shape.cf,
      reverse,
    },
  };
}

/**
 * client-go `Scan` and `ReverseScan`: region by region, up to `limit` pairs. Forward reads
 * `[start, end)` ascending; reverse reads keys `< start` and `>= end` descending, and an empty
 * `start` reads nothing (as in client-go); an empty `end` is unbounded either way.
 *
 * @internal
 */
export async function scanRange(
  exec: RegionExecutor,
  bo: Backoffer,
  start: Uint8Array,
  end: Uint8Array,
  limit: number,
  reverse: boolean,
  shape: ScanShape,
): Promise<KvPair[]> {
  const out: KvPair[] = [];
  if (limit === 0 || (reverse && start.length === 0)) return out;
  await exec.walkRange(bo, {
    start,
    end,
    reverse,
    build: (span) => scanRequest(span, end, limit - out.length, reverse, shape),
    onResponse: (response) => {
      toPairs(response.value.kvs, out);
      return out.length < limit ? 'next' : 'stop';
    },
  });
  return out;
}

/**
 * Pages through a range: at most `pageSize` pairs per request, moving to the next region when
 * one is exhausted. Each page gets its own backoffer from `newBackoffer`.
 *
 * @internal
 */
export async function* scanPages(
  exec: RegionExecutor,
  newBackoffer: () => Backoffer,
  startKey: Uint8Array,
  end: Uint8Array,
  pageSize: number,
  reverse: boolean,
  shape: ScanShape,
): AsyncGenerator<KvPair[], void, undefined> {
  const more = (key: Uint8Array): boolean =>
    reverse ? compareKeys(key, end) > 0 : end.length === 0 || compareKeys(key, end) < 0;
  // Reverse, an empty start reads nothing (as in client-go): `more` refuses it.
  let start: Uint8Array | undefined = startKey;
  while (start !== undefined && more(start)) {
    const step: RangeStep<ReturnType<typeof scanRequest>> = await exec.sendRangeStep(
      newBackoffer(),
      { start, end, reverse },
      (span) => scanRequest(span, end, pageSize, reverse, shape),
    );
    const pairs: KvPair[] = [];
    toPairs(step.response.value.kvs, pairs);
    if (pairs.length > 0) yield pairs;
    const last = pairs[pairs.length - 1];
    // A full page: the region may hold more, right after (or below) the last key.
    if (last !== undefined && pairs.length >= pageSize) start = reverse ? last.key : nextKey(last.key);
    else start = step.next;
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
  start: Uint8Array,
  end: Uint8Array,
): Promise<RawChecksum> {
  let crc64Xor = 0n;
  let totalKvs = 0n;
  let totalBytes = 0n;
  await exec.walkRange(bo, {
    start,
    end,
    build: (span) => ({
      $case: 'RawChecksum' as const,
      value: {
        context: undefined,
        algorithm: kvrpcpb.ChecksumAlgorithm.Crc64_Xor,
        ranges: [{ startKey: span.startKey, endKey: end }],
      },
    }),
    onResponse: ({ value }) => {
      throwIfStorageError(value.error);
      crc64Xor ^= value.checksum;
      totalKvs += value.totalKvs;
      totalBytes += value.totalBytes;
      return 'next';
    },
  });
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
  start: Uint8Array,
  end: Uint8Array,
  cf: string,
  request: RegionRequestOptions,
): Promise<void> {
  await exec.walkRange(bo, {
    start,
    end,
    request,
    build: (span) => ({
      $case: 'RawDeleteRange' as const,
      value: { context: undefined, startKey: span.startKey, endKey: span.endKey, cf },
    }),
    onResponse: ({ value }) => {
      throwIfStorageError(value.error);
      return 'next';
    },
  });
}
