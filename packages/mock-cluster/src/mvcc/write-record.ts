import { LockType } from './lock-record.js';
import {
  ByteReader,
  ByteWriter,
  kindOfFlag,
  LAST_CHANGE_UNKNOWN,
  type LastChange,
  readRecordFields,
  writeLastChange,
  writeShortValue,
  writeTxnSource,
} from './record-codec.js';

/** Commit record kinds, by the flag byte TiKV writes first in a write record. */
export const WriteType = Object.freeze({ Put: 'P', Delete: 'D', Lock: 'L', Rollback: 'R' } as const);
/** A commit record's kind. */
export type WriteType = (typeof WriteType)[keyof typeof WriteType];

const WRITE_TYPES: ReadonlySet<WriteType> = new Set(Object.values(WriteType));
const FLAG_OVERLAPPED_ROLLBACK = 0x52; // 'R'
const GC_FENCE_PREFIX = 0x46; // 'F'
const TXN_SOURCE_PREFIX = 0x53; // 'S'
/** The short value that marks a rollback as protected (never collapsed). */
const PROTECTED_ROLLBACK_SHORT_VALUE = Uint8Array.of(0x70); // 'p'

/** A record of the write CF (`txn_types::Write`), stored under `key + commit_ts`. */
export interface Write {
  writeType: WriteType;
  startTs: bigint;
  shortValue: Uint8Array | undefined;
  /** A rollback of another transaction whose start ts equals this record's commit ts. */
  hasOverlappedRollback: boolean;
  /** Set with an overlapped rollback: the commit ts of the next newer PUT/DELETE (0: none). */
  gcFence: bigint | undefined;
  lastChange: LastChange;
  txnSource: bigint;
}

/** `Write::new`. */
export function newWrite(writeType: WriteType, startTs: bigint, shortValue?: Uint8Array): Write {
  return {
    writeType,
    startTs,
    shortValue,
    hasOverlappedRollback: false,
    gcFence: undefined,
    lastChange: LAST_CHANGE_UNKNOWN,
    txnSource: 0n,
  };
}

/** `Write::new_rollback`: a protected rollback carries the short value `p`. */
export function newRollback(startTs: bigint, isProtected: boolean): Write {
  return newWrite(WriteType.Rollback, startTs, isProtected ? PROTECTED_ROLLBACK_SHORT_VALUE : undefined);
}

/** The commit record kind a prewrite lock turns into; undefined for pessimistic locks. */
export function writeTypeFromLockType(t: LockType): WriteType | undefined {
  switch (t) {
    case LockType.Put:
      return WriteType.Put;
    case LockType.Delete:
      return WriteType.Delete;
    case LockType.Lock:
      return WriteType.Lock;
    default:
      return undefined;
  }
}

/** `WriteRef::to_bytes`. */
export function encodeWrite(w: Write): Uint8Array {
  const out = new ByteWriter();
  out.byte(w.writeType.charCodeAt(0)).varU64(w.startTs);
  writeShortValue(out, w.shortValue);
  if (w.hasOverlappedRollback) out.byte(FLAG_OVERLAPPED_ROLLBACK);
  if (w.gcFence !== undefined) out.byte(GC_FENCE_PREFIX).u64(w.gcFence);
  writeLastChange(out, w.lastChange);
  writeTxnSource(out, TXN_SOURCE_PREFIX, w.txnSource);
  return out.finish();
}

/** `WriteRef::parse`. Unknown trailing fields end the parse, as in TiKV. */
export function decodeWrite(b: Uint8Array): Write {
  const r = new ByteReader(b);
  const w = newWrite(kindOfFlag(WRITE_TYPES, r.byte(), 'write'), r.varU64());
  readRecordFields(r, w, TXN_SOURCE_PREFIX, (tag) => {
    if (tag === FLAG_OVERLAPPED_ROLLBACK) w.hasOverlappedRollback = true;
    else if (tag === GC_FENCE_PREFIX) w.gcFence = r.u64();
    else return false;
    return true;
  });
  return w;
}

/** `Write::is_protected`: a rollback that must not be collapsed. */
export function isProtectedRollback(w: Write): boolean {
  return (
    w.writeType === WriteType.Rollback &&
    w.shortValue !== undefined &&
    w.shortValue.length === 1 &&
    w.shortValue[0] === PROTECTED_ROLLBACK_SHORT_VALUE[0]
  );
}

/**
 * `check_gc_fence_as_latest_version`: false when the record's GC fence points at a version at or
 * below `readTs`, which means the version the fence names was collected and this one is stale.
 */
export function checkGcFenceAsLatestVersion(w: Write, readTs: bigint): boolean {
  return !(w.gcFence !== undefined && w.gcFence !== 0n && w.gcFence <= readTs);
}
