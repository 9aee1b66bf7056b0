import { isPessimisticLock, isPessimisticTxn, type Lock } from '../lock-record.js';
import { mvccFail } from '../mvcc-error.js';
import type { MvccReader } from '../mvcc-reader.js';
import type { MvccTxn, ReleasedLock } from '../mvcc-txn.js';
import { decodeLockOrShared, isSharedLocks, type LockOrShared, type SharedLocks } from '../shared-locks.js';
import { newWrite, WriteType, writeTypeFromLockType } from '../write-record.js';

/** Which key of the transaction a commit request says it commits (`CommitRole`). */
export type CommitRole = 'primary' | 'secondary';

/** The lock of a key as this command sees it: its own pending change first, then storage. */
export function lockInTxn(txn: MvccTxn, reader: MvccReader, rawKey: Uint8Array): LockOrShared | undefined {
  const pending = txn.pendingLockBytes(rawKey);
  if (pending === null) return undefined;
  if (pending !== undefined) return decodeLockOrShared(pending);
  return reader.loadLock(rawKey);
}

/**
 * This transaction's lock on a key: its exclusive lock, or its entry in the key's shared locks
 * (with those locks); undefined when it holds none.
 */
export function ownLockInTxn(
  txn: MvccTxn,
  reader: MvccReader,
  rawKey: Uint8Array,
): { lock: Lock; shared: SharedLocks | undefined } | undefined {
  const found = lockInTxn(txn, reader, rawKey);
  if (isSharedLocks(found)) {
    const lock = found.locks.get(reader.startTs);
    return lock === undefined ? undefined : { lock, shared: found };
  }
  return found !== undefined && found.ts === reader.startTs ? { lock: found, shared: undefined } : undefined;
}

function handleLockNotFound(reader: MvccReader, rawKey: Uint8Array, commitTs: bigint): undefined {
  const record = reader.getTxnCommitRecord(rawKey);
  if (record.kind === 'single' && record.write.writeType !== WriteType.Rollback) return undefined;
  // An overlapped rollback is a rollback of this transaction, so it is "not found" too.
  mvccFail({ kind: 'TxnLockNotFound', startTs: reader.startTs, commitTs, key: rawKey });
}

/**
 * TiKV's `commit` action: turns this transaction's lock on a key into a commit record at
 * `commitTs`. A missing lock is fine when the key is already committed, TxnLockNotFound otherwise;
 * a commit ts below the lock's `min_commit_ts` is CommitTsExpired; a pessimistic lock that was
 * never prewritten is just removed.
 */
export function commit(
  txn: MvccTxn,
  reader: MvccReader,
  rawKey: Uint8Array,
  commitTs: bigint,
  _role?: CommitRole,
): ReleasedLock | undefined {
  const own = ownLockInTxn(txn, reader, rawKey);
  if (own === undefined) return handleLockNotFound(reader, rawKey, commitTs);
  const { lock, shared } = own;
  if (commitTs < lock.minCommitTs) {
    mvccFail({
      kind: 'CommitTsExpired',
      startTs: reader.startTs,
      commitTs,
      key: rawKey,
      minCommitTs: lock.minCommitTs,
    });
  }
  if (isPessimisticLock(lock)) {
    if (shared !== undefined) return txn.removeSharedLock(rawKey, shared, 0n);
    return txn.unlockKey(rawKey, isPessimisticTxn(lock), 0n);
  }
  const write = newWrite(writeTypeFromLockType(lock.lockType) as WriteType, reader.startTs, lock.shortValue);
  write.lastChange = lock.lastChange;
  write.txnSource = lock.txnSource;
  if (lock.rollbackTs.includes(commitTs)) {
    write.hasOverlappedRollback = true;
    write.gcFence = undefined;
  }
  txn.putWrite(rawKey, commitTs, write);
  // A shared lock leaves the others' entries; the last one out releases the key.
  if (shared !== undefined) return txn.removeSharedLock(rawKey, shared, commitTs);
  return txn.unlockKey(rawKey, isPessimisticTxn(lock), commitTs);
}
