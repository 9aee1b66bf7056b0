/**
 * FarmHash's `Fingerprint64` (the `farmhashna` 64-bit hash) as the Rust `farmhash` crate computes
 * it, which TiKV applies to a raw key for the key hashes of lock waiting and deadlock reports
 * (`Key::gen_hash`). Only lock waits use it, so plain `bigint` arithmetic is fast enough.
 */

const M64 = (1n << 64n) - 1n;
const K0 = 0xc3a5c85c97cb3127n;
const K1 = 0xb492b66fbe98f273n;
const K2 = 0x9ae16a3b2f90404fn;

const add = (a: bigint, b: bigint): bigint => (a + b) & M64;
const mul = (a: bigint, b: bigint): bigint => (a * b) & M64;
const rotr = (v: bigint, s: bigint): bigint => ((v >> s) | (v << (64n - s))) & M64;
const shiftMix = (v: bigint): bigint => v ^ (v >> 47n);

function fetch64(s: Uint8Array, at: number): bigint {
  return new DataView(s.buffer, s.byteOffset + at, 8).getBigUint64(0, true);
}

function fetch32(s: Uint8Array, at: number): bigint {
  return BigInt(new DataView(s.buffer, s.byteOffset + at, 4).getUint32(0, true));
}

function hashLen16(u: bigint, v: bigint, m: bigint): bigint {
  let a = mul(u ^ v, m);
  a ^= a >> 47n;
  let b = mul(v ^ a, m);
  b ^= b >> 47n;
  return mul(b, m);
}

function hashLen0to16(s: Uint8Array): bigint {
  const len = s.length;
  if (len >= 8) {
    const m = add(K2, BigInt(len * 2));
    const a = add(fetch64(s, 0), K2);
    const b = fetch64(s, len - 8);
    const c = add(mul(rotr(b, 37n), m), a);
    const d = mul(add(rotr(a, 25n), b), m);
    return hashLen16(c, d, m);
  }
  if (len >= 4) {
    const m = add(K2, BigInt(len * 2));
    const a = fetch32(s, 0);
    return hashLen16(add(BigInt(len), a << 3n), fetch32(s, len - 4), m);
  }
  if (len > 0) {
    const a = BigInt(s[0]!);
    const b = BigInt(s[len >> 1]!);
    const c = BigInt(s[len - 1]!);
    const y = add(a, b << 8n);
    const z = add(BigInt(len), c << 2n);
    return mul(shiftMix(mul(y, K2) ^ mul(z, K0)), K2);
  }
  return K2;
}

function hashLen17to32(s: Uint8Array): bigint {
  const len = s.length;
  const m = add(K2, BigInt(len * 2));
  const a = mul(fetch64(s, 0), K1);
  const b = fetch64(s, 8);
  const c = mul(fetch64(s, len - 8), m);
  const d = mul(fetch64(s, len - 16), K2);
  return hashLen16(add(add(rotr(add(a, b), 43n), rotr(c, 30n)), d), add(add(a, rotr(add(b, K2), 18n)), c), m);
}

function hashLen33to64(s: Uint8Array): bigint {
  const len = s.length;
  const m = add(K2, BigInt(len * 2));
  const a = mul(fetch64(s, 0), K2);
  const b = fetch64(s, 8);
  const c = mul(fetch64(s, len - 8), m);
  const d = mul(fetch64(s, len - 16), K2);
  const y = add(add(rotr(add(a, b), 43n), rotr(c, 30n)), d);
  const z = hashLen16(y, add(add(a, rotr(add(b, K2), 18n)), c), m);
  const e = mul(fetch64(s, 16), m);
  const f = fetch64(s, 24);
  const g = mul(add(y, fetch64(s, len - 32)), m);
  const h = mul(add(z, fetch64(s, len - 24)), m);
  return hashLen16(add(add(rotr(add(e, f), 43n), rotr(g, 30n)), h), add(add(e, rotr(add(f, a), 18n)), g), m);
}

/** Two 64-bit halves mixed from 32 bytes at `at` and two seeds. */
function weakHashLen32WithSeeds(s: Uint8Array, at: number, seedA: bigint, seedB: bigint): [bigint, bigint] {
  const w = fetch64(s, at);
  const x = fetch64(s, at + 8);
  const y = fetch64(s, at + 16);
  const z = fetch64(s, at + 24);
  let a = add(seedA, w);
  let b = rotr(add(add(seedB, a), z), 21n);
  const c = a;
  a = add(add(a, x), y);
  b = add(b, rotr(a, 44n));
  return [add(a, z), add(b, c)];
}

/** TiKV's key hash (`farmhash::fingerprint64` of the raw key). */
export function fingerprint64(s: Uint8Array): bigint {
  const len = s.length;
  if (len <= 16) return hashLen0to16(s);
  if (len <= 32) return hashLen17to32(s);
  if (len <= 64) return hashLen33to64(s);

  const seed = 81n;
  let x = seed;
  let y = add(mul(seed, K1), 113n);
  let z = mul(shiftMix(add(mul(y, K2), 113n)), K2);
  let v: [bigint, bigint] = [0n, 0n];
  let w: [bigint, bigint] = [0n, 0n];
  x = add(mul(x, K2), fetch64(s, 0));

  let at = 0;
  do {
    x = mul(rotr(add(add(add(x, y), v[0]), fetch64(s, at + 8)), 37n), K1);
    y = mul(rotr(add(add(y, v[1]), fetch64(s, at + 48)), 42n), K1);
    x ^= w[1];
    y = add(y, add(v[0], fetch64(s, at + 40)));
    z = mul(rotr(add(z, w[0]), 33n), K1);
    v = weakHashLen32WithSeeds(s, at, mul(v[1], K1), add(x, w[0]));
    w = weakHashLen32WithSeeds(s, at + 32, add(z, w[1]), add(y, fetch64(s, at + 16)));
    [z, x] = [x, z];
    at += 64;
    // TiKV's farmhash crate loops while 64 bytes remain (C++ stops one block earlier when the
    // length is a multiple of 64): TiKV's answers are what count.
  } while (len - at >= 64);

  const m = add(K1, (z & 0xffn) << 1n);
  at = len - 64;
  w[0] = add(w[0], BigInt((len - 1) & 63));
  v[0] = add(v[0], w[0]);
  w[0] = add(w[0], v[0]);
  x = mul(rotr(add(add(add(x, y), v[0]), fetch64(s, at + 8)), 37n), m);
  y = mul(rotr(add(add(y, v[1]), fetch64(s, at + 48)), 42n), m);
  x ^= mul(w[1], 9n);
  y = add(y, add(mul(v[0], 9n), fetch64(s, at + 40)));
  z = mul(rotr(add(z, w[0]), 33n), m);
  v = weakHashLen32WithSeeds(s, at, mul(v[1], m), add(x, w[0]));
  w = weakHashLen32WithSeeds(s, at + 32, add(z, w[1]), add(y, fetch64(s, at + 16)));
  [z, x] = [x, z];
  return hashLen16(
    add(add(hashLen16(v[0], w[0], m), mul(shiftMix(y), K0)), z),
    add(hashLen16(v[1], w[1], m), x),
    m,
  );
}
