import { kvrpcpb } from '@tikv/proto';
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

/** Lock kinds, by the flag byte TiKV writes first in a lock record. */
export const LockType = Object.freeze({
  Put: 'P',
  Delete: 'D',
  Lock: 'L',
  Pessimistic: 'S',
} as const);
/** A lock's kind. */
export type LockType = (typeof LockType)[keyof typeof LockType];

const FOR_UPDATE_TS_PREFIX = 0x66; // 'f'
const TXN_SIZE_PREFIX = 0x74; // 't'
const MIN_COMMIT_TS_PREFIX = 0x63; // 'c'
const ASYNC_COMMIT_PREFIX = 0x61; // 'a'
const ROLLBACK_TS_PREFIX = 0x72; // 'r'
const TXN_SOURCE_PREFIX = 0x73; // 's'
const LOCKED_WITH_CONFLICT_PREFIX = 0x46; // 'F'
const GENERATION_PREFIX = 0x67; // 'g'
const LOCK_TYPES: ReadonlySet<LockType> = new Set(Object.values(LockType));

/** A lock as TiKV keeps it in the lock CF (`txn_types::Lock`). */
export interface Lock {
  lockType: LockType;
  /** The primary key (raw user key). */
  primary: Uint8Array;
  /** The transaction's start ts. */
  ts: bigint;
  /** Milliseconds after `ts`'s physical time that the lock lives. */
  ttl: bigint;
  shortValue: Uint8Array | undefined;
  forUpdateTs: bigint;
  txnSize: bigint;
  minCommitTs: bigint;
  useAsyncCommit: boolean;
  /** Set only in memory while a 1PC prewrite is in flight; never encoded. */
  useOnePc: boolean;
  secondaries: Uint8Array[];
  rollbackTs: bigint[];
  lastChange: LastChange;
  txnSource: bigint;
  isLockedWithConflict: boolean;
  generation: bigint;
}

/** `Lock::new` with the defaults TiKV gives the optional fields. */
export function newLock(fields: Pick<Lock, 'lockType' | 'primary' | 'ts' | 'ttl'> & Partial<Lock>): Lock {
  return {
    shortValue: undefined,
    forUpdateTs: 0n,
    txnSize: 0n,
    minCommitTs: 0n,
    useAsyncCommit: false,
    useOnePc: false,
    secondaries: [],
    rollbackTs: [],
    lastChange: LAST_CHANGE_UNKNOWN,
    txnSource: 0n,
    isLockedWithConflict: false,
    generation: 0n,
    ...fields,
  };
}

/** A copy of a lock whose arrays may be changed independently. */
export function cloneLock(l: Lock): Lock {
  return { ...l, secondaries: [...l.secondaries], rollbackTs: [...l.rollbackTs] };
}

/** `Lock::to_bytes`: TiKV's lock CF value. */
export function encodeLock(l: Lock): Uint8Array {
  const w = new ByteWriter();
  w.byte(l.lockType.charCodeAt(0)).compactBytes(l.primary).varU64(l.ts).varU64(l.ttl);
  writeShortValue(w, l.shortValue);
  if (l.forUpdateTs !== 0n) w.byte(FOR_UPDATE_TS_PREFIX).u64(l.forUpdateTs);
  if (l.txnSize > 0n) w.byte(TXN_SIZE_PREFIX).u64(l.txnSize);
  if (l.minCommitTs !== 0n) w.byte(MIN_COMMIT_TS_PREFIX).u64(l.minCommitTs);
  if (l.useAsyncCommit) {
    w.byte(ASYNC_COMMIT_PREFIX).varU64(l.secondaries.length);
    for (const k of l.secondaries) w.compactBytes(k);
  }
  if (l.rollbackTs.length > 0) {
    w.byte(ROLLBACK_TS_PREFIX).varU64(l.rollbackTs.length);
    for (const ts of l.rollbackTs) w.u64(ts);
  }
  writeLastChange(w, l.lastChange);
  writeTxnSource(w, TXN_SOURCE_PREFIX, l.txnSource);
  if (l.isLockedWithConflict) w.byte(LOCKED_WITH_CONFLICT_PREFIX);
  if (l.generation > 0n) w.byte(GENERATION_PREFIX).u64(l.generation);
  return w.finish();
}

function lockTypeOf(flag: number): LockType {
  return kindOfFlag(LOCK_TYPES, flag, 'lock');
}

/**
 * `Lock::parse` of an exclusive lock (shared-lock records: `decodeLockOrShared`). Unknown trailing
 * fields end the parse, as in TiKV.
 */
export function decodeLock(b: Uint8Array): Lock {
  const r = new ByteReader(b);
  const lockType = lockTypeOf(r.byte());
  const primary = r.compactBytes();
  const ts = r.varU64();
  const ttl = r.empty ? 0n : r.varU64();
  const l = newLock({ lockType, primary, ts, ttl });
  readRecordFields(r, l, TXN_SOURCE_PREFIX, (tag) => {
    switch (tag) {
      case FOR_UPDATE_TS_PREFIX:
        l.forUpdateTs = r.u64();
        return true;
      case TXN_SIZE_PREFIX:
        l.txnSize = r.u64();
        return true;
      case MIN_COMMIT_TS_PREFIX:
        l.minCommitTs = r.u64();
        return true;
      case ASYNC_COMMIT_PREFIX: {
        l.useAsyncCommit = true;
        const n = Number(r.varU64());
        for (let i = 0; i < n; i++) l.secondaries.push(r.compactBytes());
        return true;
      }
      case ROLLBACK_TS_PREFIX: {
        const n = Number(r.varU64());
        for (let i = 0; i < n; i++) l.rollbackTs.push(r.u64());
        return true;
      }
      case LOCKED_WITH_CONFLICT_PREFIX:
        l.isLockedWithConflict = true;
        return true;
      case GENERATION_PREFIX:
        l.generation = r.u64();
        return true;
      default:
        return false;
    }
  });
  return l;
}

/** Whether the lock belongs to a pessimistic transaction (`for_update_ts` set). */
export function isPessimisticTxn(l: Lock): boolean {
  return l.forUpdateTs !== 0n;
}

/** Whether the lock is a pessimistic lock (not yet prewritten). */
export function isPessimisticLock(l: Lock): boolean {
  return l.lockType === LockType.Pessimistic;
}

const OP_OF_LOCK_TYPE: Record<LockType, kvrpcpb.Op> = {
  P: kvrpcpb.Op.Put,
  D: kvrpcpb.Op.Del,
  L: kvrpcpb.Op.Lock,
  S: kvrpcpb.Op.PessimisticLock,
};

/** `Lock::into_lock_info`: the `LockInfo` TiKV reports for a lock on `rawKey`. */
export function lockInfoOf(l: Lock, rawKey: Uint8Array): kvrpcpb.LockInfo {
  return {
    primaryLock: l.primary,
    lockVersion: l.ts,
    key: rawKey,
    lockTtl: l.ttl,
    txnSize: l.txnSize,
    lockType: OP_OF_LOCK_TYPE[l.lockType],
    lockForUpdateTs: l.forUpdateTs,
    useAsyncCommit: l.useAsyncCommit,
    minCommitTs: l.minCommitTs,
    secondaries: l.secondaries,
    durationToLastUpdateMs: 0n,
    isTxnFile: false,
    sharedLockInfos: [],
  };
}
