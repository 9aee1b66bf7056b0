import { crc64 } from './crc64.js';

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The textbook bit-at-a-time CRC-64/XZ on bigints, to check the table-driven one against. */
function reference(bytes: Uint8Array): bigint {
  const poly = 0xc96c5795d7870f42n;
  const mask = (1n << 64n) - 1n;
  let crc = mask;
  for (const b of bytes) {
    crc ^= BigInt(b);
    for (let k = 0; k < 8; k++) crc = crc & 1n ? (crc >> 1n) ^ poly : crc >> 1n;
  }
  return crc ^ mask;
}

describe('crc64 (CRC-64/XZ, Go hash/crc64 with the ECMA table)', () => {
  test('the catalogue check value and the empty input', () => {
    expect(crc64(ascii('123456789'))).toBe(0x995dc9bbdf1939fan);
    expect(crc64()).toBe(0n);
    expect(crc64(new Uint8Array(0))).toBe(0n);
  });

  test('values Go computes (crc64.Checksum(b, crc64.MakeTable(crc64.ECMA)))', () => {
    expect(crc64(ascii('a'))).toBe(0x330284772e652b05n);
    expect(crc64(ascii('hello world'))).toBe(0x53037ecdef2352dan);
  });

  test('parts digest as their concatenation', () => {
    expect(crc64(ascii('key'), ascii('value'))).toBe(crc64(ascii('keyvalue')));
    expect(crc64(ascii(''), ascii('123'), ascii('456789'))).toBe(0x995dc9bbdf1939fan);
  });

  test('agrees with the bit-at-a-time definition on every byte value and lengths up to 300', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(crc64(all)).toBe(reference(all));
    let seed = 12345;
    for (let len = 0; len <= 300; len += 7) {
      const bytes = Uint8Array.from({ length: len }, () => {
        seed = (seed * 1103515245 + 12345) >>> 0;
        return seed >>> 24;
      });
      expect(crc64(bytes)).toBe(reference(bytes));
    }
  });
});
