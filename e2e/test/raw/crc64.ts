// CRC-64 with the ECMA-182 polynomial as Go's hash/crc64 computes it, to check RawClient.checksum.
const POLY = 0xc96c5795d7870f42n;
const MASK = (1n << 64n) - 1n;
const TABLE: bigint[] = [];
for (let i = 0n; i < 256n; i++) {
  let c = i;
  for (let j = 0; j < 8; j++) c = c & 1n ? (c >> 1n) ^ POLY : c >> 1n;
  TABLE.push(c);
}

/** CRC-64/ECMA of the concatenated parts. */
export function crc64(...parts: Uint8Array[]): bigint {
  let crc = MASK;
  for (const p of parts)
    for (const b of p) crc = (TABLE[Number((crc ^ BigInt(b)) & 0xffn)] as bigint) ^ (crc >> 8n);
  return crc ^ MASK;
}
