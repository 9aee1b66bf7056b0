// Port of client-go integration_tests/lock_test.go cases about waiting for locks and keeping them
// alive, through the public API: heartbeats that start once the primary is locked and stop with a
// failed lock (TestStartHeartBeatAfterLockingPrimary), a prewrite meeting a newer transaction's lock
// (TestPrewriteEncountersLargerTsLock), no-wait and lock-wait limits (TestLockWaitTimeLimit), the
// caller's deadline against TiKV's lock wait (TestPessimisticLockMaxExecutionTime: client-go's
// max_execution_time is our `timeoutMs`), and the region-wide resolve of a large crashed
// transaction (TestResolveLockWithTiKVSideAsync, embedded: the mock strands the transaction).
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { Backoffer, composeTs, WriteConflictError } from '@tikv/common';
import {
  LOCK_RESOLVE_CHANNEL,
  type LockResolveEvent,
  LockResolver,
  type TransactionClient,
  TwoPhaseCommitter,
  TXN_HEARTBEAT_CHANNEL,
  type TxnHeartbeatEvent,
  type TxnStatus,
} from '@tikv/txn';
import {
  connectSpy,
  embedded,
  embeddedTest,
  gate,
  hex,
  putAll,
  startTxnEnv,
  type TxnEnv,
  text,
  txnModes,
} from './txn-env.js';

/** Resolves with the first heartbeat of `startTs` that `accept` takes (subscribe before it can happen). */
function heartbeat(
  startTs: () => bigint,
  accept: (e: TxnHeartbeatEvent) => boolean,
): Promise<TxnHeartbeatEvent> {
  return new Promise((resolve) => {
    const listener = (m: unknown) => {
      const e = m as TxnHeartbeatEvent;
      if (e.startTs !== startTs() || !accept(e)) return;
      unsubscribe(TXN_HEARTBEAT_CHANNEL, listener);
      resolve(e);
    };
    subscribe(TXN_HEARTBEAT_CHANNEL, listener);
  });
}

/**
 * A transaction's status from a resolver of its own (client-go's `store.NewLockResolver()` in
 * these tests): the client's resolver caches a finished status per transaction, and a
 * transaction whose old primary was rolled back is still alive under its new one.
 */
async function statusOf(
  client: TransactionClient,
  startTs: bigint,
  primaryKey: Uint8Array,
  currentTs?: bigint,
): Promise<TxnStatus> {
  const resolver = new LockResolver({ executor: client.parts.executor, oracle: client.parts.oracle });
  try {
    if (currentTs === undefined) return await resolver.getTxnStatus(startTs, primaryKey);
    return await resolver.checkTxnStatus(new Backoffer({ maxBackoffMs: 5000 }), {
      primaryKey,
      txnStartTs: startTs,
      currentTs,
      rollbackIfNotExist: true,
    });
  } finally {
    await resolver.close();
  }
}

