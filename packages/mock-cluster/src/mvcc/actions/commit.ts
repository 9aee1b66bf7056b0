import { decodeLock, isPessimisticLock, isPessimisticTxn, type Lock } from '../lock-record.js';
import { mvccFail } from '../mvcc-error.js';
import type { MvccReader } from '../mvcc-reader.js';
import type { MvccTxn, ReleasedLock } from '../mvcc-txn.js';
import { newWrite, WriteType, writeTypeFromLockType } from '../write-record.js';

/** Which key of the transaction a commit request says it commits (`CommitRole`). */
export type CommitRole = 'primary' | 'secondary';

/** The lock of a key as this command sees it: its own pending change first, then storage. */
export function lockInTxn(txn: MvccTxn, reader: MvccReader, rawKey: Uint8Array): Lock | undefined {
  const pending = txn.pendingLockBytes(rawKey);
  if (pending === null) return undefined;
  if (pending !== undefined) return decodeLock(pending);
  return reader.loadLock(rawKey);
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
  const lock = lockInTxn(txn, reader, rawKey);
  if (lock === undefined || lock.ts !== reader.startTs) return handleLockNotFound(reader, rawKey, commitTs);
  if (commitTs < lock.minCommitTs) {
    mvccFail({
      kind: 'CommitTsExpired',
      startTs: reader.startTs,
      commitTs,
      key: rawKey,
      minCommitTs: lock.minCommitTs,
    });
  }
  if (isPessimisticLock(lock)) return txn.unlockKey(rawKey, isPessimisticTxn(lock), 0n);
  const write = newWrite(writeTypeFromLockType(lock.lockType) as WriteType, reader.startTs, lock.shortValue);
  write.lastChange = lock.lastChange;
  write.txnSource = lock.txnSource;
  if (lock.rollbackTs.includes(commitTs)) {
    write.hasOverlappedRollback = true;
    write.gcFence = undefined;
  }
  txn.putWrite(rawKey, commitTs, write);
  return txn.unlockKey(rawKey, isPessimisticTxn(lock), commitTs);
}
