import type { errorpb } from '@tikv/proto';
import type { Codec } from './codec.js';
import type { CodecCommand, CodecResponse } from './codec-request.js';
import {
  decodeKeyError,
  decodeKeyErrors,
  decodeLockInfo,
  decodeLockInfos,
  decodeMvccInfo,
  decodePairs,
  type KeyDecoder,
} from './key-error-decoder.js';
import { decodeRegionErrorWith } from './region-error-decoder.js';

/** How each response field that holds keys is decoded, by field name (the same in every message). */
const FIELD_DECODERS = {
  error: decodeKeyError,
  errors: decodeKeyErrors,
  pairs: decodePairs,
  kvs: decodePairs,
  locks: decodeLockInfos,
  lockInfo: decodeLockInfo,
  locked: decodeLockInfo,
  info: decodeMvccInfo,
} as const satisfies Record<string, (c: KeyDecoder, value: never) => unknown>;

type KeyField = keyof typeof FIELD_DECODERS;

const NONE: readonly KeyField[] = [];
const KEY_ERROR: readonly KeyField[] = ['error'];
const PAIRS_AND_KEY_ERROR: readonly KeyField[] = ['pairs', 'error'];
const KEY_ERRORS: readonly KeyField[] = ['errors'];
const KEY_ERROR_AND_LOCKS: readonly KeyField[] = ['error', 'locks'];

/**
 * The commands whose response carries a region error, each with its other fields that hold
 * keys, in the order client-go's API V2 codec decodes them (`DecodeResponse`). A command not
 * listed here has no region error to decode (its keys, if any, are handled in
 * {@link decodeResponseV2}). A raw response's `error` is a string, never listed.
 */
const KEY_FIELDS: Partial<Record<CodecCommand, readonly KeyField[]>> = {
  Get: KEY_ERROR,
  Commit: KEY_ERROR,
  Cleanup: KEY_ERROR,
  BatchRollback: KEY_ERROR,
  ResolveLock: KEY_ERROR,
  GC: KEY_ERROR,
  TxnHeartBeat: KEY_ERROR,
  Scan: PAIRS_AND_KEY_ERROR,
  BatchGet: PAIRS_AND_KEY_ERROR,
  BufferBatchGet: PAIRS_AND_KEY_ERROR,
  Prewrite: KEY_ERRORS,
  PessimisticLock: KEY_ERRORS,
  PessimisticRollback: KEY_ERRORS,
  Flush: KEY_ERRORS,
  ScanLock: KEY_ERROR_AND_LOCKS,
  CheckSecondaryLocks: KEY_ERROR_AND_LOCKS,
  CheckTxnStatus: ['error', 'lockInfo'],
  RawBatchGet: ['pairs'],
  RawScan: ['kvs'],
  DeleteRange: NONE,
  FlashbackToVersion: NONE,
  PrepareFlashbackToVersion: NONE,
  RawGet: NONE,
  RawPut: NONE,
  RawBatchPut: NONE,
  RawDelete: NONE,
  RawBatchDelete: NONE,
  RawDeleteRange: NONE,
  RawGetKeyTTL: NONE,
  RawCompareAndSwap: NONE,
  RawChecksum: NONE,
  UnsafeDestroyRange: NONE,
  Coprocessor: ['locked'],
  MvccGetByKey: ['info'],
  MvccGetByStartTs: ['info'],
  GetLockWaitInfo: NONE,
  SplitRegion: NONE,
};

/**
 * Decodes an API V2 response in place, command by command as client-go does: the region error
 * of every command that has one, then its key errors, pairs, locks and MVCC info, then the keys
 * some commands carry elsewhere (a coprocessor range, split regions, lock waits).
 *
 * @throws CodecError when a key is malformed or outside the keyspace
 * @internal
 */
export function decodeResponseV2(c: Codec, resp: CodecResponse): void {
  const fields = KEY_FIELDS[resp.$case];
  if (fields !== undefined) {
    const r = resp.value as { regionError?: errorpb.Error | undefined } & Record<string, unknown>;
    if (r.regionError !== undefined) r.regionError = decodeRegionErrorWith(c, r.regionError, true);
    for (const f of fields) r[f] = (FIELD_DECODERS[f] as (c: KeyDecoder, v: unknown) => unknown)(c, r[f]);
  }
  switch (resp.$case) {
    case 'PhysicalScanLock':
      resp.value.locks = decodeLockInfos(c, resp.value.locks);
      return;
    case 'Coprocessor': {
      const r = resp.value;
      if (r.range !== undefined) [r.range.start, r.range.end] = c.decodeRange(r.range.start, r.range.end);
      return;
    }
    case 'MvccGetByStartTs':
      if (resp.value.key.length > 0) resp.value.key = c.decodeKey(resp.value.key);
      return;
    case 'GetLockWaitInfo':
      for (const e of resp.value.entries) e.key = c.decodeKey(e.key);
      return;
    case 'SplitRegion':
      for (const region of resp.value.regions) {
        [region.startKey, region.endKey] = c.decodeRegionRange(region.startKey, region.endKey);
      }
      return;
    default:
      // Nothing else holds keys (Empty, GetHealthFeedback, Compact, ...).
      return;
  }
}
