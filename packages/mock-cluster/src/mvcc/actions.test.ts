import { kvrpcpb } from '@tikv/proto';
import { LockType } from './lock-record.js';
import { b, MvccTestEngine } from './mvcc-test-util.js';
import { composeTs } from './txn-key.js';
import { isProtectedRollback, WriteType } from './write-record.js';

const t = (physical: number, logical = 0) => composeTs(BigInt(physical), BigInt(logical));
const LONG_VALUE = 'v'.repeat(256);

describe('src/storage/txn/actions/commit.rs', () => {
  test.each([
    ['x', 'v'],
    ['x', LONG_VALUE],
  ])('test_commit_ok (%s, value length %#)', (k1, v1) => {
    const e = new MvccTestEngine();
    e.prewritePut(k1, v1, k1, 10);
    e.prewriteLock('y', k1, 10);
    e.prewriteDelete('z', k1, 10);
    for (const k of [k1, 'y', 'z']) e.locked(k, 10);
    for (const k of [k1, 'y', 'z']) e.commit(k, 10, 15);
    e.written(k1, 10, 15, WriteType.Put);
    e.written('y', 10, 15, WriteType.Lock);
    e.written('z', 10, 15, WriteType.Delete);
    // Committing again is idempotent.
    for (const k of [k1, 'y', 'z']) e.commit(k, 10, 15);
    expect(e.getString(k1, 20)).toBe(v1);
  });

  test.each([['v'], [LONG_VALUE]])('test_commit_err (value length %#)', (v) => {
    const e = new MvccTestEngine();
    expect(e.err(() => e.commit('k', 1, 2)).kind).toBe('TxnLockNotFound');
    e.prewritePut('k', v, 'k', 5);
    expect(e.err(() => e.commit('k', 4, 5)).kind).toBe('TxnLockNotFound');
    e.rollback('k', 5, false);
    expect(e.err(() => e.commit('k', 5, 6)).kind).toBe('TxnLockNotFound');
  });

  test('test_min_commit_ts: commit below min_commit_ts is CommitTsExpired with the lock’s min', () => {
    const e = new MvccTestEngine();
    e.prewritePut('k', 'v', 'k', Number(t(10)), { lockTtl: 100, minCommitTs: Number(t(20, 1)) });
    const err = e.err(() => e.commit('k', Number(t(10)), Number(t(20))));
    expect(err.detail).toMatchObject({ kind: 'CommitTsExpired', minCommitTs: t(20, 1), commitTs: t(20) });
    e.commit('k', Number(t(10)), Number(t(20, 1)));
    e.written('k', Number(t(10)), Number(t(20, 1)), WriteType.Put);
  });

  test('test_commit_rollback_pessimistic_lock: committing a bare pessimistic lock only removes it', () => {
    const e = new MvccTestEngine();
    e.acquirePessimisticLock('k', 'k', 10, 10);
    e.commit('k', 10, 20);
    expect(e.lockOf('k')).toBeUndefined();
    expect(e.writeAt('k', 20)).toBeUndefined();
  });

  test('test_inherit_last_change_info_from_lock: a LOCK record keeps the lock’s last_change', () => {
    const e = new MvccTestEngine();
    e.prewritePut('k', 'v', 'k', 5);
    e.commit('k', 5, 6);
    e.prewriteLock('k', 'k', 10);
    expect(e.locked('k', 10).lastChange).toEqual({ kind: 'exist', ts: 6n, versions: 1n });
    e.commit('k', 10, 11);
    expect(e.written('k', 10, 11, WriteType.Lock).lastChange).toEqual({
      kind: 'exist',
      ts: 6n,
      versions: 1n,
    });
    e.prewriteLock('k', 'k', 12);
    expect(e.locked('k', 12).lastChange).toEqual({ kind: 'exist', ts: 6n, versions: 2n });
  });
});

