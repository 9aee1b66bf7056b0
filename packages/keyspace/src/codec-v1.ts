import { kvrpcpb } from '@tikv/proto';
import { ApiVersion, KeyMode, NULLSPACE_ID } from './api-version.js';
import type { Codec, KeyPair } from './codec.js';
import type { CodecCommand, CodecRequest, CodecResponse } from './codec-request.js';
import { MEMCOMPARABLE_MEM_CODEC, type MemCodec, PLAIN_MEM_CODEC } from './mem-codec.js';
import { decodeRegionErrorWith } from './region-error-decoder.js';

/**
 * Commands whose region errors the V1 codec decodes (their keys are left alone): client-go's list,
 * plus pipelined DML's Flush and BufferBatchGet, which client-go leaves out (their EpochNotMatch
 * regions would put memcomparable-encoded boundaries in the region cache).
 */
const V1_REGION_ERROR_COMMANDS: ReadonlySet<CodecCommand> = new Set<CodecCommand>([
  'Get',
  'Scan',
  'Prewrite',
  'Commit',
  'Cleanup',
  'BatchGet',
  'BatchRollback',
  'ScanLock',
  'ResolveLock',
  'GC',
  'DeleteRange',
  'PessimisticLock',
  'PessimisticRollback',
  'TxnHeartBeat',
  'CheckTxnStatus',
  'CheckSecondaryLocks',
  'Flush',
  'BufferBatchGet',
  'RawGet',
  'RawBatchGet',
  'RawPut',
  'RawBatchPut',
  'RawDelete',
  'RawBatchDelete',
  'RawDeleteRange',
  'RawScan',
  'RawGetKeyTTL',
  'RawCompareAndSwap',
  'RawChecksum',
]);

const EMPTY = new Uint8Array(0);

/**
 * The API V1 codec (client-go `codecV1`): keys travel as they are; only region boundaries
 * differ, memcomparable-encoded for transactional keys and plain for RawKV.
 */
export class CodecV1 implements Codec {
  readonly apiVersion = ApiVersion.V1;
  readonly keyspaceId = NULLSPACE_ID;
  readonly keyspacePrefix = EMPTY;
  readonly keyspaceMeta = undefined;
  readonly mode: KeyMode;
  readonly #mem: MemCodec;

  /** @param mode - raw (plain region keys) or txn (memcomparable region keys) */
  constructor(mode: KeyMode) {
    this.mode = mode;
    this.#mem = mode === KeyMode.RAW ? PLAIN_MEM_CODEC : MEMCOMPARABLE_MEM_CODEC;
  }

  applyContext(context: kvrpcpb.Context): kvrpcpb.Context {
    return {
      ...context,
      apiVersion: kvrpcpb.APIVersion.V1,
      keyspace: { $case: 'keyspaceId', value: NULLSPACE_ID },
    };
  }

  encodeRequest<R extends CodecRequest>(request: R): R {
    const value = request.value;
    if ('context' in value) {
      const context = this.applyContext(value.context ?? kvrpcpb.Context.fromPartial({}));
      return { ...request, value: { ...value, context } };
    }
    if (request.$case === 'Compact') {
      return {
        ...request,
        value: {
          ...request.value,
          apiVersion: kvrpcpb.APIVersion.V1,
          keyspace: { $case: 'keyspaceId', value: NULLSPACE_ID },
        },
      };
    }
    return { ...request, value: { ...value } };
  }

  decodeResponse<R extends CodecResponse>(response: R): R {
    if (!V1_REGION_ERROR_COMMANDS.has(response.$case)) return response;
    const value = response.value as { regionError?: Parameters<typeof decodeRegionErrorWith>[1] };
    if (value.regionError !== undefined) {
      value.regionError = decodeRegionErrorWith(this, value.regionError, false);
    }
    return response;
  }

  encodeRegionKey(key: Uint8Array): Uint8Array {
    return this.#mem.encodeKey(key);
  }

  decodeRegionKey(encoded: Uint8Array): Uint8Array {
    return encoded.length === 0 ? encoded : this.#mem.decodeKey(encoded);
  }

  encodeRegionRange(start: Uint8Array, end: Uint8Array): KeyPair {
    return [this.encodeRegionKey(start), end.length > 0 ? this.encodeRegionKey(end) : end];
  }

  decodeRegionRange(start: Uint8Array, end: Uint8Array): KeyPair {
    return [this.decodeRegionKey(start), this.decodeRegionKey(end)];
  }

  decodeBucketKeys(keys: readonly Uint8Array[]): Uint8Array[] {
    return keys.map((k) => this.decodeRegionKey(k));
  }

  encodeRange(start: Uint8Array, end: Uint8Array): KeyPair {
    return [start, end];
  }

  decodeRange(start: Uint8Array, end: Uint8Array): KeyPair {
    return [start, end];
  }

  encodeKey(key: Uint8Array): Uint8Array {
    return key;
  }

  decodeKey(encoded: Uint8Array): Uint8Array {
    return encoded;
  }
}
