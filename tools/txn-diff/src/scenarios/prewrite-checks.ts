/** Prewrite's constraint checks: write conflicts, locks, existence and assertions. */
import { kvrpcpb } from '@tikv/proto';
import type { Scenario } from '../scenario.js';
import { Assertion, commit, del, get, mutation, mvcc, Op, prewrite, put, write } from './helpers.js';

const { AssertionLevel } = kvrpcpb;

export const prewriteChecks: Scenario[] = [
  {
    name: 'prewrite-write-conflict',
    origin: 'prewrite.rs write conflicts; test_resend_prewrite_non_pessimistic_lock',
    modes: ['v1', 'v2'],
    async run(s) {
      const k = s.key('k');
      const old = await s.ts('old');
      await write(s, 'w1', [put(k, 'v1')]);
      // A transaction that started before the commit conflicts with it.
      await prewrite(s, 'prewrite.stale', [put(k, 'v2')], old);
      // A live lock of another transaction is reported with its LockInfo.
      const holder = await s.ts('holder');
      await prewrite(s, 'prewrite.holder', [put(k, 'v3'), put(s.key('k2'), 'x')], holder, { lockTtl: 5000n });
      const other = await s.ts('other');
      await prewrite(s, 'prewrite.locked', [put(k, 'v4')], other);
      // The same prewrite again is idempotent.
      await prewrite(s, 'prewrite.resend', [put(k, 'v3'), put(s.key('k2'), 'x')], holder, { lockTtl: 5000n });
      await mvcc(s, 'mvcc.locked', k);
      // After its own rollback a transaction cannot prewrite again.
      await s.call('rollback', 'kvBatchRollback', { keys: [k, s.key('k2')], startVersion: holder });
      await prewrite(s, 'prewrite.afterRollback', [put(k, 'v3')], holder);
      await mvcc(s, 'mvcc.rolledBack', k);
      // skip_constraint_check lets a stale prewrite through.
      await prewrite(s, 'prewrite.skipCheck', [put(s.key('k3'), 'v')], old, { skipConstraintCheck: true });
    },
  },
  {
    name: 'prewrite-insert-check-not-exists',
    origin: 'prewrite.rs: insert and check-not-exists fail with AlreadyExist on an existing key',
    modes: ['v1', 'v2'],
    async run(s) {
      const [a, b, c] = [s.key('a'), s.key('b'), s.key('c')];
      await write(s, 'w', [put(a, 'va'), put(b, 'vb')]);
      await write(s, 'wdel', [del(b)]);
      const t = await s.ts('t');
      await prewrite(s, 'insert.existing', [mutation(Op.Insert, a, 'x')], t);
      await prewrite(s, 'checkNotExists.existing', [mutation(Op.CheckNotExists, a)], t);
      await prewrite(s, 'insert.deleted', [mutation(Op.Insert, b, 'x')], t);
      await prewrite(
        s,
        'insert.missing',
        [mutation(Op.Insert, c, 'x'), mutation(Op.CheckNotExists, s.key('d'))],
        t,
        {
          primaryLock: b,
        },
      );
      await mvcc(s, 'mvcc.checkNotExists', s.key('d'));
      const u = await s.ts('u');
      // Two failing mutations in one request: TiKV stops at the first.
      await prewrite(s, 'insert.two', [mutation(Op.Insert, a, 'x'), mutation(Op.Insert, b, 'y')], u);
      await s.call('rollback.t', 'kvBatchRollback', { keys: [b, c], startVersion: t });
    },
  },
  {
    name: 'prewrite-assertions',
    origin: 'prewrite.rs test_prewrite_with_assertion',
    modes: ['v1', 'v2'],
    async run(s) {
      const [e, m] = [s.key('exists'), s.key('missing')];
      await write(s, 'w', [put(e, 'v')]);
      for (const level of [AssertionLevel.Fast, AssertionLevel.Strict]) {
        const name = AssertionLevel[level];
        const t = await s.ts(`t.${name}`);
        await prewrite(s, `${name}.exist.ok`, [put(e, 'v2', Assertion.Exist)], t, { assertionLevel: level });
        await prewrite(s, `${name}.notExist.ok`, [put(m, 'v2', Assertion.NotExist)], t, {
          assertionLevel: level,
          primaryLock: e,
        });
        await s.call(`${name}.rollback`, 'kvBatchRollback', { keys: [e, m], startVersion: t });
        const u = await s.ts(`u.${name}`);
        await prewrite(s, `${name}.notExist.fail`, [put(e, 'v3', Assertion.NotExist)], u, {
          assertionLevel: level,
        });
        await prewrite(s, `${name}.exist.fail`, [put(m, 'v3', Assertion.Exist)], u, {
          assertionLevel: level,
          primaryLock: e,
        });
        await s.call(`${name}.rollback.u`, 'kvBatchRollback', { keys: [e, m], startVersion: u });
      }
      // Assertions are not checked with assertion_level Off.
      const off = await s.ts('off');
      await prewrite(s, 'off.notExist', [put(e, 'v4', Assertion.NotExist)], off);
      await commit(s, 'off.commit', [e], off, await s.ts('off.commit'));
      await get(s, 'off.get', e, await s.ts('off.read'));
    },
  },
];
