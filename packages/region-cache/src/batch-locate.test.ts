// Ports of client-go internal/locate/region_cache_test.go: TestBatchScanRegionsMerger,
// TestSplitKeyRanges, TestRangesAreCoveredCheck, and the gap check of TestScanRegionsWithGaps.
import { toBytes as b } from '@tikv/common';
import { BatchLocateMerger, containsByEnd, rangesAfterKey, regionsHaveGapInRanges } from './batch-locate.js';
import type { KeyLocation } from './key-location.js';
import type { SourceKeyRange } from './region-source.js';

const dec = new TextDecoder();

function toLocations(keys: string[]): KeyLocation[] {
  const out: KeyLocation[] = [];
  for (let i = 0; i < keys.length; i += 2) {
    out.push({
      region: { id: BigInt(i), confVer: 1n, version: 1n },
      startKey: b(keys[i]!),
      endKey: b(keys[i + 1]!),
      buckets: undefined,
    });
  }
  return out;
}

function toRanges(keys: string[]): SourceKeyRange[] {
  const out: SourceKeyRange[] = [];
  for (let i = 0; i < keys.length; i += 2) out.push({ startKey: b(keys[i]!), endKey: b(keys[i + 1]!) });
  return out;
}

function flat(ranges: readonly SourceKeyRange[]): string[] {
  return ranges.flatMap((r) => [dec.decode(r.startKey), dec.decode(r.endKey)]);
}

describe('TestBatchScanRegionsMerger', () => {
  const check = (uncached: string[], cached: string[], expected: string[]): void => {
    const merger = new BatchLocateMerger(toLocations(cached));
    for (const loc of toLocations(uncached)) merger.appendLoaded(loc);
    expect(flat(merger.build())).toEqual(expected);
  };
  it.each([
    [
      ['b', 'c', 'c', 'd'],
      ['a', 'b'],
      ['a', 'b', 'b', 'c', 'c', 'd'],
    ],
    [
      ['a', 'b', 'c', 'd'],
      ['b', 'c'],
      ['a', 'b', 'b', 'c', 'c', 'd'],
    ],
    [
      ['a', 'b', 'b', 'c'],
      ['c', 'd'],
      ['a', 'b', 'b', 'c', 'c', 'd'],
    ],
    [
      ['', ''],
      ['a', 'b', 'b', 'c'],
      ['', ''],
    ],
    [
      ['', 'b'],
      ['a', 'b', 'b', 'c'],
      ['', 'b', 'b', 'c'],
    ],
    [
      ['b', ''],
      ['a', 'b', 'b', 'c'],
      ['a', 'b', 'b', ''],
    ],
    // a loaded region covering a cached one replaces it
    [
      ['b', ''],
      ['a', 'b', 'c', 'd'],
      ['a', 'b', 'b', ''],
    ],
    [
      ['b', 'e'],
      ['a', 'b', 'c', 'd'],
      ['a', 'b', 'b', 'e'],
    ],
    [
      ['b', 'i'],
      ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'],
      ['a', 'b', 'b', 'i', 'i', 'j'],
    ],
    // overlapping: both are kept
    [
      ['b', 'd'],
      ['a', 'b', 'c', 'e'],
      ['a', 'b', 'b', 'd', 'c', 'e'],
    ],
    // covered by several loaded regions: dropped
    [
      ['b', 'd', 'd', 'f'],
      ['a', 'b', 'c', 'e'],
      ['a', 'b', 'b', 'd', 'd', 'f'],
    ],
    [
      ['b', 'd', 'd', 'e', 'e', 'g'],
      ['a', 'b', 'c', 'f'],
      ['a', 'b', 'b', 'd', 'd', 'e', 'e', 'g'],
    ],
    // loaded regions with a hole do not cover the cached region: kept
    [
      ['b', 'd', 'd', 'e', 'f', 'h'],
      ['a', 'b', 'c', 'g'],
      ['a', 'b', 'b', 'd', 'd', 'e', 'c', 'g', 'f', 'h'],
    ],
  ])('loaded %j, cached %j', (uncached, cached, expected) => check(uncached, cached, expected));
});

describe('TestSplitKeyRanges (rangesAfterKey)', () => {
  it.each([
    [['a', 'c'], 'a', ['a', 'c']],
    [['b', 'c'], 'a', ['b', 'c']],
    [['a', 'c'], 'b', ['b', 'c']],
    [['a', 'c'], 'c', []],
    [['a', 'c'], '', []],
    [['a', ''], 'b', ['b', '']],
    [['a', ''], '', []],
    [['a', 'b', 'c', 'f'], 'a1', ['a1', 'b', 'c', 'f']],
    [['a', 'b', 'c', 'f'], 'b', ['c', 'f']],
    [['a', 'b', 'c', 'f'], 'b1', ['c', 'f']],
    [['a', 'b', 'c', 'f'], 'c', ['c', 'f']],
    [['a', 'b', 'c', 'f'], 'd', ['d', 'f']],
  ])('%j after %j', (ranges, split, expected) => {
    const input = toRanges(ranges);
    const before = flat(input);
    expect(flat(rangesAfterKey(input, b(split)))).toEqual(expected);
    expect(flat(input)).toEqual(before); // the input is left alone
  });
});