describe('src/storage/txn/actions/cleanup.rs', () => {
  test('test_cleanup: a live lock is reported, an expired one rolled back with a protected rollback', () => {
    const e = new MvccTestEngine();
    e.prewritePut('k', 'v', 'k', Number(t(10)), { lockTtl: 100 });
    e.locked('k', Number(t(10)));
    expect(e.err(() => e.cleanup('k', Number(t(10)), t(20))).kind).toBe('KeyIsLocked');
    e.locked('k', Number(t(10)));
    // A cleanup of another start ts writes a protected rollback and leaves the lock.
    e.cleanup('k', Number(t(10, 1)), t(120));
    expect(isProtectedRollback(e.writeAt('k', t(10, 1)) ?? ({} as never))).toBe(true);
    e.locked('k', Number(t(10)));
    e.cleanup('k', Number(t(10)), t(120));
    expect(e.lockOf('k')).toBeUndefined();
    expect(isProtectedRollback(e.writeAt('k', t(10)) ?? ({} as never))).toBe(true);
    expect(e.rolledBack('k', Number(t(10)))).toBe(true);
  });

  test('cleanup of a committed transaction answers Committed with the commit ts', () => {
    const e = new MvccTestEngine();
    e.prewritePut('k', 'v', 'k', 5);
    e.commit('k', 5, 8);
    expect(e.err(() => e.cleanup('k', 5, 0)).detail).toMatchObject({ kind: 'Committed', commitTs: 8n });
  });

  test('test_must_cleanup_with_gc_fence / overlapped rollback: a rollback at another txn’s commit ts', () => {
    const e = new MvccTestEngine();
    e.prewritePut('k', 'v', 'k', 10);
    e.commit('k', 10, 20);
    // Roll back transaction 20 whose start ts equals the commit ts above: protected => flag.
    e.cleanup('k', 20, 0);
    const w = e.written('k', 10, 20, WriteType.Put);
    expect(w.hasOverlappedRollback).toBe(true);
    expect(w.gcFence).toBe(0n);
    expect(e.rolledBack('k', 20)).toBe(true);
    // An unprotected rollback (batch rollback of a secondary) leaves no mark.
    e.prewritePut('j', 'v', 'pk', 10);
    e.commit('j', 10, 30);
    e.rollback('j', 30, false);
    expect(e.written('j', 10, 30, WriteType.Put).hasOverlappedRollback).toBe(false);
  });

  test('rollback collapses an earlier unprotected rollback but keeps protected ones', () => {
    const e = new MvccTestEngine();
    e.rollback('k', 5, false);
    expect(e.writeAt('k', 5)?.writeType).toBe(WriteType.Rollback);
    e.rollback('k', 6, false);
    expect(e.writeAt('k', 5)).toBeUndefined();
    e.rollback('k', 7, true);
    e.rollback('k', 8, false);
    expect(e.writeAt('k', 7)?.writeType).toBe(WriteType.Rollback);
  });
});

