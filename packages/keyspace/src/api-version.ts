import { bytesToHex, CodecError } from '@tikv/common';

/**
 * The storage key format a client speaks. `V1`: keys are the user's bytes. `V2`: every key
 * starts with a mode byte and a 3-byte keyspace id. (V1TTL is deprecated and not supported.)
 */
export const ApiVersion = Object.freeze({ V1: 'V1', V2: 'V2' } as const);
/** One of the {@link ApiVersion} values. */
export type ApiVersion = (typeof ApiVersion)[keyof typeof ApiVersion];

/** Which TiKV interface a codec serves: RawKV or the transactional KV. */
export const KeyMode = Object.freeze({ RAW: 'raw', TXN: 'txn' } as const);
/** One of the {@link KeyMode} values. */
export type KeyMode = (typeof KeyMode)[keyof typeof KeyMode];

/** First byte of an API V2 RawKV key (`'r'`). */
export const RAW_MODE_PREFIX = 0x72;
/** First byte of an API V2 transactional key (`'x'`). */
export const TXN_MODE_PREFIX = 0x78;
/** Length of an API V2 keyspace prefix: the mode byte and the 3-byte keyspace id. */
export const KEYSPACE_PREFIX_LENGTH = 4;
/** The largest keyspace id that fits in the 3 bytes of the V2 prefix (2^24 - 1). */
export const MAX_KEYSPACE_ID = 0xffffff;
/** The id of the default keyspace (the one an empty keyspace name selects). */
export const DEFAULT_KEYSPACE_ID = 0;
/** The name of the default keyspace. */
export const DEFAULT_KEYSPACE_NAME = 'DEFAULT';
/**
 * The "null keyspace" id: no keyspace at all (API V1, or keyspace-agnostic paths). It is the
 * largest uint32 and never a valid V2 keyspace id.
 */
export const NULLSPACE_ID = 0xffffffff;

/**
 * The keyspace name to ask PD for: an empty name selects the default keyspace.
 *
 * @param name - the configured keyspace name, possibly empty
 * @returns `name`, or {@link DEFAULT_KEYSPACE_NAME} when it is empty
 */
export function buildKeyspaceName(name: string | undefined): string {
  return name === undefined || name === '' ? DEFAULT_KEYSPACE_NAME : name;
}

/** The one-byte prefixes API V2 keys start with, sorted. */
export function codecV2Prefixes(): Uint8Array[] {
  return [Uint8Array.of(RAW_MODE_PREFIX), Uint8Array.of(TXN_MODE_PREFIX)];
}

/**
 * The sorted one-byte prefixes an API V1 key never starts with in a mixed V1/V2 deployment
 * (today the same as {@link codecV2Prefixes}; kept apart because the meaning differs).
 */
export function codecV1ExcludePrefixes(): Uint8Array[] {
  return codecV2Prefixes();
}

function checkV2Key(key: Uint8Array): void {
  const mode = key[0];
  if (key.length < KEYSPACE_PREFIX_LENGTH || (mode !== RAW_MODE_PREFIX && mode !== TXN_MODE_PREFIX)) {
    throw new CodecError(`invalid API V2 key: ${bytesToHex(key)}`);
  }
}

/**
 * Reads the keyspace id from an API V2 key.
 *
 * @param key - a key with its V2 prefix
 * @returns the keyspace id
 * @throws CodecError when the key does not start with a V2 prefix
 */
export function parseKeyspaceId(key: Uint8Array): number {
  checkV2Key(key);
  return (key[1]! << 16) | (key[2]! << 8) | key[3]!;
}

/**
 * Splits a storage key into its keyspace prefix and the user key (client-go `DecodeKey`).
 * V1 keys have no prefix.
 *
 * @param key - the storage key
 * @param version - the API version the key is in
 * @returns the prefix (empty in V1) and the user key, both views of `key`
 * @throws CodecError when a V2 key does not start with a V2 prefix
 */
export function splitKeyspaceKey(
  key: Uint8Array,
  version: ApiVersion,
): { readonly prefix: Uint8Array; readonly key: Uint8Array } {
  if (version === ApiVersion.V1) return { prefix: new Uint8Array(0), key };
  checkV2Key(key);
  return { prefix: key.subarray(0, KEYSPACE_PREFIX_LENGTH), key: key.subarray(KEYSPACE_PREFIX_LENGTH) };
}
