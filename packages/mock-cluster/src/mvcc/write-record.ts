import { LockType } from './lock-record.js';
import {
  ByteReader,
  ByteWriter,
  LAST_CHANGE_UNKNOWN,
  type LastChange,
  lastChangeFromParts,
  lastChangeToParts,
  SHORT_VALUE_PREFIX,
} from './record-codec.js';

/** Commit record kinds, by the flag byte TiKV writes first in a write record. */
export const WriteType = Object.freeze({ Put: 'P', Delete: 'D', Lock: 'L', Rollback: 'R' } as const);
/** A commit record's kind. */
export type WriteType = (typeof WriteType)[keyof typeof WriteType];

const FLAG_OVERLAPPED_ROLLBACK = 0x52; // 'R'
const GC_FENCE_PREFIX = 0x46; // 'F'
const LAST_CHANGE_PREFIX = 0x6c; // 'l'
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
  if (w.shortValue !== undefined) out.byte(SHORT_VALUE_PREFIX).byte(w.shortValue.length).bytes(w.shortValue);
  if (w.hasOverlappedRollback) out.byte(FLAG_OVERLAPPED_ROLLBACK);
  if (w.gcFence !== undefined) out.byte(GC_FENCE_PREFIX).u64(w.gcFence);
  if (w.lastChange.kind !== 'unknown') {
    const [ts, versions] = lastChangeToParts(w.lastChange);
    out.byte(LAST_CHANGE_PREFIX).u64(ts).varU64(versions);
  }
  if (w.txnSource !== 0n) out.byte(TXN_SOURCE_PREFIX).varU64(w.txnSource);
  return out.finish();
}

function writeTypeOf(flag: number): WriteType {
  switch (flag) {
    case 0x50:
      return WriteType.Put;
    case 0x44:
      return WriteType.Delete;
    case 0x4c:
      return WriteType.Lock;
    case 0x52:
      return WriteType.Rollback;
    default:
      throw new RangeError(`bad format write: flag ${flag}`);
  }
}

/** `WriteRef::parse`. Unknown trailing fields end the parse, as in TiKV. */
export function decodeWrite(b: Uint8Array): Write {
  const r = new ByteReader(b);
  const w = newWrite(writeTypeOf(r.byte()), r.varU64());
  let lcTs = 0n;
  let lcVersions = 0n;
  parse: while (!r.empty) {
    switch (r.byte()) {
      case SHORT_VALUE_PREFIX:
        w.shortValue = r.take(r.byte());
        break;
      case FLAG_OVERLAPPED_ROLLBACK:
        w.hasOverlappedRollback = true;
        break;
      case GC_FENCE_PREFIX:
        w.gcFence = r.u64();
        break;
      case LAST_CHANGE_PREFIX:
        lcTs = r.u64();
        lcVersions = r.varU64();
        break;
      case TXN_SOURCE_PREFIX:
        w.txnSource = r.varU64();
        break;
      default:
        break parse;
    }
  }
  w.lastChange = lastChangeFromParts(lcTs, lcVersions);
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
