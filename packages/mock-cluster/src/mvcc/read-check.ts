import { kvrpcpb } from '@tikv/proto';
import { isPessimisticLock, type Lock, LockType, lockInfoOf } from './lock-record.js';
import { mvccFail } from './mvcc-error.js';
import { bytesEqual, TS_MAX } from './txn-key.js';

/** What a read checks locks against: its ts, isolation level and the locks it may ignore. */
export interface ReadCheckOptions {
  readonly ts: bigint;
  readonly isolation: kvrpcpb.IsolationLevel;
  /** `Context.resolved_locks`: start ts of transactions known rolled back or committed after ts. */
  readonly bypassLocks?: ReadonlySet<bigint>;
  /** `Context.committed_locks`: start ts of transactions known committed; read their lock's value. */
  readonly accessLocks?: ReadonlySet<bigint>;
  /** Replica reads report a lock even to a ts = max read of the primary. */
  readonly replicaRead?: boolean;
}

/** Whether the isolation level makes reads look at locks (`need_check_locks`). */
export function needCheckLocks(isolation: kvrpcpb.IsolationLevel): boolean {
  return isolation === kvrpcpb.IsolationLevel.SI || isolation === kvrpcpb.IsolationLevel.RCCheckTS;
}

/**
 * `check_ts_conflict`: throws KeyIsLocked (SI) or a WriteConflict with reason RcCheckTs when the
 * lock blocks a read. Pessimistic and LOCK-type locks never block reads.
 */
export function checkTsConflict(lock: Lock, rawKey: Uint8Array, o: ReadCheckOptions): void {
  if (o.isolation === kvrpcpb.IsolationLevel.SI) {
    if (lock.ts > o.ts || lock.lockType === LockType.Lock || isPessimisticLock(lock)) return;
    if (lock.minCommitTs > o.ts) return;
    if (o.bypassLocks?.has(lock.ts) === true) return;
    if (o.ts === TS_MAX && o.replicaRead === true)
      mvccFail({ kind: 'KeyIsLocked', info: lockInfoOf(lock, rawKey) });
    // A ts = max read of the primary key is a "read the latest committed" read: the lock of a
    // plain 2PC transaction does not block it.
    if (o.ts === TS_MAX && bytesEqual(rawKey, lock.primary) && !lock.useAsyncCommit && !lock.useOnePc) return;
    mvccFail({ kind: 'KeyIsLocked', info: lockInfoOf(lock, rawKey) });
  }
  if (o.isolation === kvrpcpb.IsolationLevel.RCCheckTS) {
    if (lock.lockType === LockType.Lock || isPessimisticLock(lock)) return;
    if (o.bypassLocks?.has(lock.ts) === true) return;
    mvccFail({
      kind: 'WriteConflict',
      startTs: o.ts,
      conflictStartTs: lock.ts,
      conflictCommitTs: 0n,
      key: rawKey,
      primary: lock.primary,
      reason: kvrpcpb.WriteConflict_Reason.RcCheckTs,
    });
  }
}