describe('src/storage/txn/actions/prewrite.rs', () => {
  test('write conflicts: a newer commit, and the transaction’s own rollback', () => {
    const e = new MvccTestEngine();
    e.prewritePut('k', 'v', 'k', 5);
    e.commit('k', 5, 10);
    expect(e.err(() => e.prewritePut('k', 'v', 'k', 8)).detail).toMatchObject({
      kind: 'WriteConflict',
      startTs: 8n,
      conflictStartTs: 5n,
      conflictCommitTs: 10n,
      reason: kvrpcpb.WriteConflict_Reason.Optimistic,
    });
    e.rollback('k', 20, false);
    expect(e.err(() => e.prewritePut('k', 'v', 'k', 20)).detail).toMatchObject({
      kind: 'WriteConflict',
      reason: kvrpcpb.WriteConflict_Reason.SelfRolledBack,
    });
    e.prewritePut('x', 'v', 'x', 30);
    const locked = e.err(() => e.prewritePut('x', 'v', 'x', 31));
    expect(locked.detail).toMatchObject({ kind: 'KeyIsLocked', info: { lockVersion: 30n } });
  });

  test('test_resend_prewrite_non_pessimistic_lock: a resent prewrite is idempotent', () => {
    const e = new MvccTestEngine();
    e.prewritePut('k', 'v', 'k', 10);
    e.prewritePut('k', 'v', 'k', 10);
    e.commit('k', 10, 20);
    expect(e.getString('k', 25)).toBe('v');
  });

  test('insert and check-not-exists fail with AlreadyExist on an existing key', () => {
    const e = new MvccTestEngine();
    e.prewritePut('k', 'v', 'k', 5);
    e.commit('k', 5, 6);
    expect(e.err(() => e.prewrite('k', 'k', 10, { op: kvrpcpb.Op.Insert, value: 'x' })).detail).toMatchObject(
      {
        kind: 'AlreadyExist',
        existingStartTs: 5n,
      },
    );
    expect(e.err(() => e.prewrite('k', 'k', 10, { op: kvrpcpb.Op.CheckNotExists })).kind).toBe(
      'AlreadyExist',
    );
    e.prewrite('n', 'n', 10, { op: kvrpcpb.Op.CheckNotExists });
    expect(e.lockOf('n')).toBeUndefined();
    // A LOCK record above a PUT still means the key exists.
    e.prewriteLock('k', 'k', 11);
    e.commit('k', 11, 12);
    expect(e.err(() => e.prewrite('k', 'k', 13, { op: kvrpcpb.Op.Insert, value: 'x' })).kind).toBe(
      'AlreadyExist',
    );
  });

  test('test_async_commit_prewrite_min_commit_ts: min_commit_ts is max(max_ts, start_ts) + 1', () => {
    const e = new MvccTestEngine();
    const minTs = e.prewritePut('k1', 'v', 'k1', 10, { secondaryKeys: [b('k2')], maxTs: 41 });
    expect(minTs).toBe(42n);
    const lock = e.locked('k1', 10);
    expect(lock.useAsyncCommit).toBe(true);
    expect(lock.secondaries).toEqual([b('k2')]);
    expect(lock.minCommitTs).toBe(42n);
    // min_commit_ts of the request wins when larger.
    expect(e.prewritePut('k2', 'v', 'k1', 10, { secondaryKeys: [], maxTs: 5, minCommitTs: 60 })).toBe(60n);
  });

  test('test_async_commit_prewrite_check_max_commit_ts: CommitTsTooLarge still writes a 2PC lock', () => {
    const e = new MvccTestEngine();
    const err = e.err(() =>
      e.prewritePut('k', 'v', 'k', 10, { secondaryKeys: [], maxTs: 41, maxCommitTs: 20 }),
    );
    expect(err.detail).toMatchObject({ kind: 'CommitTsTooLarge', minCommitTs: 42n, maxCommitTs: 20n });
  });

  test('test_1pc_set_lock_use_one_pc: 1PC locks carry min_commit_ts', () => {
    const e = new MvccTestEngine();
    expect(e.prewritePut('k', 'v', 'k', 10, { onePc: true, maxTs: 15 })).toBe(16n);
  });

  test('test_prewrite_with_assertion', () => {
    const e = new MvccTestEngine();
    const { Exist, NotExist } = kvrpcpb.Assertion;
    const level = kvrpcpb.AssertionLevel.Strict;
    e.prewritePut('k', 'v', 'k', 10, { assertion: NotExist, assertionLevel: level });
    e.commit('k', 10, 15);
    expect(
      e.err(() => e.prewritePut('k', 'v', 'k', 20, { assertion: NotExist, assertionLevel: level })).detail,
    ).toMatchObject({
      kind: 'AssertionFailed',
      existingStartTs: 10n,
      existingCommitTs: 15n,
      assertion: NotExist,
    });
    expect(
      e.err(() => e.prewritePut('m', 'v', 'm', 20, { assertion: Exist, assertionLevel: level })).detail,
    ).toMatchObject({
      kind: 'AssertionFailed',
      existingStartTs: 0n,
      existingCommitTs: 0n,
    });
    e.prewritePut('k', 'v', 'k', 20, { assertion: Exist, assertionLevel: level });
    // With the level Off nothing is checked.
    e.prewritePut('n', 'v', 'n', 20, { assertion: Exist, assertionLevel: kvrpcpb.AssertionLevel.Off });
  });

  test('test_pessimistic_prewrite_check_for_update_ts', () => {
    const e = new MvccTestEngine();
    e.acquirePessimisticLock('k', 'k', 10, 15);
    const err = e.err(() => e.pessimisticPrewritePut('k', 'v', 'k', 10, 15, { expectedForUpdateTs: 14n }));
    expect(err.detail).toMatchObject({ kind: 'PessimisticLockNotFound', reason: 'LockForUpdateTsMismatch' });
    e.pessimisticPrewritePut('k', 'v', 'k', 10, 15, { expectedForUpdateTs: 15n });
    expect(e.locked('k', 10).lockType).toBe(LockType.Put);
  });

  test('pessimistic prewrite amends a missing lock unless a newer write exists', () => {
    const e = new MvccTestEngine();
    e.pessimisticPrewritePut('a', 'v', 'a', 10, 10);
    expect(e.locked('a', 10).forUpdateTs).toBe(10n);
    e.prewritePut('b', 'v', 'b', 11);
    e.commit('b', 11, 12);
    expect(e.err(() => e.pessimisticPrewritePut('b', 'v', 'b', 10, 10)).detail).toMatchObject({
      kind: 'PessimisticLockNotFound',
      reason: 'LockMissingAmendFail',
    });
    e.prewritePut('c', 'v', 'c', 20);
    expect(e.err(() => e.pessimisticPrewritePut('c', 'v', 'c', 10, 10)).detail).toMatchObject({
      kind: 'PessimisticLockNotFound',
      reason: 'LockTsMismatch',
    });
    // An optimistic prewrite over a pessimistic lock is LockTypeNotMatch.
    e.acquirePessimisticLock('d', 'd', 30, 30);
    expect(e.err(() => e.prewritePut('d', 'v', 'd', 30)).kind).toBe('LockTypeNotMatch');
  });
});

