import { compareKeys, formatKey, InvalidArgumentError } from '@tikv/common';
import type { KeyRange } from './pd-types.js';

/**
 * Refuses the ranges PD's `BatchScanRegions` would refuse, before sending them: a range that
 * ends before it starts, or one that starts before the previous one ends (unsorted or
 * overlapping; an unbounded range must come last).
 *
 * @param ranges - the ranges as the caller gave them
 * @throws InvalidArgumentError naming the offending range
 * @internal
 */
export function checkScanRanges(ranges: readonly KeyRange[]): void {
  if (!Array.isArray(ranges)) throw new InvalidArgumentError(`ranges must be an array, got ${typeof ranges}`);
  let prevEnd: Uint8Array | undefined;
  for (let i = 0; i < ranges.length; i++) {
    const { startKey, endKey } = ranges[i]!;
    if (endKey.length > 0 && compareKeys(startKey, endKey) > 0) {
      throw new InvalidArgumentError(
        `ranges[${i}] starts at ${formatKey(startKey)} after its end ${formatKey(endKey)}`,
      );
    }
    if (prevEnd !== undefined && (prevEnd.length === 0 || compareKeys(startKey, prevEnd) < 0)) {
      throw new InvalidArgumentError(
        `ranges[${i}] starts at ${formatKey(startKey)} before ranges[${i - 1}] ends at ` +
          `${prevEnd.length === 0 ? 'the end of the key space' : formatKey(prevEnd)}: ranges must be sorted and must not overlap`,
      );
    }
    prevEnd = endKey;
  }
}
