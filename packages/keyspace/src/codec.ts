import type { kvrpcpb } from '@tikv/proto';
import type { ApiVersion, KeyMode } from './api-version.js';
import type { CodecRequest, CodecResponse } from './codec-request.js';
import type { KeyspaceMeta } from './keyspace-meta.js';

/** A key range `[start, end)` as a pair; an empty end is unbounded. */
export type KeyPair = readonly [start: Uint8Array, end: Uint8Array];

/**
 * Encodes requests and decodes responses between the caller's keys and the keys TiKV stores
 * (client-go `apicodec.Codec`). API V1 leaves keys as they are; API V2 prefixes every key with
 * the keyspace (`r`/`x` and a 3-byte id), clamps ranges to it and drops what TiKV hands back
 * from outside it. Region boundaries (PD lookups, region errors, buckets) are in "region key"
 * form: memcomparable-encoded except for RawKV in V1.
 */
export interface Codec {
  /** The API version requests are tagged with. */
  readonly apiVersion: ApiVersion;
  /** Raw or transactional keys. */
  readonly mode: KeyMode;
  /** The keyspace id; `NULLSPACE_ID` in V1. */
  readonly keyspaceId: number;
  /** The 4-byte keyspace prefix; empty in V1. */
  readonly keyspacePrefix: Uint8Array;
  /** The keyspace meta the codec was built from; undefined in V1. */
  readonly keyspaceMeta: KeyspaceMeta | undefined;

  /**
   * Returns a copy of a request with its keys encoded and its context tagged with the API
   * version and keyspace. The argument is never modified, so it can be encoded again on retry.
   */
  encodeRequest<R extends CodecRequest>(request: R): R;
  /**
   * Decodes a response's keys in place (pairs, locks, key errors, region errors) and returns
   * it. Regions of an EpochNotMatch that lie outside the keyspace are dropped.
   *
   * @throws CodecError when a key is malformed or lies outside the keyspace
   */
  decodeResponse<R extends CodecResponse>(response: R): R;
  /**
   * Tags a request context with this codec's API version, keyspace id and keyspace name (what
   * `encodeRequest` does to the request's own context). Returns a copy.
   */
  applyContext(context: kvrpcpb.Context): kvrpcpb.Context;

  /** A key's region-key form, for a PD lookup. */
  encodeRegionKey(key: Uint8Array): Uint8Array;
  /** The key of a region-key form; empty stays empty in V1. @throws CodecError */
  decodeRegionKey(encoded: Uint8Array): Uint8Array;
  /** A range's region-key form; an empty end stays unbounded in V1 and becomes the keyspace end in V2. */
  encodeRegionRange(start: Uint8Array, end: Uint8Array): KeyPair;
  /** Region boundaries back in the caller's keys, clamped to the keyspace. @throws CodecError */
  decodeRegionRange(start: Uint8Array, end: Uint8Array): KeyPair;
  /** Bucket boundaries back in the caller's keys (V2 drops those outside the keyspace). */
  decodeBucketKeys(keys: readonly Uint8Array[]): Uint8Array[];
  /** A range's storage form; an empty end becomes the keyspace end in V2. */
  encodeRange(start: Uint8Array, end: Uint8Array): KeyPair;
  /** A storage range back in the caller's keys, clamped to the keyspace. @throws CodecError */
  decodeRange(start: Uint8Array, end: Uint8Array): KeyPair;
  /** A key's storage form. */
  encodeKey(key: Uint8Array): Uint8Array;
  /** The caller's key of a storage key. @throws KeyOutOfKeyspaceError in V2 when it is outside */
  decodeKey(encoded: Uint8Array): Uint8Array;
}
