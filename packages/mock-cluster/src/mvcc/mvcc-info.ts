import { kvrpcpb } from '@tikv/proto';
import type { Lock, LockType } from './lock-record.js';
import type { MvccReader } from './mvcc-reader.js';
import { lastChangeToParts } from './record-codec.js';
import { isSharedLocks } from './shared-locks.js';
import type { Write, WriteType } from './write-record.js';

const EMPTY = new Uint8Array(0);

const LOCK_OPS: Record<LockType, kvrpcpb.Op> = {
  P: kvrpcpb.Op.Put,
  D: kvrpcpb.Op.Del,
  L: kvrpcpb.Op.Lock,
  S: kvrpcpb.Op.PessimisticLock,
};

const WRITE_OPS: Record<WriteType, kvrpcpb.Op> = {
  P: kvrpcpb.Op.Put,
  D: kvrpcpb.Op.Del,
  L: kvrpcpb.Op.Lock,
  R: kvrpcpb.Op.Rollback,
};

function lockProto(lock: Lock): kvrpcpb.MvccLock {
  const [lastChangeTs, versionsToLastChange] =
    lock.lastChange.kind === 'unknown' ? [0n, 0n] : lastChangeToParts(lock.lastChange);
  // TiKV's `MvccInfo::into_proto` fills only these fields of the lock.
  return kvrpcpb.MvccLock.fromPartial({
    type: LOCK_OPS[lock.lockType],
    startTs: lock.ts,
    primary: lock.primary,
    shortValue: lock.shortValue ?? EMPTY,
    lastChangeTs,
    versionsToLastChange,
  });
}

function writeProto(commitTs: bigint, w: Write): kvrpcpb.MvccWrite {
  return {
    type: WRITE_OPS[w.writeType],
    startTs: w.startTs,
    commitTs,
    shortValue: w.shortValue ?? EMPTY,
    hasOverlappedRollback: w.hasOverlappedRollback,
    hasGcFence: w.gcFence !== undefined,
    gcFence: w.gcFence ?? 0n,
    // TiKV copies last_change into MvccWrite only when it is Unknown (so these are always 0);
    // the mock answers the same. The record itself keeps the real value.
    lastChangeTs: 0n,
    versionsToLastChange: 0n,
  };
}

/** `find_mvcc_infos_by_key` + `MvccInfo::into_proto`: a key's lock, writes and values. */
export function mvccInfoOf(reader: MvccReader, rawKey: Uint8Array): kvrpcpb.MvccInfo {
  const lock = reader.loadLock(rawKey);
  return {
    lock:
      lock === undefined
        ? undefined
        : isSharedLocks(lock)
          ? kvrpcpb.MvccLock.fromPartial({ type: kvrpcpb.Op.SharedLock })
          : lockProto(lock),
    writes: reader.scanWrites(rawKey).map(({ commitTs, write }) => writeProto(commitTs, write)),
    values: reader.scanValuesInDefault(rawKey).map(({ startTs, value }) => ({ startTs, value })),
  };
}
