import { CodecError } from '../errors/client-errors.js';
import { bytesToHex, formatKey } from './key-format.js';
import { compareEndKeys, isRangeEmpty, keyInRange, rangeContains, rangeIntersect } from './key-range.js';
import {
  compareKeys,
  concatBytes,
  hexToBytes,
  keysEqual,
  keyToLatin1,
  nextKey,
  prefixNext,
  toBytes,
} from './key-utils.js';

const b = (...xs: number[]): Uint8Array => Uint8Array.from(xs);
const E = new Uint8Array(0);

describe('key utilities (client-go kv/key.go)', () => {
  test('TestPrefixNextKey: all-0xFF prefixes have no next key', () => {
    expect(prefixNext(b(0xff))).toEqual(E);
    expect(prefixNext(b(0xff, 0xff))).toEqual(E);
    expect(prefixNext(b(0xff, 0xff, 0xff, 0xff))).toEqual(E);
  });

  test('prefixNext increments with carry and does not touch its input', () => {
    const input = b(1, 2, 0xff);
    expect(prefixNext(input)).toEqual(b(1, 3, 0));
    expect(input).toEqual(b(1, 2, 0xff));
    expect(prefixNext(b(0x61))).toEqual(b(0x62));
    expect(prefixNext(E)).toEqual(E);
    // every key with the prefix sorts before the result
    expect(compareKeys(b(1, 2, 0xff, 0xff, 0xff), prefixNext(input))).toBeLessThan(0);
  });

  test('nextKey appends a zero byte', () => {
    const k = b(1, 2);
    expect(nextKey(k)).toEqual(b(1, 2, 0));
    expect(nextKey(E)).toEqual(b(0));
    expect(compareKeys(k, nextKey(k))).toBeLessThan(0);
  });

  test('compareKeys orders bytewise, shorter prefix first', () => {
    expect(compareKeys(b(1), b(2))).toBe(-1);
    expect(compareKeys(b(2), b(1))).toBe(1);
    expect(compareKeys(b(1, 2), b(1, 2))).toBe(0);
    expect(compareKeys(b(1), b(1, 0))).toBe(-1);
    expect(compareKeys(b(1, 0), b(1))).toBe(1);
    expect(compareKeys(E, E)).toBe(0);
    expect(compareKeys(b(0x80), b(0x7f))).toBe(1);
  });

  test('keysEqual', () => {
    expect(keysEqual(b(1, 2), b(1, 2))).toBe(true);
    expect(keysEqual(b(1, 2), b(1, 3))).toBe(false);
    expect(keysEqual(b(1), b(1, 2))).toBe(false);
  });

  test('toBytes encodes strings as UTF-8 and passes bytes through', () => {
    expect(toBytes('世界')).toEqual(b(228, 184, 150, 231, 149, 140));
    const raw = b(1);
    expect(toBytes(raw)).toBe(raw);
    expect(toBytes('')).toEqual(E);
  });

  test('concatBytes', () => {
    expect(concatBytes(b(1), E, b(2, 3))).toEqual(b(1, 2, 3));
    expect(concatBytes()).toEqual(E);
  });

  test('hex formatting and parsing', () => {
    expect(bytesToHex(b(0, 0xab, 0x10))).toBe('00ab10');
    expect(formatKey(b(0, 0xab))).toBe('00AB');
    expect(formatKey(b(0, 0xab), true)).toBe('?');
    expect(hexToBytes('00aBfF')).toEqual(b(0, 0xab, 0xff));
    expect(hexToBytes('')).toEqual(E);
    expect(() => hexToBytes('abc')).toThrow(CodecError);
    expect(() => hexToBytes('zz')).toThrow(CodecError);
    expect(() => hexToBytes('0g')).toThrow(/invalid hex/);
  });
});

describe('key ranges (empty end key = +infinity)', () => {
  test('keyInRange', () => {
    expect(keyInRange(b(5), b(1), b(9))).toBe(true);
    expect(keyInRange(b(1), b(1), b(9))).toBe(true);
    expect(keyInRange(b(9), b(1), b(9))).toBe(false);
    expect(keyInRange(b(0), b(1), b(9))).toBe(false);
    expect(keyInRange(b(0xff, 0xff), b(1), E)).toBe(true);
    expect(keyInRange(E, E, E)).toBe(true);
  });

  test('compareEndKeys', () => {
    expect(compareEndKeys(E, E)).toBe(0);
    expect(compareEndKeys(E, b(1))).toBe(1);
    expect(compareEndKeys(b(1), E)).toBe(-1);
    expect(compareEndKeys(b(1), b(2))).toBe(-1);
  });

  test('rangeIntersect', () => {
    expect(rangeIntersect({ startKey: b(1), endKey: b(5) }, { startKey: b(3), endKey: b(9) })).toEqual({
      startKey: b(3),
      endKey: b(5),
    });
    expect(rangeIntersect({ startKey: b(1), endKey: E }, { startKey: E, endKey: b(4) })).toEqual({
      startKey: b(1),
      endKey: b(4),
    });
    expect(rangeIntersect({ startKey: b(1), endKey: E }, { startKey: b(2), endKey: E })).toEqual({
      startKey: b(2),
      endKey: E,
    });
    expect(
      rangeIntersect({ startKey: b(1), endKey: b(3) }, { startKey: b(3), endKey: b(5) }),
    ).toBeUndefined();
    expect(
      rangeIntersect({ startKey: b(5), endKey: b(6) }, { startKey: b(1), endKey: b(2) }),
    ).toBeUndefined();
  });

  test('isRangeEmpty and rangeContains', () => {
    expect(isRangeEmpty({ startKey: b(2), endKey: b(2) })).toBe(true);
    expect(isRangeEmpty({ startKey: b(2), endKey: E })).toBe(false);
    expect(rangeContains({ startKey: E, endKey: E }, { startKey: b(1), endKey: b(2) })).toBe(true);
    expect(rangeContains({ startKey: b(1), endKey: b(5) }, { startKey: b(1), endKey: E })).toBe(false);
    expect(rangeContains({ startKey: b(2), endKey: b(5) }, { startKey: b(1), endKey: b(3) })).toBe(false);
  });
});

describe('keyToLatin1', () => {
  test('one char per byte, ordered like the bytes', () => {
    const a = Uint8Array.of(0x00, 0xff, 0x80);
    expect(keyToLatin1(a)).toBe('\u0000\u00ff\u0080');
    expect(keyToLatin1(new Uint8Array(0))).toBe('');
    const keys = [Uint8Array.of(1, 2), Uint8Array.of(1), Uint8Array.of(0xff), Uint8Array.of(1, 0xff, 0)];
    const byBytes = [...keys].sort(compareKeys).map(keyToLatin1);
    const byStrings = keys.map(keyToLatin1).sort();
    expect(byStrings).toEqual(byBytes);
  });

  test('long keys take the Buffer path with the same result', () => {
    const long = Uint8Array.from({ length: 1000 }, (_, i) => (i * 37) & 0xff);
    const s = keyToLatin1(long.subarray(10, 900));
    expect(s).toHaveLength(890);
    expect(s.charCodeAt(0)).toBe((10 * 37) & 0xff);
    expect(s.charCodeAt(889)).toBe((899 * 37) & 0xff);
  });
});
