import { type coprocessor, kvrpcpb } from '@tikv/proto';
import type { KeyPair } from './codec.js';
import type { CodecRequest } from './codec-request.js';

/** What request encoding needs from the V2 codec. @internal */
export interface V2KeyEncoder {
  encodeKey(key: Uint8Array): Uint8Array;
  encodeRangeDirected(start: Uint8Array, end: Uint8Array, reverse: boolean): KeyPair;
  applyContext(context: kvrpcpb.Context): kvrpcpb.Context;
  readonly keyspaceId: number;
}

function keys(c: V2KeyEncoder, list: readonly Uint8Array[]): Uint8Array[] {
  return list.map((k) => c.encodeKey(k));
}

function mutations(c: V2KeyEncoder, list: readonly kvrpcpb.Mutation[]): kvrpcpb.Mutation[] {
  return list.map((m) => ({ ...m, key: c.encodeKey(m.key) }));
}

function keyRange(c: V2KeyEncoder, r: kvrpcpb.KeyRange): kvrpcpb.KeyRange {
  const [startKey, endKey] = c.encodeRangeDirected(r.startKey, r.endKey, false);
  return { startKey, endKey };
}

function copRanges(c: V2KeyEncoder, list: readonly coprocessor.KeyRange[]): coprocessor.KeyRange[] {
  return list.map((r) => {
    const [start, end] = c.encodeRangeDirected(r.start, r.end, false);
    return { start, end };
  });
}

/** Encodes the keys of one command into a copy (the context is tagged by the caller). */
function encodeKeys(c: V2KeyEncoder, req: CodecRequest): CodecRequest {
  switch (req.$case) {
    case 'Get':
    case 'Cleanup':
    case 'RawGet':
    case 'RawPut':
    case 'RawDelete':
    case 'RawGetKeyTTL':
    case 'RawCompareAndSwap':
    case 'MvccGetByKey':
      return { ...req, value: { ...req.value, key: c.encodeKey(req.value.key) } } as CodecRequest;
    case 'Scan':
    case 'RawScan': {
      const [startKey, endKey] = c.encodeRangeDirected(
        req.value.startKey,
        req.value.endKey,
        req.value.reverse,
      );
      return { ...req, value: { ...req.value, startKey, endKey } } as CodecRequest;
    }
    case 'ScanLock':
    case 'DeleteRange':
    case 'FlashbackToVersion':
    case 'PrepareFlashbackToVersion':
    case 'RawDeleteRange':
    case 'UnsafeDestroyRange': {
      const [startKey, endKey] = c.encodeRangeDirected(req.value.startKey, req.value.endKey, false);
      return { ...req, value: { ...req.value, startKey, endKey } } as CodecRequest;
    }
    case 'BatchGet':
    case 'BatchRollback':
    case 'ResolveLock':
    case 'PessimisticRollback':
    case 'CheckSecondaryLocks':
    case 'BufferBatchGet':
    case 'RawBatchGet':
    case 'RawBatchDelete':
      return { ...req, value: { ...req.value, keys: keys(c, req.value.keys) } } as CodecRequest;
    case 'Prewrite':
      return {
        ...req,
        value: {
          ...req.value,
          mutations: mutations(c, req.value.mutations),
          primaryLock: c.encodeKey(req.value.primaryLock),
          secondaries: keys(c, req.value.secondaries),
        },
      };
    case 'Commit':
    case 'Flush': {
      // An empty primary key means "not set" on the wire; keep it empty.
      const primaryKey =
        req.value.primaryKey.length > 0 ? c.encodeKey(req.value.primaryKey) : req.value.primaryKey;
      if (req.$case === 'Commit') {
        return { ...req, value: { ...req.value, keys: keys(c, req.value.keys), primaryKey } };
      }
      return { ...req, value: { ...req.value, mutations: mutations(c, req.value.mutations), primaryKey } };
    }
    case 'PessimisticLock':
      return {
        ...req,
        value: {
          ...req.value,
          mutations: mutations(c, req.value.mutations),
          primaryLock: c.encodeKey(req.value.primaryLock),
        },
      };
    case 'TxnHeartBeat':
      return { ...req, value: { ...req.value, primaryLock: c.encodeKey(req.value.primaryLock) } };
    case 'CheckTxnStatus':
      return { ...req, value: { ...req.value, primaryKey: c.encodeKey(req.value.primaryKey) } };
    case 'RawBatchPut':
      return {
        ...req,
        value: { ...req.value, pairs: req.value.pairs.map((p) => ({ ...p, key: c.encodeKey(p.key) })) },
      };
    case 'RawChecksum':
      return { ...req, value: { ...req.value, ranges: req.value.ranges.map((r) => keyRange(c, r)) } };
    case 'PhysicalScanLock':
      return { ...req, value: { ...req.value, startKey: c.encodeKey(req.value.startKey) } };
    case 'GetStoreSafeTS': {
      const r = req.value.keyRange ?? { startKey: new Uint8Array(0), endKey: new Uint8Array(0) };
      return { ...req, value: { ...req.value, keyRange: keyRange(c, r) } };
    }
    case 'Coprocessor':
      return {
        ...req,
        value: {
          ...req.value,
          ranges: copRanges(c, req.value.ranges),
          tasks: req.value.tasks.map((t) => ({ ...t, ranges: copRanges(c, t.ranges) })),
        },
      };
    case 'SplitRegion':
      return { ...req, value: { ...req.value, splitKeys: keys(c, req.value.splitKeys) } };
    case 'Compact':
      // Compact cursors are TiFlash row cursors, not storage keys: only the keyspace is tagged.
      return {
        ...req,
        value: {
          ...req.value,
          apiVersion: kvrpcpb.APIVersion.V2,
          keyspace: { $case: 'keyspaceId', value: c.keyspaceId },
        },
      };
    default:
      return { ...req, value: { ...req.value } } as CodecRequest;
  }
}

/**
 * Encodes a request for API V2 into a copy: keys prefixed, ranges clamped to the keyspace,
 * the context tagged with API V2 and the keyspace. The argument is left untouched.
 *
 * @internal
 */
export function encodeRequestV2(c: V2KeyEncoder, req: CodecRequest): CodecRequest {
  const out = encodeKeys(c, req);
  const value = out.value as { context?: kvrpcpb.Context | undefined };
  if ('context' in value) value.context = c.applyContext(value.context ?? kvrpcpb.Context.fromPartial({}));
  return out;
}
