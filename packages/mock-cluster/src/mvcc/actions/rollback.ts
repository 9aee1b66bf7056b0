import { isPessimisticLock, type Lock, LockType } from '../lock-record.js';
import { mvccFail } from '../mvcc-error.js';
import type { MvccReader, OverlappedWrite } from '../mvcc-reader.js';
import type { MvccTxn, ReleasedLock } from '../mvcc-txn.js';
import type { SharedLocks } from '../shared-locks.js';
import { bytesEqual } from '../txn-key.js';
import { isProtectedRollback, newRollback, type Write, WriteType } from '../write-record.js';
import type { TxnStatus } from './common.js';

/** What to do when the lock a status check looks for is missing (`MissingLockAction`). */
export type MissingLockAction = 'rollback' | 'protectedRollback' | 'returnError';

/** `MissingLockAction::rollback_protect`. */
export function rollbackProtect(protect: boolean): MissingLockAction {
  return protect ? 'protectedRollback' : 'rollback';
}

/** `MissingLockAction::rollback`: what check_txn_status does per `rollback_if_not_exist`. */
export function missingLockActionFor(rollbackIfNotExist: boolean): MissingLockAction {
  return rollbackIfNotExist ? 'protectedRollback' : 'returnError';
}

/**
 * `make_rollback`: a (protected) rollback record, or, when another transaction's commit record
 * sits at this start ts, that record flagged as an overlapped rollback (only when protected).
 */
export function makeRollback(
  startTs: bigint,
  isProtected: boolean,
  overlapped: OverlappedWrite | undefined,
): Write | undefined {
  if (overlapped === undefined) return newRollback(startTs, isProtected);
  if (!isProtected) return undefined;
  return { ...overlapped.write, hasOverlappedRollback: true, gcFence: overlapped.gcFence };
}

/** `collapse_prev_rollback`: deletes an unprotected rollback right below this start ts. */
export function collapsePrevRollback(txn: MvccTxn, reader: MvccReader, rawKey: Uint8Array): void {
  const found = reader.seekWrite(rawKey, reader.startTs);
  if (
    found !== undefined &&
    found.write.writeType === WriteType.Rollback &&
    !isProtectedRollback(found.write)
  ) {
    txn.deleteWrite(rawKey, found.commitTs);
  }
}

/**
 * `rollback_lock`: removes this transaction's lock, its default-CF value, and writes a rollback
 * record (protected on the primary and for pipelined locks).
 */
export function rollbackLock(
  txn: MvccTxn,
  reader: MvccReader,
  rawKey: Uint8Array,
  lock: Lock,
  isPessimisticTxn: boolean,
  collapseRollback: boolean,
): ReleasedLock {
  const record = reader.getTxnCommitRecord(rawKey);
  if (record.kind === 'single' && record.write.writeType !== WriteType.Rollback) {
    throw new Error(
      `txn record found but not expected: start_ts ${reader.startTs} commit_ts ${record.commitTs}`,
    );
  }
  if (record.kind !== 'none') return txn.unlockKey(rawKey, isPessimisticTxn, 0n);
  if (lock.shortValue === undefined && lock.lockType === LockType.Put) txn.deleteValue(rawKey, lock.ts);
  const isProtected = bytesEqual(rawKey, lock.primary) || lock.generation > 0n;
  const write = makeRollback(reader.startTs, isProtected, record.overlappedWrite);
  if (write !== undefined) txn.putWrite(rawKey, reader.startTs, write);
  if (collapseRollback) collapsePrevRollback(txn, reader, rawKey);
  return txn.unlockKey(rawKey, isPessimisticTxn, 0n);
}

/**
 * `rollback_shared_lock`: removes this transaction's entry from a key's shared locks and writes an
 * unprotected rollback record (a shared-locked key is never a primary).
 */
export function rollbackSharedLock(
  txn: MvccTxn,
  reader: MvccReader,
  rawKey: Uint8Array,
  shared: SharedLocks,
  collapseRollback: boolean,
): ReleasedLock | undefined {
  const record = reader.getTxnCommitRecord(rawKey);
  if (record.kind === 'single' && record.write.writeType !== WriteType.Rollback) {
    throw new Error(
      `txn record found but not expected: start_ts ${reader.startTs} commit_ts ${record.commitTs}`,
    );
  }
  if (record.kind === 'none') {
    const write = makeRollback(reader.startTs, false, record.overlappedWrite);
    if (write !== undefined) txn.putWrite(rawKey, reader.startTs, write);
    if (collapseRollback) collapsePrevRollback(txn, reader, rawKey);
  }
  return txn.removeSharedLock(rawKey, shared, 0n);
}

/** `check_txn_status_missing_lock`: the status of a transaction whose lock is gone. */
export function checkTxnStatusMissingLock(
  txn: MvccTxn,
  reader: MvccReader,
  primaryKey: Uint8Array,
  mismatchLock: Lock | undefined,
  action: MissingLockAction,
  resolvingPessimisticLock: boolean,
): TxnStatus {
  const record = reader.getTxnCommitRecord(primaryKey);
  if (record.kind === 'single') {
    return record.write.writeType === WriteType.Rollback
      ? { kind: 'rolledBack' }
      : { kind: 'committed', commitTs: record.commitTs };
  }
  if (record.kind === 'overlappedRollback') return { kind: 'rolledBack' };
  if (action === 'returnError') mvccFail({ kind: 'TxnNotFound', startTs: reader.startTs, key: primaryKey });
  if (resolvingPessimisticLock) return { kind: 'lockNotExistDoNothing' };
  const ts = reader.startTs;
  if (action === 'rollback') collapsePrevRollback(txn, reader, primaryKey);
  if (mismatchLock !== undefined && record.overlappedWrite === undefined) {
    txn.markRollbackOnMismatchingLock(primaryKey, mismatchLock, action === 'protectedRollback');
  }
  const write = makeRollback(ts, action === 'protectedRollback', record.overlappedWrite);
  if (write !== undefined) txn.putWrite(primaryKey, ts, write);
  return { kind: 'lockNotExist' };
}

/** Whether a lock is a pessimistic lock acquired with conflict (aggressive locking). */
export function isPessimisticLockWithConflict(lock: Lock): boolean {
  return isPessimisticLock(lock) && lock.isLockedWithConflict;
}
