import { isPessimisticTxn, lockInfoOf } from '../lock-record.js';
import { mvccFail } from '../mvcc-error.js';
import type { MvccReader } from '../mvcc-reader.js';
import type { MvccTxn, ReleasedLock } from '../mvcc-txn.js';
import { physicalOf } from '../txn-key.js';
import { lockInTxn } from './commit.js';
import { checkTxnStatusMissingLock, rollbackLock, rollbackProtect } from './rollback.js';

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
  const lock = lockInTxn(txn, reader, rawKey);
  if (lock !== undefined && lock.ts === reader.startTs) {
    if (currentTs !== 0n && physicalOf(lock.ts) + lock.ttl >= physicalOf(currentTs)) {
      mvccFail({ kind: 'KeyIsLocked', info: lockInfoOf(lock, rawKey) });
    }
    return rollbackLock(txn, reader, rawKey, lock, isPessimisticTxn(lock), !protectRollback);
  }
  const status = checkTxnStatusMissingLock(
    txn,
    reader,
    rawKey,
    lock,
    rollbackProtect(protectRollback),
    false,
  );
  if (status.kind === 'committed') {
    mvccFail({ kind: 'Committed', startTs: reader.startTs, commitTs: status.commitTs, key: rawKey });
  }
  return undefined;
}
