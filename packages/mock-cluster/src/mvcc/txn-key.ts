import { decodeBytes, encodeBytes } from '@tikv/common';

/** Bytes of the version suffix TiKV appends to a transactional key. */
export const TS_SUFFIX_BYTES = 8;
/** The largest timestamp (`TimeStamp::max()`). */
export const TS_MAX = 0xffff_ffff_ffff_ffffn;
/** Bits of a TSO timestamp below its physical part (milliseconds). */
const PHYSICAL_SHIFT = 18n;

/**
 * The memcomparable form TiKV stores a transactional user key under (`Key::from_raw`): the lock
 * CF keeps it as it is, the default and write CFs append a version with {@link appendTs}.
 */
export function encodeTxnKey(rawKey: Uint8Array): Uint8Array {
  return encodeBytes(rawKey);
}

/** The user key of an encoded transactional key (`Key::to_raw`). */
export function decodeTxnKey(encoded: Uint8Array): Uint8Array {
  return decodeBytes(encoded).value;
}

/**
 * `Key::append_ts`: the encoded key followed by the bitwise complement of `ts` in big-endian, so
 * that newer versions of a key sort first.
 */
export function appendTs(encodedKey: Uint8Array, ts: bigint): Uint8Array {
  const out = new Uint8Array(encodedKey.length + TS_SUFFIX_BYTES);
  out.set(encodedKey);
  const inv = TS_MAX ^ ts;
  let hi = Number(inv >> 32n);
  let lo = Number(inv & 0xffff_ffffn);
  for (let i = encodedKey.length + 7; i >= encodedKey.length + 4; i--, lo = Math.floor(lo / 256))
    out[i] = lo % 256;
  for (let i = encodedKey.length + 3; i >= encodedKey.length; i--, hi = Math.floor(hi / 256))
    out[i] = hi % 256;
  return out;
}

/** The version of a key written by {@link appendTs}. */
export function decodeTsFrom(versionedKey: Uint8Array): bigint {
  const at = versionedKey.length - TS_SUFFIX_BYTES;
  if (at < 0) throw new RangeError('versioned key is shorter than its timestamp');
  return TS_MAX ^ new DataView(versionedKey.buffer, versionedKey.byteOffset).getBigUint64(at);
}

/** The encoded user key part of a versioned key (`Key::truncate_ts_for`). */
export function truncateTs(versionedKey: Uint8Array): Uint8Array {
  if (versionedKey.length < TS_SUFFIX_BYTES)
    throw new RangeError('versioned key is shorter than its timestamp');
  return versionedKey.subarray(0, versionedKey.length - TS_SUFFIX_BYTES);
}

/** Whether `versionedKey` is a version of `encodedKey` (`Key::is_user_key_eq`). */
export function isUserKeyEq(versionedKey: Uint8Array, encodedKey: Uint8Array): boolean {
  if (versionedKey.length !== encodedKey.length + TS_SUFFIX_BYTES) return false;
  for (let i = 0; i < encodedKey.length; i++) if (versionedKey[i] !== encodedKey[i]) return false;
  return true;
}

/** The physical (millisecond) part of a TSO timestamp. */
export function physicalOf(ts: bigint): bigint {
  return ts >> PHYSICAL_SHIFT;
}

/** A TSO timestamp from its physical and logical parts. */
export function composeTs(physicalMs: bigint, logical = 0n): bigint {
  return (physicalMs << PHYSICAL_SHIFT) | logical;
}

/** Equality of two byte strings. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
