import { InvalidArgumentError } from '@tikv/common';

/**
 * The key format a cluster runs with. `V1`: raw and transactional keys are the user's bytes.
 * `V2`: every key carries a mode byte (`r` raw, `x` transactional) and a 3-byte keyspace id,
 * and RawKV gains TTL. (V1TTL is deprecated and not served.)
 */
export const ApiVersion = Object.freeze({ V1: 'V1', V2: 'V2' } as const);
/** The cluster's API version. */
export type ApiVersion = (typeof ApiVersion)[keyof typeof ApiVersion];

/**
 * How region boundaries appear on the wire (in PD answers and in region errors). TiKV stores
 * API V2 regions and transactional V1 regions by their memcomparable-encoded keys; RawKV V1
 * regions use the raw bytes.
 */
export const RegionKeyEncoding = Object.freeze({ Raw: 'raw', Memcomparable: 'memcomparable' } as const);
/** A region key encoding. */
export type RegionKeyEncoding = (typeof RegionKeyEncoding)[keyof typeof RegionKeyEncoding];

/** First byte of an API V2 raw key. */
export const RAW_MODE_PREFIX = 0x72; // 'r'
/** First byte of an API V2 transactional key. */
export const TXN_MODE_PREFIX = 0x78; // 'x'

/** The key modes TiKV distinguishes in API V2 by a key's first byte. */
export type KeyMode = 'raw' | 'txn' | 'tidb' | 'unknown';

/** Classifies an API V2 key by its first byte, as TiKV does. */
export function keyModeOf(key: Uint8Array): KeyMode {
  switch (key[0]) {
    case RAW_MODE_PREFIX:
      return 'raw';
    case TXN_MODE_PREFIX:
      return 'txn';
    case 0x74: // 't': TiDB table data
    case 0x6d: // 'm': TiDB meta
      return 'tidb';
    default:
      return 'unknown';
  }
}

/** Builds the 4-byte API V2 prefix of a keyspace: mode byte then the id as 3 big-endian bytes. */
export function keyspacePrefix(mode: 'raw' | 'txn', keyspaceId: number): Uint8Array {
  if (!Number.isInteger(keyspaceId) || keyspaceId < 0 || keyspaceId > 0xffffff) {
    throw new InvalidArgumentError(`keyspace id ${keyspaceId} does not fit in 3 bytes`);
  }
  return Uint8Array.of(
    mode === 'raw' ? RAW_MODE_PREFIX : TXN_MODE_PREFIX,
    (keyspaceId >> 16) & 0xff,
    (keyspaceId >> 8) & 0xff,
    keyspaceId & 0xff,
  );
}
