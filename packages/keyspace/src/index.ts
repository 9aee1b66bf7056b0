/**
 * `@tikv/keyspace`: API V1/V2 key codecs and keyspace meta loading for the TiKV client.
 *
 * @packageDocumentation
 */
export {
  ApiVersion,
  buildKeyspaceName,
  codecV1ExcludePrefixes,
  codecV2Prefixes,
  DEFAULT_KEYSPACE_ID,
  DEFAULT_KEYSPACE_NAME,
  KEYSPACE_PREFIX_LENGTH,
  KeyMode,
  MAX_KEYSPACE_ID,
  NULLSPACE_ID,
  parseKeyspaceId,
  RAW_MODE_PREFIX,
  splitKeyspaceKey,
  TXN_MODE_PREFIX,
} from './api-version.js';
export type { Codec, KeyPair } from './codec.js';
export type { CodecCommand, CodecRequest, CodecResponse } from './codec-request.js';
export { CodecV1 } from './codec-v1.js';
export { CodecV2 } from './codec-v2.js';
export { type CreateCodecOptions, createCodec } from './create-codec.js';
export {
  isKeyOutOfKeyspace,
  KeyOutOfKeyspaceError,
  KeyspaceError,
  KeyspaceErrorReason,
} from './keyspace-errors.js';
export {
  type KeyspaceMeta,
  KeyspaceState,
  keyspaceMetaFromWire,
  type WireKeyspaceMeta,
} from './keyspace-meta.js';
export { KeyspaceCache, type KeyspaceSource, loadKeyspaceMeta } from './keyspace-source.js';
export { MEMCOMPARABLE_MEM_CODEC, type MemCodec, PLAIN_MEM_CODEC } from './mem-codec.js';
export { CodecRegionKeyCodec, type RegionShape } from './region-key-codec.js';
