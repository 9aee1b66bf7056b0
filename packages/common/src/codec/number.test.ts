import { CodecError, InvalidArgumentError } from '../errors/client-errors.js';
import { compareKeys } from '../keys/key-utils.js';
import {
  decodeCmpUintToInt,
  decodeInt,
  decodeIntDesc,
  decodeUint,
  decodeUintDesc,
  encodeIntBE,
  encodeIntDesc,
  encodeIntToCmpUint,
  encodeUintBE,
  encodeUintDesc,
  I64_MAX,
  I64_MIN,
  toI64,
  toU64,
  U64_MAX,
} from './number.js';

const hex = (a: Uint8Array): string => Buffer.from(a).toString('hex');

// Boundary samples in the spirit of TiKV's get_u64_samples / get_i64_samples.
const U64_SAMPLES = [
  0n,
  1n,
  0x7fn,
  0x80n,
  0xffn,
  0x100n,
  0xffffn,
  0x10000n,
  0xffffffffn,
  0x100000000n,
  I64_MAX,
  I64_MAX + 1n,
  U64_MAX - 1n,
  U64_MAX,
];
const I64_SAMPLES = [
  I64_MIN,
  I64_MIN + 1n,
  -0x100000000n,
  -0xffffn,
  -0x100n,
  -2n,
  -1n,
  0n,
  1n,
  0xffn,
  0x10000n,
  I64_MAX - 1n,
  I64_MAX,
];

describe('number codec (client-go util/codec/number.go)', () => {
  test('known encodings', () => {
    expect(hex(encodeUintBE(1n))).toBe('0000000000000001');
    expect(hex(encodeUintBE(U64_MAX))).toBe('ffffffffffffffff');
    expect(hex(encodeUintDesc(0))).toBe('ffffffffffffffff');
    expect(hex(encodeIntBE(0n))).toBe('8000000000000000');
    expect(hex(encodeIntBE(-1n))).toBe('7fffffffffffffff');
    expect(hex(encodeIntBE(I64_MIN))).toBe('0000000000000000');
    expect(hex(encodeIntBE(I64_MAX))).toBe('ffffffffffffffff');
    expect(hex(encodeIntDesc(I64_MAX))).toBe('0000000000000000');
    expect(encodeIntToCmpUint(-1n)).toBe(0x7fffffffffffffffn);
    expect(decodeCmpUintToInt(0x8000000000000001n)).toBe(1n);
  });

  test('unsigned round trips keep ascending and descending order', () => {
    for (let i = 0; i < U64_SAMPLES.length; i++) {
      const v = U64_SAMPLES[i]!;
      expect(decodeUint(encodeUintBE(v)).value).toBe(v);
      expect(decodeUintDesc(encodeUintDesc(v)).value).toBe(v);
      if (i > 0) {
        const prev = U64_SAMPLES[i - 1]!;
        expect(compareKeys(encodeUintBE(prev), encodeUintBE(v))).toBeLessThan(0);
        expect(compareKeys(encodeUintDesc(prev), encodeUintDesc(v))).toBeGreaterThan(0);
      }
    }
  });

  test('signed round trips keep ascending and descending order', () => {
    for (let i = 0; i < I64_SAMPLES.length; i++) {
      const v = I64_SAMPLES[i]!;
      expect(decodeInt(encodeIntBE(v)).value).toBe(v);
      expect(decodeIntDesc(encodeIntDesc(v)).value).toBe(v);
      expect(decodeCmpUintToInt(encodeIntToCmpUint(v))).toBe(v);
      if (i > 0) {
        const prev = I64_SAMPLES[i - 1]!;
        expect(compareKeys(encodeIntBE(prev), encodeIntBE(v))).toBeLessThan(0);
        expect(compareKeys(encodeIntDesc(prev), encodeIntDesc(v))).toBeGreaterThan(0);
      }
    }
  });

  test('decoders return the rest and read from a subarray', () => {
    const buf = Uint8Array.from([9, ...encodeIntBE(-5n), 1, 2]);
    const { value, rest } = decodeInt(buf.subarray(1));
    expect(value).toBe(-5n);
    expect(Array.from(rest)).toEqual([1, 2]);
  });

  test('short input raises CodecError', () => {
    for (const decode of [decodeUint, decodeUintDesc, decodeInt, decodeIntDesc]) {
      expect(() => decode(new Uint8Array(7))).toThrow(CodecError);
    }
  });

  test('out-of-range values raise InvalidArgumentError', () => {
    expect(() => encodeUintBE(-1n)).toThrow(InvalidArgumentError);
    expect(() => encodeUintBE(U64_MAX + 1n)).toThrow(InvalidArgumentError);
    expect(() => encodeIntBE(I64_MAX + 1n)).toThrow(InvalidArgumentError);
    expect(() => encodeIntBE(1.5)).toThrow(/safe integer/);
    expect(toU64(5)).toBe(5n);
    expect(toI64(-5)).toBe(-5n);
  });
});
