import { CodecError } from '../errors/client-errors.js';
import type { Decoded } from './decoded.js';
import { toI64, toU64 } from './number.js';

/** The longest varint encoding of a 64-bit value, in bytes. */
export const MAX_VARINT64_LENGTH = 10;

/**
 * Encodes an unsigned 64-bit integer as a base-128 varint (Go's
 * `binary.PutUvarint`, protobuf's uint64). Not memcomparable.
 *
 * @param v - the value, 0 to 2^64−1
 * @returns 1 to 10 bytes
 */
export function encodeUvarint(v: bigint | number): Uint8Array {
  let x = toU64(v);
  const out: number[] = [];
  while (x >= 0x80n) {
    out.push(Number(x & 0x7fn) | 0x80);
    x >>= 7n;
  }
  out.push(Number(x));
  return Uint8Array.from(out);
}

/**
 * Decodes a varint written by {@link encodeUvarint} from the front of `input`.
 *
 * @param input - the encoded bytes
 * @returns the value and the rest of the input
 * @throws CodecError when the input ends inside the varint or the value passes 64 bits
 */
export function decodeUvarint(input: Uint8Array): Decoded<bigint> {
  let x = 0n;
  let shift = 0n;
  for (let i = 0; i < input.length; i++) {
    if (i === MAX_VARINT64_LENGTH) break;
    const b = input[i]!;
    if (b < 0x80) {
      if (i === MAX_VARINT64_LENGTH - 1 && b > 1) break;
      return { value: x | (BigInt(b) << shift), rest: input.subarray(i + 1) };
    }
    x |= BigInt(b & 0x7f) << shift;
    shift += 7n;
  }
  if (input.length >= MAX_VARINT64_LENGTH) {
    throw new CodecError('varint value is larger than 64 bits', { offset: MAX_VARINT64_LENGTH - 1 });
  }
  throw new CodecError('insufficient bytes to decode varint', { offset: input.length });
}

/**
 * Encodes a signed 64-bit integer as a zigzag varint (Go's `binary.PutVarint`,
 * protobuf's sint64). Not memcomparable.
 *
 * @param v - the value, −2^63 to 2^63−1
 * @returns 1 to 10 bytes
 */
export function encodeVarint(v: bigint | number): Uint8Array {
  const x = toI64(v);
  const zigzag = BigInt.asUintN(64, x << 1n) ^ (x < 0n ? (1n << 64n) - 1n : 0n);
  return encodeUvarint(zigzag);
}

/**
 * Decodes a zigzag varint written by {@link encodeVarint}.
 *
 * @param input - the encoded bytes
 * @returns the value and the rest of the input
 * @throws CodecError when the input ends inside the varint or the value passes 64 bits
 */
export function decodeVarint(input: Uint8Array): Decoded<bigint> {
  const { value: ux, rest } = decodeUvarint(input);
  const half = ux >> 1n;
  return { value: (ux & 1n) === 0n ? half : -half - 1n, rest };
}

const NEGATIVE_TAG_END = 8;
const POSITIVE_TAG_START = 0xff - 8;

function bigEndianBytes(v: bigint, length: number): number[] {
  const out: number[] = [];
  for (let i = length - 1; i >= 0; i--) out.push(Number((v >> BigInt(8 * i)) & 0xffn));
  return out;
}

/**
 * Encodes an unsigned 64-bit integer in the memcomparable varint format:
 * values up to 239 take one byte (`value + 8`); larger ones a tag byte
 * (`247 + length`) and `length` big-endian bytes.
 *
 * @param v - the value, 0 to 2^64−1
 * @returns 1 to 9 bytes
 */
export function encodeComparableUvarint(v: bigint | number): Uint8Array {
  const x = toU64(v);
  if (x <= BigInt(POSITIVE_TAG_START - NEGATIVE_TAG_END)) return Uint8Array.of(Number(x) + NEGATIVE_TAG_END);
  let length = 1;
  while (length < 8 && x > (1n << BigInt(8 * length)) - 1n) length++;
  return Uint8Array.from([POSITIVE_TAG_START + length, ...bigEndianBytes(x, length)]);
}

/**
 * Encodes a signed 64-bit integer in the memcomparable varint format:
 * non-negative values as {@link encodeComparableUvarint}; negative ones a tag
 * byte (`8 − length`) and the low `length` bytes of the two's complement.
 *
 * @param v - the value, −2^63 to 2^63−1
 * @returns 1 to 9 bytes
 */
export function encodeComparableVarint(v: bigint | number): Uint8Array {
  const x = toI64(v);
  if (x >= 0n) return encodeComparableUvarint(x);
  let length = 1;
  while (length < 8 && x < -((1n << BigInt(8 * length)) - 1n)) length++;
  return Uint8Array.from([NEGATIVE_TAG_END - length, ...bigEndianBytes(BigInt.asUintN(64, x), length)]);
}

/**
 * Decodes a value written by {@link encodeComparableUvarint}.
 *
 * @param input - the encoded bytes
 * @returns the value and the rest of the input
 * @throws CodecError when the input is empty, truncated or starts with a negative tag
 */
export function decodeComparableUvarint(input: Uint8Array): Decoded<bigint> {
  if (input.length === 0) throw new CodecError('insufficient bytes to decode value', { offset: 0 });
  const first = input[0]!;
  if (first < NEGATIVE_TAG_END)
    throw new CodecError(`invalid comparable uvarint tag ${first}`, { offset: 0 });
  if (first <= POSITIVE_TAG_START)
    return { value: BigInt(first - NEGATIVE_TAG_END), rest: input.subarray(1) };
  const length = first - POSITIVE_TAG_START;
  if (input.length - 1 < length)
    throw new CodecError('insufficient bytes to decode value', { offset: input.length });
  let v = 0n;
  for (let i = 1; i <= length; i++) v = (v << 8n) | BigInt(input[i]!);
  return { value: v, rest: input.subarray(1 + length) };
}

/**
 * Decodes a value written by {@link encodeComparableVarint}.
 *
 * @param input - the encoded bytes
 * @returns the value and the rest of the input
 * @throws CodecError when the input is empty, truncated or out of the signed range
 */
export function decodeComparableVarint(input: Uint8Array): Decoded<bigint> {
  if (input.length === 0) throw new CodecError('insufficient bytes to decode value', { offset: 0 });
  const first = input[0]!;
  if (first >= NEGATIVE_TAG_END && first <= POSITIVE_TAG_START) {
    return { value: BigInt(first - NEGATIVE_TAG_END), rest: input.subarray(1) };
  }
  const negative = first < NEGATIVE_TAG_END;
  const length = negative ? NEGATIVE_TAG_END - first : first - POSITIVE_TAG_START;
  if (input.length - 1 < length)
    throw new CodecError('insufficient bytes to decode value', { offset: input.length });
  let v = negative ? (1n << 64n) - 1n : 0n;
  for (let i = 1; i <= length; i++) v = BigInt.asUintN(64, (v << 8n) | BigInt(input[i]!));
  if (!negative && v > (1n << 63n) - 1n)
    throw new CodecError('comparable varint is out of the signed range', { offset: 0 });
  if (negative && v <= (1n << 63n) - 1n)
    throw new CodecError('comparable varint is out of the signed range', { offset: 0 });
  return { value: BigInt.asIntN(64, v), rest: input.subarray(1 + length) };
}
