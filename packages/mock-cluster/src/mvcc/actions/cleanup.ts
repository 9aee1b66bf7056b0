import { isPessimisticTxn } from '../lock-record.js';
import { mvccFail } from '../mvcc-error.js';
import type { MvccReader } from '../mvcc-reader.js';
import type { MvccTxn, ReleasedLock } from '../mvcc-txn.js';
import { isSharedLocks, lockOrSharedInfoOf } from '../shared-locks.js';
import { physicalOf } from '../txn-key.js';
import { lockInTxn, ownLockInTxn } from './commit.js';
import { checkTxnStatusMissingLock, rollbackLock, rollbackProtect, rollbackSharedLock } from './rollback.js';

/**
 * TiKV's `cleanup` action (used by KvCleanup, KvBatchRollback and resolve lock): rolls back this
 * transaction's lock on a key. With a non-zero `currentTs`, a lock whose TTL has not expired is
 * reported as KeyIsLocked instead. Without a lock, writes a rollback record unless the key is
 * already committed (Committed error) or rolled back.
 */
export function cleanup(
  txn: MvccTxn,
  reader: MvccReader,
  rawKey: Uint8Array,
  currentTs: bigint,
  protectRollback: boolean,
): ReleasedLock | undefined {
  const found = lockInTxn(txn, reader, rawKey);
  const own = ownLockInTxn(txn, reader, rawKey);
  if (own !== undefined) {
    const { lock, shared } = own;
    if (currentTs !== 0n && physicalOf(lock.ts) + lock.ttl >= physicalOf(currentTs)) {
      mvccFail({ kind: 'KeyIsLocked', info: lockOrSharedInfoOf(shared ?? lock, rawKey) });
    }
    if (shared !== undefined) return rollbackSharedLock(txn, reader, rawKey, shared, !protectRollback);
    return rollbackLock(txn, reader, rawKey, lock, isPessimisticTxn(lock), !protectRollback);
  }
  const status = checkTxnStatusMissingLock(
    txn,
    reader,
    rawKey,
    isSharedLocks(found) ? undefined : found,
    rollbackProtect(protectRollback),
    false,
  );
  if (status.kind === 'committed') {
    mvccFail({ kind: 'Committed', startTs: reader.startTs, commitTs: status.commitTs, key: rawKey });
  }
  return undefined;
}
