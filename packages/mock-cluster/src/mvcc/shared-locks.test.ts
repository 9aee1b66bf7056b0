import { kvrpcpb } from '@tikv/proto';
import { NotInShrinkModeError } from './actions/acquire-pessimistic-lock.js';
import { ConcurrencyManager } from './concurrency-manager.js';
import { LockType, newLock } from './lock-record.js';
import { b, MvccTestEngine } from './mvcc-test-util.js';
import { decodeLockOrShared, encodeSharedLocks, newSharedLocks, sharedLocksInfoOf } from './shared-locks.js';
import { TxnCommands } from './txn-commands.js';
import { checkSecondaryLocks, checkTxnStatus } from './txn-status-commands.js';
import { WriteType } from './write-record.js';

const DO_PESSIMISTIC_CHECK = kvrpcpb.PrewriteRequest_PessimisticAction.DO_PESSIMISTIC_CHECK;

describe('shared locks (TiKV txn_types::SharedLocks and the actions that use them)', () => {
  test('encode and decode round trip, shrink-only flag included', () => {
    const s = newSharedLocks();
    s.locks.set(
      10n,
      newLock({ lockType: LockType.Pessimistic, primary: b('p1'), ts: 10n, ttl: 100n, forUpdateTs: 11n }),
    );
    s.locks.set(20n, newLock({ lockType: LockType.Lock, primary: b('p2'), ts: 20n, ttl: 200n }));
    expect(decodeLockOrShared(encodeSharedLocks(s))).toEqual(s);
    s.shrinkOnly = true;
    expect(decodeLockOrShared(encodeSharedLocks(s))).toEqual(s);
    const info = sharedLocksInfoOf(s, b('k'));
    expect(info.lockType).toBe(kvrpcpb.Op.SharedLock);
    expect(info.sharedLockInfos.map((i) => i.lockVersion).sort()).toEqual([10n, 20n]);
  });

  test('test_acquire_shared_lock_creates_shared_entry: two holders, then an exclusive request', () => {
    const e = new MvccTestEngine();
    e.acquirePessimisticLock('k', 'p1', 10, 10, { shared: true, ttl: 100 });
    e.acquirePessimisticLock('k', 'p2', 20, 20, { shared: true, ttl: 100 });
    expect([...(e.sharedLocksOf('k')?.locks.keys() ?? [])].sort()).toEqual([10n, 20n]);
    // Reads do not see shared locks.
    expect(e.get('k', 30)).toBeUndefined();
    // An exclusive request asks for shrink mode; once shrink-only, shared requests wait too.
    expect(() => e.acquirePessimisticLock('k', 'p3', 30, 30)).toThrow(NotInShrinkModeError);
    // A holder refreshing its shared lock with a newer for-update ts is fine.
    e.acquirePessimisticLock('k', 'p1', 10, 12, { shared: true });
    expect(e.sharedLocksOf('k')?.locks.get(10n)?.forUpdateTs).toBe(12n);
  });

  test('an exclusive lock blocks a shared request; shared locks block another prewrite', () => {
    const e = new MvccTestEngine();
    e.acquirePessimisticLock('x', 'x', 5, 5);
    expect(e.err(() => e.acquirePessimisticLock('x', 'p', 6, 6, { shared: true })).detail.kind).toBe(
      'KeyIsLocked',
    );
    e.acquirePessimisticLock('k', 'p1', 10, 10, { shared: true });
    const locked = e.err(() => e.prewritePut('k', 'v', 'k', 11));
    expect(locked.detail.kind).toBe('KeyIsLocked');
    if (locked.detail.kind === 'KeyIsLocked') expect(locked.detail.info.sharedLockInfos).toHaveLength(1);
    // Its own prewrite must say SharedLock.
    expect(
      e.err(() =>
        e.prewrite('k', 'p1', 10, {
          op: kvrpcpb.Op.Lock,
          forUpdateTs: 10,
          pessimisticAction: DO_PESSIMISTIC_CHECK,
        }),
      ).detail.kind,
    ).toBe('Other');
  });

  test('prewrite, commit and rollback of shared entries: the last one out releases the key', () => {
    const e = new MvccTestEngine();
    e.acquirePessimisticLock('k', 'p1', 10, 10, { shared: true });
    e.acquirePessimisticLock('k', 'p2', 20, 20, { shared: true });
    e.prewrite('k', 'p1', 10, {
      op: kvrpcpb.Op.SharedLock,
      forUpdateTs: 10,
      pessimisticAction: DO_PESSIMISTIC_CHECK,
    });
    expect(e.sharedLocksOf('k')?.locks.get(10n)?.lockType).toBe(LockType.Lock);
    e.commit('k', 10, 15);
    expect(e.writeAt('k', 15)?.writeType).toBe(WriteType.Lock);
    expect([...(e.sharedLocksOf('k')?.locks.keys() ?? [])]).toEqual([20n]);
    e.rollback('k', 20, false);
    expect(e.sharedLocksOf('k')).toBeUndefined();
    expect(e.lockOf('k')).toBeUndefined();
    expect(e.rolledBack('k', 20)).toBe(true);
  });

  test('commands: shrink on an exclusive request, scan and pessimistic rollback per holder, released once', () => {
    const e = new MvccTestEngine();
    const cmds = new TxnCommands(e.engine, new ConcurrencyManager(1n));
    const released: bigint[] = [];
    cmds.onReleased = (r) => released.push(...r.map((x) => x.startTs));
    const lock = (startTs: bigint, shared: boolean) =>
      cmds.acquirePessimisticLock({
        keys: [{ key: b('k'), shouldNotExist: false, shared }],
        primary: b(`p${startTs}`),
        startTs,
        lockTtl: 3000n,
        forUpdateTs: startTs,
        needValue: false,
        needCheckExistence: false,
        minCommitTs: startTs + 1n,
        lockOnlyIfExists: false,
        allowLockWithConflict: false,
      });
    lock(10n, true);
    lock(20n, true);
    const holders = (maxTs: bigint) =>
      cmds.scanLock(maxTs, b(''), b(''), 0).flatMap((w) => w.sharedLockInfos.map((l) => l.lockVersion));
    expect(holders(9n)).toEqual([]);
    expect(holders(15n)).toEqual([10n]);
    expect(holders(25n).sort()).toEqual([10n, 20n]);
    expect(cmds.scanLock(25n, b(''), b(''), 0)[0]?.lockType).toBe(kvrpcpb.Op.SharedLock);
    const shrunk = lock(30n, false);
    expect(shrunk.shrunk?.sharedLockInfos).toHaveLength(2);
    expect(e.sharedLocksOf('k')?.shrinkOnly).toBe(true);
    expect(lock(30n, false).lockedBy?.info.lockType).toBe(kvrpcpb.Op.SharedLock);
    expect(lock(40n, true).lockedBy).toBeDefined();
    cmds.pessimisticRollback([b('k')], 10n, 10n);
    expect(released).toEqual([]);
    expect(() =>
      checkTxnStatus(cmds, {
        primaryKey: b('k'),
        lockTs: 20n,
        callerStartTs: 0n,
        currentTs: 0n,
        rollbackIfNotExist: false,
        forceSyncCommit: false,
        resolvingPessimisticLock: false,
        verifyIsPrimary: false,
      }),
    ).toThrow(expect.objectContaining({ detail: expect.objectContaining({ kind: 'PrimaryMismatch' }) }));
    cmds.pessimisticRollback([b('k')], 20n, 20n);
    expect(released).toEqual([20n]);
    expect(lock(30n, false).results).toHaveLength(1);
  });
  test('ResolveLock of the region and CheckSecondaryLocks reach each holder of shared locks', () => {
    const e = new MvccTestEngine();
    const cmds = new TxnCommands(e.engine, new ConcurrencyManager(1n));
    const prewriteShared = (startTs: bigint) =>
      cmds.prewrite({
        mutations: [{ op: kvrpcpb.Op.SharedLock, key: b('k'), value: new Uint8Array(0), assertion: 0 }],
        primary: b(`p${startTs}`),
        startTs,
        lockTtl: 3000n,
        skipConstraintCheck: false,
        forUpdateTs: startTs,
        pessimisticActions: [DO_PESSIMISTIC_CHECK],
        forUpdateTsConstraints: [],
        txnSize: 1n,
        minCommitTs: 0n,
        maxCommitTs: 0n,
        secondaryKeys: undefined,
        tryOnePc: false,
        assertionLevel: kvrpcpb.AssertionLevel.Off,
        isRetryRequest: false,
        txnSource: 0n,
      });
    for (const ts of [10, 20, 30]) e.acquirePessimisticLock('k', `p${ts}`, ts, ts, { shared: true });
    prewriteShared(10n);
    prewriteShared(20n);
    // A pessimistic holder is rolled back by CheckSecondaryLocks; a prewritten one is reported.
    expect(checkSecondaryLocks(cmds, [b('k')], 30n)).toEqual({ kind: 'rolledBack' });
    const status = checkSecondaryLocks(cmds, [b('k')], 10n);
    expect(status.kind === 'locked' && status.locks.map((l) => l.lockVersion)).toEqual([10n]);
    // One ResolveLock of the region: 10 committed, 20 rolled back.
    cmds.resolveLock({
      txnStatus: new Map([
        [10n, 15n],
        [20n, 0n],
      ]),
    });
    expect(e.sharedLocksOf('k')).toBeUndefined();
    expect(e.writeAt('k', 15)?.writeType).toBe(WriteType.Lock);
    expect(e.rolledBack('k', 20)).toBe(true);
    expect(e.rolledBack('k', 30)).toBe(true);
  });
});
