import { CodecError } from '../errors/client-errors.js';
import { compareKeys } from '../keys/key-utils.js';
import { I64_MAX, I64_MIN, U64_MAX } from './number.js';
import {
  decodeComparableUvarint,
  decodeComparableVarint,
  decodeUvarint,
  decodeVarint,
  encodeComparableUvarint,
  encodeComparableVarint,
  encodeUvarint,
  encodeVarint,
} from './varint.js';

const arr = (a: Uint8Array): number[] => Array.from(a);
const FF8 = [255, 255, 255, 255, 255, 255, 255, 255];

describe('varint (Go encoding/binary, client-go EncodeVarint/EncodeUvarint)', () => {
  test.each([
    [0n, [0]],
    [1n, [1]],
    [127n, [0x7f]],
    [128n, [0x80, 0x01]],
    [300n, [0xac, 0x02]],
    [0xdeadbeefbaadn, [173, 245, 190, 247, 219, 213, 55]], // TiKV's VARINT_SAMPLE
    [U64_MAX, [...FF8, 0xff, 0x01]],
  ])('uvarint %s encodes to %j', (v, bytes) => {
    expect(arr(encodeUvarint(v))).toEqual(bytes);
    expect(decodeUvarint(Uint8Array.from(bytes)).value).toBe(v);
  });

  test.each([
    [0n, [0]],
    [-1n, [1]],
    [1n, [2]],
    [-64n, [0x7f]],
    [63n, [0x7e]],
    [64n, [0x80, 0x01]],
    [I64_MAX, [0xfe, ...FF8, 0x01]],
    [I64_MIN, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]],
  ])('varint %s encodes to %j (zigzag)', (v, bytes) => {
    expect(arr(encodeVarint(v))).toEqual(bytes);
    expect(decodeVarint(Uint8Array.from(bytes)).value).toBe(v);
  });

  test('I64_MAX and I64_MIN differ only in the low zigzag bit', () => {
    expect(arr(encodeVarint(I64_MAX))[0]).toBe(0xfe);
  });

  test('decoders return the rest', () => {
    const { value, rest } = decodeVarint(Uint8Array.from([0x80, 0x01, 9]));
    expect(value).toBe(64n);
    expect(arr(rest)).toEqual([9]);
  });

  test.each([
    [[], /insufficient/],
    [[0x80], /insufficient/],
    [[0x80, 0x80, 0x80], /insufficient/],
    [[...FF8, 0xff, 0x02], /larger than 64 bits/],
    [[...FF8, 0xff, 0xff, 0x01], /larger than 64 bits/],
  ])('malformed %j raises CodecError %s', (bytes, message) => {
    expect(() => decodeUvarint(Uint8Array.from(bytes))).toThrow(CodecError);
    expect(() => decodeVarint(Uint8Array.from(bytes))).toThrow(message);
  });
});

describe('comparable varint (client-go EncodeComparableVarint/EncodeComparableUvarint)', () => {
  test.each([
    [0n, [8]],
    [239n, [247]],
    [240n, [248, 240]],
    [255n, [248, 255]],
    [256n, [249, 1, 0]],
    [0xffffffffn, [251, 255, 255, 255, 255]],
    [U64_MAX, [255, ...FF8]],
  ])('uvarint %s encodes to %j', (v, bytes) => {
    expect(arr(encodeComparableUvarint(v))).toEqual(bytes);
    expect(decodeComparableUvarint(Uint8Array.from(bytes)).value).toBe(v);
  });

  test.each([
    [-1n, [7, 0xff]],
    [-255n, [7, 0x01]],
    [-256n, [6, 0xff, 0x00]],
    [-0x10000n, [5, 0xff, 0x00, 0x00]],
    [I64_MIN, [0, 0x80, 0, 0, 0, 0, 0, 0, 0]],
    [0n, [8]],
    [I64_MAX, [255, 0x7f, 255, 255, 255, 255, 255, 255, 255]],
  ])('varint %s encodes to %j', (v, bytes) => {
    expect(arr(encodeComparableVarint(v))).toEqual(bytes);
    expect(decodeComparableVarint(Uint8Array.from(bytes)).value).toBe(v);
  });

  test('order is preserved and the one-byte form consumes its byte', () => {
    const samples = [
      I64_MIN,
      -0x1000000000n,
      -65536n,
      -65535n,
      -256n,
      -255n,
      -1n,
      0n,
      1n,
      239n,
      240n,
      255n,
      256n,
      0xffffffffffn,
      I64_MAX,
    ];
    for (let i = 1; i < samples.length; i++) {
      expect(
        compareKeys(encodeComparableVarint(samples[i - 1]!), encodeComparableVarint(samples[i]!)),
      ).toBeLessThan(0);
    }
    const two = Uint8Array.from([...encodeComparableVarint(5n), ...encodeComparableVarint(-300n)]);
    const first = decodeComparableVarint(two);
    expect(first.value).toBe(5n);
    expect(decodeComparableVarint(first.rest).value).toBe(-300n);
    expect(arr(decodeComparableUvarint(Uint8Array.from([9, 1])).rest)).toEqual([1]);
  });

  test('malformed input raises CodecError', () => {
    expect(() => decodeComparableUvarint(new Uint8Array(0))).toThrow(CodecError);
    expect(() => decodeComparableUvarint(Uint8Array.of(3))).toThrow(/invalid/);
    expect(() => decodeComparableUvarint(Uint8Array.of(249, 1))).toThrow(/insufficient/);
    expect(() => decodeComparableVarint(new Uint8Array(0))).toThrow(CodecError);
    expect(() => decodeComparableVarint(Uint8Array.of(6, 1))).toThrow(/insufficient/);
    expect(() => decodeComparableVarint(Uint8Array.of(255, ...FF8))).toThrow(/signed range/);
    expect(() => decodeComparableVarint(Uint8Array.of(0, 0x7f, ...FF8.slice(1)))).toThrow(/signed range/);
  });
});
