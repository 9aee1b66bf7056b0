import type { errorpb } from '@tikv/proto';
import type { Codec } from './codec.js';
import type { CodecResponse } from './codec-request.js';
import {
  decodeKeyError,
  decodeKeyErrors,
  decodeLockInfo,
  decodeLockInfos,
  decodeMvccInfo,
  decodePairs,
} from './key-error-decoder.js';
import { decodeRegionErrorWith } from './region-error-decoder.js';

function regionError(c: Codec, e: errorpb.Error | undefined): errorpb.Error | undefined {
  return e === undefined ? undefined : decodeRegionErrorWith(c, e, true);
}

/**
 * Decodes an API V2 response in place, command by command as client-go does: region errors
 * everywhere they can occur, then key errors, pairs, locks, MVCC info and split regions.
 *
 * @throws CodecError when a key is malformed or outside the keyspace
 * @internal
 */
export function decodeResponseV2(c: Codec, resp: CodecResponse): void {
  switch (resp.$case) {
    case 'Get':
    case 'Commit':
    case 'Cleanup':
    case 'BatchRollback':
    case 'ResolveLock':
    case 'GC':
    case 'TxnHeartBeat': {
      const r = resp.value;
      r.regionError = regionError(c, r.regionError);
      r.error = decodeKeyError(c, r.error);
      return;
    }
    case 'Scan':
    case 'BatchGet':
    case 'BufferBatchGet': {
      const r = resp.value;
      r.regionError = regionError(c, r.regionError);
      r.pairs = decodePairs(c, r.pairs);
      r.error = decodeKeyError(c, r.error);
      return;
    }
    case 'Prewrite':
    case 'PessimisticLock':
    case 'PessimisticRollback':
    case 'Flush': {
      const r = resp.value;
      r.regionError = regionError(c, r.regionError);
      r.errors = decodeKeyErrors(c, r.errors);
      return;
    }
    case 'ScanLock':
    case 'CheckSecondaryLocks': {
      const r = resp.value;
      r.regionError = regionError(c, r.regionError);
      r.error = decodeKeyError(c, r.error);
      r.locks = decodeLockInfos(c, r.locks);
      return;
    }
    case 'CheckTxnStatus': {
      const r = resp.value;
      r.regionError = regionError(c, r.regionError);
      r.error = decodeKeyError(c, r.error);
      r.lockInfo = decodeLockInfo(c, r.lockInfo);
      return;
    }
    case 'RawBatchGet': {
      const r = resp.value;
      r.regionError = regionError(c, r.regionError);
      r.pairs = decodePairs(c, r.pairs);
      return;
    }
    case 'RawScan': {
      const r = resp.value;
      r.regionError = regionError(c, r.regionError);
      r.kvs = decodePairs(c, r.kvs);
      return;
    }
    case 'DeleteRange':
    case 'FlashbackToVersion':
    case 'PrepareFlashbackToVersion':
    case 'RawGet':
    case 'RawPut':
    case 'RawBatchPut':
    case 'RawDelete':
    case 'RawBatchDelete':
    case 'RawDeleteRange':
    case 'RawGetKeyTTL':
    case 'RawCompareAndSwap':
    case 'RawChecksum':
    case 'UnsafeDestroyRange':
      resp.value.regionError = regionError(c, resp.value.regionError);
      return;
    case 'PhysicalScanLock':
      resp.value.locks = decodeLockInfos(c, resp.value.locks);
      return;
    case 'Coprocessor': {
      const r = resp.value;
      r.regionError = regionError(c, r.regionError);
      r.locked = decodeLockInfo(c, r.locked);
      if (r.range !== undefined) [r.range.start, r.range.end] = c.decodeRange(r.range.start, r.range.end);
      return;
    }
    case 'MvccGetByKey': {
      const r = resp.value;
      r.regionError = regionError(c, r.regionError);
      r.info = decodeMvccInfo(c, r.info);
      return;
    }
    case 'MvccGetByStartTs': {
      const r = resp.value;
      r.regionError = regionError(c, r.regionError);
      if (r.key.length > 0) r.key = c.decodeKey(r.key);
      r.info = decodeMvccInfo(c, r.info);
      return;
    }
    case 'GetLockWaitInfo': {
      const r = resp.value;
      r.regionError = regionError(c, r.regionError);
      for (const e of r.entries) e.key = c.decodeKey(e.key);
      return;
    }
    case 'SplitRegion': {
      const r = resp.value;
      r.regionError = regionError(c, r.regionError);
      for (const region of r.regions) {
        [region.startKey, region.endKey] = c.decodeRegionRange(region.startKey, region.endKey);
      }
      return;
    }
    default:
      // No keys to decode (Empty, GetHealthFeedback, Compact, ...).
      return;
  }
}
