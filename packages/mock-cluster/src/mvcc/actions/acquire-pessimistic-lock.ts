import { kvrpcpb } from '@tikv/proto';
import { isPessimisticLock, type Lock, LockType, lockInfoOf, newLock } from '../lock-record.js';
import { isMvccError, mvccFail } from '../mvcc-error.js';
import type { MvccReader } from '../mvcc-reader.js';
import type { MvccTxn } from '../mvcc-txn.js';
import { LAST_CHANGE_NOT_EXIST, type LastChange } from '../record-codec.js';
import {
  cloneSharedLocks,
  isSharedLocks,
  newSharedLocks,
  type SharedLocks,
  sharedLocksInfoOf,
} from '../shared-locks.js';
import { TS_MAX } from '../txn-key.js';
import { checkGcFenceAsLatestVersion, WriteType } from '../write-record.js';
import { checkDataConstraint, nextLastChangeInfo } from './common.js';

/** The outcome for one key of a pessimistic lock request (`PessimisticLockKeyResult`). */
export type PessimisticLockKeyResult =
  | { readonly kind: 'empty' }
  | { readonly kind: 'value'; readonly value: Uint8Array | undefined }
  | { readonly kind: 'existence'; readonly exists: boolean }
  | {
      readonly kind: 'lockedWithConflict';
      readonly value: Uint8Array | undefined;
      readonly conflictTs: bigint;
    }
  | { readonly kind: 'waiting' }
  | { readonly kind: 'failed'; readonly error: unknown };

/** The request parameters of `acquire_pessimistic_lock` shared by its keys. */
export interface AcquirePessimisticLockOptions {
  readonly primary: Uint8Array;
  readonly shouldNotExist: boolean;
  readonly lockTtl: bigint;
  readonly forUpdateTs: bigint;
  readonly needValue: boolean;
  readonly needCheckExistence: boolean;
  readonly minCommitTs: bigint;
  readonly lockOnlyIfExists: boolean;
  readonly allowLockWithConflict: boolean;
  /** A shared lock request (`Op::SharedPessimisticLock`). @defaultValue false */
  readonly shared?: boolean | undefined;
}

/**
 * An exclusive lock request met shared locks that still admit new holders (TiKV's
 * `NotInShrinkMode`): the command marks them shrink-only and answers KeyIsLocked at once.
 */
export class NotInShrinkModeError extends Error {
  override name = 'NotInShrinkModeError';
  constructor(readonly shared: SharedLocks) {
    super('shared locks are not in shrink mode');
  }
}

/** `handle_existing_shared_lock`: this transaction holds a shared lock already; a newer for-update ts refreshes it. */
function handleExistingSharedLock(
  txn: MvccTxn,
  reader: MvccReader,
  key: Uint8Array,
  o: AcquirePessimisticLockOptions,
  shared: SharedLocks,
): PessimisticLockKeyResult {
  const sub = shared.locks.get(reader.startTs) as Lock;
  if (o.forUpdateTs > sub.forUpdateTs) {
    const next = cloneSharedLocks(shared);
    next.locks.set(
      reader.startTs,
      pessimisticLock(reader, o, o.forUpdateTs, sub.lastChange, sub.isLockedWithConflict),
    );
    txn.putSharedLocks(key, next, false);
  }
  // TiKV loads no value for a shared lock.
  return newSuccess(o, undefined, undefined);
}

function newSuccess(
  o: AcquirePessimisticLockOptions,
  lockedWithConflictTs: bigint | undefined,
  value: Uint8Array | undefined,
): PessimisticLockKeyResult {
  if (lockedWithConflictTs !== undefined)
    return { kind: 'lockedWithConflict', value, conflictTs: lockedWithConflictTs };
  if (o.needValue) return { kind: 'value', value };
  if (o.needCheckExistence) return { kind: 'existence', exists: value !== undefined };
  return { kind: 'empty' };
}

