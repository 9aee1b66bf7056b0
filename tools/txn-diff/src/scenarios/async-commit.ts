/** Async commit and 1PC: min_commit_ts and one_pc_commit_ts from max_ts, their fallbacks. */
import type { Scenario } from '../scenario.js';
import type { Session } from '../session.js';
import { commit, get, mvcc, prewrite, put } from './helpers.js';

/** Records whether `ts` relates to `to` as TiKV's rules say, instead of its absolute value. */
function relation(s: Session, label: string, ts: bigint, named: Record<string, bigint>): void {
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(named)) out[name] = ts > v ? '>' : ts === v ? '=' : '<';
  s.record(label, out);
}

export const asyncCommit: Scenario[] = [
  {
    name: 'async-commit-min-commit-ts',
    origin: 'prewrite.rs test_async_commit_prewrite_min_commit_ts; commands/prewrite.rs test_async_commit',
    modes: ['v1', 'v2'],
    async run(s) {
      const [p, a] = [s.key('p'), s.key('a')];
      const start = await s.ts('start');
      // A later read raises max_ts: min_commit_ts = max(start_ts, max_ts) + 1.
      const read = await s.ts('read');
      await get(s, 'read', s.key('elsewhere'), read);
      const r = await prewrite(s, 'prewrite', [put(p, 'v'), put(a, 'v')], start, {
        useAsyncCommit: true,
        secondaries: [a],
        lockTtl: 3000n,
      });
      relation(s, 'minCommitTs.rel', r.minCommitTs, { start, read });
      await s.call('check.a', 'kvCheckSecondaryLocks', { keys: [a], startVersion: start }, { record: false });
      await mvcc(s, 'mvcc.p', p);
      await mvcc(s, 'mvcc.a', a);
      // A given min_commit_ts above that wins.
      const start2 = await s.ts('start2');
      await prewrite(s, 'prewrite.givenMin', [put(s.key('g'), 'v')], start2, {
        useAsyncCommit: true,
        minCommitTs: s.name('given', start2 + 1000n),
        secondaries: [],
      });
      // max_commit_ts below the computed min_commit_ts: CommitTsTooLarge? TiKV falls back to 2PC.
      const start3 = await s.ts('start3');
      const read3 = await s.ts('read3');
      await get(s, 'read3', s.key('elsewhere'), read3);
      await prewrite(s, 'prewrite.maxCommitTs', [put(s.key('m'), 'v')], start3, {
        useAsyncCommit: true,
        secondaries: [],
        maxCommitTs: start3 + 1n,
      });
      await mvcc(s, 'mvcc.m', s.key('m'));
      // The commit ts picked from the lock's min_commit_ts.
      await commit(s, 'commit', [p, a], start, await s.ts('commit'));
      await get(s, 'get', a, await s.ts('read4'));
    },
  },
  {
    name: 'async-commit-max-ts-sources',
    origin:
      'scripted: which commands raise max_ts (reads, scan lock, cleanup, check_secondary_locks, check_txn_status)',
    modes: ['v1'],
    async run(s) {
      const cases: [string, (ts: bigint) => Promise<unknown>][] = [
        ['kvGet', (ts) => get(s, 'src.kvGet', s.key('x'), ts)],
        [
          'kvScan',
          (ts) =>
            s.call('src.kvScan', 'kvScan', {
              startKey: s.key('x'),
              endKey: s.key('y'),
              limit: 1,
              version: ts,
            }),
        ],
        ['kvBatchGet', (ts) => s.call('src.kvBatchGet', 'kvBatchGet', { keys: [s.key('x')], version: ts })],
        [
          'scanLock',
          (ts) =>
            s.call('src.scanLock', 'kvScanLock', {
              maxVersion: ts,
              startKey: s.key('x'),
              endKey: s.key('y'),
              limit: 1,
            }),
        ],
        [
          'cleanup',
          (ts) => s.call('src.cleanup', 'kvCleanup', { key: s.key('x'), startVersion: ts, currentTs: 0n }),
        ],
        [
          'checkSecondaryLocks',
          (ts) =>
            s.call('src.checkSecondaryLocks', 'kvCheckSecondaryLocks', {
              keys: [s.key('x')],
              startVersion: ts,
            }),
        ],
        [
          'checkTxnStatus',
          (ts) =>
            s.call('src.checkTxnStatus', 'kvCheckTxnStatus', {
              primaryKey: s.key('x'),
              lockTs: ts - 1n,
              callerStartTs: ts,
              currentTs: ts,
              rollbackIfNotExist: true,
            }),
        ],
        [
          'pessimisticLock',
          (ts) =>
            s.call('src.pessimisticLock', 'kvPessimisticLock', {
              mutations: [{ op: 5, key: s.key(`pl`) }],
              primaryLock: s.key('pl'),
              startVersion: ts,
              forUpdateTs: ts,
              lockTtl: 100n,
              waitTimeout: -1n,
            }),
        ],
        [
          'mvccGetByKey',
          (ts) => s.call('src.mvccGetByKey', 'mvccGetByKey', { key: s.key(`x${ts}`) }).then(() => undefined),
        ],
      ];
      for (const [name, source] of cases) {
        const start = await s.ts(`${name}.start`);
        // A timestamp in between, so that start + 1 and bump are never the same value.
        await s.ts(`${name}.gap`);
        const bump = await s.ts(`${name}.bump`);
        await source(bump);
        const r = await prewrite(s, `${name}.prewrite`, [put(s.key(`k.${name}`), 'v')], start, {
          useAsyncCommit: true,
          secondaries: [],
        });
        relation(s, `${name}.minCommitTs`, r.minCommitTs, { start, bump });
      }
    },
  },
  {
    name: 'one-pc',
    origin: 'commands/prewrite.rs test_prewrite_1pc',
    modes: ['v1', 'v2'],
    async run(s) {
      const [a, b] = [s.key('a'), s.key('b')];
      const start = await s.ts('start');
      const read = await s.ts('read');
      await get(s, 'read', s.key('elsewhere'), read);
      const r = await prewrite(s, 'prewrite', [put(a, 'va'), put(b, 'vb')], start, { tryOnePc: true });
      relation(s, 'onePcCommitTs.rel', r.onePcCommitTs, { start, read });
      await get(s, 'get.a', a, await s.ts('read2'));
      await mvcc(s, 'mvcc.a', a);
      // A conflicting lock fails the whole 1PC prewrite and writes nothing.
      const o = await s.ts('o');
      await prewrite(s, 'prewrite.holder', [put(s.key('c'), 'v')], o);
      const t = await s.ts('t');
      await prewrite(s, 'prewrite.conflict', [put(s.key('d'), 'v'), put(s.key('c'), 'v')], t, {
        tryOnePc: true,
      });
      await mvcc(s, 'mvcc.d', s.key('d'));
      // max_commit_ts too small: fall back to 2PC (locks written, one_pc_commit_ts 0).
      const u = await s.ts('u');
      const read3 = await s.ts('read3');
      await get(s, 'read3', s.key('elsewhere'), read3);
      await prewrite(s, 'prewrite.fallback', [put(s.key('e'), 'v')], u, {
        tryOnePc: true,
        maxCommitTs: u + 1n,
      });
      await mvcc(s, 'mvcc.e', s.key('e'));
      // 1PC with a delete and an insert on an existing key.
      const v = await s.ts('v');
      await prewrite(
        s,
        'prewrite.insertExisting',
        [{ op: 4, key: a, value: new Uint8Array([1]), assertion: 0 }],
        v,
        {
          tryOnePc: true,
        },
      );
      const w = await s.ts('w');
      const d = await prewrite(
        s,
        'prewrite.delete',
        [{ op: 1, key: b, value: new Uint8Array(0), assertion: 0 }],
        w,
        {
          tryOnePc: true,
        },
      );
      relation(s, 'delete.onePcCommitTs.rel', d.onePcCommitTs, { w });
      await get(s, 'get.b', b, await s.ts('read4'));
    },
  },
];