describe('src/storage/txn/actions/acquire_pessimistic_lock.rs', () => {
  test('test_pessimistic_lock', () => {
    const e = new MvccTestEngine();
    e.acquirePessimisticLock('k1', 'k1', 1, 1);
    expect(e.locked('k1', 1)).toMatchObject({ lockType: LockType.Pessimistic, forUpdateTs: 1n });
    e.pessimisticPrewritePut('k1', 'v1', 'k1', 1, 1);
    e.locked('k1', 1);
    e.commit('k1', 1, 2);
    expect(e.lockOf('k1')).toBeUndefined();

    e.prewritePut('k1', 'v1', 'k1', 3);
    expect(e.err(() => e.acquirePessimisticLock('k1', 'k1', 4, 4)).kind).toBe('KeyIsLocked');
    e.cleanup('k1', 3, 0);
    e.acquirePessimisticLock('k1', 'k1', 5, 5);
    expect(e.err(() => e.prewriteLock('k1', 'k1', 6)).kind).toBe('KeyIsLocked');
    expect(e.err(() => e.acquirePessimisticLock('k1', 'k1', 6, 6)).kind).toBe('KeyIsLocked');
    e.cleanup('k1', 5, 0);

    e.prewritePut('k1', 'v1', 'k1', 7);
    e.commit('k1', 7, 9);
    expect(e.err(() => e.acquirePessimisticLock('k1', 'k1', 8, 8)).detail).toMatchObject({
      kind: 'WriteConflict',
      reason: kvrpcpb.WriteConflict_Reason.PessimisticRetry,
      conflictStartTs: 7n,
      conflictCommitTs: 9n,
    });
    e.acquirePessimisticLock('k1', 'k1', 8, 9);
    e.pessimisticPrewritePut('k1', 'v1', 'k1', 8, 8);
    e.commit('k1', 8, 10);

    // A pessimistic lock of a rolled back transaction cannot be acquired again.
    e.acquirePessimisticLock('k1', 'k1', 11, 11);
    e.cleanup('k1', 11, 0);
    expect(e.err(() => e.acquirePessimisticLock('k1', 'k1', 11, 11)).kind).toBe('PessimisticLockRolledBack');
    expect(e.err(() => e.pessimisticPrewritePut('k1', 'v1', 'k1', 11, 11)).kind).toBe(
      'PessimisticLockNotFound',
    );
  });

  test('test_pessimistic_lock_return_value and test_check_existence', () => {
    const e = new MvccTestEngine();
    expect(e.acquirePessimisticLock('k', 'k', 10, 10, { needValue: true })).toEqual({
      kind: 'value',
      value: undefined,
    });
    e.pessimisticPrewritePut('k', 'v1', 'k', 10, 10);
    e.commit('k', 10, 20);
    expect(e.acquirePessimisticLock('k', 'k', 30, 30, { needValue: true })).toEqual({
      kind: 'value',
      value: b('v1'),
    });
    expect(e.acquirePessimisticLock('k', 'k', 30, 30, { checkExistence: true })).toEqual({
      kind: 'existence',
      exists: true,
    });
    expect(e.acquirePessimisticLock('z', 'k', 30, 30, { checkExistence: true })).toEqual({
      kind: 'existence',
      exists: false,
    });
  });

  test('test_pessimistic_lock_only_if_exists', () => {
    const e = new MvccTestEngine();
    expect(e.err(() => e.acquirePessimisticLock('k', 'k', 10, 10, { lockOnlyIfExists: true })).kind).toBe(
      'LockIfExistsFailed',
    );
    e.acquirePessimisticLock('k', 'k', 10, 10, { lockOnlyIfExists: true, needValue: true });
    expect(e.lockOf('k')).toBeUndefined();
    e.prewritePut('k', 'v', 'k', 11);
    e.commit('k', 11, 12);
    e.acquirePessimisticLock('k', 'k', 20, 20, { lockOnlyIfExists: true, needValue: true });
    e.locked('k', 20);
  });

  test('test_acquire_pessimistic_lock_should_not_exist', () => {
    const e = new MvccTestEngine();
    e.prewritePut('k', 'v', 'k', 5);
    e.commit('k', 5, 6);
    expect(e.err(() => e.acquirePessimisticLock('k', 'k', 10, 10, { shouldNotExist: true })).kind).toBe(
      'AlreadyExist',
    );
    e.acquirePessimisticLock('n', 'n', 10, 10, { shouldNotExist: true });
  });

  test('test_lock_with_conflict: locks at the conflicting commit ts and reports it', () => {
    const e = new MvccTestEngine();
    e.prewritePut('k', 'v1', 'k', 10);
    e.commit('k', 10, 20);
    const r = e.acquirePessimisticLock('k', 'k', 15, 15, { allowLockWithConflict: true });
    expect(r).toEqual({ kind: 'lockedWithConflict', value: b('v1'), conflictTs: 20n });
    expect(e.locked('k', 15)).toMatchObject({ forUpdateTs: 20n, isLockedWithConflict: true });
    // A repeated request with an older for_update_ts reports the lock's.
    expect(e.acquirePessimisticLock('k', 'k', 15, 16, { allowLockWithConflict: true })).toEqual({
      kind: 'lockedWithConflict',
      value: b('v1'),
      conflictTs: 20n,
    });
  });
});

