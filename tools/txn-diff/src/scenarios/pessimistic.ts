/** KvPessimisticLock without waiting, pessimistic prewrite and KVPessimisticRollback. */
import { kvrpcpb } from '@tikv/proto';
import type { Scenario } from '../scenario.js';
import { commit, del, get, lockKeys, mutation, mvcc, Op, prewrite, put, write } from './helpers.js';

const { PessimisticLockWakeUpMode, PrewriteRequest_PessimisticAction: PA } = kvrpcpb;
const FORCE = PessimisticLockWakeUpMode.WakeUpModeForceLock;

export const pessimistic: Scenario[] = [
  {
    name: 'pessimistic-lock-basic',
    origin: 'acquire_pessimistic_lock.rs test_pessimistic_lock; test_overwrite_pessimistic_lock',
    modes: ['v1', 'v2'],
    async run(s) {
      const [k, e] = [s.key('k'), s.key('e')];
      await write(s, 'w', [put(e, 've')]);
      const t = await s.ts('t');
      await lockKeys(s, 'lock', [k, e], t, t, { isFirstLock: true });
      await mvcc(s, 'mvcc.k', k);
      // Another transaction, no wait: the lock comes back.
      const o = await s.ts('o');
      await lockKeys(s, 'lock.other', [k], o, o);
      // A read sees no lock of a pessimistic lock (it is not a write yet).
      await get(s, 'get.underPessimisticLock', k, o);
      // The same key again with a larger for_update_ts rewrites the lock.
      const f2 = await s.ts('f2');
      await lockKeys(s, 'lock.again', [k], t, f2);
      await mvcc(s, 'mvcc.k.again', k);
      // ... with a smaller one keeps it.
      await lockKeys(s, 'lock.smaller', [k], t, t);
      await mvcc(s, 'mvcc.k.smaller', k);
      // A newer commit than for_update_ts is a write conflict (PessimisticRetry).
      const c = s.key('c');
      const u = await s.ts('u');
      await write(s, 'wc', [put(c, 'v')]);
      await lockKeys(s, 'lock.conflict', [c], u, u);
      // Pessimistic prewrite and commit.
      await prewrite(s, 'prewrite', [put(k, 'v'), put(e, 've2')], t, {
        forUpdateTs: f2,
        pessimisticActions: [PA.DO_PESSIMISTIC_CHECK, PA.DO_PESSIMISTIC_CHECK],
      });
      await mvcc(s, 'mvcc.k.prewritten', k);
      await commit(s, 'commit', [k, e], t, await s.ts('commit'));
      await get(s, 'get', k, await s.ts('read'));
      // Locking after the transaction committed.
      await lockKeys(s, 'lock.afterCommit', [k], t, f2);
    },
  },
  {
    name: 'pessimistic-lock-values',
    origin:
      'acquire_pessimistic_lock.rs test_pessimistic_lock_return_value, test_check_existence, test_pessimistic_lock_only_if_exists',
    modes: ['v1', 'v2'],
    async run(s) {
      const [e, m, d] = [s.key('e'), s.key('m'), s.key('d')];
      await write(s, 'w', [put(e, 've'), put(d, 'vd')]);
      await write(s, 'wd', [del(d)]);
      const t = await s.ts('t');
      await lockKeys(s, 'returnValues', [e, m, d], t, t, { returnValues: true });
      await s.call('rollback', 'kVPessimisticRollback', { keys: [e, m, d], startVersion: t, forUpdateTs: t });
      const u = await s.ts('u');
      await lockKeys(s, 'checkExistence', [e, m, d], u, u, { checkExistence: true });
      await s.call('rollback.u', 'kVPessimisticRollback', {
        keys: [e, m, d],
        startVersion: u,
        forUpdateTs: u,
      });
      const v = await s.ts('v');
      await lockKeys(s, 'onlyIfExists', [e, m], v, v, { returnValues: true, lockOnlyIfExists: true });
      await mvcc(s, 'mvcc.m', m);
      await mvcc(s, 'mvcc.e', e);
      const w = await s.ts('wt');
      // lock_only_if_exists without return_values is refused.
      await lockKeys(s, 'onlyIfExists.noReturnValues', [s.key('x')], w, w, { lockOnlyIfExists: true });
      // Both flags: return_values wins.
      await lockKeys(s, 'returnValuesAndExistence', [s.key('y'), e], w, w, {
        returnValues: true,
        checkExistence: true,
      });
    },
  },
  {
    name: 'pessimistic-lock-force-mode',
    origin: 'acquire_pessimistic_lock.rs test_lock_with_conflict, test_lock_with_conflict_should_not_exist',
    modes: ['v1', 'v2'],
    async run(s) {
      const [k, e] = [s.key('k'), s.key('e')];
      const t = await s.ts('t');
      await write(s, 'w', [put(k, 'newer')]);
      // for_update_ts below the newest commit: locked with conflict at the commit ts.
      await lockKeys(s, 'lockedWithConflict', [k, e], t, t, { wakeUpMode: FORCE, returnValues: true });
      await mvcc(s, 'mvcc.k', k);
      // The same with check_existence.
      const t2 = await s.ts('t2');
      await write(s, 'w2', [put(s.key('c'), 'v')]);
      await lockKeys(s, 'lockedWithConflict.existence', [s.key('c')], t2, t2, {
        wakeUpMode: FORCE,
        checkExistence: true,
      });
      // A key locked by another transaction: LockResultFailed with the lock error.
      const o = await s.ts('o');
      await lockKeys(s, 'locked', [e], o, o, { wakeUpMode: FORCE });
      // A pessimistic prewrite of a locked-with-conflict lock needs for_update_ts = the conflict ts.
      await prewrite(s, 'prewrite', [put(k, 'v')], t, {
        forUpdateTs: t,
        pessimisticActions: [PA.DO_PESSIMISTIC_CHECK],
      });
      await s.call('rollback', 'kVPessimisticRollback', { keys: [k, e], startVersion: t, forUpdateTs: t });
      await mvcc(s, 'mvcc.k.rolledBack', k);
      await s.call('rollback.maxForUpdateTs', 'kVPessimisticRollback', {
        keys: [k, e],
        startVersion: t,
        forUpdateTs: (1n << 64n) - 1n,
      });
      await mvcc(s, 'mvcc.k.rolledBack2', k);
    },
  },
  {
    name: 'pessimistic-prewrite',
    origin: 'prewrite.rs test_pessimistic_prewrite_check_for_update_ts, amend, for_update_ts_constraints',
    modes: ['v1', 'v2'],
    async run(s) {
      const [a, b, c] = [s.key('a'), s.key('b'), s.key('c')];
      const t = await s.ts('t');
      await lockKeys(s, 'lock', [a], t, t);
      // A mutation with DO_PESSIMISTIC_CHECK but no lock: amended when nothing newer was written.
      await prewrite(s, 'prewrite.missingLock', [put(a, 'v'), put(b, 'v')], t, {
        forUpdateTs: t,
        pessimisticActions: [PA.DO_PESSIMISTIC_CHECK, PA.DO_PESSIMISTIC_CHECK],
      });
      await mvcc(s, 'mvcc.b', b);
      // A newer commit on a key without the lock: PessimisticLockNotFound (not amendable).
      const u = await s.ts('u');
      await write(s, 'wc', [put(c, 'v')]);
      await prewrite(s, 'prewrite.missingLockNewer', [put(c, 'v')], u, {
        forUpdateTs: u,
        pessimisticActions: [PA.DO_PESSIMISTIC_CHECK],
      });
      // for_update_ts_constraints: the lock's for_update_ts must be what the client expected.
      const v = await s.ts('v');
      const f = await s.ts('f');
      await lockKeys(s, 'lock.d', [s.key('d')], v, f);
      await prewrite(s, 'prewrite.constraintMismatch', [put(s.key('d'), 'v')], v, {
        forUpdateTs: f,
        pessimisticActions: [PA.DO_PESSIMISTIC_CHECK],
        forUpdateTsConstraints: [{ index: 0, expectedForUpdateTs: v }],
      });
      await prewrite(s, 'prewrite.constraintOk', [put(s.key('d'), 'v')], v, {
        forUpdateTs: f,
        pessimisticActions: [PA.DO_PESSIMISTIC_CHECK],
        forUpdateTsConstraints: [{ index: 0, expectedForUpdateTs: f }],
      });
      await prewrite(s, 'prewrite.constraintBadIndex', [put(s.key('d'), 'v')], v, {
        forUpdateTs: f,
        pessimisticActions: [PA.DO_PESSIMISTIC_CHECK],
        forUpdateTsConstraints: [{ index: 5, expectedForUpdateTs: f }],
      });
      // SKIP_PESSIMISTIC_CHECK and DO_CONSTRAINT_CHECK.
      const w = await s.ts('w');
      await prewrite(
        s,
        'prewrite.skipAndConstraint',
        [put(s.key('e'), 'v'), mutation(Op.Insert, c, 'x')],
        w,
        { forUpdateTs: w, pessimisticActions: [PA.SKIP_PESSIMISTIC_CHECK, PA.DO_CONSTRAINT_CHECK] },
      );
      // A pessimistic prewrite whose lock belongs to another transaction.
      const x = await s.ts('x');
      await prewrite(s, 'prewrite.otherTxnLock', [put(s.key('d'), 'v')], x, {
        forUpdateTs: x,
        pessimisticActions: [PA.DO_PESSIMISTIC_CHECK],
      });
    },
  },
];