function pessimisticLock(
  reader: MvccReader,
  o: AcquirePessimisticLockOptions,
  forUpdateTs: bigint,
  lastChange: LastChange,
  withConflict: boolean,
): Lock {
  return newLock({
    lockType: LockType.Pessimistic,
    primary: o.primary,
    ts: reader.startTs,
    ttl: o.lockTtl,
    forUpdateTs,
    minCommitTs: o.minCommitTs,
    lastChange,
    isLockedWithConflict: withConflict,
  });
}

function conflictError(
  reader: MvccReader,
  o: AcquirePessimisticLockOptions,
  key: Uint8Array,
  conflictStartTs: bigint,
  conflictCommitTs: bigint,
): never {
  return mvccFail({
    kind: 'WriteConflict',
    startTs: reader.startTs,
    conflictStartTs,
    conflictCommitTs,
    key,
    primary: o.primary,
    reason: kvrpcpb.WriteConflict_Reason.PessimisticRetry,
  });
}

function handleExistingLock(
  txn: MvccTxn,
  reader: MvccReader,
  key: Uint8Array,
  o: AcquirePessimisticLockOptions,
  lock: Lock,
): PessimisticLockKeyResult {
  if (lock.ts !== reader.startTs) mvccFail({ kind: 'KeyIsLocked', info: lockInfoOf(lock, key) });
  if (!isPessimisticLock(lock)) {
    mvccFail({ kind: 'LockTypeNotMatch', startTs: reader.startTs, key, pessimistic: false });
  }
  let value: Uint8Array | undefined;
  let needLoadValue = o.needValue;
  let forUpdateTs = o.forUpdateTs;
  let lockedWithConflictTs: bigint | undefined;
  if (o.allowLockWithConflict && forUpdateTs < lock.forUpdateTs) {
    needLoadValue = true;
    forUpdateTs = lock.forUpdateTs;
    lockedWithConflictTs = lock.forUpdateTs;
  }
  if (needLoadValue || o.needCheckExistence || o.shouldNotExist) {
    const found = reader.getWriteWithCommitTs(key, forUpdateTs);
    if (found !== undefined) {
      try {
        checkDataConstraint(reader, o.shouldNotExist, found.write, found.commitTs, key);
      } catch (e) {
        if (isMvccError(e, 'AlreadyExist') && found.commitTs > o.forUpdateTs) {
          conflictError(reader, o, key, found.write.startTs, found.commitTs);
        }
        throw e;
      }
      if (needLoadValue) value = reader.loadData(key, found.write);
      else if (o.needCheckExistence) value = new Uint8Array(0);
    }
  }
  if (forUpdateTs > lock.forUpdateTs) {
    const next = pessimisticLock(reader, o, forUpdateTs, lock.lastChange, lock.isLockedWithConflict);
    txn.putLock(key, next, false);
  }
  return newSuccess(o, lockedWithConflictTs, value);
}

/**
 * TiKV's `acquire_pessimistic_lock` action for one key: fails with KeyIsLocked on another
 * transaction's lock (the command may then wait), WriteConflict when a write newer than
 * `for_update_ts` exists (unless `allowLockWithConflict`, which locks anyway and reports the
 * conflict), PessimisticLockRolledBack when this transaction was rolled back, and AlreadyExist
 * for a `should_not_exist` key that exists. A shared request (`o.shared`) joins the key's shared
 * locks and waits only for an exclusive lock; an exclusive request waits for shared locks, which
 * it first turns shrink-only ({@link NotInShrinkModeError}).
 */