describe('src/storage/txn/commands/check_txn_status.rs', () => {
  test('test_check_txn_status: pushes min_commit_ts, rolls back on TTL expiry, reports commits', () => {
    const e = new MvccTestEngine();
    e.prewritePut('k', 'v', 'k', Number(t(5)), { lockTtl: 100, minCommitTs: Number(t(5, 1)) });
    let s = e.checkTxnStatus('k', Number(t(5)), t(7), t(7));
    expect(s).toMatchObject({ kind: 'uncommitted', minCommitTsPushed: true, lock: { minCommitTs: t(7, 1) } });
    expect(e.locked('k', Number(t(5))).minCommitTs).toBe(t(7, 1));
    // A caller start ts below min_commit_ts needs no push (reported as pushed: the lock is above it).
    s = e.checkTxnStatus('k', Number(t(5)), t(6), t(7));
    expect(s).toMatchObject({ kind: 'uncommitted', minCommitTsPushed: true, lock: { minCommitTs: t(7, 1) } });
    // caller_start_ts 0 (a plain status check) pushes nothing.
    s = e.checkTxnStatus('k', Number(t(5)), 0, t(7));
    expect(s).toMatchObject({ kind: 'uncommitted', minCommitTsPushed: false });
    // caller_start_ts = max reports pushed without writing.
    s = e.checkTxnStatus('k', Number(t(5)), 0xffff_ffff_ffff_ffffn, t(7));
    expect(s).toMatchObject({ kind: 'uncommitted', minCommitTsPushed: true });
    s = e.checkTxnStatus('k', Number(t(5)), t(200), t(200));
    expect(s.kind).toBe('ttlExpire');
    expect(e.lockOf('k')).toBeUndefined();
    expect(e.checkTxnStatus('k', Number(t(5)), 0, 0).kind).toBe('rolledBack');

    e.prewritePut('c', 'v', 'c', Number(t(10)));
    e.commit('c', Number(t(10)), Number(t(11)));
    expect(e.checkTxnStatus('c', Number(t(10)), 0, 0)).toEqual({ kind: 'committed', commitTs: t(11) });
  });

  test.each([[false], [true]])('test_check_txn_status_impl (rollback_if_not_exist %s)', (r) => {
    const e = new MvccTestEngine();
    const T = (p: number, l = 0) => Number(t(p, l));
    const check = (lockTs: number, caller: bigint | number, current: bigint | number) =>
      e.checkTxnStatus('k1', lockTs, caller, current, { rollbackIfNotExist: r });
    const uncommitted = (ttl: bigint, minCommitTs: bigint, pushed: boolean) => ({
      kind: 'uncommitted',
      minCommitTsPushed: pushed,
      lock: { ttl, minCommitTs },
    });
    const largeTxn = (start: number) =>
      e.prewritePut('k1', 'v1', 'k1', start, { lockTtl: 100, minCommitTs: start + 1 });
    if (r) {
      expect(check(T(3), t(3, 1), t(3, 2)).kind).toBe('lockNotExist');
      expect(isProtectedRollback(e.writeAt('k1', t(3)) ?? ({} as never))).toBe(true);
    } else {
      expect(e.err(() => check(T(3), t(3, 1), t(3, 2))).kind).toBe('TxnNotFound');
    }
    largeTxn(T(5));
    expect(check(T(5), 0, 0)).toMatchObject(uncommitted(100n, t(5, 1), false));
    expect(check(T(5), t(6), t(7))).toMatchObject(uncommitted(100n, t(7), true));
    expect(check(T(5), t(9), t(8))).toMatchObject(uncommitted(100n, t(9, 1), true));
    expect(check(T(5), t(8), t(10))).toMatchObject(uncommitted(100n, t(9, 1), true));
    expect(check(T(5), t(11), t(9))).toMatchObject(uncommitted(100n, t(11, 1), true));
    expect(check(T(5), t(12), t(12))).toMatchObject(uncommitted(100n, t(12, 1), true));
    expect(check(T(5), t(13, 1), t(13, 3))).toMatchObject(uncommitted(100n, t(13, 3), true));
    expect(e.locked('k1', T(5)).minCommitTs).toBe(t(13, 3));
    e.commit('k1', T(5), T(15));
    expect(check(T(5), t(12), t(12))).toEqual({ kind: 'committed', commitTs: t(15) });
    largeTxn(T(20));
    expect(check(T(5), t(12), t(12))).toEqual({ kind: 'committed', commitTs: t(15) });
    if (r) {
      expect(check(T(6), t(12), t(12)).kind).toBe('lockNotExist');
      expect(e.writeAt('k1', t(6))?.writeType).toBe(WriteType.Rollback);
    } else {
      expect(e.err(() => check(T(6), t(12), t(12))).kind).toBe('TxnNotFound');
    }
    expect(check(T(20), t(21, 105), t(21, 105))).toMatchObject(uncommitted(100n, t(21, 106), true));
    expect(check(T(20), t(121), t(121)).kind).toBe('ttlExpire');
    expect(e.lockOf('k1')).toBeUndefined();
    expect(e.writeAt('k1', t(20))?.writeType).toBe(WriteType.Rollback);
  });

  test('missing locks: TxnNotFound, or a protected rollback with rollback_if_not_exist', () => {
    const e = new MvccTestEngine();
    expect(e.err(() => e.checkTxnStatus('k', 5, 6, 6)).detail).toMatchObject({
      kind: 'TxnNotFound',
      startTs: 5n,
    });
    expect(e.checkTxnStatus('k', 5, 6, 6, { rollbackIfNotExist: true }).kind).toBe('lockNotExist');
    expect(isProtectedRollback(e.writeAt('k', 5) ?? ({} as never))).toBe(true);
    expect(
      e.checkTxnStatus('n', 5, 6, 6, { rollbackIfNotExist: true, resolvingPessimisticLock: true }).kind,
    ).toBe('lockNotExistDoNothing');
  });

  test('test_check_async_commit_txn_status: async commit locks are left alone unless forced', () => {
    const e = new MvccTestEngine();
    e.prewritePut('k', 'v', 'k', Number(t(5)), { lockTtl: 100, secondaryKeys: [], maxTs: Number(t(5)) });
    expect(e.checkTxnStatus('k', Number(t(5)), t(300), t(300))).toMatchObject({
      kind: 'uncommitted',
      minCommitTsPushed: false,
    });
    expect(e.checkTxnStatus('k', Number(t(5)), t(300), t(300), { forceSyncCommit: true }).kind).toBe(
      'ttlExpire',
    );
  });

  test('test_check_txn_status_resolving_pessimistic_lock', () => {
    const e = new MvccTestEngine();
    e.acquirePessimisticLock('k', 'k', Number(t(5)), Number(t(5)), { ttl: 10 });
    const s = e.checkTxnStatus('k', Number(t(5)), t(100), t(100), { resolvingPessimisticLock: true });
    expect(s.kind).toBe('pessimisticRollBack');
    expect(e.lockOf('k')).toBeUndefined();
    expect(e.writeAt('k', t(5))).toBeUndefined();
    e.acquirePessimisticLock('j', 'j', Number(t(5)), Number(t(5)), { ttl: 10 });
    expect(e.checkTxnStatus('j', Number(t(5)), t(100), t(100)).kind).toBe('ttlExpire');
    expect(e.rolledBack('j', Number(t(5)))).toBe(true);
  });

  test('test_verify_is_primary', () => {
    const e = new MvccTestEngine();
    e.prewritePut('s', 'v', 'p', 10);
    expect(e.err(() => e.checkTxnStatus('s', 10, 11, 11, { verifyIsPrimary: true })).detail).toMatchObject({
      kind: 'PrimaryMismatch',
      info: { primaryLock: b('p'), key: b('s') },
    });
    e.acquirePessimisticLock('q', 'p', 20, 20);
    expect(e.checkTxnStatus('q', 20, 21, 21, { verifyIsPrimary: true, rollbackIfNotExist: true }).kind).toBe(
      'lockNotExist',
    );
    expect(e.lockOf('q')).toBeUndefined();
  });
});
