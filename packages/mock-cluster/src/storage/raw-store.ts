import { crc64 } from '@tikv/common';
import { ApiVersion } from '../api-version.js';
import type { ColumnFamily, KvEngine, ScanBounds } from './kv-engine.js';

/** A key and value read by a raw scan. */
export interface RawPair {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** Result of a raw compare-and-swap. */
export interface RawCasOutcome {
  /** The value before the operation; undefined when the key did not exist. */
  readonly previous: Uint8Array | undefined;
  /** Whether the new value (or the deletion) was applied. */
  readonly swapped: boolean;
}

/** Result of a raw checksum over some ranges. */
export interface RawChecksumOutcome {
  readonly crc64Xor: bigint;
  readonly totalKvs: bigint;
  readonly totalBytes: bigint;
}

/** Trailing meta byte of an API V2 value: bit 0 says an 8-byte expiry timestamp precedes it. */
const META_EXPIRE_TS = 0x01;

interface DecodedValue {
  readonly value: Uint8Array;
  /** Unix seconds after which the value is gone; 0 means no TTL. */
  readonly expireTs: bigint;
}

/**
 * Raw KV semantics over the shared engine, as TiKV's raw store implements them: API V1 stores the
 * value bytes as they are; API V2 appends an optional expiry timestamp and a meta byte, and hides
 * expired values from every read.
 */
export class RawStore {
  readonly #engine: KvEngine;
  readonly #apiVersion: ApiVersion;
  readonly #nowSeconds: () => bigint;

  constructor(engine: KvEngine, apiVersion: ApiVersion, nowSeconds: () => bigint) {
    this.#engine = engine;
    this.#apiVersion = apiVersion;
    this.#nowSeconds = nowSeconds;
  }

  /** Whether TTLs are accepted (API V2 only: V1TTL is deprecated and not served). */
  get ttlEnabled(): boolean {
    return this.#apiVersion === ApiVersion.V2;
  }

  #encode(value: Uint8Array, ttlSeconds: bigint): Uint8Array {
    if (!this.ttlEnabled) return value;
    if (ttlSeconds === 0n) {
      const out = new Uint8Array(value.length + 1);
      out.set(value);
      return out;
    }
    const out = new Uint8Array(value.length + 9);
    out.set(value);
    new DataView(out.buffer).setBigUint64(value.length, this.#nowSeconds() + ttlSeconds);
    out[value.length + 8] = META_EXPIRE_TS;
    return out;
  }

  #decode(stored: Uint8Array): DecodedValue | undefined {
    if (!this.ttlEnabled) return { value: stored, expireTs: 0n };
    const meta = stored[stored.length - 1] ?? 0;
    if ((meta & META_EXPIRE_TS) === 0) return { value: stored.subarray(0, stored.length - 1), expireTs: 0n };
    const at = stored.length - 9;
    const expireTs = new DataView(stored.buffer, stored.byteOffset).getBigUint64(at);
    if (expireTs <= this.#nowSeconds()) return undefined;
    return { value: stored.subarray(0, at), expireTs };
  }

  /** The live value at `key`, or undefined. */
  get(cf: ColumnFamily, key: Uint8Array): Uint8Array | undefined {
    const stored = this.#engine.cf(cf).get(key);
    return stored === undefined ? undefined : this.#decode(stored)?.value;
  }

  /** Seconds left to live (0 when the key has no TTL), or undefined when the key is absent. */
  getTtlSeconds(cf: ColumnFamily, key: Uint8Array): bigint | undefined {
    const stored = this.#engine.cf(cf).get(key);
    const d = stored === undefined ? undefined : this.#decode(stored);
    if (d === undefined) return undefined;
    return d.expireTs === 0n ? 0n : d.expireTs - this.#nowSeconds();
  }

  /** Writes `value` at `key`; `ttlSeconds` 0 means no expiry. */
  put(cf: ColumnFamily, key: Uint8Array, value: Uint8Array, ttlSeconds = 0n): void {
    this.#engine.cf(cf).put(key, this.#encode(value, ttlSeconds));
  }

  /** Deletes `key` (a no-op when absent). */
  delete(cf: ColumnFamily, key: Uint8Array): void {
    this.#engine.cf(cf).delete(key);
  }

  /** Deletes every key in `[start, end)`. */
  deleteRange(cf: ColumnFamily, start: Uint8Array, end: Uint8Array): void {
    this.#engine.cf(cf).deleteRange(start, end);
  }

  /** Up to `limit` live pairs within `bounds`; values are empty when `keyOnly`. */
  scan(cf: ColumnFamily, bounds: ScanBounds, limit: number, keyOnly: boolean): RawPair[] {
    const out: RawPair[] = [];
    if (limit <= 0) return out;
    for (const { key, value } of this.#engine.cf(cf).scan(bounds)) {
      const d = this.#decode(value);
      if (d === undefined) continue;
      out.push({ key, value: keyOnly ? new Uint8Array(0) : d.value });
      if (out.length >= limit) break;
    }
    return out;
  }

  /**
   * Atomically compares the live value at `key` with `expected` (undefined: must not exist) and,
   * when equal, writes `next` (or deletes the key when `next` is undefined).
   */
  compareAndSwap(
    cf: ColumnFamily,
    key: Uint8Array,
    expected: Uint8Array | undefined,
    next: Uint8Array | undefined,
    ttlSeconds = 0n,
  ): RawCasOutcome {
    const previous = this.get(cf, key);
    const swapped =
      expected === undefined
        ? previous === undefined
        : previous !== undefined && Buffer.compare(previous, expected) === 0;
    if (swapped) {
      if (next === undefined) this.delete(cf, key);
      else this.put(cf, key, next, ttlSeconds);
    }
    return { previous, swapped };
  }

  /** CRC-64 xor, count and byte size of every live pair in the `[lower, upper)` ranges. */
  checksum(cf: ColumnFamily, ranges: readonly ScanBounds[]): RawChecksumOutcome {
    let crc64Xor = 0n;
    let totalKvs = 0n;
    let totalBytes = 0n;
    for (const range of ranges) {
      for (const { key, value } of this.#engine.cf(cf).scan({ lower: range.lower, upper: range.upper })) {
        const d = this.#decode(value);
        if (d === undefined) continue;
        crc64Xor ^= crc64(key, d.value);
        totalKvs += 1n;
        totalBytes += BigInt(key.length + d.value.length);
      }
    }
    return { crc64Xor, totalKvs, totalBytes };
  }
}
