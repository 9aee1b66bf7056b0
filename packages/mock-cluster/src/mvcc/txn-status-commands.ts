import { kvrpcpb } from '@tikv/proto';
import { checkTxnStatusLockExists } from './actions/check-txn-status.js';
import { cleanup as cleanupAction } from './actions/cleanup.js';
import type { TxnStatus } from './actions/common.js';
import {
  checkTxnStatusMissingLock,
  collapsePrevRollback,
  isPessimisticLockWithConflict,
  makeRollback,
  missingLockActionFor,
} from './actions/rollback.js';
import { isPessimisticLock, type Lock, lockInfoOf } from './lock-record.js';
import { mvccFail } from './mvcc-error.js';
import type { MvccReader, OverlappedWrite } from './mvcc-reader.js';
import type { MvccTxn } from './mvcc-txn.js';
import { isSharedLocks, type SharedLocks, sharedLocksInfoOf } from './shared-locks.js';
import type { TxnCommands } from './txn-commands.js';
import { TS_MAX } from './txn-key.js';
import { WriteType } from './write-record.js';

// TiKV's commands that decide or keep up a transaction's status (`check_txn_status.rs`,
// `check_secondary_locks.rs`, `cleanup.rs`, `txn_heart_beat.rs`), over a TxnCommands' engine.
// The first three raise max_ts with the timestamps the request brings, checked against the exact
// limit unless the request comes from TiDB (see `exactLimitRequired`).

/** Secondary-lock status (`SecondaryLocksStatus`). */
export type SecondaryLocksStatus =
  | { readonly kind: 'locked'; readonly locks: kvrpcpb.LockInfo[] }
  | { readonly kind: 'committed'; readonly commitTs: bigint }
  | { readonly kind: 'rolledBack' };

/** A check_txn_status command, decoded from the request. */
export interface CheckTxnStatusCommand {
  readonly primaryKey: Uint8Array;
  readonly lockTs: bigint;
  readonly callerStartTs: bigint;
  readonly currentTs: bigint;
  readonly rollbackIfNotExist: boolean;
  readonly forceSyncCommit: boolean;
  readonly resolvingPessimisticLock: boolean;
  readonly verifyIsPrimary: boolean;
  /** The request's `context.request_origin`. @defaultValue RequestOriginUnknown */
  readonly requestOrigin?: kvrpcpb.RequestOrigin | undefined;
}

const UNKNOWN_ORIGIN = kvrpcpb.RequestOrigin.RequestOriginUnknown;

/**
 * KvCleanup: rolls back the lock unless alive; a Committed error carries the commit ts.
 *
 * @throws InvalidMaxTsUpdateError when `startTs` exceeds the max-ts limit (and the action is 'error')
 */
export function cleanup(
  commands: TxnCommands,
  key: Uint8Array,
  startTs: bigint,
  currentTs: bigint,
  requestOrigin: kvrpcpb.RequestOrigin = UNKNOWN_ORIGIN,
): void {
  // A commit must not overwrite the protected rollback this may write: raise max_ts first.
  commands.concurrencyManager.updateMaxTs(startTs, requestOrigin);
  commands.execute(startTs, (txn, reader) => {
    cleanupAction(txn, reader, key, currentTs, true);
  });
}

/**
 * KvCheckTxnStatus: max_ts is raised to the largest of the lock ts, current ts and caller start ts
 * (the last two unless `TimeStamp::max()`).
 *
 * @throws InvalidMaxTsUpdateError when that exceeds the max-ts limit (and the action is 'error')
 */
export function checkTxnStatus(commands: TxnCommands, o: CheckTxnStatusCommand): TxnStatus {
  let newMaxTs = o.lockTs;
  if (o.currentTs !== TS_MAX && o.currentTs > newMaxTs) newMaxTs = o.currentTs;
  if (o.callerStartTs !== TS_MAX && o.callerStartTs > newMaxTs) newMaxTs = o.callerStartTs;
  commands.concurrencyManager.updateMaxTs(newMaxTs, o.requestOrigin ?? UNKNOWN_ORIGIN);
  return commands.execute(o.lockTs, (txn, reader) => {
    const lock = reader.loadLock(o.primaryKey);
    // A shared-locked key is never a primary: TiKV refuses the check.
    if (isSharedLocks(lock))
      mvccFail({ kind: 'PrimaryMismatch', info: sharedLocksInfoOf(lock, o.primaryKey) });
    if (lock !== undefined && lock.ts === o.lockTs) {
      return checkTxnStatusLockExists(txn, reader, o.primaryKey, lock, o).status;
    }
    return checkTxnStatusMissingLock(
      txn,
      reader,
      o.primaryKey,
      lock,
      missingLockActionFor(o.rollbackIfNotExist),
      o.resolvingPessimisticLock,
    );
  });
}

