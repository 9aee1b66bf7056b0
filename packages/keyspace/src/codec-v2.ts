import { compareKeys, InvalidArgumentError, prefixNext } from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import {
  ApiVersion,
  KEYSPACE_PREFIX_LENGTH,
  KeyMode,
  MAX_KEYSPACE_ID,
  RAW_MODE_PREFIX,
  TXN_MODE_PREFIX,
} from './api-version.js';
import type { Codec, KeyPair } from './codec.js';
import type { CodecRequest, CodecResponse } from './codec-request.js';
import { KeyOutOfKeyspaceError, KeyspaceError, KeyspaceErrorReason } from './keyspace-errors.js';
import {
  isWireKeyspaceMeta,
  type KeyspaceMeta,
  keyspaceMetaFromWire,
  type WireKeyspaceMeta,
} from './keyspace-meta.js';
import { MEMCOMPARABLE_MEM_CODEC } from './mem-codec.js';
import { encodeRequestV2 } from './request-encoder-v2.js';
import { decodeResponseV2 } from './response-decoder-v2.js';

const EMPTY = new Uint8Array(0);

function hasPrefix(key: Uint8Array, prefix: Uint8Array): boolean {
  if (key.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (key[i] !== prefix[i]) return false;
  return true;
}

/**
 * The API V2 codec (client-go `codecV2`): every key gets the keyspace's 4-byte prefix
 * (`r` or `x`, then the id in 3 big-endian bytes), an empty range end becomes the keyspace's
 * end (the prefix plus one, carrying into higher bytes), and region keys are memcomparable.
 */
export class CodecV2 implements Codec {
  readonly apiVersion = ApiVersion.V2;
  readonly mode: KeyMode;
  readonly keyspaceId: number;
  readonly keyspaceMeta: KeyspaceMeta;
  /** The keyspace's first key: the 4-byte prefix. */
  readonly keyspacePrefix: Uint8Array;
  /** The first key after the keyspace (exclusive end of every range). */
  readonly keyspaceEndKey: Uint8Array;
  readonly #keyspaceArm: { readonly $case: 'keyspaceId'; readonly value: number };

  /**
   * @param mode - raw (`r` prefix) or txn (`x` prefix)
   * @param meta - the keyspace, as PD returned it or converted
   * @throws InvalidArgumentError for a missing meta or an unknown mode
   * @throws KeyspaceError for an API V3 identity or an id beyond 3 bytes
   */
  constructor(mode: KeyMode, meta: KeyspaceMeta | WireKeyspaceMeta) {
    if ((meta as KeyspaceMeta | WireKeyspaceMeta | undefined) === undefined) {
      throw new InvalidArgumentError('keyspace meta is required for API V2');
    }
    const m = isWireKeyspaceMeta(meta) ? keyspaceMetaFromWire(meta) : meta;
    if (!Number.isInteger(m.id) || m.id < 0 || m.id > MAX_KEYSPACE_ID) {
      throw new KeyspaceError(
        KeyspaceErrorReason.ID_OUT_OF_RANGE,
        `keyspace id ${m.id} is out of range, maximum is ${MAX_KEYSPACE_ID}`,
        { keyspaceName: m.name },
      );
    }
    let modeByte: number;
    if (mode === KeyMode.RAW) modeByte = RAW_MODE_PREFIX;
    else if (mode === KeyMode.TXN) modeByte = TXN_MODE_PREFIX;
    else throw new InvalidArgumentError(`unknown key mode ${String(mode)}`);
    this.mode = mode;
    this.keyspaceMeta = m;
    this.keyspaceId = m.id;
    this.keyspacePrefix = Uint8Array.of(modeByte, (m.id >> 16) & 0xff, (m.id >> 8) & 0xff, m.id & 0xff);
    this.keyspaceEndKey = prefixNext(this.keyspacePrefix);
    this.#keyspaceArm = Object.freeze({ $case: 'keyspaceId', value: m.id });
  }

  applyContext(context: kvrpcpb.Context): kvrpcpb.Context {
    return {
      ...context,
      apiVersion: kvrpcpb.APIVersion.V2,
      keyspace: this.#keyspaceArm,
      keyspaceName: this.keyspaceMeta.name,
    };
  }

  encodeRequest<R extends CodecRequest>(request: R): R {
    return encodeRequestV2(this, request) as R;
  }

  decodeResponse<R extends CodecResponse>(response: R): R {
    decodeResponseV2(this, response);
    return response;
  }

  encodeKey(key: Uint8Array): Uint8Array {
    const out = new Uint8Array(KEYSPACE_PREFIX_LENGTH + key.length);
    out.set(this.keyspacePrefix, 0);
    out.set(key, KEYSPACE_PREFIX_LENGTH);
    return out;
  }

  /** An empty key decodes to empty; a key of another keyspace throws `KeyOutOfKeyspaceError`. */
  decodeKey(encoded: Uint8Array): Uint8Array {
    if (encoded.length === 0) return encoded;
    if (!hasPrefix(encoded, this.keyspacePrefix)) throw new KeyOutOfKeyspaceError();
    return encoded.subarray(KEYSPACE_PREFIX_LENGTH);
  }

  encodeRange(start: Uint8Array, end: Uint8Array): KeyPair {
    return this.encodeRangeDirected(start, end, false);
  }

  /**
   * Encodes a range whose bounds may be swapped: a reverse scan sends its upper bound as
   * `start`, so there the empty `start` is the one that becomes the keyspace end.
   *
   * @internal
   */
  encodeRangeDirected(start: Uint8Array, end: Uint8Array, reverse: boolean): KeyPair {
    if (reverse) {
      const [lower, upper] = this.encodeRangeDirected(end, start, false);
      return [upper, lower];
    }
    return [this.encodeKey(start), end.length > 0 ? this.encodeKey(end) : this.keyspaceEndKey];
  }

  decodeRange(start: Uint8Array, end: Uint8Array): KeyPair {
    if (
      compareKeys(start, this.keyspaceEndKey) >= 0 ||
      (end.length > 0 && compareKeys(end, this.keyspacePrefix) <= 0)
    ) {
      throw new KeyOutOfKeyspaceError('range does not overlap the keyspace');
    }
    return [
      hasPrefix(start, this.keyspacePrefix) ? start.subarray(KEYSPACE_PREFIX_LENGTH) : EMPTY,
      hasPrefix(end, this.keyspacePrefix) ? end.subarray(KEYSPACE_PREFIX_LENGTH) : EMPTY,
    ];
  }

  encodeRegionKey(key: Uint8Array): Uint8Array {
    return MEMCOMPARABLE_MEM_CODEC.encodeKey(this.encodeKey(key));
  }

  decodeRegionKey(encoded: Uint8Array): Uint8Array {
    return this.decodeKey(MEMCOMPARABLE_MEM_CODEC.decodeKey(encoded));
  }

  encodeRegionRange(start: Uint8Array, end: Uint8Array): KeyPair {
    const [s, e] = this.encodeRange(start, end);
    return [MEMCOMPARABLE_MEM_CODEC.encodeKey(s), MEMCOMPARABLE_MEM_CODEC.encodeKey(e)];
  }

  decodeRegionRange(start: Uint8Array, end: Uint8Array): KeyPair {
    return this.decodeRange(
      start.length === 0 ? start : MEMCOMPARABLE_MEM_CODEC.decodeKey(start),
      end.length === 0 ? end : MEMCOMPARABLE_MEM_CODEC.decodeKey(end),
    );
  }

  /**
   * Bucket boundaries in the caller's keys: a first boundary before the keyspace and a last one
   * at or past its end become empty (unbounded); boundaries of other keyspaces are dropped, and
   * the keyspace's own first key is dropped when an unbounded start already precedes it.
   */
  decodeBucketKeys(keys: readonly Uint8Array[]): Uint8Array[] {
    const out: Uint8Array[] = [];
    const last = keys.length - 1;
    keys.forEach((key, i) => {
      const k = key.length > 0 ? MEMCOMPARABLE_MEM_CODEC.decodeKey(key) : EMPTY;
      if (i === 0 && compareKeys(k, this.keyspacePrefix) < 0) {
        out.push(EMPTY);
      } else if (i === last && (k.length === 0 || compareKeys(k, this.keyspaceEndKey) >= 0)) {
        out.push(EMPTY);
      } else if (hasPrefix(k, this.keyspacePrefix)) {
        const raw = k.subarray(KEYSPACE_PREFIX_LENGTH);
        if (raw.length === 0 && out.length > 0 && out[0]!.length === 0) return;
        out.push(raw);
      }
    });
    return out;
  }
}
