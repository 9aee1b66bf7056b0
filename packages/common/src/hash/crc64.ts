/** The ECMA-182 polynomial, bit-reversed (CRC-64/XZ processes bits least significant first). */
const POLY_REFLECTED = 0xc96c5795d7870f42n;

/** The byte table split into 32-bit halves, so the per-byte loop runs on numbers, not bigints. */
let tableHi: Uint32Array | undefined;
let tableLo: Uint32Array | undefined;

function buildTables(): void {
  const hi = new Uint32Array(256);
  const lo = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = BigInt(i);
    for (let bit = 0; bit < 8; bit++) c = c & 1n ? (c >> 1n) ^ POLY_REFLECTED : c >> 1n;
    hi[i] = Number(c >> 32n);
    lo[i] = Number(c & 0xffffffffn);
  }
  tableHi = hi;
  tableLo = lo;
}

/**
 * CRC-64/XZ of the concatenation of `parts`: the ECMA-182 polynomial, reflected, with the
 * initial value and the final xor all ones. It is Go's `crc64.Checksum(b, crc64.MakeTable(crc64.ECMA))`
 * and the digest TiKV's raw checksum takes of each key/value pair (`crc64Xor` xors them).
 * The check value, of the ASCII bytes `123456789`, is `0x995dc9bbdf1939fa`.
 *
 * @param parts - the bytes, digested as if concatenated
 * @returns the 64-bit checksum
 */
export function crc64(...parts: readonly Uint8Array[]): bigint {
  if (tableHi === undefined || tableLo === undefined) buildTables();
  const th = tableHi as Uint32Array;
  const tl = tableLo as Uint32Array;
  let hi = 0xffffffff;
  let lo = 0xffffffff;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) {
      const idx = (lo ^ (part[i] as number)) & 0xff;
      lo = (((lo >>> 8) | (hi << 24)) ^ (tl[idx] as number)) >>> 0;
      hi = ((hi >>> 8) ^ (th[idx] as number)) >>> 0;
    }
  }
  return (BigInt((hi ^ 0xffffffff) >>> 0) << 32n) | BigInt((lo ^ 0xffffffff) >>> 0);
}
