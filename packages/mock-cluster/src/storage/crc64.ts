/**
 * CRC-64/XZ (the ECMA-182 polynomial, reflected, initial value and final xor all ones): the digest
 * TiKV's raw checksum uses for each key/value pair.
 */
const POLY_REFLECTED = 0xc96c5795d7870f42n;
const MASK = 0xffffffffffffffffn;

let table: BigUint64Array | undefined;

function crcTable(): BigUint64Array {
  if (table !== undefined) return table;
  const t = new BigUint64Array(256);
  for (let i = 0; i < 256; i++) {
    let c = BigInt(i);
    for (let bit = 0; bit < 8; bit++) c = c & 1n ? (c >> 1n) ^ POLY_REFLECTED : c >> 1n;
    t[i] = c;
  }
  table = t;
  return t;
}

/** CRC-64/XZ of the concatenation of `parts`. */
export function crc64(...parts: Uint8Array[]): bigint {
  const t = crcTable();
  let crc = MASK;
  for (const part of parts) {
    for (let i = 0; i < part.length; i++) {
      crc = (t[Number((crc ^ BigInt(part[i] as number)) & 0xffn)] as bigint) ^ (crc >> 8n);
    }
  }
  return crc ^ MASK;
}
