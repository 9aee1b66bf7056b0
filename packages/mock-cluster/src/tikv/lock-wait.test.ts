import { kvrpcpb, type tikvpb } from '@tikv/proto';
import { b, ctxFor, TestClients } from '../../test/test-helpers.js';
import { MockCluster } from '../index.js';

const { Op } = kvrpcpb;
const lockReq = (
  key: string,
  startTs: bigint,
  waitTimeout: bigint,
  primary = key,
): kvrpcpb.PessimisticLockRequest =>
  kvrpcpb.PessimisticLockRequest.fromPartial({
    mutations: [{ op: Op.PessimisticLock, key: b(key) }],
    primaryLock: b(primary),
    startVersion: startTs,
    forUpdateTs: startTs,
    lockTtl: 3000n,
    waitTimeout,
  });

describe('KvPessimisticLock lock waiting and deadlock detection', () => {
  let cluster: MockCluster;
  let c: TestClients;
  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 1 });
    c = new TestClients(cluster);
  });
  afterAll(async () => {
    c.close();
    await cluster.close();
  });
  const kv = (): tikvpb.TikvClient => c.leaderKv(cluster.regionByKey('a'));
  const ctx = () => ctxFor(cluster.regionByKey('a'));
  const lock = (key: string, startTs: bigint, waitTimeout: bigint, primary?: string) =>
    kv().kvPessimisticLock({ ...lockReq(key, startTs, waitTimeout, primary), context: ctx() });

  /** Resolves once `n` requests wait (GetLockWaitInfo), without sleeping. */
  async function waiters(n: number): Promise<kvrpcpb.GetLockWaitInfoResponse> {
    for (;;) {
      const info = await kv().getLockWaitInfo({ context: ctx() });
      if (info.entries.length >= n) return info;
    }
  }

  it('shared locks: an exclusive request is answered at once, then waits for the last holder', async () => {
    const shared = (startTs: bigint) =>
      kv().kvPessimisticLock({
        ...lockReq('s1', startTs, -1n, `p${startTs}`),
        mutations: [{ op: Op.SharedPessimisticLock, key: b('s1') }],
        context: ctx(),
      });
    expect((await shared(200n)).errors).toEqual([]);
    expect((await shared(210n)).errors).toEqual([]);
    // The first exclusive request makes them shrink-only and is answered without waiting.
    const first = await lock('s1', 220n, 0n);
    expect(first.errors[0]?.locked?.lockType).toBe(Op.SharedLock);
    expect(first.errors[0]?.locked?.sharedLockInfos.map((l) => l.lockVersion).sort()).toEqual([200n, 210n]);
    expect(cluster.lockWaiters()).toEqual([]);
    // No new holder joins now.
    expect((await shared(230n)).errors[0]?.locked?.lockType).toBe(Op.SharedLock);
    // The second waits, until the last holder leaves.
    const waiting = lock('s1', 220n, 0n);
    await cluster.whenLockWaiting(220n);
    expect(cluster.lockWaiters()).toMatchObject([{ startTs: 220n, key: b('s1') }]);
    await kv().kVPessimisticRollback({
      context: ctx(),
      startVersion: 200n,
      forUpdateTs: 200n,
      keys: [b('s1')],
    });
    expect(cluster.lockWaiters()).toHaveLength(1);
    await kv().kVPessimisticRollback({
      context: ctx(),
      startVersion: 210n,
      forUpdateTs: 210n,
      keys: [b('s1')],
    });
    expect((await waiting).errors[0]?.conflict).toBeDefined();
    expect((await lock('s1', 240n, -1n)).errors).toEqual([]);
    // Watching a transaction that is not waiting: an abort ends the watch.
    const stop = new AbortController();
    const watch = cluster.whenLockWaiting(999n, { signal: stop.signal });
    stop.abort(new Error('stop watching'));
    await expect(watch).rejects.toThrow('stop watching');
    await expect(cluster.whenLockWaiting(999n, { signal: stop.signal })).rejects.toThrow('stop watching');
  });

  it('a waiter is woken with WriteConflict when the holder commits', async () => {
    expect((await lock('w1', 100n, -1n)).errors).toEqual([]);
    const waiting = lock('w1', 110n, 0n);
    const info = await waiters(1);
    expect(info.entries[0]).toMatchObject({ txn: 110n, waitForTxn: 100n, key: b('w1') });
    await kv().kvPrewrite({
      context: ctx(),
      mutations: [{ op: Op.Put, key: b('w1'), value: b('v'), assertion: 0 }],
      primaryLock: b('w1'),
      startVersion: 100n,
      forUpdateTs: 100n,
      pessimisticActions: [kvrpcpb.PrewriteRequest_PessimisticAction.DO_PESSIMISTIC_CHECK],
    });
    await kv().kvCommit({ context: ctx(), startVersion: 100n, keys: [b('w1')], commitVersion: 120n });
    const r = await waiting;
    expect(r.errors[0]?.conflict).toMatchObject({
      startTs: 110n,
      conflictTs: 100n,
      conflictCommitTs: 120n,
      reason: kvrpcpb.WriteConflict_Reason.PessimisticRetry,
    });
  });

  it('a force-lock waiter retries when woken and gets the lock', async () => {
    await lock('w2', 200n, -1n);
    const waiting = kv().kvPessimisticLock({
      ...lockReq('w2', 210n, 0n),
      context: ctx(),
      wakeUpMode: kvrpcpb.PessimisticLockWakeUpMode.WakeUpModeForceLock,
    });
    await waiters(1);
    await kv().kVPessimisticRollback({
      context: ctx(),
      startVersion: 200n,
      forUpdateTs: 200n,
      keys: [b('w2')],
    });
    const r = await waiting;
    expect(r.errors).toEqual([]);
    expect(r.results[0]?.type).toBe(kvrpcpb.PessimisticLockKeyResultType.LockResultNormal);
    expect((await kv().mvccGetByKey({ context: ctx(), key: b('w2') })).info?.lock?.startTs).toBe(210n);
  });

  it('a wait times out with the lock, and a cycle is refused as a deadlock with its wait chain', async () => {
    await lock('d1', 300n, -1n);
    await lock('d2', 310n, -1n);
    const timedOut = await lock('d1', 320n, 30n);
    expect(timedOut.errors[0]?.locked).toMatchObject({ lockVersion: 300n, key: b('d1') });
    const first = lock('d2', 300n, 0n, 'd1'); // 300 waits for 310
    await waiters(1);
    const dead = await lock('d1', 310n, 0n, 'd2'); // 310 would wait for 300
    expect(dead.errors[0]?.deadlock).toMatchObject({ lockTs: 300n, lockKey: b('d1') });
    // The whole cycle, ending with the refused wait, as client-go's TestDeadlockReportWaitChain
    // expects: 300 -> 310 on d2, then 310 -> 300 on d1.
    expect(dead.errors[0]?.deadlock?.waitChain.map((e) => [e.txn, e.waitForTxn, e.key])).toEqual([
      [300n, 310n, b('d2')],
      [310n, 300n, b('d1')],
    ]);
    await kv().kVPessimisticRollback({
      context: ctx(),
      startVersion: 310n,
      forUpdateTs: 310n,
      keys: [b('d2')],
    });
    expect((await first).errors[0]?.conflict?.reason).toBe(kvrpcpb.WriteConflict_Reason.PessimisticRetry);
  });

  it('a cycle through a shared lock is a deadlock naming the holder (one wait-for edge per holder)', async () => {
    // 500 and 510 hold sh in share mode; 520 holds x2 exclusively.
    for (const ts of [500n, 510n]) {
      const r = await kv().kvPessimisticLock({
        ...lockReq('sh', ts, -1n, `q${ts}`),
        mutations: [{ op: Op.SharedPessimisticLock, key: b('sh') }],
        context: ctx(),
      });
      expect(r.errors).toEqual([]);
    }
    await lock('x2', 520n, -1n);
    // 510 waits for 520 on x2.
    const first = lock('x2', 510n, 0n, 'q510');
    await cluster.whenLockWaiting(510n);
    // 520's exclusive request on sh: answered at once (shrink-only), then waits for 500 and 510.
    expect((await lock('sh', 520n, 0n, 'x2')).errors[0]?.locked?.lockType).toBe(Op.SharedLock);
    const dead = await lock('sh', 520n, 0n, 'x2');
    expect(dead.errors[0]?.deadlock).toMatchObject({ lockTs: 510n, lockKey: b('sh') });
    expect(dead.errors[0]?.deadlock?.waitChain.map((e) => [e.txn, e.waitForTxn, e.key])).toEqual([
      [510n, 520n, b('x2')],
      [520n, 510n, b('sh')],
    ]);
    // The edge 520 -> 500 taken on the way is gone: 500 may wait for 520 without a deadlock.
    const third = lock('x2', 500n, 0n, 'q500');
    await cluster.whenLockWaiting(500n);
    await kv().kVPessimisticRollback({
      context: ctx(),
      startVersion: 520n,
      forUpdateTs: 520n,
      keys: [b('x2')],
    });
    expect((await first).errors[0]?.conflict?.reason).toBe(kvrpcpb.WriteConflict_Reason.PessimisticRetry);
    // 500 was queued behind 510: woken after the wake-up delay, with the same conflict.
    expect((await third).errors[0]?.conflict?.reason).toBe(kvrpcpb.WriteConflict_Reason.PessimisticRetry);
  });

  it('paused wake-ups hold waiters until resumed', async () => {
    await lock('p1', 400n, -1n);
    const waiting = lock('p1', 410n, 0n);
    await waiters(1);
    cluster.pauseLockWakeUps();
    await kv().kVPessimisticRollback({
      context: ctx(),
      startVersion: 400n,
      forUpdateTs: 400n,
      keys: [b('p1')],
    });
    expect((await kv().getLockWaitInfo({ context: ctx() })).entries).toHaveLength(1);
    cluster.resumeLockWakeUps();
    expect((await waiting).errors[0]?.conflict).toBeDefined();
  });
});
