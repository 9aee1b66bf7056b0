// Port of more client-go integration_tests/2pc_test.go cases through the public API: a commit
// refused by the local latches (TestContextCancelRetryable), the lock TTL counted from the local
// start of a transaction whose start ts lies ahead (TestElapsedTTL), the primary a transaction
// picks when its first key is a delete-your-write (TestDeleteAllYourWritesWithSFU), the TTL of a
// lock acquired after a long wait (TestRetryPushTTL), cleanup and rollback that an abort of the
// caller does not stop (TestUninterruptibleAction), and the background work of a commit and of its
// cleanup settling (Test2PCLifecycleHooks, Test2PCCleanupLifecycleHooks: client-go's goroutine
// hooks are our `whenCommitSettled()`). Requests are paused through a spy client's interceptor.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { composeTs, extractPhysical, WriteConflictError } from '@tikv/common';
import {
  FlagsOp,
  isRetryableTxnError,
  LOCK_RESOLVE_CHANNEL,
  type LockResolveEvent,
  TwoPhaseCommitter,
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

describe.each(txnModes())('2pc_test.go background (%s)', (_, mode) => {
  let env: TxnEnv;
  beforeAll(async () => {
    env = await startTxnEnv(mode, 'twopcb');
  });
  afterAll(async () => {
    await env?.close();
  });

  /** Locks TiKV's readers met while `fn` ran (the lock resolver's events). */
  async function locksMet(fn: () => Promise<void>): Promise<LockResolveEvent[]> {
    const met: LockResolveEvent[] = [];
    const listener = (m: unknown) => met.push(m as LockResolveEvent);
    subscribe(LOCK_RESOLVE_CHANNEL, listener);
    try {
      await fn();
    } finally {
      unsubscribe(LOCK_RESOLVE_CHANNEL, listener);
    }
    return met;
  }

  test('TestContextCancelRetryable: a key another local transaction committed fails the commit in the latches, before any prewrite', async () => {
    const spy = await connectSpy(env, { tuning: { localLatchSlots: 1024 } });
    try {
      const [a, b, c] = [env.key('ccr_a'), env.key('ccr_b'), env.key('ccr_c')];
      const [txn1, txn2, txn3] = [
        await spy.client.begin(),
        await spy.client.begin(),
        await spy.client.begin(),
      ];
      // txn1 holds a lock on b.
      txn1.put(b, 'b1');
      const committer = new TwoPhaseCommitter(spy.client.parts, txn1.memBuffer, {
        startTs: txn1.startTs,
        lockResolver: spy.client.lockResolver,
      });
      await committer.prewrite();
      // txn3 commits c.
      txn3.put(c, 'c3');
      await txn3.commit();
      // txn2 writes a, b and c: c was committed after its start, so the latches refuse it at once
      // (it never waits for txn1's lock on b).
      txn2.put(a, 'a2');
      txn2.put(b, 'b2');
      txn2.put(c, 'c2');
      const err = await txn2.commit().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WriteConflictError);
      expect(isRetryableTxnError(err)).toBe(true);
      expect(spy.sent('Prewrite').filter((r) => r.value.startVersion === txn2.startTs)).toEqual([]);
      await committer.rollback();
      committer.close();
      await txn1.rollback();
    } finally {
      await spy.close();
    }
  });

  test('TestElapsedTTL: the lock TTL counts the time since the transaction began locally, not from its start ts', async () => {
    const key = env.key('ettl_key');
    // The TTL is read from the lock request itself, as client-go reads it from the lock (a prewrite
    // meeting it), never by CheckTxnStatus: TiKV raises its max ts to the lock's start ts there,
    // and one this far ahead of PD's TSO is an invalid max-ts update (TiKV 9 panics on it).
    const spy = await connectSpy(env);
    try {
      // A start ts 10 s ahead of the clock (as a ts from a PD whose clock is ahead).
      const startTs = composeTs(Date.now() + 10_000, 0) + 1n;
      const before = Date.now();
      const txn = await spy.client.begin({ startTs, pessimistic: true });
      await txn.lockKeys([key], { forUpdateTs: composeTs(extractPhysical(startTs) + 100, 1) });
      const elapsed = Date.now() - before;
      const [request] = spy.sent('PessimisticLock');
      // client-go's ManagedLockTTL plus the time since begin; nothing of the 10 s ahead.
      const managed = 20_000n;
      expect(request?.value.lockTtl).toBeGreaterThanOrEqual(managed);
      expect((request?.value.lockTtl ?? 0n) - managed).toBeLessThanOrEqual(BigInt(elapsed));
      await txn.rollback();
    } finally {
      await spy.close();
    }
  });

  // Needs its keys in separate regions (the embedded cluster's split).
  embeddedTest(
    'TestDeleteAllYourWritesWithSFU: a delete-your-write is not the primary; a reader meeting a secondary finds the primary committed',
    async () => {
      const [k1, k2, k3] = [env.key('dsfu_a'), env.key('dsfu_b'), env.key('dsfu_c')];
      if (embedded) env.split([k2, k3, env.key('dsfu_d')]);
      const paused = gate();
      const spy = await connectSpy(env, {
        around: async (request, send) => {
          // Hold the commit of txn1's secondaries: only its primary gets committed.
          if (
            request.$case === 'Commit' &&
            !request.value.keys.some((k) => hex(k) === hex(env.storageKey(k2)))
          ) {
            await paused.wait;
          }
          return send();
        },
      });
      try {
        const txn1 = await spy.client.begin();
        txn1.memBuffer.setWithFlags(k1, Uint8Array.of(0), FlagsOp.SetPresumeKeyNotExists);
        txn1.delete(k1);
        await txn1.lockKeys([k2, k3]); // SELECT ... FOR UPDATE in an optimistic transaction
        const committer = new TwoPhaseCommitter(spy.client.parts, txn1.memBuffer, {
          startTs: txn1.startTs,
          lockResolver: spy.client.lockResolver,
        });
        expect(hex(committer.primaryKey)).toBe(hex(k2));
        await committer.prewrite();
        const result = await committer.commit(await spy.client.currentTimestamp());
        // txn2 starts after txn1's primary committed and writes k3, still locked by txn1.
        const txn2 = await env.client.begin();
        txn2.put(k3, Uint8Array.of(33));
        const met = await locksMet(async () => {
          await txn2.commit();
        });
        expect(met.some((e) => e.lockTxns.includes(txn1.startTs))).toBe(true);
        paused.open();
        await result.background;
        committer.close();
        const snap = await env.freshSnapshot();
        expect(await snap.batchGet([k1, k3])).toEqual([undefined, Uint8Array.of(33)]);
      } finally {
        paused.open();
        await spy.close();
      }
    },
  );

  test('TestRetryPushTTL: a lock acquired after a long wait carries a TTL counted to the acquisition', async () => {
    const managedLockTtlMs = 1000;
    const k = env.key('rpt_a');
    let txn2Start = 0n;
    let requests = 0;
    const waited = gate();
    const spy = await connectSpy(env, {
      tuning: { commit: { managedLockTtlMs } },
      around: async (request, send) => {
        // txn2's second lock request comes after TiKV's lock wait (1 s) ran out: it waited longer
        // than a lock TTL by then.
        if (
          request.$case === 'PessimisticLock' &&
          request.value.startVersion === txn2Start &&
          ++requests === 2
        ) {
          waited.open();
        }
        return send();
      },
    });
    try {
      const txn1 = await spy.client.begin({ pessimistic: true });
      await txn1.lockKeys([k]);
      const txn2 = await spy.client.begin({ pessimistic: true });
      txn2Start = txn2.startTs;
      const locked = txn2.lockKeys([k]);
      await waited.wait;
      await txn1.rollback();
      await locked;
      // Not expired at once: a third transaction cannot take it over.
      const status = await spy.client.lockResolver.getTxnStatus(txn2.startTs, k);
      expect(extractPhysical(txn2.startTs) + Number(status.ttlMs)).toBeGreaterThan(
        extractPhysical(await spy.client.currentTimestamp()),
      );
      const txn3 = await spy.client.begin({ pessimistic: true });
      await expect(txn3.lockKeys([k], { noWait: true })).rejects.toMatchObject({
        code: 'LOCK_ACQUIRE_FAILED_NO_WAIT',
      });
      await txn2.rollback();
      await txn3.lockKeys([k], { noWait: true });
      await txn3.rollback();
    } finally {
      await spy.close();
    }
  });

  test('TestUninterruptibleAction (Cleanup): the cleanup of a commit aborted in prewrite is not stopped by the abort', async () => {
    const [a, z] = [env.key('ua_a'), env.key('ua_z')];
    if (embedded) env.split([z]);
    const ac = new AbortController();
    const reason = new Error('killed');
    const spy = await connectSpy(env, {
      around: async (request, send) => {
        const resp = await send();
        // Abort once the first prewrite has written its locks.
        if (request.$case === 'Prewrite') ac.abort(reason);
        return resp;
      },
    });
    try {
      const txn = await spy.client.begin();
      txn.put(a, 'v1');
      txn.put(z, 'v1');
      await expect(txn.commit({ signal: ac.signal })).rejects.toBe(reason);
      await txn.whenCommitSettled();
      const met = await locksMet(async () => {
        const snap = await env.freshSnapshot();
        expect(await snap.batchGet([a, z])).toEqual([undefined, undefined]);
      });
      expect(met).toEqual([]);
    } finally {
      await spy.close();
    }
  });

  test('TestUninterruptibleAction (PessimisticRollback): locks taken under an aborted signal are released by rollback', async () => {
    const key = env.key('ua_k2');
    const ac = new AbortController();
    const txn = await env.client.begin({ pessimistic: true });
    await txn.lockKeys([key], { noWait: true, signal: ac.signal });
    ac.abort(new Error('killed'));
    await txn.rollback();
    const next = await env.client.begin({ pessimistic: true });
    await next.lockKeys([key], { noWait: true });
    await next.rollback();
  });

  test('Test2PCLifecycleHooks: the commit of the secondaries runs in the background and settles', async () => {
    const [a, z] = [env.key('lh_a'), env.key('lh_z')];
    if (embedded) env.split([z]);
    const txn = await env.client.begin();
    txn.put(a, 'a');
    txn.put(z, 'z');
    await txn.commit();
    await txn.whenCommitSettled();
    const met = await locksMet(async () => {
      const snap = await env.freshSnapshot();
      expect((await snap.batchGet([a, z])).map(text)).toEqual(['a', 'z']);
    });
    expect(met).toEqual([]);
  });

  test('Test2PCCleanupLifecycleHooks: the cleanup after a failed commit runs in the background and settles', async () => {
    const [a, z] = [env.key('lhc_a'), env.key('lhc_z')];
    if (embedded) env.split([z]);
    const txn = await env.client.begin();
    txn.put(a, 'a');
    txn.put(z, 'z');
    await putAll(env.client, [[z, 'newer']]);
    await expect(txn.commit()).rejects.toBeInstanceOf(WriteConflictError);
    await txn.whenCommitSettled();
    const met = await locksMet(async () => {
      const snap = await env.freshSnapshot();
      expect((await snap.batchGet([a, z])).map(text)).toEqual([undefined, 'newer']);
    });
    expect(met).toEqual([]);
  });
});
