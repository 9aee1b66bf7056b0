import { type BytesLike, checkBoundKey, compareKeys, invalidArgument } from '@tikv/common';

/** The checked bounds of a scan: `end` empty (no upper bound) or not below `start`. @internal */
export function scanRange(start: BytesLike, end: BytesLike): [Uint8Array, Uint8Array] {
  const lower = checkBoundKey(start, 'start');
  const upper = checkBoundKey(end, 'end');
  if (upper.length > 0 && compareKeys(lower, upper) > 0) {
    throw invalidArgument('end', 'a key >= start, or empty for no upper bound', end);
  }
  return [lower, upper];
}

/** The checked `limit` of a scan (none: unbounded). @internal */
export function scanLimit(limit: number | undefined): number {
  if (limit === undefined) return Number.POSITIVE_INFINITY;
  if (!Number.isSafeInteger(limit) || limit < 1)
    throw invalidArgument('options.limit', 'an integer >= 1', limit);
  return limit;
}
