/** Commit, rollback and cleanup, including the requests TiKV refuses. */
import type { Scenario } from '../scenario.js';
import { commit, get, mvcc, prewrite, put, write } from './helpers.js';

export const commitRollback: Scenario[] = [
  {
    name: 'commit-errors',
    origin: 'commit.rs test_min_commit_ts, test_commit_rollback; bad requests',
    modes: ['v1', 'v2'],
    async run(s) {
      const k = s.key('k');
      const start = await s.ts('start');
      // A commit with no lock at all.
      await commit(s, 'commit.noLock', [k], start, await s.ts('c0'));
      await prewrite(s, 'prewrite', [put(k, 'v')], start, { minCommitTs: 0n });
      // commit_ts <= start_ts.
      await commit(s, 'commit.tsEqual', [k], start, start);
      await commit(s, 'commit.tsBelow', [k], start, start - 1n);
      const commitTs = await s.ts('commit');
      await commit(s, 'commit', [k], start, commitTs);
      // Committing again (a retry) answers success; another ts is the lock-not-found answer.
      await commit(s, 'commit.again', [k], start, commitTs);
      await commit(s, 'commit.againOtherTs', [k], start, await s.ts('c2'));
      await get(s, 'get', k, await s.ts('read'));
      // A transaction with a min_commit_ts refuses a smaller commit ts.
      const m = s.key('m');
      const start2 = await s.ts('start2');
      const c3 = await s.ts('c3');
      const min = await s.ts('min');
      await prewrite(s, 'prewrite.min', [put(m, 'v')], start2, { minCommitTs: min });
      await commit(s, 'commit.belowMin', [m], start2, c3);
      await mvcc(s, 'mvcc.min', m);
      // Rolled back first: commit finds the rollback.
      const r = s.key('r');
      const start3 = await s.ts('start3');
      await prewrite(s, 'prewrite.r', [put(r, 'v')], start3);
      await s.call('rollback.r', 'kvBatchRollback', { keys: [r], startVersion: start3 });
      await commit(s, 'commit.rolledBack', [r], start3, await s.ts('c4'));
      // A commit of one key under the wrong start ts.
      const start4 = await s.ts('start4');
      await prewrite(s, 'prewrite.w', [put(s.key('w'), 'v')], start4);
      await commit(s, 'commit.wrongStart', [s.key('w')], start4 + 1n, await s.ts('c5'));
      // Commit role: a secondary named as primary still commits.
      await s.call('commit.role', 'kvCommit', {
        keys: [s.key('w')],
        startVersion: start4,
        commitVersion: await s.ts('c6'),
        commitRole: 1,
      });
    },
  },
  {
    name: 'rollback',
    origin: 'rollback.rs / cleanup.rs: rollbacks of locks, of nothing, of commits; protected rollbacks',
    modes: ['v1', 'v2'],
    async run(s) {
      const [a, b] = [s.key('a'), s.key('b')];
      const t = await s.ts('t');
      await prewrite(s, 'prewrite', [put(a, 'v'), put(b, 'x'.repeat(300))], t);
      await s.call('rollback', 'kvBatchRollback', { keys: [a, b], startVersion: t });
      await mvcc(s, 'mvcc.a', a);
      await mvcc(s, 'mvcc.b', b);
      await s.call('rollback.again', 'kvBatchRollback', { keys: [a, b], startVersion: t });
      // A rollback of a transaction that wrote nothing leaves a rollback record.
      const n = await s.ts('n');
      await s.call('rollback.nothing', 'kvBatchRollback', { keys: [s.key('c')], startVersion: n });
      await mvcc(s, 'mvcc.c', s.key('c'));
      await prewrite(s, 'prewrite.afterRollback', [put(s.key('c'), 'v')], n);
      // A rollback of a committed transaction is refused.
      const w = await write(s, 'w', [put(s.key('d'), 'v')]);
      await s.call('rollback.committed', 'kvBatchRollback', { keys: [s.key('d')], startVersion: w.startTs });
      // A rollback at another transaction's commit ts (an overlapped rollback).
      await s.call('rollback.overlapped', 'kvBatchRollback', {
        keys: [s.key('d')],
        startVersion: w.commitTs,
      });
      await mvcc(s, 'mvcc.d', s.key('d'));
      // Several unprotected rollbacks of a key keep only what TiKV keeps.
      for (const i of [1, 2, 3]) {
        const ti = await s.ts(`t${i}`);
        await prewrite(s, `prewrite.e${i}`, [put(s.key('e'), 'v'), put(s.key('f'), 'v')], ti, {
          primaryLock: s.key('f'),
        });
        await s.call(`rollback.e${i}`, 'kvBatchRollback', {
          keys: [s.key('e'), s.key('f')],
          startVersion: ti,
        });
      }
      await mvcc(s, 'mvcc.e', s.key('e'));
      await mvcc(s, 'mvcc.f', s.key('f'));
    },
  },
  {
    name: 'cleanup',
    origin: 'cleanup.rs test_cleanup; commands/cleanup.rs',
    modes: ['v1', 'v2'],
    async run(s) {
      const k = s.key('k');
      const t = await s.ts('t');
      await prewrite(s, 'prewrite', [put(k, 'v'), put(s.key('s'), 'v')], t, { lockTtl: 200n });
      // TTL not expired yet: the lock is reported.
      await s.call('cleanup.live', 'kvCleanup', { key: k, startVersion: t, currentTs: t });
      // current_ts 0: no TTL check, rolled back.
      const t2 = await s.ts('t2');
      await prewrite(s, 'prewrite2', [put(s.key('k2'), 'v')], t2, { lockTtl: 2000n });
      await s.call('cleanup.zeroCurrentTs', 'kvCleanup', {
        key: s.key('k2'),
        startVersion: t2,
        currentTs: 0n,
      });
      await mvcc(s, 'mvcc.k2', s.key('k2'));
      // Expired: rolled back with a protected rollback.
      await s.call('cleanup.expired', 'kvCleanup', {
        key: k,
        startVersion: t,
        currentTs: await s.tsAfter('expired', t, 201),
      });
      await mvcc(s, 'mvcc.k', k);
      await s.call('cleanup.again', 'kvCleanup', { key: k, startVersion: t, currentTs: 0n });
      // Committed: the commit ts comes back.
      const w = await write(s, 'w', [put(s.key('c'), 'v')]);
      await s.call('cleanup.committed', 'kvCleanup', {
        key: s.key('c'),
        startVersion: w.startTs,
        currentTs: 0n,
      });
      // Nothing there: a rollback record.
      const n = await s.ts('n');
      await s.call('cleanup.nothing', 'kvCleanup', { key: s.key('x'), startVersion: n, currentTs: 0n });
      await mvcc(s, 'mvcc.x', s.key('x'));
      // A lock of another transaction on the key is not this transaction's.
      const o = await s.ts('o');
      await prewrite(s, 'prewrite.o', [put(s.key('y'), 'v')], o);
      const p = await s.ts('p');
      await s.call('cleanup.otherLock', 'kvCleanup', { key: s.key('y'), startVersion: p, currentTs: 0n });
      await mvcc(s, 'mvcc.y', s.key('y'));
    },
  },
];