export function acquirePessimisticLock(
  txn: MvccTxn,
  reader: MvccReader,
  key: Uint8Array,
  o: AcquirePessimisticLockOptions,
): PessimisticLockKeyResult {
  if (o.lockOnlyIfExists && !o.needValue) {
    mvccFail({ kind: 'LockIfExistsFailed', startTs: reader.startTs, key });
  }
  let forUpdateTs = o.forUpdateTs;
  if (o.shouldNotExist || o.needValue || o.needCheckExistence) txn.cm.updateMaxTs(forUpdateTs);
  let needLoadValue = o.needValue;
  const current = reader.loadLock(key);
  let joined: SharedLocks | undefined;
  if (isSharedLocks(current)) {
    if (o.shared !== true) {
      if (!current.shrinkOnly) throw new NotInShrinkModeError(current);
      mvccFail({ kind: 'KeyIsLocked', info: sharedLocksInfoOf(current, key) });
    }
    if (current.locks.has(reader.startTs)) return handleExistingSharedLock(txn, reader, key, o, current);
    if (current.shrinkOnly) mvccFail({ kind: 'KeyIsLocked', info: sharedLocksInfoOf(current, key) });
    joined = current;
  } else if (current !== undefined) {
    // A shared request waits for an exclusive lock of any transaction.
    if (o.shared === true) mvccFail({ kind: 'KeyIsLocked', info: lockInfoOf(current, key) });
    return handleExistingLock(txn, reader, key, o, current);
  }

  let conflict: { startTs: bigint; commitTs: bigint } | undefined;
  let value: Uint8Array | undefined;
  let lastChange: LastChange;
  const found = reader.seekWrite(key, TS_MAX);
  if (found !== undefined) {
    const { commitTs, write } = found;
    if (commitTs > forUpdateTs) {
      if (!o.allowLockWithConflict) conflictError(reader, o, key, write.startTs, commitTs);
      conflict = { startTs: write.startTs, commitTs };
      forUpdateTs = commitTs;
      needLoadValue = true;
    }
    const rolledBack = (w: typeof write, ts: bigint): boolean =>
      ts === reader.startTs && (w.writeType === WriteType.Rollback || w.hasOverlappedRollback);
    if (rolledBack(write, commitTs))
      mvccFail({ kind: 'PessimisticLockRolledBack', startTs: reader.startTs, key });
    if (commitTs > reader.startTs) {
      const older = reader.seekWrite(key, reader.startTs);
      if (older !== undefined && rolledBack(older.write, older.commitTs)) {
        mvccFail({ kind: 'PessimisticLockRolledBack', startTs: reader.startTs, key });
      }
    }
    try {
      checkDataConstraint(reader, o.shouldNotExist, write, commitTs, key);
    } catch (e) {
      if (isMvccError(e, 'AlreadyExist') && conflict !== undefined) {
        conflictError(reader, o, key, conflict.startTs, conflict.commitTs);
      }
      throw e;
    }
    lastChange = nextLastChangeInfo(key, write, txn.startTs, reader, commitTs);
    if (o.needValue || o.needCheckExistence || conflict !== undefined) {
      switch (write.writeType) {
        case WriteType.Put:
          if (checkGcFenceAsLatestVersion(write, reader.startTs)) {
            value = needLoadValue ? reader.loadData(key, write) : new Uint8Array(0);
          }
          break;
        case WriteType.Delete:
          break;
        default:
          if (needLoadValue) value = reader.get(key, commitTs - 1n);
          else value = reader.getWrite(key, commitTs - 1n) === undefined ? undefined : new Uint8Array(0);
      }
    }
  } else {
    lastChange = LAST_CHANGE_NOT_EXIST;
  }
  if (o.shared === true) {
    const next = joined === undefined ? newSharedLocks() : cloneSharedLocks(joined);
    next.locks.set(
      reader.startTs,
      pessimisticLock(reader, o, forUpdateTs, lastChange, conflict !== undefined),
    );
    txn.putSharedLocks(key, next, joined === undefined);
  } else if (!o.lockOnlyIfExists || value !== undefined) {
    txn.putLock(key, pessimisticLock(reader, o, forUpdateTs, lastChange, conflict !== undefined), true);
  } else if (conflict !== undefined) {
    conflictError(reader, o, key, conflict.startTs, conflict.commitTs);
  }
  return newSuccess(o, conflict?.commitTs, value);
}
