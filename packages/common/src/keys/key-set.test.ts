import { firstRepeatedKey, searchSortedKey, sortKeys } from './key-set.js';

const k = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (keys: readonly Uint8Array[]): string[] => keys.map((x) => new TextDecoder().decode(x));

describe('sortKeys', () => {
  test('an ascending list without repeats comes back as it is', () => {
    const keys = ['a', 'ab', 'b'].map(k);
    const sorted = sortKeys(keys);
    expect(sorted.keys).toBe(keys);
    expect(sorted.slots).toBeUndefined();
    expect(sortKeys([]).keys).toEqual([]);
  });

  test('sorts by bytes, drops repeats and maps every input index to its key', () => {
    const keys = ['k2', 'k1', 'k2', '', 'k10', 'k1'].map(k);
    const { keys: distinct, slots } = sortKeys(keys);
    expect(str(distinct)).toEqual(['', 'k1', 'k10', 'k2']);
    expect(Array.from(slots ?? [])).toEqual([3, 1, 3, 0, 2, 1]);
    keys.forEach((key, i) => {
      expect(distinct[slots?.[i] ?? -1]).toEqual(key);
    });
    // Bytes order, not string order: 0xff sorts after every ASCII byte.
    const high = sortKeys([Uint8Array.of(0xff), Uint8Array.of(0x01, 0x02)]);
    expect(high.keys.map((x) => x[0])).toEqual([0x01, 0xff]);
  });

  test('a repeat in an otherwise ascending list is found', () => {
    const { keys: distinct, slots } = sortKeys(['a', 'b', 'b', 'c'].map(k));
    expect(str(distinct)).toEqual(['a', 'b', 'c']);
    expect(Array.from(slots ?? [])).toEqual([0, 1, 1, 2]);
  });
});

describe('firstRepeatedKey', () => {
  test('the smallest index that repeats an earlier key, or -1', () => {
    expect(firstRepeatedKey(['a', 'b', 'c'].map(k))).toBe(-1);
    expect(firstRepeatedKey(['c', 'b', 'a'].map(k))).toBe(-1);
    expect(firstRepeatedKey(['a', 'a'].map(k))).toBe(1);
    expect(firstRepeatedKey(['z', 'b', 'y', 'b', 'z'].map(k))).toBe(3);
    expect(firstRepeatedKey(['z', 'y', 'z', 'y', 'y'].map(k))).toBe(2);
    expect(firstRepeatedKey([])).toBe(-1);
  });
});

describe('searchSortedKey', () => {
  test('binary search by bytes', () => {
    const sorted = ['a', 'b', 'c', 'd', 'e'].map(k);
    sorted.forEach((key, i) => {
      expect(searchSortedKey(sorted, Uint8Array.from(key))).toBe(i);
    });
    expect(searchSortedKey(sorted, k('bb'))).toBe(-1);
    expect(searchSortedKey(sorted, k(''))).toBe(-1);
    expect(searchSortedKey(sorted, k('f'))).toBe(-1);
    expect(searchSortedKey([], k('a'))).toBe(-1);
  });
});
