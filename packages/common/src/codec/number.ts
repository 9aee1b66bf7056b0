import { CodecError, InvalidArgumentError } from '../errors/client-errors.js';
import type { Decoded } from './decoded.js';

/** The largest unsigned 64-bit value. */
export const U64_MAX = (1n << 64n) - 1n;
/** The largest signed 64-bit value. */
export const I64_MAX = (1n << 63n) - 1n;
/** The smallest signed 64-bit value. */
export const I64_MIN = -(1n << 63n);

const SIGN_MASK = 1n << 63n;

/**
 * Checks and converts an unsigned 64-bit input.
 *
 * @param v - a bigint or a safe non-negative integer number
 * @returns the value as bigint
 * @throws InvalidArgumentError when out of range or not an integer
 */
export function toU64(v: bigint | number): bigint {
  const b = typeof v === 'number' ? numberToBigInt(v) : v;
  if (b < 0n || b > U64_MAX) throw new InvalidArgumentError(`value ${b} is out of the unsigned 64-bit range`);
  return b;
}

/**
 * Checks and converts a signed 64-bit input.
 *
 * @param v - a bigint or a safe integer number
 * @returns the value as bigint
 * @throws InvalidArgumentError when out of range or not an integer
 */
export function toI64(v: bigint | number): bigint {
  const b = typeof v === 'number' ? numberToBigInt(v) : v;
  if (b < I64_MIN || b > I64_MAX)
    throw new InvalidArgumentError(`value ${b} is out of the signed 64-bit range`);
  return b;
}

function numberToBigInt(v: number): bigint {
  if (!Number.isSafeInteger(v))
    throw new InvalidArgumentError(`value ${v} is not a safe integer; pass a bigint`);
  return BigInt(v);
}

function u64Bytes(u: bigint): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, u, false);
  return out;
}

function readU64(input: Uint8Array): bigint {
  if (input.length < 8) {
    throw new CodecError(`insufficient bytes to decode value: need 8, have ${input.length}`, {
      offset: input.length,
    });
  }
  return new DataView(input.buffer, input.byteOffset, 8).getBigUint64(0, false);
}

/**
 * Maps a signed 64-bit integer to an unsigned one with the same order (flips
 * the sign bit).
 *
 * @param v - a signed 64-bit value
 * @returns the order-preserving unsigned value
 */
export function encodeIntToCmpUint(v: bigint | number): bigint {
  return BigInt.asUintN(64, toI64(v)) ^ SIGN_MASK;
}

/**
 * The inverse of {@link encodeIntToCmpUint}.
 *
 * @param u - an unsigned 64-bit value
 * @returns the signed value
 */
export function decodeCmpUintToInt(u: bigint): bigint {
  return BigInt.asIntN(64, toU64(u) ^ SIGN_MASK);
}

/**
 * Encodes an unsigned 64-bit integer as 8 big-endian bytes (memcomparable).
 *
 * @param v - the value, 0 to 2^64−1
 * @returns 8 bytes
 */
export function encodeUintBE(v: bigint | number): Uint8Array {
  return u64Bytes(toU64(v));
}

/**
 * Encodes an unsigned 64-bit integer so the encodings sort in descending order.
 *
 * @param v - the value, 0 to 2^64−1
 * @returns 8 bytes
 */
export function encodeUintDesc(v: bigint | number): Uint8Array {
  return u64Bytes(U64_MAX ^ toU64(v));
}

/**
 * Decodes an unsigned 64-bit big-endian integer from the front of `input`.
 *
 * @param input - at least 8 bytes
 * @returns the value and the rest of the input
 * @throws CodecError when fewer than 8 bytes remain
 */
export function decodeUint(input: Uint8Array): Decoded<bigint> {
  return { value: readU64(input), rest: input.subarray(8) };
}

/**
 * Decodes a value written by {@link encodeUintDesc}.
 *
 * @param input - at least 8 bytes
 * @returns the value and the rest of the input
 * @throws CodecError when fewer than 8 bytes remain
 */
export function decodeUintDesc(input: Uint8Array): Decoded<bigint> {
  return { value: U64_MAX ^ readU64(input), rest: input.subarray(8) };
}

/**
 * Encodes a signed 64-bit integer as 8 bytes that sort like the integers
 * (big-endian with the sign bit flipped).
 *
 * @param v - the value, −2^63 to 2^63−1
 * @returns 8 bytes
 */
export function encodeIntBE(v: bigint | number): Uint8Array {
  return u64Bytes(encodeIntToCmpUint(v));
}

/**
 * Encodes a signed 64-bit integer so the encodings sort in descending order.
 *
 * @param v - the value, −2^63 to 2^63−1
 * @returns 8 bytes
 */
export function encodeIntDesc(v: bigint | number): Uint8Array {
  return u64Bytes(U64_MAX ^ encodeIntToCmpUint(v));
}

/**
 * Decodes a value written by {@link encodeIntBE}.
 *
 * @param input - at least 8 bytes
 * @returns the value and the rest of the input
 * @throws CodecError when fewer than 8 bytes remain
 */
export function decodeInt(input: Uint8Array): Decoded<bigint> {
  return { value: decodeCmpUintToInt(readU64(input)), rest: input.subarray(8) };
}

/**
 * Decodes a value written by {@link encodeIntDesc}.
 *
 * @param input - at least 8 bytes
 * @returns the value and the rest of the input
 * @throws CodecError when fewer than 8 bytes remain
 */
export function decodeIntDesc(input: Uint8Array): Decoded<bigint> {
  return { value: decodeCmpUintToInt(U64_MAX ^ readU64(input)), rest: input.subarray(8) };
}