describe('regionsHaveGapInRanges', () => {
  const gap = (ranges: string[], regions: string[], limit = 0): boolean =>
    regionsHaveGapInRanges(toRanges(ranges), toRanges(regions), limit);
  it('finds holes between and inside ranges (TestScanRegionsWithGaps)', () => {
    expect(gap(['a', 'c'], [])).toBe(true);
    expect(gap([], [])).toBe(false);
    expect(gap(['a', 'c'], ['a', 'b', 'b', 'c'])).toBe(false);
    expect(gap(['a', 'c'], ['a', 'b', 'b1', 'c'])).toBe(true);
    expect(gap(['a', 'c'], ['b', 'c'])).toBe(true);
    expect(gap(['a', 'c'], ['', 'b'])).toBe(true);
    expect(gap(['a', 'c'], ['', 'b'], 1)).toBe(false); // a full page only has to be contiguous
    expect(gap(['a', 'c'], ['', ''])).toBe(false);
    expect(gap(['a', 'b', 'd', 'e'], ['a', 'b', 'd', 'e'])).toBe(false);
    expect(gap(['a', 'b', 'd', 'e'], ['a', 'b'])).toBe(true);
    expect(gap(['a', 'b', 'd', 'e'], ['a', 'c', 'c', 'e'])).toBe(false);
    expect(gap(['a', 'b', 'd', ''], ['a', 'b', 'd', 'x'])).toBe(true);
    expect(gap(['a', 'b', 'd', ''], ['a', 'b', 'd', ''])).toBe(false);
  });
  it('TestRangesAreCoveredCheck: bounded, non-contiguous, unbounded and half-bounded ranges', () => {
    const bounded = [
      ['a', 'c'],
      ['a', 'b', 'b', 'c'],
      ['a', 'a1', 'a1', 'b', 'b', 'b1', 'b1', 'c'],
    ];
    for (const ranges of bounded) {
      for (const regions of [
        ['a', 'c'],
        ['a', ''],
        ['', 'c'],
      ])
        expect(gap(ranges, regions, -1)).toBe(false);
      for (const regions of [
        ['a', 'b'],
        ['b', 'c'],
        ['b', ''],
        ['', 'b'],
      ])
        expect(gap(ranges, regions, -1)).toBe(true);
      for (const regions of [
        ['a', 'b', 'b', 'c'],
        ['', 'b', 'b', 'c'],
        ['a', 'b', 'b', ''],
        ['', 'b', 'b', ''],
      ]) {
        expect(gap(ranges, regions, -1)).toBe(false);
      }
      for (const regions of [
        ['a', 'b', 'b1', 'c'],
        ['', 'b', 'b1', 'c'],
        ['a', 'b', 'b1', ''],
        ['', 'b', 'b1', ''],
        [],
      ]) {
        expect(gap(ranges, regions, -1)).toBe(true);
      }
    }
    const nonContiguous = [
      ['a', 'b', 'c', 'd'],
      ['a', 'b1', 'b1', 'b', 'c', 'd'],
      ['a', 'b', 'c', 'c1', 'c1', 'd'],
      ['a', 'b1', 'b1', 'b', 'c', 'c1', 'c1', 'd'],
    ];
    for (const ranges of nonContiguous) {
      for (const regions of [
        ['a', 'd'],
        ['', 'd'],
        ['a', ''],
        ['', ''],
      ])
        expect(gap(ranges, regions, -1)).toBe(false);
      for (const regions of [
        ['a', 'b'],
        ['b', 'c'],
        ['c', 'd'],
        ['', 'b'],
        ['c', ''],
      ]) {
        expect(gap(ranges, regions, -1)).toBe(true);
      }
    }
    const unbounded = [
      ['', ''],
      ['', 'b', 'b', ''],
      ['', 'a1', 'a1', 'b', 'b', 'b1', 'b1', ''],
    ];
    for (const ranges of unbounded) {
      expect(gap(ranges, ['', ''], -1)).toBe(false);
      for (const regions of [
        ['a', 'c'],
        ['a', ''],
        ['', 'c'],
      ])
        expect(gap(ranges, regions, -1)).toBe(true);
      expect(gap(ranges, ['', 'b', 'b', ''], -1)).toBe(false);
      for (const regions of [['', 'b', 'b1', ''], ['a', 'b', 'b', ''], ['', 'b', 'b', 'c'], []]) {
        expect(gap(ranges, regions, -1)).toBe(true);
      }
    }
    // Half-bounded ranges; a full page (regions.length === limit) only has to be contiguous.
    expect(gap(['', 'b'], ['', 'a'], -1)).toBe(true);
    expect(gap(['', 'b'], ['', 'a'], 1)).toBe(false);
    expect(gap(['', 'b'], ['', 'a'], 2)).toBe(true);
    expect(gap(['a', ''], ['b', ''], -1)).toBe(true);
    expect(gap(['a', ''], ['b', ''], 1)).toBe(true);
    expect(gap(['a', ''], ['b', 'c'], 1)).toBe(true);
    expect(gap(['a', ''], ['a', ''], -1)).toBe(false);
  });
  it('containsByEnd treats an empty end as +infinity', () => {
    const [loc] = toRanges(['a', 'c']);
    expect(containsByEnd(loc!, b('c'))).toBe(true);
    expect(containsByEnd(loc!, b('a'))).toBe(false);
    expect(containsByEnd(loc!, new Uint8Array(0))).toBe(false);
    expect(containsByEnd({ startKey: b('a'), endKey: new Uint8Array(0) }, new Uint8Array(0))).toBe(true);
  });
});
