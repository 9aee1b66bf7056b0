import { CodecError } from '../errors/client-errors.js';

/** A key or value as callers may pass it: bytes, or a string taken as UTF-8. */
export type BytesLike = string | Uint8Array;

let utf8: { encode(input: string): Uint8Array } | undefined;

/**
 * Converts a string (as UTF-8) or bytes to bytes. A `Uint8Array` (a `Buffer`
 * is one) is returned as is, not copied.
 *
 * @param input - a string or bytes
 * @returns the bytes
 */
export function toBytes(input: BytesLike): Uint8Array {
  if (typeof input !== 'string') return input;
  utf8 ??= new TextEncoder();
  return utf8.encode(input);
}

/**
 * Compares two keys bytewise (the order of TiKV keys).
 *
 * @param a - a key
 * @param b - another key
 * @returns a negative number when a < b, 0 when equal, positive when a > b
 */
export function compareKeys(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/**
 * Tells whether two keys hold the same bytes.
 *
 * @param a - a key
 * @param b - another key
 * @returns true when equal
 */
export function keysEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The smallest key greater than `key`: `key` followed by a zero byte
 * (client-go's `kv.NextKey`).
 *
 * @param key - a key
 * @returns a new key, one byte longer
 */
export function nextKey(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length + 1);
  out.set(key);
  return out;
}

/**
 * The smallest key greater than every key that starts with `prefix`: the
 * prefix incremented as a big-endian number, with carry (client-go's
 * `kv.PrefixNextKey`). When every byte is 0xFF (or the prefix is empty) there
 * is no such key and the result is empty, which as a range end means
 * "to the end of the keyspace".
 *
 * @param prefix - a key prefix
 * @returns a new key of the same length, or an empty key
 */
export function prefixNext(prefix: Uint8Array): Uint8Array {
  const out = Uint8Array.from(prefix);
  for (let i = out.length - 1; i >= 0; i--) {
    out[i] = (out[i]! + 1) & 0xff;
    if (out[i] !== 0) return out;
  }
  return new Uint8Array(0);
}

/**
 * Concatenates byte arrays.
 *
 * @param parts - the arrays
 * @returns a new array holding all the bytes in order
 */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/**
 * Parses hexadecimal (either case, even length, no prefix) into bytes.
 *
 * @param hex - the hex string
 * @returns the bytes
 * @throws CodecError when the string has an odd length or a non-hex digit
 */
export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0)
    throw new CodecError(`hex string has odd length ${hex.length}`, { offset: hex.length });
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const hi = hexDigit(hex.charCodeAt(2 * i));
    const lo = hexDigit(hex.charCodeAt(2 * i + 1));
    if (hi < 0 || lo < 0) throw new CodecError(`invalid hex digit near offset ${2 * i}`, { offset: 2 * i });
    out[i] = (hi << 4) | lo;
  }
  return out;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** Keys up to this length are read straight into a string; longer ones through a Buffer view. */
const SHORT_KEY_BYTES = 256;

/**
 * A key as a Latin-1 string, one char per byte: usable as a `Map` key, and native string
 * comparison of two such strings orders them exactly as {@link compareKeys} orders the bytes.
 *
 * @param key - the key bytes
 * @returns a string of `key.length` chars in 0..255
 */
export function keyToLatin1(key: Uint8Array): string {
  if (key.length <= SHORT_KEY_BYTES) return String.fromCharCode.apply(null, key as unknown as number[]);
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}
