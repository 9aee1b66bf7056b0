import type { MemBuffer, MemBufferIterator } from '../src/index.js';

/** 4-byte big-endian encoding of `n` (client-go tests' `binary.BigEndian.PutUint32`). */
export function be32(n: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, n >>> 0);
  return out;
}

/** Decodes {@link be32}. */
export function fromBe32(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0);
}

/** UTF-8 bytes of a string. */
export function str(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** Bytes from numbers. */
export function b(...xs: number[]): Uint8Array {
  return Uint8Array.from(xs);
}

/** A plain copy, so `toEqual` compares bytes and not views. */
export function copy(x: Uint8Array | undefined): Uint8Array | undefined {
  return x === undefined ? undefined : Uint8Array.from(x);
}

/** Opens a staging and sets keys `start..end-1` to `i + valueBase` (client-go `deriveAndFill`). */
export function deriveAndFill(db: MemBuffer, start: number, end: number, valueBase: number): number {
  const h = db.staging();
  for (let i = start; i < end; i++) db.set(be32(i), be32(i + valueBase));
  return h;
}

/** Fills keys `0..cnt-1` with themselves (client-go `fillDB`). */
export function fillDB(db: MemBuffer, cnt: number): void {
  db.release(deriveAndFill(db, 0, cnt, 0));
}

/** Every entry an iterator walks, as copies. */
export function drain(it: MemBufferIterator): { key: Uint8Array; value: Uint8Array | undefined }[] {
  const out: { key: Uint8Array; value: Uint8Array | undefined }[] = [];
  for (; it.valid; it.next()) out.push({ key: Uint8Array.from(it.key()), value: copy(it.value()) });
  return out;
}

/** A small deterministic PRNG (xorshift32), so a failing randomized test replays. */
export function prng(seed: number): {
  int(n: number): number;
  float(): number;
  bytes(n: number): Uint8Array;
} {
  let s = seed >>> 0 || 1;
  const next = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return s >>> 0;
  };
  return {
    int: (n) => next() % n,
    float: () => next() / 2 ** 32,
    bytes: (n) => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = next() & 0xff;
      return out;
    },
  };
}

/** Hex of bytes, for maps and messages. */
export function hex(x: Uint8Array): string {
  return Buffer.from(x.buffer, x.byteOffset, x.byteLength).toString('hex');
}
