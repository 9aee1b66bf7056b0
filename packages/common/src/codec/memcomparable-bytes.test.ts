import { CodecError } from '../errors/client-errors.js';
import { compareKeys } from '../keys/key-utils.js';
import { createSeededRandom } from '../time/clock.js';
import {
  decodeBytes,
  decodeBytesDesc,
  encodeBytes,
  encodeBytesDesc,
  encodedBytesLength,
} from './memcomparable-bytes.js';

const b = (...xs: number[]): Uint8Array => Uint8Array.from(xs);
const FF8 = [255, 255, 255, 255, 255, 255, 255, 255];

describe('memcomparable bytes (client-go util/codec/bytes.go, TiKV components/codec byte.rs)', () => {
  // Cases of TiKV's test_memcmp_encode_all: input, ascending, descending.
  test.each([
    [[], [0, 0, 0, 0, 0, 0, 0, 0, 247], [...FF8, 8]],
    [[0], [0, 0, 0, 0, 0, 0, 0, 0, 248], [...FF8, 7]],
    [
      [1, 2, 3],
      [1, 2, 3, 0, 0, 0, 0, 0, 250],
      [254, 253, 252, 255, 255, 255, 255, 255, 5],
    ],
    [
      [1, 2, 3, 0],
      [1, 2, 3, 0, 0, 0, 0, 0, 251],
      [254, 253, 252, 255, 255, 255, 255, 255, 4],
    ],
    [
      [1, 2, 3, 4, 5, 6, 7],
      [1, 2, 3, 4, 5, 6, 7, 0, 254],
      [254, 253, 252, 251, 250, 249, 248, 255, 1],
    ],
    [
      [0, 0, 0, 0, 0, 0, 0, 0],
      [0, 0, 0, 0, 0, 0, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 0, 247],
      [...FF8, 0, ...FF8, 8],
    ],
    [
      [1, 2, 3, 4, 5, 6, 7, 8],
      [1, 2, 3, 4, 5, 6, 7, 8, 255, 0, 0, 0, 0, 0, 0, 0, 0, 247],
      [254, 253, 252, 251, 250, 249, 248, 247, 0, ...FF8, 8],
    ],
    [
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
      [1, 2, 3, 4, 5, 6, 7, 8, 255, 9, 0, 0, 0, 0, 0, 0, 0, 248],
      [254, 253, 252, 251, 250, 249, 248, 247, 0, 246, 255, 255, 255, 255, 255, 255, 255, 7],
    ],
  ])('%j encodes to %j and %j (descending)', (input, asc, desc) => {
    const data = Uint8Array.from(input);
    expect(Array.from(encodeBytes(data))).toEqual(asc);
    expect(Array.from(encodeBytesDesc(data))).toEqual(desc);
    expect(encodedBytesLength(data.length)).toBe(asc.length);
    expect(decodeBytes(Uint8Array.from(asc))).toEqual({ value: data, rest: new Uint8Array(0) });
    expect(decodeBytesDesc(Uint8Array.from(desc))).toEqual({ value: data, rest: new Uint8Array(0) });
  });

  test('TestDecodeBytes (PD codec): every prefix of the alphabet round-trips', () => {
    const key = 'abcdefghijklmnopqrstuvwxyz';
    for (let i = 0; i < key.length; i++) {
      const data = new TextEncoder().encode(key.slice(0, i));
      expect(new TextDecoder().decode(decodeBytes(encodeBytes(data)).value)).toBe(key.slice(0, i));
    }
  });

  test('the bytes after the value are returned as the rest', () => {
    const enc = encodeBytes(b(1, 2, 3));
    const withTail = Uint8Array.from([...enc, 0xaa, 0xbb]);
    const { value, rest } = decodeBytes(withTail);
    expect(value).toEqual(b(1, 2, 3));
    expect(rest).toEqual(b(0xaa, 0xbb));
    const twice = Uint8Array.from([...encodeBytesDesc(b(9)), ...encodeBytesDesc(b(8, 7))]);
    const first = decodeBytesDesc(twice);
    expect(first.value).toEqual(b(9));
    expect(decodeBytesDesc(first.rest).value).toEqual(b(8, 7));
  });

  // Cases of TiKV's test_memcmp_try_decode_first_error.
  test.each([
    [[1, 2, 3, 4]],
    [[0, 0, 0, 0, 0, 0, 0, 247]],
    [[0, 0, 0, 0, 0, 0, 0, 0, 246]],
    [[0, 0, 0, 0, 0, 0, 0, 1, 247]],
    [[1, 2, 3, 4, 5, 6, 7, 8, 0]],
    [[1, 2, 3, 4, 5, 6, 7, 8, 255, 1]],
    [[1, 2, 3, 4, 5, 6, 7, 8, 255, 1, 2, 3, 4, 5, 6, 7, 8]],
    [[1, 2, 3, 4, 5, 6, 7, 8, 255, 1, 2, 3, 4, 5, 6, 7, 8, 255]],
    [[1, 2, 3, 4, 5, 6, 7, 8, 255, 1, 2, 3, 4, 5, 6, 7, 8, 0]],
    [[1, 2, 3, 4, 5, 6, 7, 8, 255, 1, 0, 0, 0, 0, 0, 0, 0, 247]],
    [[]],
  ])('malformed input %j raises CodecError', (input) => {
    expect(() => decodeBytes(Uint8Array.from(input))).toThrow(CodecError);
  });

  test('malformed descending input raises CodecError with the offset', () => {
    try {
      decodeBytesDesc(b(...FF8.slice(0, 7), 0, 8));
      throw new Error('expected a CodecError');
    } catch (e) {
      expect(e).toBeInstanceOf(CodecError);
      expect((e as CodecError).offset).toBe(7);
    }
    expect(() => decodeBytesDesc(b(...FF8, 9))).toThrow(/invalid marker/);
  });

  test('order is preserved for random samples, ascending and descending', () => {
    const random = createSeededRandom(7);
    const samples: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) {
      const len = Math.floor(random() * 20);
      samples.push(Uint8Array.from({ length: len }, () => (random() < 0.3 ? 0 : Math.floor(random() * 256))));
    }
    samples.push(new Uint8Array(0), b(0), b(0, 0), b(255), b(255, 255), b(0, 0, 0, 0, 0, 0, 0, 0));
    for (let i = 1; i < samples.length; i++) {
      const x = samples[i - 1]!;
      const y = samples[i]!;
      const order = Math.sign(compareKeys(x, y));
      expect(Math.sign(compareKeys(encodeBytes(x), encodeBytes(y)))).toBe(order);
      expect(Math.sign(compareKeys(encodeBytesDesc(x), encodeBytesDesc(y)))).toBe(order === 0 ? 0 : -order);
      expect(decodeBytes(encodeBytes(y)).value).toEqual(y);
      expect(decodeBytesDesc(encodeBytesDesc(y)).value).toEqual(y);
    }
  });
});