/**
 * KvCheckSecondaryLocks.
 *
 * @throws InvalidMaxTsUpdateError when `startTs` exceeds the max-ts limit (and the action is 'error')
 */
export function checkSecondaryLocks(
  commands: TxnCommands,
  keys: readonly Uint8Array[],
  startTs: bigint,
  requestOrigin: kvrpcpb.RequestOrigin = UNKNOWN_ORIGIN,
): SecondaryLocksStatus {
  // A commit must not overwrite the protected rollback this may write: raise max_ts first.
  commands.concurrencyManager.updateMaxTs(startTs, requestOrigin);
  return commands.execute(startTs, (txn, reader) => {
    const locks: kvrpcpb.LockInfo[] = [];
    for (const key of keys) {
      const record = reader.loadLock(key);
      // This transaction's entry of shared locks stands for its lock; others' do not matter.
      const lock = isSharedLocks(record) ? record.locks.get(startTs) : record;
      let status: SecondaryLocksStatus | 'locked';
      let needRollback = false;
      let overlapped: OverlappedWrite | undefined;
      const mismatch = lock !== undefined && lock.ts !== startTs ? lock : undefined;
      if (lock !== undefined && lock.ts === startTs) {
        [status, needRollback, overlapped] = secondaryFromLock(
          txn,
          reader,
          lock,
          key,
          locks,
          isSharedLocks(record) ? record : undefined,
        );
      } else {
        [status, needRollback, overlapped] = secondaryDetermined(reader, key);
      }
      if (needRollback) {
        if (mismatch !== undefined) txn.markRollbackOnMismatchingLock(key, mismatch, true);
        const write = makeRollback(startTs, true, overlapped);
        if (write !== undefined) {
          txn.putWrite(key, startTs, write);
          collapsePrevRollback(txn, reader, key);
        }
      }
      if (status !== 'locked') return status;
    }
    return { kind: 'locked', locks };
  });
}

function secondaryFromLock(
  txn: MvccTxn,
  reader: MvccReader,
  lock: Lock,
  key: Uint8Array,
  locks: kvrpcpb.LockInfo[],
  shared: SharedLocks | undefined,
): [SecondaryLocksStatus | 'locked', boolean, OverlappedWrite | undefined] {
  let overlapped: OverlappedWrite | undefined;
  const unlock = (): void => {
    if (shared !== undefined) txn.removeSharedLock(key, shared, 0n);
    else txn.unlockKey(key, true, 0n);
  };
  if (isPessimisticLockWithConflict(lock)) {
    const [status, needRollback, o] = secondaryDetermined(reader, key);
    if (!needRollback) {
      unlock();
      return [status, false, o];
    }
    overlapped = o;
  }
  if (isPessimisticLock(lock)) {
    unlock();
    if (!isPessimisticLockWithConflict(lock)) {
      const record = reader.getTxnCommitRecord(key);
      if (record.kind !== 'none') throw new Error('txn record found but not expected');
      overlapped = record.overlappedWrite;
    }
    return [{ kind: 'rolledBack' }, true, overlapped];
  }
  locks.push(lockInfoOf(lock, key));
  return ['locked', false, undefined];
}

function secondaryDetermined(
  reader: MvccReader,
  key: Uint8Array,
): [SecondaryLocksStatus, boolean, OverlappedWrite | undefined] {
  const record = reader.getTxnCommitRecord(key);
  if (record.kind === 'single') {
    const status: SecondaryLocksStatus =
      record.write.writeType !== WriteType.Rollback
        ? { kind: 'committed', commitTs: record.commitTs }
        : { kind: 'rolledBack' };
    return [status, false, undefined];
  }
  if (record.kind === 'overlappedRollback') return [{ kind: 'rolledBack' }, false, undefined];
  return [{ kind: 'rolledBack' }, true, record.overlappedWrite];
}

/** KvTxnHeartBeat: returns the lock's TTL after the update. */
export function txnHeartBeat(
  commands: TxnCommands,
  primaryKey: Uint8Array,
  startTs: bigint,
  adviseTtl: bigint,
  minCommitTs: bigint,
): bigint {
  return commands.execute(startTs, (txn, reader) => {
    const found = reader.loadLock(primaryKey);
    if (found === undefined || isSharedLocks(found) || found.ts !== startTs)
      mvccFail({ kind: 'TxnNotFound', startTs, key: primaryKey });
    const lock = { ...found };
    let updated = false;
    if (lock.ttl < adviseTtl) {
      lock.ttl = adviseTtl;
      updated = true;
    }
    if (!lock.useAsyncCommit && lock.generation > 0n && minCommitTs > 0n && lock.minCommitTs < minCommitTs) {
      lock.minCommitTs = minCommitTs;
      updated = true;
    }
    if (updated) txn.putLock(primaryKey, lock, false);
    return lock.ttl;
  });
}
