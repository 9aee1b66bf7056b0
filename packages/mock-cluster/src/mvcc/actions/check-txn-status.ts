import { isPessimisticLock, type Lock, lockInfoOf } from '../lock-record.js';
import { mvccFail } from '../mvcc-error.js';
import type { MvccReader } from '../mvcc-reader.js';
import type { MvccTxn, ReleasedLock } from '../mvcc-txn.js';
import { bytesEqual, physicalOf, TS_MAX } from '../txn-key.js';
import { WriteType } from '../write-record.js';
import type { TxnStatus } from './common.js';
import {
  checkTxnStatusMissingLock,
  isPessimisticLockWithConflict,
  missingLockActionFor,
  rollbackLock,
} from './rollback.js';

/** The parameters of a status check on a primary lock that exists. */
export interface CheckTxnStatusLockOptions {
  readonly currentTs: bigint;
  readonly callerStartTs: bigint;
  readonly forceSyncCommit: boolean;
  readonly resolvingPessimisticLock: boolean;
  readonly verifyIsPrimary: boolean;
  readonly rollbackIfNotExist: boolean;
}

/** A status and the lock the check released, if any. */
export interface CheckedStatus {
  readonly status: TxnStatus;
  readonly released: ReleasedLock | undefined;
}

/** `check_determined_txn_status`: committed or rolled back per the write CF, else undefined. */
export function checkDeterminedTxnStatus(reader: MvccReader, primaryKey: Uint8Array): TxnStatus | undefined {
  const record = reader.getTxnCommitRecord(primaryKey);
  if (record.kind === 'single') {
    return record.write.writeType === WriteType.Rollback
      ? { kind: 'rolledBack' }
      : { kind: 'committed', commitTs: record.commitTs };
  }
  if (record.kind === 'overlappedRollback') return { kind: 'rolledBack' };
  return undefined;
}

function fromPessimisticPrimaryLock(
  txn: MvccTxn,
  reader: MvccReader,
  primaryKey: Uint8Array,
  lock: Lock,
  currentTs: bigint,
  resolvingPessimisticLock: boolean,
): CheckedStatus | undefined {
  if (isPessimisticLockWithConflict(lock)) {
    const status = checkDeterminedTxnStatus(reader, primaryKey);
    if (status !== undefined) return { status, released: txn.unlockKey(primaryKey, true, 0n) };
  }
  if (physicalOf(lock.ts) + lock.ttl < physicalOf(currentTs)) {
    if (resolvingPessimisticLock) {
      return { status: { kind: 'pessimisticRollBack' }, released: txn.unlockKey(primaryKey, true, 0n) };
    }
    return {
      status: { kind: 'ttlExpire' },
      released: rollbackLock(txn, reader, primaryKey, lock, true, true),
    };
  }
  return undefined;
}

/**
 * `check_txn_status_lock_exists`: decides the fate of a transaction from its primary lock — roll
 * it back when its TTL expired, push its `min_commit_ts` past the caller's start ts, or report it
 * uncommitted (async-commit locks are left to the caller unless `forceSyncCommit`).
 */
export function checkTxnStatusLockExists(
  txn: MvccTxn,
  reader: MvccReader,
  primaryKey: Uint8Array,
  lockIn: Lock,
  o: CheckTxnStatusLockOptions,
): CheckedStatus {
  const lock = { ...lockIn };
  if (o.verifyIsPrimary && !bytesEqual(primaryKey, lock.primary)) {
    if (!o.resolvingPessimisticLock && isPessimisticLock(lock)) {
      const status = checkTxnStatusMissingLock(
        txn,
        reader,
        primaryKey,
        undefined,
        missingLockActionFor(o.rollbackIfNotExist),
        o.resolvingPessimisticLock,
      );
      return { status, released: txn.unlockKey(primaryKey, true, 0n) };
    }
    mvccFail({ kind: 'PrimaryMismatch', info: lockInfoOf(lock, primaryKey) });
  }
  if (lock.useAsyncCommit && !o.forceSyncCommit) {
    return { status: { kind: 'uncommitted', lock, minCommitTsPushed: false }, released: undefined };
  }
  const isPessimisticTxn = lock.forUpdateTs !== 0n;
  if (isPessimisticLock(lock)) {
    const r = fromPessimisticPrimaryLock(
      txn,
      reader,
      primaryKey,
      lock,
      o.currentTs,
      o.resolvingPessimisticLock,
    );
    if (r !== undefined) return r;
  } else if (physicalOf(lock.ts) + lock.ttl < physicalOf(o.currentTs)) {
    const released = rollbackLock(txn, reader, primaryKey, lock, isPessimisticTxn, true);
    return { status: { kind: 'ttlExpire' }, released };
  }
  if (lock.minCommitTs !== 0n && o.callerStartTs !== TS_MAX && o.callerStartTs >= lock.minCommitTs) {
    lock.minCommitTs = o.callerStartTs + 1n;
    if (lock.minCommitTs < o.currentTs) lock.minCommitTs = o.currentTs;
    txn.putLock(primaryKey, lock, false);
  }
  const minCommitTsPushed =
    (o.callerStartTs !== 0n && lock.minCommitTs > o.callerStartTs) || o.callerStartTs === TS_MAX;
  return { status: { kind: 'uncommitted', lock, minCommitTsPushed }, released: undefined };
}
