/** Lock waiting: timeouts, wake-ups after commit or rollback, force-lock waiters, deadlocks. */
import { kvrpcpb } from '@tikv/proto';
import type { Scenario } from '../scenario.js';
import type { Session } from '../session.js';
import { commit, lockKeys, mvcc, prewrite, put } from './helpers.js';

const FORCE = kvrpcpb.PessimisticLockWakeUpMode.WakeUpModeForceLock;
const { DO_PESSIMISTIC_CHECK } = kvrpcpb.PrewriteRequest_PessimisticAction;

/** Records GetLockWaitInfo once `n` requests wait on the scenario's keys. */
async function recordWaiters(s: Session, label: string, n: number): Promise<void> {
  const info = await s.waitForWaiters(n);
  s.record(
    label,
    info.entries
      .map((e) => ({ txn: e.txn, waitForTxn: e.waitForTxn, key: e.key }))
      .sort((x, y) => (x.txn < y.txn ? -1 : 1)),
  );
}

export const lockWait: Scenario[] = [
  {
    name: 'lock-wait-timeout',
    origin: 'scripted: wait_timeout elapses with the lock still held',
    modes: ['v1', 'v2'],
    async run(s) {
      const k = s.key('k');
      const h = await s.ts('holder');
      await lockKeys(s, 'holder.lock', [k], h, h);
      const w = await s.ts('waiter');
      await lockKeys(s, 'waiter.timeout', [k], w, w, { waitTimeout: 200n });
      // wait_timeout 0 waits TiKV's default; < 0 does not wait.
      await lockKeys(s, 'waiter.noWait', [k], w, w, { waitTimeout: -1n });
    },
  },
  {
    name: 'lock-wait-wake-up-commit',
    origin: 'lock_manager: a legacy waiter answers WriteConflict when the holder commits',
    modes: ['v1', 'v2'],
    async run(s) {
      const k = s.key('k');
      const h = await s.ts('holder');
      await lockKeys(s, 'holder.lock', [k], h, h);
      const w = await s.ts('waiter');
      const waiting = lockKeys(s, 'waiter.woken', [k], w, w, { waitTimeout: 10_000n });
      await recordWaiters(s, 'waitInfo', 1);
      await prewrite(s, 'holder.prewrite', [put(k, 'v')], h, {
        forUpdateTs: h,
        pessimisticActions: [DO_PESSIMISTIC_CHECK],
      });
      await commit(s, 'holder.commit', [k], h, await s.ts('holder.commit'));
      await waiting;
      await mvcc(s, 'mvcc', k);
    },
  },
  {
    name: 'lock-wait-wake-up-rollback',
    origin: 'lock_manager: a legacy waiter gets the lock when the holder rolls back',
    modes: ['v1'],
    async run(s) {
      const k = s.key('k');
      const h = await s.ts('holder');
      await lockKeys(s, 'holder.lock', [k], h, h);
      const w = await s.ts('waiter');
      const waiting = lockKeys(s, 'waiter.woken', [k], w, w, { waitTimeout: 10_000n, returnValues: true });
      await s.waitForWaiters(1);
      await s.call('holder.rollback', 'kVPessimisticRollback', {
        keys: [k],
        startVersion: h,
        forUpdateTs: h,
      });
      await waiting;
      await mvcc(s, 'mvcc', k);
    },
  },
  {
    name: 'lock-wait-force-lock',
    origin: 'lock_manager: a force-lock (aggressive) waiter retries when woken',
    modes: ['v1', 'v2'],
    async run(s) {
      const [a, b] = [s.key('a'), s.key('b')];
      const h = await s.ts('holder');
      await lockKeys(s, 'holder.lock', [a], h, h);
      const w = await s.ts('waiter');
      // Force-lock mode: one key per request when waiting.
      const waiting = lockKeys(s, 'waiter.woken', [a], w, w, {
        waitTimeout: 10_000n,
        wakeUpMode: FORCE,
        returnValues: true,
      });
      await s.waitForWaiters(1);
      await prewrite(s, 'holder.prewrite', [put(a, 'v')], h, {
        forUpdateTs: h,
        pessimisticActions: [DO_PESSIMISTIC_CHECK],
      });
      await commit(s, 'holder.commit', [a], h, await s.ts('holder.commit'));
      await waiting;
      await mvcc(s, 'mvcc.a', a);
      // Force-lock with more than one key and a wait: refused.
      await lockKeys(s, 'multiKeyWait', [a, b], w, w, { waitTimeout: 100n, wakeUpMode: FORCE });
    },
  },
  {
    name: 'lock-wait-several-waiters',
    origin: 'lock_manager: waiters are woken in start ts order; the rest after wake-up-delay',
    modes: ['v1'],
    async run(s) {
      const k = s.key('k');
      const h = await s.ts('holder');
      await lockKeys(s, 'holder.lock', [k], h, h);
      const w1 = await s.ts('w1');
      const w2 = await s.ts('w2');
      // w2 queues first, w1 second: the smaller start ts is woken first.
      const p2 = lockKeys(s, 'w2.lock', [k], w2, w2, { waitTimeout: 5000n, wakeUpMode: FORCE });
      await s.waitForWaiters(1);
      const p1 = lockKeys(s, 'w1.lock', [k], w1, w1, { waitTimeout: 5000n, wakeUpMode: FORCE });
      await recordWaiters(s, 'waitInfo', 2);
      await s.call('holder.rollback', 'kVPessimisticRollback', {
        keys: [k],
        startVersion: h,
        forUpdateTs: h,
      });
      await p1;
      await mvcc(s, 'mvcc.afterFirst', k);
      await s.call('w1.rollback', 'kVPessimisticRollback', { keys: [k], startVersion: w1, forUpdateTs: w1 });
      await p2;
      await mvcc(s, 'mvcc.afterSecond', k);
    },
  },
  {
    name: 'lock-wait-new-holder',
    origin: 'lock_manager update_wait_for: a waiter that outlives its holder waits on the next one',
    modes: ['v1'],
    async run(s) {
      const k = s.key('k');
      const h = await s.ts('holder');
      await lockKeys(s, 'holder.lock', [k], h, h);
      const w1 = await s.ts('w1');
      const w2 = await s.ts('w2');
      const p1 = lockKeys(s, 'w1.lock', [k], w1, w1, { waitTimeout: 10_000n, wakeUpMode: FORCE });
      await s.waitForWaiters(1);
      const p2 = lockKeys(s, 'w2.lock', [k], w2, w2, { waitTimeout: 1500n, wakeUpMode: FORCE });
      await s.waitForWaiters(2);
      await s.call('holder.rollback', 'kVPessimisticRollback', {
        keys: [k],
        startVersion: h,
        forUpdateTs: h,
      });
      await p1;
      // w2 now waits for w1 (GetLockWaitInfo), and times out reporting w1's lock.
      await recordWaiters(s, 'waitInfo.afterHandOver', 1);
      await p2;
      await s.call('w1.rollback', 'kVPessimisticRollback', { keys: [k], startVersion: w1, forUpdateTs: w1 });
    },
  },
  {
    name: 'deadlock',
    origin: 'deadlock detector: a wait that closes a cycle answers Deadlock with the wait chain',
    modes: ['v1', 'v2'],
    async run(s) {
      const [a, b] = [s.key('a'), s.key('b')];
      const t1 = await s.ts('t1');
      const t2 = await s.ts('t2');
      await lockKeys(s, 't1.lock.a', [a], t1, t1);
      await lockKeys(s, 't2.lock.b', [b], t2, t2);
      // t1 waits for t2 on b ...
      const first = s.call('t1.lock.b', 'kvPessimisticLock', {
        mutations: [{ op: kvrpcpb.Op.PessimisticLock, key: b }],
        primaryLock: a,
        startVersion: t1,
        forUpdateTs: t1,
        lockTtl: 3000n,
        waitTimeout: 10_000n,
      });
      await recordWaiters(s, 'waitInfo', 1);
      // ... and t2 waiting for t1 on a closes the cycle.
      await s.call('t2.lock.a', 'kvPessimisticLock', {
        mutations: [{ op: kvrpcpb.Op.PessimisticLock, key: a }],
        primaryLock: b,
        startVersion: t2,
        forUpdateTs: t2,
        lockTtl: 3000n,
        waitTimeout: 10_000n,
      });
      await s.call('t2.rollback', 'kVPessimisticRollback', { keys: [b], startVersion: t2, forUpdateTs: t2 });
      await first;
    },
  },
];
