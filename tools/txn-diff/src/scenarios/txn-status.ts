/** CheckTxnStatus (every Action), CheckSecondaryLocks and TxnHeartBeat. */
import type { kvrpcpb } from '@tikv/proto';
import type { Scenario } from '../scenario.js';
import type { Session } from '../session.js';
import { commit, lockKeys, mvcc, prewrite, put, write } from './helpers.js';

function status(
  s: Session,
  label: string,
  primaryKey: Uint8Array,
  lockTs: bigint,
  fields: Omit<kvrpcpb.DeepPartial<kvrpcpb.CheckTxnStatusRequest>, 'primaryKey' | 'lockTs' | 'context'>,
): Promise<kvrpcpb.CheckTxnStatusResponse> {
  return s.call(label, 'kvCheckTxnStatus', { primaryKey, lockTs, ...fields });
}

export const txnStatus: Scenario[] = [
  {
    name: 'check-txn-status-actions',
    origin:
      'check_txn_status.rs test_check_txn_status: NoAction, MinCommitTSPushed, TTLExpireRollback, committed',
    modes: ['v1', 'v2'],
    async run(s) {
      const p = s.key('p');
      const t = await s.ts('t');
      await prewrite(s, 'prewrite', [put(p, 'v'), put(s.key('s'), 'v')], t, { lockTtl: 300n });
      // Live, caller_start_ts 0: nothing to do, the lock comes back.
      await status(s, 'live.noCaller', p, t, { callerStartTs: 0n, currentTs: 0n });
      // A caller that started later pushes min_commit_ts past it.
      const caller = await s.ts('caller');
      await status(s, 'live.push', p, t, { callerStartTs: caller, currentTs: t });
      await mvcc(s, 'mvcc.pushed', p);
      // Pushing again with an older caller does not move it back.
      await status(s, 'live.pushOlder', p, t, { callerStartTs: t + 1n, currentTs: t });
      // caller_start_ts = MAX (a point read at ts MAX) does not push.
      await status(s, 'live.callerMax', p, t, { callerStartTs: (1n << 64n) - 1n, currentTs: t });
      // The commit must now be above the pushed min_commit_ts.
      await commit(s, 'commit.belowPushed', [p], t, caller);
      // TTL expired: rolled back.
      await status(s, 'expired', p, t, {
        callerStartTs: caller,
        currentTs: await s.tsAfter('expired', t, 301),
      });
      await mvcc(s, 'mvcc.rolledBack', p);
      await status(s, 'rolledBack', p, t, { callerStartTs: 0n, currentTs: 0n });
      // Committed transactions report their commit ts.
      const w = await write(s, 'w', [put(s.key('c'), 'v')]);
      await status(s, 'committed', s.key('c'), w.startTs, { callerStartTs: 0n, currentTs: 0n });
      // A lock of another transaction on the primary: the checked one is not there.
      const o = await s.ts('o');
      await prewrite(s, 'prewrite.o', [put(s.key('o'), 'v')], o);
      await status(s, 'otherTxnLock', s.key('o'), o - 1n, { callerStartTs: 0n, currentTs: 0n });
      await status(s, 'otherTxnLock.rollbackIfNotExist', s.key('o'), o - 1n, {
        callerStartTs: 0n,
        currentTs: 0n,
        rollbackIfNotExist: true,
      });
      await mvcc(s, 'mvcc.o', s.key('o'));
    },
  },
  {
    name: 'check-txn-status-missing',
    origin: 'check_txn_status.rs: TxnNotFound, LockNotExistRollback, LockNotExistDoNothing',
    modes: ['v1', 'v2'],
    async run(s) {
      const k = s.key('k');
      const t = await s.ts('t');
      await status(s, 'notFound', k, t, { callerStartTs: 0n, currentTs: 0n });
      await status(s, 'rollbackIfNotExist', k, t, {
        callerStartTs: 0n,
        currentTs: 0n,
        rollbackIfNotExist: true,
      });
      await mvcc(s, 'mvcc.k', k);
      await status(s, 'afterRollback', k, t, { callerStartTs: 0n, currentTs: 0n });
      const u = await s.ts('u');
      await status(s, 'resolvingPessimistic.noLock', s.key('m'), u, {
        callerStartTs: 0n,
        currentTs: 0n,
        rollbackIfNotExist: true,
        resolvingPessimisticLock: true,
      });
      await mvcc(s, 'mvcc.m', s.key('m'));
    },
  },
  {
    name: 'check-txn-status-pessimistic',
    origin:
      'check_txn_status.rs test_check_txn_status_resolving_pessimistic_lock; TTLExpirePessimisticRollback',
    modes: ['v1', 'v2'],
    async run(s) {
      const p = s.key('p');
      const t = await s.ts('t');
      await lockKeys(s, 'lock', [p], t, t, { lockTtl: 100n });
      await status(s, 'live', p, t, { callerStartTs: 0n, currentTs: 0n });
      const caller = await s.ts('caller');
      // Pushing a pessimistic lock's min_commit_ts: TiKV leaves pessimistic locks alone.
      await status(s, 'live.push', p, t, { callerStartTs: caller, currentTs: t });
      await status(s, 'expired.resolving', p, t, {
        callerStartTs: caller,
        currentTs: await s.tsAfter('expired', t, 101),
        resolvingPessimisticLock: true,
      });
      await mvcc(s, 'mvcc.afterPessimisticRollback', p);
      // Without resolving_pessimistic_lock, an expired pessimistic lock is rolled back as a whole txn.
      const q = s.key('q');
      const u = await s.ts('u');
      await lockKeys(s, 'lock.q', [q], u, u, { lockTtl: 100n });
      await status(s, 'expired.notResolving', q, u, {
        callerStartTs: 0n,
        currentTs: await s.tsAfter('expired.u', u, 101),
      });
      await mvcc(s, 'mvcc.q', q);
    },
  },
  {
    name: 'check-txn-status-async-commit',
    origin: 'check_txn_status.rs test_check_async_commit_txn_status; force_sync_commit; verify_is_primary',
    modes: ['v1', 'v2'],
    async run(s) {
      const [p, sec] = [s.key('p'), s.key('s')];
      const t = await s.ts('t');
      await prewrite(s, 'prewrite', [put(p, 'v'), put(sec, 'v')], t, {
        useAsyncCommit: true,
        secondaries: [sec],
        lockTtl: 100n,
      });
      const caller = await s.ts('caller');
      await status(s, 'push', p, t, { callerStartTs: caller, currentTs: t });
      await status(s, 'expired', p, t, { callerStartTs: 0n, currentTs: await s.tsAfter('expired', t, 101) });
      await status(s, 'verifyIsPrimary.onSecondary', sec, t, {
        callerStartTs: 0n,
        currentTs: 0n,
        verifyIsPrimary: true,
      });
      await status(s, 'forceSyncCommit.live', p, t, {
        callerStartTs: caller,
        currentTs: t,
        forceSyncCommit: true,
      });
      await status(s, 'forceSyncCommit.expired', p, t, {
        callerStartTs: 0n,
        currentTs: await s.ts('now'),
        forceSyncCommit: true,
      });
      await mvcc(s, 'mvcc.p', p);
      await mvcc(s, 'mvcc.s', sec);
    },
  },
  {
    name: 'check-secondary-locks',
    origin: 'check_secondary_locks.rs test_check_async_commit_secondary_locks',
    modes: ['v1', 'v2'],
    async run(s) {
      const [p, a, b] = [s.key('p'), s.key('a'), s.key('b')];
      const t = await s.ts('t');
      await prewrite(s, 'prewrite', [put(p, 'v'), put(a, 'v')], t, {
        useAsyncCommit: true,
        secondaries: [a, b],
      });
      // One secondary locked, one never prewritten: the missing one is rolled back.
      await s.call('check.lockedAndMissing', 'kvCheckSecondaryLocks', { keys: [a, b], startVersion: t });
      await mvcc(s, 'mvcc.b', b);
      await s.call('check.locked', 'kvCheckSecondaryLocks', { keys: [a], startVersion: t });
      const commitTs = await s.ts('commit');
      await commit(s, 'commit.a', [a], t, commitTs);
      await s.call('check.committed', 'kvCheckSecondaryLocks', { keys: [a], startVersion: t });
      await s.call('check.committedAndRolledBack', 'kvCheckSecondaryLocks', {
        keys: [a, b],
        startVersion: t,
      });
      // A pessimistic lock of the transaction (not prewritten yet) is rolled back.
      const u = await s.ts('u');
      await lockKeys(s, 'lock', [s.key('q')], u, u);
      await s.call('check.pessimistic', 'kvCheckSecondaryLocks', { keys: [s.key('q')], startVersion: u });
      await mvcc(s, 'mvcc.q', s.key('q'));
      // Another transaction's lock on the key.
      const v = await s.ts('v');
      await prewrite(s, 'prewrite.other', [put(s.key('o'), 'v')], v);
      await s.call('check.otherLock', 'kvCheckSecondaryLocks', { keys: [s.key('o')], startVersion: v - 1n });
      await mvcc(s, 'mvcc.o', s.key('o'));
    },
  },
  {
    name: 'txn-heart-beat',
    origin: 'txn_heart_beat.rs test_txn_heart_beat',
    modes: ['v1', 'v2'],
    async run(s) {
      const p = s.key('p');
      const t = await s.ts('t');
      await prewrite(s, 'prewrite', [put(p, 'v'), put(s.key('s'), 'v')], t, { lockTtl: 100n });
      await s.call('grow', 'kvTxnHeartBeat', { primaryLock: p, startVersion: t, adviseLockTtl: 5000n });
      await s.call('shrink', 'kvTxnHeartBeat', { primaryLock: p, startVersion: t, adviseLockTtl: 10n });
      await s.call('onSecondary', 'kvTxnHeartBeat', {
        primaryLock: s.key('s'),
        startVersion: t,
        adviseLockTtl: 9000n,
      });
      await s.call('wrongTs', 'kvTxnHeartBeat', {
        primaryLock: p,
        startVersion: t + 1n,
        adviseLockTtl: 9000n,
      });
      await s.call('missing', 'kvTxnHeartBeat', {
        primaryLock: s.key('m'),
        startVersion: t,
        adviseLockTtl: 9000n,
      });
      await mvcc(s, 'mvcc.p', p);
      // On a pessimistic lock.
      const u = await s.ts('u');
      await lockKeys(s, 'lock', [s.key('q')], u, u, { lockTtl: 100n });
      await s.call('pessimistic', 'kvTxnHeartBeat', {
        primaryLock: s.key('q'),
        startVersion: u,
        adviseLockTtl: 4000n,
      });
      // After the commit.
      await commit(s, 'commit', [p], t, await s.ts('commit'));
      await s.call('committed', 'kvTxnHeartBeat', { primaryLock: p, startVersion: t, adviseLockTtl: 9000n });
      // A min_commit_ts on a normal (not pipelined) lock.
      const v = await s.ts('v');
      await prewrite(s, 'prewrite.v', [put(s.key('r'), 'v')], v, { lockTtl: 100n });
      await s.call('minCommitTs', 'kvTxnHeartBeat', {
        primaryLock: s.key('r'),
        startVersion: v,
        adviseLockTtl: 200n,
        minCommitTs: s.name('min', v + 100n),
      });
      await mvcc(s, 'mvcc.r', s.key('r'));
    },
  },
];
