import { CodecError, decodeBytes, encodeBytes } from '@tikv/common';

/** How region boundary keys are stored: as they are, or memcomparable-encoded. */
export interface MemCodec {
  /** The stored form of a key. */
  encodeKey(key: Uint8Array): Uint8Array;
  /** The key of a stored form; throws `CodecError` when it is malformed. */
  decodeKey(encoded: Uint8Array): Uint8Array;
}

/** Region keys kept as they are (RawKV in API V1). */
export const PLAIN_MEM_CODEC: MemCodec = Object.freeze({
  encodeKey: (key: Uint8Array): Uint8Array => key,
  decodeKey: (encoded: Uint8Array): Uint8Array => encoded,
});

/**
 * Region keys memcomparable-encoded (transactional V1 and every V2 key). Decoding ignores
 * bytes after the first encoded value, as client-go does.
 */
export const MEMCOMPARABLE_MEM_CODEC: MemCodec = Object.freeze({
  encodeKey: (key: Uint8Array): Uint8Array => encodeBytes(key),
  decodeKey: (encoded: Uint8Array): Uint8Array => {
    try {
      return decodeBytes(encoded).value;
    } catch (e) {
      throw new CodecError(`malformed region key: ${e instanceof Error ? e.message : String(e)}`, {
        cause: e,
      });
    }
  },
});