describe.each(txnModes())('lock_test.go waits (%s)', (_, mode) => {
  let env: TxnEnv;
  beforeAll(async () => {
    env = await startTxnEnv(mode, 'lockwait');
  });
  afterAll(async () => {
    await env?.close();
  });

  // Waits on the embedded cluster's lock-wait hook.
  embeddedTest('TestStartHeartBeatAfterLockingPrimary', async () => {
    const [a, b, c, d] = ['a', 'b', 'c', 'd'].map((s) => env.key(`hb_${s}`)) as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
    if (embedded) env.split([b]);
    let txnStart = 0n;
    const paused = gate();
    const spy = await connectSpy(env, {
      tuning: { commit: { managedLockTtlMs: 500 } },
      around: async (request, send) => {
        // Hold the lock of the secondary b: the primary a is locked first, on its own.
        if (
          request.$case === 'PessimisticLock' &&
          request.value.startVersion === txnStart &&
          request.value.mutations.some((m) => hex(m.key) === hex(env.storageKey(b)))
        ) {
          await paused.wait;
        }
        return send();
      },
    });
    try {
      const txn = await spy.client.begin({ pessimistic: true });
      txnStart = txn.startTs;
      const beat = heartbeat(
        () => txnStart,
        (e) => (e.lockTtlMs ?? 0) > 600,
      );
      const failing = txn.lockKeys([a, b], { forUpdateTs: txn.startTs }).then(
        () => undefined,
        (e: unknown) => e,
      );
      // The primary's TTL is kept up while the secondary is still being locked.
      await beat;
      let status = await statusOf(spy.client, txn.startTs, a);
      expect(status.isCommitted).toBe(false);
      expect(status.ttlMs).toBeGreaterThan(600n);
      // A newer write of b fails the lock of the secondary.
      await putAll(env.client, [[b, 'newer']]);
      paused.open();
      expect(await failing).toBeInstanceOf(WriteConflictError);
      await txn.lockKeys([c, d], { forUpdateTs: txn.startTs });
      await txn.whenLocksReleased();
      // The first primary was released and is not kept alive.
      status = await statusOf(spy.client, txn.startTs, a);
      expect(status.isCommitted).toBe(false);
      expect(status.ttlMs).toBe(0n);
      // The new primary c is.
      const first = await statusOf(spy.client, txn.startTs, c);
      await heartbeat(
        () => txnStart,
        (e) => e.lockTtlMs !== undefined && BigInt(e.lockTtlMs) > first.ttlMs,
      );
      status = await statusOf(spy.client, txn.startTs, c);
      expect(status.isCommitted).toBe(false);
      expect(status.ttlMs).toBeGreaterThan(first.ttlMs);
      await txn.rollback();
    } finally {
      paused.open();
      await spy.close();
    }
  });

  embeddedTest(
    'TestPrewriteEncountersLargerTsLock: a newer transaction’s lock is a write conflict, not a wait',
    async () => {
      const [k1, k2] = [env.key('plt_k1'), env.key('plt_k2')];
      env.split([k2]);
      const t1 = await env.client.begin();
      t1.put(k1, 'v1');
      t1.put(k2, 'v2');
      let t2Start = 0n;
      const primaryHeld = gate();
      const secondaryDone = gate();
      const spy = await connectSpy(env, {
        around: async (request, send) => {
          if (request.$case !== 'Prewrite' || request.value.startVersion !== t2Start) return send();
          if (request.value.mutations.some((m) => hex(m.key) === hex(env.storageKey(k1)))) {
            await primaryHeld.wait;
            return send();
          }
          const resp = await send();
          secondaryDone.open();
          return resp;
        },
      });
      try {
        // t2 has the larger ts and prewrites only its secondary for now.
        const t2 = await spy.client.begin();
        t2Start = t2.startTs;
        t2.put(k1, 'v1');
        t2.put(k2, 'v2');
        const committer = new TwoPhaseCommitter(spy.client.parts, t2.memBuffer, {
          startTs: t2.startTs,
          lockResolver: spy.client.lockResolver,
          primaryKey: k1,
        });
        const prewrite = committer.prewrite();
        await secondaryDone.wait;
        // Waiting for t2's lock to expire would outlast this deadline.
        await expect(t1.commit({ timeoutMs: 1000 })).rejects.toBeInstanceOf(WriteConflictError);
        primaryHeld.open();
        await prewrite;
        await committer.rollback();
        committer.close();
        await t2.rollback();
      } finally {
        primaryHeld.open();
        await spy.close();
      }
    },
  );

  test.each([
    [false, false, false],
    [true, false, false],
    [true, true, false],
    [true, false, true],
  ])(
    'TestPrewriteCheckForUpdateTS (async commit %s, 1PC %s, causal consistency %s): prewrite checks the for-update ts each lock really has',
    async (asyncCommit, onePc, causalConsistency) => {
      const name = `pcf_${asyncCommit}_${onePc}_${causalConsistency}`;
      const [k1, k2, k3, k4] = [1, 2, 3, 4].map((i) => env.key(`${name}_k${i}`)) as [
        Uint8Array,
        Uint8Array,
        Uint8Array,
        Uint8Array,
      ];
      const opts = { pessimistic: true, asyncCommit, onePc, causalConsistency } as const;
      let pausedTs = 0n;
      const prewriteHeld = gate();
      const prewriteReached = gate();
      const spy = await connectSpy(env, {
        around: async (request, send) => {
          // client-go's `beforePrewrite` pause.
          if (request.$case === 'Prewrite' && request.value.startVersion === pausedTs) {
            prewriteReached.open();
            await prewriteHeld.wait;
          }
          return send();
        },
      });
      try {
        // The failing case: k1's pessimistic lock is lost and a stale lock request comes back
        // after another transaction wrote k1.
        const txn = await spy.client.begin(opts);
        await txn.startAggressiveLocking();
        for (const k of [k1, k2, k3])
          await txn.lockKeys([k], { forUpdateTs: txn.startTs, waitTimeoutMs: 200 });
        await txn.doneAggressiveLocking();
        txn.put(k1, 'v1');
        pausedTs = txn.startTs;
        const committing = txn.commit().then(
          () => undefined,
          (e: unknown) => e,
        );
        await prewriteReached.wait;
        // The lock on k1 is lost (a pessimistic rollback at its for-update ts).
        const lost = await spy.client.begin({ startTs: txn.startTs, pessimistic: true });
        await lost.lockKeys([k1], { forUpdateTs: txn.startTs });
        await lost.rollback();
        const probe = await env.client.begin({ pessimistic: true });
        await probe.lockKeys([k1], { noWait: true });
        await probe.rollback();
        // Another transaction writes k1.
        const txn2 = await env.client.begin();
        txn2.put(k1, 'v2');
        await txn2.commit();
        // The stale lock request is replayed: TiKV locks k1 again, with conflict.
        const replay = await spy.client.begin({ startTs: txn.startTs, pessimistic: true });
        await replay.startAggressiveLocking();
        const [r] = await replay.lockKeys([k1], { forUpdateTs: txn.startTs, waitTimeoutMs: 200 });
        expect(r?.lockedWithConflictTs).toBe(txn2.commitTs);
        await replay.doneAggressiveLocking();
        prewriteHeld.open();
        const err = await committing;
        expect(err).toBeDefined();
        expect(String(err)).toMatch(/pessimistic ?lock ?not ?found/i);
        // The failed commit released the locks it held (in 1PC too).
        await txn.whenCommitSettled();
        for (const k of [k2, k3]) {
          const other = await env.client.begin({ pessimistic: true });
          await other.lockKeys([k], { noWait: true });
          await other.rollback();
        }
        await replay.rollback();
        expect(text(await env.client.snapshot(txn2.commitTs).get(k1))).toBe('v2');
        expect(await env.client.snapshot(txn2.commitTs - 1n).get(k1)).toBeUndefined();

        // The passing case: a key locked with conflict, one without, one at a newer for-update ts.
        const txn3 = await spy.client.begin(opts);
        const txn1 = await env.client.begin();
        txn1.put(k2, 'v2');
        await txn1.commit();
        await txn3.startAggressiveLocking();
        await txn3.lockKeys([k2], { forUpdateTs: txn3.startTs, waitTimeoutMs: 200 });
        await txn3.lockKeys([k3], { forUpdateTs: txn3.startTs, waitTimeoutMs: 200 });
        // A key locked with conflict needs a fresh ts before the commit (TiDB's for-update ts).
        const currentTs = await env.client.currentTimestamp();
        await txn3.lockKeys([k4], { forUpdateTs: currentTs, waitTimeoutMs: 200 });
        txn3.put(k2, 'v1');
        txn3.put(k3, 'v1');
        await txn3.doneAggressiveLocking();
        await txn3.commit();
        await txn3.whenCommitSettled();
        let snap = env.client.snapshot(txn3.commitTs);
        expect((await snap.batchGet([k2, k3])).map(text)).toEqual(['v1', 'v1']);
        snap = env.client.snapshot(txn3.commitTs - 1n);
        expect((await snap.batchGet([k2, k3])).map(text)).toEqual(['v2', undefined]);
      } finally {
        prewriteHeld.open();
        await spy.close();
      }
    },
  );

  test('TestLockWaitTimeLimit', async () => {
    const [k1, k2] = [env.key('wait_limit_k1'), env.key('wait_limit_k2')];
    const txn1 = await env.client.begin({ pessimistic: true });
    await txn1.lockKeys([k1, k2]);
    const txn2 = await env.client.begin({ pessimistic: true });
    await expect(txn2.lockKeys([k1], { noWait: true })).rejects.toMatchObject({
      code: 'LOCK_ACQUIRE_FAILED_NO_WAIT',
    });
    await expect(txn2.lockKeys([k2], { waitTimeoutMs: 200 })).rejects.toMatchObject({
      code: 'LOCK_WAIT_TIMEOUT',
    });
    await txn1.rollback();
    await txn2.rollback();
  });

  test('TestPessimisticLockMaxExecutionTime: the caller’s deadline and the lock wait limit, whichever ends first', async () => {
    const [k1, k2] = [env.key('lmet_k1'), env.key('lmet_k2')];
    const txn1 = await env.client.begin({ pessimistic: true });
    await txn1.lockKeys([k1]);
    const waiters = await Promise.all(
      Array.from({ length: 5 }, () => env.client.begin({ pessimistic: true })),
    );
    const [txn2, txn3, txn4, txn5, txn6] = waiters as [
      (typeof waiters)[0],
      (typeof waiters)[0],
      (typeof waiters)[0],
      (typeof waiters)[0],
      (typeof waiters)[0],
    ];
    // 1. The deadline is already over.
    const reason = new Error('max execution time exceeded');
    await expect(txn2.lockKeys([k1], { waitTimeoutMs: 800, signal: AbortSignal.abort(reason) })).rejects.toBe(
      reason,
    );
    // 2. The deadline ends before the lock wait: the deadline's error, and no lock resolution.
    const met: LockResolveEvent[] = [];
    const listener = (m: unknown) => met.push(m as LockResolveEvent);
    subscribe(LOCK_RESOLVE_CHANNEL, listener);
    try {
      await expect(txn3.lockKeys([k1], { waitTimeoutMs: 800, timeoutMs: 200 })).rejects.toMatchObject({
        code: 'DEADLINE_EXCEEDED',
      });
    } finally {
      unsubscribe(LOCK_RESOLVE_CHANNEL, listener);
    }
    expect(met.filter((e) => e.callerStartTs === txn3.startTs && e.msBeforeTxnExpired === 0)).toEqual([]);
    // 3. The lock wait ends first.
    await expect(txn4.lockKeys([k1], { waitTimeoutMs: 150, timeoutMs: 600 })).rejects.toMatchObject({
      code: 'LOCK_WAIT_TIMEOUT',
    });
    // 4. TiKV's lock wait (at most 1 s) ends before a longer deadline.
    await expect(txn5.lockKeys([k1], { waitTimeoutMs: 900, timeoutMs: 5000 })).rejects.toMatchObject({
      code: 'LOCK_WAIT_TIMEOUT',
    });
    // 5. No deadline, no wait.
    await expect(txn6.lockKeys([k1], { noWait: true })).rejects.toMatchObject({
      code: 'LOCK_ACQUIRE_FAILED_NO_WAIT',
    });
    await txn1.rollback();
    // 6. A free key within the deadline.
    const txn7 = await env.client.begin({ pessimistic: true });
    const [r] = await txn7.lockKeys([k2], { timeoutMs: 5000 });
    expect(r?.locked).toBe(true);
    for (const t of [...waiters, txn7]) await t.rollback();
  });

  test.each([true, false])(
    'TestResolveLockWithTiKVSideAsync (primary committed: %s): a large transaction is resolved region-wide',
    async (commitPrimary) => {
      if (!embedded) return;
      const mock = env.target.mock;
      if (mock === undefined) throw new Error('embedded target without a mock');
      const spy = await connectSpy(env, { tuning: { lockResolver: { liteThreshold: 16 } } });
      try {
        const name = commitPrimary ? 'commit' : 'rollback';
        const keys = Array.from({ length: 20 }, (_, i) =>
          env.key(`tkv_async_${name}_${String(i).padStart(3, '0')}`),
        );
        // A start ts 10 s back: the 1 ms TTL of the rolled-back case is over at once.
        const startTs = composeTs(Date.now() - 10_000, 0);
        const commitPrimaryTs = commitPrimary ? await spy.client.currentTimestamp() : undefined;
        mock.strandTransaction({
          keys: keys.map((k) => env.storageKey(k)),
          value: Buffer.from('value'),
          startTs,
          lockTtlMs: commitPrimary ? 3000 : 1,
          ...(commitPrimaryTs === undefined ? {} : { commitPrimaryTs }),
        });
        if (!commitPrimary) {
          // Judged at a fresh ts, the 1 ms lock has expired: the check rolls the primary back.
          const status = await statusOf(
            spy.client,
            startTs,
            keys[0] as Uint8Array,
            await spy.client.currentTimestamp(),
          );
          expect(status.isRolledBack).toBe(true);
        }
        const values = await (await spy.client.snapshot(await spy.client.currentTimestamp())).batchGet(keys);
        expect(values.map(text)).toEqual(keys.map(() => (commitPrimary ? 'value' : undefined)));
        await spy.client.lockResolver.whenIdle();
        const resolves = spy.sent('ResolveLock').filter((r) => r.value.startVersion === startTs);
        expect(resolves.length).toBeGreaterThan(0);
        for (const r of resolves) {
          expect(r.value.keys).toEqual([]);
          expect(r.value.commitVersion).toBe(commitPrimaryTs ?? 0n);
          expect(r.value.isAsync).toBe(false);
        }
        const met: LockResolveEvent[] = [];
        const listener = (m: unknown) => met.push(m as LockResolveEvent);
        subscribe(LOCK_RESOLVE_CHANNEL, listener);
        try {
          const again = await (await env.freshSnapshot()).batchGet(keys);
          expect(again.map(text)).toEqual(values.map(text));
        } finally {
          unsubscribe(LOCK_RESOLVE_CHANNEL, listener);
        }
        expect(met).toEqual([]);
      } finally {
        await spy.close();
      }
    },
  );
});
