import type { BytesLike } from '@tikv/common';

/** A key and its value, as the client returns them. */
export interface KvPair {
  /** The key. */
  readonly key: Uint8Array;
  /** The value: a zero-length array for an empty value, and for every pair of a key-only scan. */
  readonly value: Uint8Array;
}

/** A key-value pair as a caller passes it in: bytes, or strings taken as UTF-8. */
export interface KvPairInput {
  /** The key. */
  readonly key: BytesLike;
  /** The value (may be empty). */
  readonly value: BytesLike;
}

/** A key range `[startKey, endKey)` as a caller passes it in; an empty end is unbounded. */
export interface KeyRangeInput {
  /** Inclusive lower bound. */
  readonly startKey: BytesLike;
  /** Exclusive upper bound; empty (or omitted) means +infinity. */
  readonly endKey?: BytesLike;
}

/** The answer of {@link RawClient.checksum}, computed by TiKV (client-go `RawChecksum`). */
export interface RawChecksum {
  /** XOR of the CRC-64 (ECMA-182, as `hash/crc64`'s ECMA table) of each key followed by its value. */
  readonly crc64Xor: bigint;
  /** The number of pairs. */
  readonly totalKvs: bigint;
  /** Bytes of keys and values; in API V2 keys count with their 4-byte keyspace prefix. */
  readonly totalBytes: bigint;
}

/** The answer of {@link RawClient.compareAndSwap}. */
export interface CompareAndSwapResult {
  /** The value the key had before (undefined: it did not exist). */
  readonly previous: Uint8Array | undefined;
  /** Whether the new value was written. */
  readonly swapped: boolean;
}
