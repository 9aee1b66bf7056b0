/** KvResolveLock (one transaction, a batch of them, given keys) and KvScanLock. */
import type { Scenario } from '../scenario.js';
import { get, lockKeys, mvcc, prewrite, put } from './helpers.js';

export const resolve: Scenario[] = [
  {
    name: 'resolve-lock',
    origin: 'commands/resolve_lock.rs; resolve_lock_lite.rs',
    modes: ['v1', 'v2'],
    async run(s) {
      const [a, b, c, d] = [s.key('a'), s.key('b'), s.key('c'), s.key('d')];
      const t1 = await s.ts('t1');
      await prewrite(s, 'prewrite.t1', [put(a, 'v1'), put(b, 'v1')], t1);
      const t2 = await s.ts('t2');
      await prewrite(s, 'prewrite.t2', [put(c, 'v2')], t2);
      const t3 = await s.ts('t3');
      await prewrite(s, 'prewrite.t3', [put(d, 'v3')], t3);
      // One transaction, committed.
      const c1 = await s.ts('commit1');
      await s.call(
        'resolve.commit',
        'kvResolveLock',
        { startVersion: t1, commitVersion: c1 },
        { routeKey: a },
      );
      await get(s, 'get.a', a, await s.ts('read1'));
      await mvcc(s, 'mvcc.b', b);
      // A batch: t2 committed, t3 rolled back.
      const c2 = await s.ts('commit2');
      await s.call(
        'resolve.batch',
        'kvResolveLock',
        {
          txnInfos: [
            { txn: t2, status: c2 },
            { txn: t3, status: 0n },
          ],
        },
        { routeKey: a },
      );
      await mvcc(s, 'mvcc.c', c);
      await mvcc(s, 'mvcc.d', d);
      // Given keys (resolve lock lite), rolled back.
      const t4 = await s.ts('t4');
      await prewrite(s, 'prewrite.t4', [put(s.key('e'), 'v'), put(s.key('f'), 'v')], t4);
      await s.call('resolve.lite', 'kvResolveLock', {
        startVersion: t4,
        commitVersion: 0n,
        keys: [s.key('f')],
      });
      await mvcc(s, 'mvcc.e', s.key('e'));
      await mvcc(s, 'mvcc.f', s.key('f'));
      // Commit ts not above start ts.
      await s.call('resolve.badCommitTs', 'kvResolveLock', {
        startVersion: t4,
        commitVersion: t4,
        keys: [s.key('e')],
      });
      // A pessimistic lock is resolved as a rollback even when asked to commit.
      const t5 = await s.ts('t5');
      await lockKeys(s, 'lock.t5', [s.key('g')], t5, t5);
      await s.call(
        'resolve.pessimistic',
        'kvResolveLock',
        { startVersion: t5, commitVersion: await s.ts('commit5') },
        { routeKey: s.key('g') },
      );
      await mvcc(s, 'mvcc.g', s.key('g'));
      // Nothing to resolve.
      await s.call(
        'resolve.nothing',
        'kvResolveLock',
        { startVersion: t5 + 1n, commitVersion: 0n },
        { routeKey: a },
      );
    },
  },
  {
    name: 'scan-lock',
    origin: 'mvcc/reader/reader.rs test_scan_locks; KvScanLock',
    modes: ['v1', 'v2'],
    async run(s) {
      const t1 = await s.ts('t1');
      await prewrite(s, 'prewrite.t1', [put(s.key('a'), 'v'), put(s.key('b'), 'v')], t1, {
        useAsyncCommit: true,
        secondaries: [s.key('b')],
      });
      const t2 = await s.ts('t2');
      await lockKeys(s, 'lock.t2', [s.key('c')], t2, t2);
      const t3 = await s.ts('t3');
      await prewrite(
        s,
        'prewrite.t3',
        [put(s.key('d'), 'v'), { op: 1, key: s.key('e'), value: new Uint8Array(0), assertion: 0 }],
        t3,
      );
      const range = { startKey: s.key(''), endKey: s.key('~') };
      await s.call('scan.all', 'kvScanLock', { ...range, maxVersion: await s.ts('max'), limit: 10 });
      await s.call('scan.belowT2', 'kvScanLock', { ...range, maxVersion: t2 - 1n, limit: 10 });
      await s.call('scan.atT2', 'kvScanLock', { ...range, maxVersion: t2, limit: 10 });
      await s.call('scan.limit', 'kvScanLock', { ...range, maxVersion: (1n << 64n) - 1n, limit: 2 });
      await s.call('scan.from', 'kvScanLock', {
        startKey: s.key('c'),
        endKey: s.key('e'),
        maxVersion: (1n << 64n) - 1n,
        limit: 0,
      });
    },
  },
];
