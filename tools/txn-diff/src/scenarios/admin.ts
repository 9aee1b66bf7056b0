/** Region-level commands: SplitRegion, KvDeleteRange, flashback, pipelined flush, GC. */
import { encodeBytes } from '@tikv/common';
import type { Scenario } from '../scenario.js';
import type { Session } from '../session.js';
import { commit, get, lockKeys, mvcc, prewrite, put, write } from './helpers.js';

/** Splits so that the scenario's keys (`<prefix>` .. `<prefix>~`) get a region of their own. */
export async function ownRegion(s: Session): Promise<void> {
  const [lo, hi] = [s.key(''), s.key('~')];
  await s.call('split', 'splitRegion', { splitKeys: [lo, hi] }, { routeKey: lo });
  // PD learns the new regions from the store's heartbeat: wait until it routes there.
  const deadline = Date.now() + 30_000;
  for (;;) {
    const r = await s.route(lo);
    const start = r.region.region.startKey;
    const want = encodeBytes(lo);
    if (start.length === want.length && start.every((b, i) => b === want[i])) return;
    if (Date.now() > deadline) throw new Error('PD does not report the split region');
    // Polls PD's view: the split lands there with the next region heartbeat.
    await new Promise((res) => setTimeout(res, 50));
  }
}

export const admin: Scenario[] = [
  {
    name: 'split-region-and-region-errors',
    origin: 'scripted: SplitRegion, then KeyNotInRegion and EpochNotMatch with the old context',
    modes: ['v1', 'v2'],
    async run(s) {
      const before = await s.route(s.key('a'));
      await ownRegion(s);
      const t = await s.ts('t');
      // The old region's context for a key now in the new region.
      await s.call(
        'prewrite.staleEpoch',
        'kvPrewrite',
        {
          mutations: [put(s.key('a'), 'v')],
          primaryLock: s.key('a'),
          startVersion: t,
        },
        { context: before.context },
      );
      await s.call('get.staleEpoch', 'kvGet', { key: s.key('a'), version: t }, { context: before.context });
      // The new region's context for a key outside it.
      await s.call('get.keyNotInRegion', 'kvGet', { key: s.key('~~'), version: t }, { routeKey: s.key('a') });
      await s.call(
        'scan.outside',
        'kvScan',
        { startKey: s.key('~~'), limit: 1, version: t },
        { routeKey: s.key('a') },
      );
      await s.call('prewrite.keyNotInRegion', 'kvPrewrite', {
        mutations: [put(s.key('a'), 'v'), put(s.key('~~'), 'v')],
        primaryLock: s.key('a'),
        startVersion: t,
      });
      // Every other command with a key outside the region it names.
      const out = s.key('~~');
      const inside = { routeKey: s.key('a') };
      await s.call('batchGet.outside', 'kvBatchGet', { keys: [s.key('a'), out], version: t }, inside);
      await s.call(
        'reverseScan.outside',
        'kvScan',
        { startKey: out, endKey: s.key('a'), limit: 1, version: t, reverse: true },
        inside,
      );
      await s.call(
        'commit.outside',
        'kvCommit',
        { keys: [out], startVersion: t, commitVersion: await s.ts('c') },
        inside,
      );
      await s.call('rollback.outside', 'kvBatchRollback', { keys: [out], startVersion: t }, inside);
      await s.call('cleanup.outside', 'kvCleanup', { key: out, startVersion: t, currentTs: 0n }, inside);
      await s.call(
        'lock.outside',
        'kvPessimisticLock',
        {
          mutations: [{ op: 5, key: out }],
          primaryLock: out,
          startVersion: t,
          forUpdateTs: t,
          lockTtl: 100n,
          waitTimeout: -1n,
        },
        inside,
      );
      await s.call(
        'pessimisticRollback.outside',
        'kVPessimisticRollback',
        { keys: [out], startVersion: t, forUpdateTs: t },
        inside,
      );
      await s.call(
        'checkTxnStatus.outside',
        'kvCheckTxnStatus',
        { primaryKey: out, lockTs: t, callerStartTs: 0n, currentTs: 0n },
        inside,
      );
      await s.call(
        'checkSecondary.outside',
        'kvCheckSecondaryLocks',
        { keys: [out], startVersion: t },
        inside,
      );
      await s.call(
        'heartBeat.outside',
        'kvTxnHeartBeat',
        { primaryLock: out, startVersion: t, adviseLockTtl: 10n },
        inside,
      );
      await s.call(
        'resolveLite.outside',
        'kvResolveLock',
        { startVersion: t, commitVersion: 0n, keys: [out] },
        inside,
      );
      await s.call('mvcc.outside', 'mvccGetByKey', { key: out }, inside);
      await s.call(
        'flush.outside',
        'kvFlush',
        { mutations: [put(out, 'v')], primaryKey: out, startTs: t, generation: 1n, lockTtl: 100n },
        inside,
      );
      await s.call('bufferBatchGet.outside', 'kvBufferBatchGet', { keys: [out], version: t }, inside);
      // Splitting at a key that is already a boundary.
      await s.call('split.again', 'splitRegion', { splitKeys: [s.key('')] }, { routeKey: s.key('') });
    },
  },
  {
    name: 'delete-range',
    origin: 'KvDeleteRange: every version in the range goes, locks included',
    modes: ['v1', 'v2'],
    async run(s) {
      await write(s, 'w', [put(s.key('a'), 'v'), put(s.key('b'), 'v'), put(s.key('c'), 'v')]);
      const t = await s.ts('t');
      await prewrite(s, 'prewrite', [put(s.key('b'), 'v2')], t);
      await s.call('deleteRange', 'kvDeleteRange', { startKey: s.key('a'), endKey: s.key('c') });
      const r = await s.ts('read');
      await s.call('scan', 'kvScan', { startKey: s.key(''), endKey: s.key('~'), limit: 10, version: r });
      await mvcc(s, 'mvcc.b', s.key('b'));
      await s.call('deleteRange.notifyOnly', 'kvDeleteRange', {
        startKey: s.key('c'),
        endKey: s.key('d'),
        notifyOnly: true,
      });
      await get(s, 'get.c', s.key('c'), await s.ts('read2'));
    },
  },
  {
    name: 'pipelined-flush',
    origin: 'commands/flush.rs test_flush, test_flush_overwrite, test_flush_out_of_order; KvBufferBatchGet',
    modes: ['v1', 'v2'],
    async run(s) {
      const [p, a] = [s.key('p'), s.key('a')];
      const t = await s.ts('t');
      const flush = (label: string, mutations: ReturnType<typeof put>[], generation: bigint) =>
        s.call(label, 'kvFlush', { mutations, primaryKey: p, startTs: t, generation, lockTtl: 3000n });
      await flush('flush.g1', [put(p, 'v1'), put(a, 'a1')], 1n);
      await mvcc(s, 'mvcc.p.g1', p);
      await flush('flush.g3', [put(a, 'a3')], 3n);
      // An older generation does not overwrite.
      await flush('flush.g2', [put(a, 'a2')], 2n);
      await flush('flush.g0', [put(a, 'a0')], 0n);
      await mvcc(s, 'mvcc.a', a);
      await s.call('bufferBatchGet', 'kvBufferBatchGet', { keys: [p, a, s.key('missing')], version: t });
      await s.call('bufferBatchGet.otherTs', 'kvBufferBatchGet', { keys: [p], version: t + 1n });
      // Readers see the flushed locks.
      await get(s, 'get.locked', a, await s.ts('read'));
      await s.call('heartBeat.minCommitTs', 'kvTxnHeartBeat', {
        primaryLock: p,
        startVersion: t,
        adviseLockTtl: 5000n,
        minCommitTs: s.name('min', t + 100n),
      });
      await s.call('status', 'kvCheckTxnStatus', {
        primaryKey: p,
        lockTs: t,
        callerStartTs: 0n,
        currentTs: 0n,
      });
      await commit(s, 'commit', [p, a], t, await s.ts('commit'));
      // A flush that conflicts with a newer commit.
      const u = await s.ts('u');
      await write(s, 'w', [put(s.key('c'), 'v')]);
      await s.call('flush.conflict', 'kvFlush', {
        mutations: [put(s.key('c'), 'x')],
        primaryKey: s.key('c'),
        startTs: u,
        generation: 1n,
        lockTtl: 3000n,
      });
      // A flush onto another transaction's pessimistic lock.
      const v = await s.ts('v');
      await lockKeys(s, 'lock.v', [s.key('d')], v, v);
      await s.call('flush.locked', 'kvFlush', {
        mutations: [put(s.key('d'), 'x')],
        primaryKey: s.key('d'),
        startTs: await s.ts('w2'),
        generation: 1n,
        lockTtl: 3000n,
      });
    },
  },
  {
    name: 'flashback',
    origin: 'actions/flashback_to_version.rs; KvPrepareFlashbackToVersion / KvFlashbackToVersion',
    modes: ['v1', 'v2'],
    async run(s) {
      await ownRegion(s);
      const [a, b, c] = [s.key('a'), s.key('b'), s.key('c')];
      await write(s, 'w1', [put(a, 'old'), put(c, 'cold')]);
      const version = await s.ts('version');
      await write(s, 'w2', [put(a, 'new'), put(b, 'new')]);
      const t = await s.ts('pending');
      await prewrite(s, 'prewrite.pending', [put(c, 'pending')], t);
      const start = await s.ts('flashback.start');
      const range = { startKey: s.key(''), endKey: s.key('~') };
      const commitTs = await s.ts('flashback.commit');
      await s.call('flashback.notPrepared', 'kvFlashbackToVersion', {
        ...range,
        version,
        startTs: start,
        commitTs,
      });
      await s.call('prepare', 'kvPrepareFlashbackToVersion', { ...range, version, startTs: start });
      await get(s, 'get.inFlashback', a, await s.ts('read0'));
      await s.call('flashback', 'kvFlashbackToVersion', { ...range, version, startTs: start, commitTs });
      const read = await s.ts('read');
      await get(s, 'get.a', a, read);
      await get(s, 'get.b', b, read);
      await get(s, 'get.c', c, read);
      await mvcc(s, 'mvcc.a', a);
      await mvcc(s, 'mvcc.b', b);
      await mvcc(s, 'mvcc.c', c);
      // Done again with the same ts: idempotent.
      await s.call('flashback.again', 'kvFlashbackToVersion', {
        ...range,
        version,
        startTs: start,
        commitTs,
      });
    },
  },
  {
    name: 'gc-below-safe-point',
    origin: 'scripted: PD UpdateGCSafePoint, then reads below it (actions/gc.rs semantics)',
    modes: ['v1', 'v2'],
    async run(s) {
      const k = s.key('k');
      await write(s, 'w1', [put(k, 'v1')]);
      const between = await s.ts('between');
      await write(s, 'w2', [put(k, 'v2')]);
      await write(s, 'w3', [{ op: 1, key: s.key('d'), value: new Uint8Array(0), assertion: 0 }]);
      const sp = await s.ts('safePoint');
      const gc = s.target.pd.gcStates();
      const txnSp = await gc.advanceTxnSafePoint(sp);
      s.record('pd.advanceTxnSafePoint', { newTxnSafePoint: txnSp.newTxnSafePoint });
      const r = await s.target.pdRpc.updateGCSafePoint({ header: s.target.pdHeader(), safePoint: sp });
      s.record('pd.updateGCSafePoint', { newSafePoint: r.newSafePoint, error: r.header?.error?.type ?? 0 });
      await get(s, 'get.between', k, between);
      await get(s, 'get.now', k, await s.ts('read'));
      await mvcc(s, 'mvcc.k', k);
      await mvcc(s, 'mvcc.d', s.key('d'));
    },
  },
];
