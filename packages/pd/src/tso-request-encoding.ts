/**
 * Wire encoding of TSO requests from a header encoded once. PD's `pdpb.TsoRequest` and the TSO
 * microservice's `tsopb.TsoRequest` share one layout (`header = 1`, `count = 2`,
 * `dc_location = 3`); only `count` changes from one request of a stream to the next, so a
 * stream keeps the bytes up to the count and appends the count's varint. This skips the
 * general encoder's writer, its 64-bit varint path and the copy of the header per request.
 */

/** The tag of field 1 (`header`), length-delimited. */
const HEADER_TAG = 0x0a;
/** The tag of field 2 (`count`), varint. */
const COUNT_TAG = 0x10;

function varintLength(n: number): number {
  let len = 1;
  while (n > 0x7f) {
    n >>>= 7;
    len++;
  }
  return len;
}

function writeVarint(out: Uint8Array, offset: number, n: number): number {
  let o = offset;
  while (n > 0x7f) {
    out[o++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  out[o++] = n;
  return o;
}

/**
 * The bytes of a TSO request before its count: the header field (`encodedHeader`, the
 * header message's own encoding) and the count's tag.
 *
 * @param encodedHeader - the request header, encoded (`RequestHeader.encode(h).finish()`)
 * @internal
 */
export function tsoRequestPrefix(encodedHeader: Uint8Array): Uint8Array {
  const n = encodedHeader.length;
  const out = new Uint8Array(1 + varintLength(n) + n + 1);
  let o = writeVarint(out, 1, n);
  out[0] = HEADER_TAG;
  out.set(encodedHeader, o);
  o += n;
  out[o] = COUNT_TAG;
  return out;
}

/**
 * A TSO request for `count` timestamps (no DC location): `prefix` (from
 * {@link tsoRequestPrefix}) followed by the count.
 *
 * @param prefix - the stream's request prefix
 * @param count - how many timestamps, a 32-bit unsigned integer
 * @internal
 */
export function encodeTsoRequest(prefix: Uint8Array, count: number): Buffer {
  const c = count >>> 0;
  const out = Buffer.allocUnsafe(prefix.length + varintLength(c));
  out.set(prefix, 0);
  writeVarint(out, prefix.length, c);
  return out;
}
