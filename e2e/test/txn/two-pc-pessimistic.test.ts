// Port of the pessimistic and aggressive-locking cases of client-go integration_tests/2pc_test.go
// that need only the public API: the prewrite request of a pessimistic transaction, the primary
// left unset after a failed lock, locked keys not locked twice, the TTL the heartbeats keep
// extending, locks taken with conflict (TestPessimisticLockAllowLockWithConflict*), inserts and
// lock-only-if-exists in aggressive locking, option changes between attempts, the stage ending on
// a multi-key lock, and pessimistic locks whose primary stays alive. Requests are observed (and
// paused) through an interceptor of a second client, client-go's `sendReqToRegionHook`.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { AlreadyExistsError, extractPhysical, WriteConflictError } from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import {
  FlagsOp,
  KeyFlags,
  type LockKeysOptions,
  type Transaction,
  type TransactionClient,
  TwoPhaseCommitter,
  TXN_HEARTBEAT_CHANNEL,
  type TxnHeartbeatEvent,
} from '@tikv/txn';
import {
  bytes,
  connectSpy,
  embedded,
  embeddedTest,
  putAll,
  startTxnEnv,
  type TxnEnv,
  text,
  txnModes,
} from './txn-env.js';

describe.each(txnModes())('2pc_test.go pessimistic (%s)', (_, mode) => {
  let env: TxnEnv;
  beforeAll(async () => {
    env = await startTxnEnv(mode, 'twopcp');
  });
  afterAll(async () => {
    await env?.close();
  });

  /** client-go `checkIsKeyLocked`: whether another transaction would have to wait for `key`. */
  async function isLocked(key: Uint8Array, client: TransactionClient = env.client): Promise<boolean> {
    const probe = await client.begin({ pessimistic: true });
    try {
      await probe.lockKeys([key], { noWait: true });
      return false;
    } catch (e) {
      if ((e as { code?: string }).code === 'LOCK_ACQUIRE_FAILED_NO_WAIT') return true;
      throw e;
    } finally {
      await probe.rollback();
    }
  }

  /** Locks one key at the transaction's start ts (client-go's `LockCtx{ForUpdateTS: txn.StartTS()}`). */
  const lockAtStart = (txn: Transaction, key: Uint8Array, o: LockKeysOptions = {}) =>
    txn.lockKeys([key], { forUpdateTs: txn.startTs, ...o });

  test('TestPessimisticPrewriteRequest: a pessimistic prewrite carries its actions and for-update ts without locked keys', async () => {
    const spy = await connectSpy(env);
    try {
      const txn = await spy.client.begin({ pessimistic: true });
      txn.put(env.key('ppr_t1'), 'v1');
      await txn.commit();
      const prewrites = spy.sent('Prewrite');
      expect(prewrites.length).toBeGreaterThan(0);
      for (const p of prewrites) {
        expect(p.value.pessimisticActions.length).toBe(p.value.mutations.length);
        expect(p.value.pessimisticActions.length).toBeGreaterThan(0);
        expect(p.value.forUpdateTs).toBe(txn.forUpdateTs);
        expect(p.value.forUpdateTs).toBeGreaterThan(0n);
      }
    } finally {
      await spy.close();
    }
  });

  test('TestUnsetPrimaryKey: a primary whose insert lock failed is unset, and the commit picks another', async () => {
    const key = env.key('usp_key');
    const key2 = env.key('usp_key2');
    await putAll(env.client, [[key, 'usp_key']]);
    const txn = await env.client.begin({ pessimistic: true });
    expect(text(await txn.get(key))).toBe('usp_key');
    txn.memBuffer.setWithFlags(key, key, FlagsOp.SetPresumeKeyNotExists);
    await expect(lockAtStart(txn, key)).rejects.toBeInstanceOf(AlreadyExistsError);
    txn.delete(key);
    txn.put(key2, 'usp_key2');
    await txn.commit();
    const snap = await env.freshSnapshot();
    expect((await snap.batchGet([key, key2])).map(text)).toEqual([undefined, 'usp_key2']);
  });

  test('a failed insert lock forgets that the key was presumed absent: a later put commits', async () => {
    const key = env.key('usp_put');
    await putAll(env.client, [[key, 'old']]);
    const txn = await env.client.begin({ pessimistic: true });
    txn.memBuffer.setWithFlags(key, bytes('new'), FlagsOp.SetPresumeKeyNotExists);
    await expect(lockAtStart(txn, key)).rejects.toBeInstanceOf(AlreadyExistsError);
    expect(KeyFlags.hasPresumeKeyNotExists(txn.memBuffer.getFlags(key) ?? 0)).toBe(false);
    txn.put(key, 'new');
    await txn.commit();
    expect(text(await (await env.freshSnapshot()).get(key))).toBe('new');
  });

  test('TestPessimisticLockedKeysDedup: keys locked again are neither sent nor counted twice', async () => {
    const spy = await connectSpy(env);
    try {
      const [abc, def] = [env.key('dedup_abc'), env.key('dedup_def')];
      const txn = await spy.client.begin({ pessimistic: true });
      const first = await txn.lockKeys([abc, def]);
      expect(first.map((r) => r.alreadyLocked)).toEqual([false, false]);
      const sentBefore = spy.sent('PessimisticLock').length;
      const again = await txn.lockKeys([abc, def]);
      expect(again.map((r) => r.alreadyLocked)).toEqual([true, true]);
      expect(spy.sent('PessimisticLock').length).toBe(sentBefore);
      let locked = 0;
      for (
        const it = txn.memBuffer.iter(undefined, undefined, { includeFlagsOnly: true });
        it.valid;
        it.next()
      ) {
        if (KeyFlags.hasLocked(it.flags())) locked++;
      }
      expect(locked).toBe(2);
      await txn.rollback();
    } finally {
      await spy.close();
    }
  });

  test('TestPessimisticTTL: the primary lock TTL grows with the heartbeats and stays within the managed TTL', async () => {
    // Heartbeats every half managed TTL.
    const managedLockTtlMs = 1000;
    const spy = await connectSpy(env, { tuning: { commit: { managedLockTtlMs } } });
    const key = env.key('pttl_key');
    const key2 = env.key('pttl_key2');
    const txn = await spy.client.begin({ pessimistic: true });
    const beats: TxnHeartbeatEvent[] = [];
    let onBeat: (() => void) | undefined;
    const listener = (m: unknown) => {
      const e = m as TxnHeartbeatEvent;
      if (e.startTs !== txn.startTs) return;
      beats.push(e);
      onBeat?.();
    };
    subscribe(TXN_HEARTBEAT_CHANNEL, listener);
    try {
      await lockAtStart(txn, key);
      await lockAtStart(txn, key2);
      const first = await spy.client.lockResolver.getTxnStatus(txn.startTs, key);
      expect(first.isCommitted).toBe(false);
      expect(first.ttlMs).toBeGreaterThanOrEqual(BigInt(managedLockTtlMs));
      expect(spy.client.parts.oracle.untilExpired(txn.startTs, Number(first.ttlMs))).toBeGreaterThan(0);
      // Wait (on the heartbeat events, not a timer) until a heartbeat extended the TTL.
      const grown = await new Promise<TxnHeartbeatEvent>((resolve) => {
        const check = () => {
          const b = beats.find((x) => x.lockTtlMs !== undefined && BigInt(x.lockTtlMs) > first.ttlMs);
          if (b !== undefined) resolve(b);
        };
        onBeat = check;
        check();
      });
      const now = extractPhysical(await spy.client.currentTimestamp());
      const expire = extractPhysical(txn.startTs) + (grown.lockTtlMs as number);
      expect(expire).toBeGreaterThan(now);
      expect(expire - now).toBeLessThanOrEqual(managedLockTtlMs);
      const status = await spy.client.lockResolver.getTxnStatus(txn.startTs, key);
      expect(status.ttlMs).toBeGreaterThan(first.ttlMs);
      await txn.rollback();
    } finally {
      unsubscribe(TXN_HEARTBEAT_CHANNEL, listener);
      await spy.close();
    }
  });

  test.each([
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ])(
    'TestPessimisticLockAllowLockWithConflict (returnValues %s, checkExistence %s)',
    async (returnValues, checkExistence) => {
      const key = env.key(`awc_${returnValues}_${checkExistence}`);
      const txn0 = await env.client.begin({ pessimistic: true });
      txn0.put(key, key);
      await txn0.commit();

      // No conflict.
      let txn = await env.client.begin({ pessimistic: true });
      await txn.startAggressiveLocking();
      let [r] = await lockAtStart(txn, key, { returnValues, checkExistence });
      expect(r?.exists).toBe(returnValues || checkExistence ? true : undefined);
      expect(r?.value).toEqual(returnValues ? key : undefined);
      expect(r?.lockedWithConflictTs).toBe(0n);
      await txn.doneAggressiveLocking();
      await txn.rollback();

      // A newer commit: locked with conflict, at the newer commit's ts, with its value.
      const value = `value-${returnValues}-${checkExistence}`;
      const writer = await env.client.begin({ pessimistic: true });
      writer.put(key, value);
      txn = await env.client.begin({ pessimistic: true });
      await txn.startAggressiveLocking();
      await writer.commit();
      expect(writer.commitTs).toBeGreaterThan(txn.startTs);
      [r] = await lockAtStart(txn, key, { returnValues, checkExistence });
      expect(r?.lockedWithConflictTs).toBe(writer.commitTs);
      expect(r?.exists).toBe(true);
      expect(text(r?.value)).toBe(value);
      txn.cancelAggressiveLocking();
      await txn.rollback();
    },
  );

  test.each([
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ])(
    'TestPessimisticLockAllowLockWithConflictError (returnValues %s, checkExistence %s)',
    async (returnValues, checkExistence) => {
      const key = env.key(`awce_${returnValues}_${checkExistence}`);
      const holder = await env.client.begin({ pessimistic: true });
      await lockAtStart(holder, key);
      const txn = await env.client.begin({ pessimistic: true });
      await txn.startAggressiveLocking();
      const o = { returnValues, checkExistence, waitTimeoutMs: 10 };
      await expect(lockAtStart(txn, key, o)).rejects.toMatchObject({ code: 'LOCK_WAIT_TIMEOUT' });
      expect(txn.isInAggressiveLockingStage(key)).toBe(false);
      await holder.rollback();
      // A region error on the lock request is retried, and the key joins the stage.
      const fault = embedded
        ? env.target.mock?.inject({ method: 'KvPessimisticLock', times: 1, error: 'NotLeader' })
        : undefined;
      await lockAtStart(txn, key, o);
      if (fault !== undefined) expect(fault.hits).toBe(1);
      expect(txn.isInAggressiveLockingStage(key)).toBe(true);
      txn.cancelAggressiveLocking();
      await txn.rollback();
    },
  );

  test('TestAggressiveLockingInsert', async () => {
    const k = (s: string) => env.key(`ali_${s}`);
    await putAll(env.client, [
      [k('k1'), 'v1'],
      [k('k3'), 'v3'],
      [k('k6'), 'v6'],
      [k('k8'), 'v8'],
    ]);
    const txn = await env.client.begin({ pessimistic: true });
    await txn.lockKeys([k('k1'), k('k2')], { forUpdateTs: txn.startTs, returnValues: true });
    txn.put(k('k5'), 'v5');
    txn.delete(k('k6'));
    const insertLock = (name: string, forUpdateTs = txn.startTs) => {
      txn.memBuffer.updateFlags(k(name), FlagsOp.SetPresumeKeyNotExists);
      return txn.lockKeys([k(name)], { forUpdateTs });
    };
    await txn.startAggressiveLocking();
    // Locked before the stage: k1 exists, k2 does not.
    await expect(insertLock('k1')).rejects.toBeInstanceOf(AlreadyExistsError);
    await insertLock('k2');
    // New locks.
    await expect(insertLock('k3')).rejects.toBeInstanceOf(AlreadyExistsError);
    await insertLock('k4');
    // A newer commit wrote k7 and deleted k8: the insert of k7 conflicts, k8 is locked with conflict.
    const txn2 = await env.client.begin();
    txn2.put(k('k7'), 'v7');
    txn2.delete(k('k8'));
    await txn2.commit();
    await expect(insertLock('k7')).rejects.toBeInstanceOf(WriteConflictError);
    const [r8] = await insertLock('k8');
    expect(r8?.lockedWithConflictTs).toBe(txn2.commitTs);
    // The statement retried at a newer for-update ts.
    const newForUpdateTs = await env.client.currentTimestamp();
    expect(newForUpdateTs).toBeGreaterThanOrEqual(txn2.commitTs);
    await expect(insertLock('k7', newForUpdateTs)).rejects.toBeInstanceOf(AlreadyExistsError);
    await insertLock('k8', newForUpdateTs);
    txn.cancelAggressiveLocking();
    await txn.rollback();
  });

  test('TestAggressiveLockingLockOnlyIfExists', async () => {
    const k1 = env.key('alie_k1');
    // The key exists in a newer commit: locked with conflict.
    let txn = await env.client.begin({ pessimistic: true });
    let txn0 = await env.client.begin();
    txn0.put(k1, 'v1');
    await txn0.commit();
    await txn.startAggressiveLocking();
    const [r] = await lockAtStart(txn, k1, { returnValues: true, lockOnlyIfExists: true });
    expect(r).toMatchObject({ exists: true, alreadyLocked: false, locked: true });
    expect(text(r?.value)).toBe('v1');
    expect(r?.lockedWithConflictTs).toBe(txn0.commitTs);
    expect(txn.isInAggressiveLockingStage(k1)).toBe(true);
    txn.cancelAggressiveLocking();
    await txn.rollback();

    // A newer commit deleted it: a write conflict, and nothing joins the stage.
    txn = await env.client.begin({ pessimistic: true });
    txn0 = await env.client.begin();
    txn0.delete(k1);
    await txn0.commit();
    await txn.startAggressiveLocking();
    await expect(lockAtStart(txn, k1, { returnValues: true, lockOnlyIfExists: true })).rejects.toBeInstanceOf(
      WriteConflictError,
    );
    expect(txn.isInAggressiveLockingStage(k1)).toBe(false);
    txn.cancelAggressiveLocking();
    await txn.rollback();
  });

  test.each([false, true])(
    'TestAggressiveLockingLoadValueOptionChanges (first attempt locked with conflict: %s)',
    async (firstAttemptLockedWithConflict) => {
      const k = (s: string) => env.key(`alvo_${firstAttemptLockedWithConflict}_${s}`);
      await putAll(env.client, [[k('k2'), 'v2']]);
      const txn = await env.client.begin({ pessimistic: true });
      // A fixed primary first, so that the stage does not choose one.
      await lockAtStart(txn, k('k0'));
      let forUpdateTs = txn.startTs;
      await txn.startAggressiveLocking();
      let txn2: Transaction | undefined;
      if (firstAttemptLockedWithConflict) {
        txn2 = await env.client.begin();
        txn2.delete(k('k1'));
        txn2.put(k('k2'), 'v2');
        await txn2.commit();
      }
      const [r1] = await txn.lockKeys([k('k1')], { forUpdateTs });
      const [r2] = await txn.lockKeys([k('k2')], { forUpdateTs });
      if (txn2 !== undefined) {
        expect(r1?.lockedWithConflictTs).toBe(txn2.commitTs);
        expect(r2?.lockedWithConflictTs).toBe(txn2.commitTs);
      }
      forUpdateTs = txn2 === undefined ? forUpdateTs + 1n : txn2.commitTs + 1n;
      // The next attempt asks for existence: the previous locks cannot tell, so they are taken again.
      await txn.retryAggressiveLocking();
      let [a] = await txn.lockKeys([k('k1')], { forUpdateTs, checkExistence: true });
      let [b] = await txn.lockKeys([k('k2')], { forUpdateTs, checkExistence: true });
      expect([a?.lockedWithConflictTs, b?.lockedWithConflictTs]).toEqual([0n, 0n]);
      expect([a?.exists, b?.exists]).toEqual([false, true]);
      // And then for values.
      forUpdateTs += 1n;
      await txn.retryAggressiveLocking();
      [a] = await txn.lockKeys([k('k1')], { forUpdateTs, returnValues: true });
      [b] = await txn.lockKeys([k('k2')], { forUpdateTs, returnValues: true });
      expect([a?.lockedWithConflictTs, b?.lockedWithConflictTs]).toEqual([0n, 0n]);
      expect([a?.exists, b?.exists]).toEqual([false, true]);
      expect(text(b?.value)).toBe('v2');
      txn.cancelAggressiveLocking();
      await txn.rollback();
    },
  );

  test('TestAggressiveLockingExitIfInapplicable: a lock of several keys ends the stage', async () => {
    const k = (s: string) => env.key(`alex_${s}`);
    const txn = await env.client.begin({ pessimistic: true });
    await txn.startAggressiveLocking();
    expect(txn.inAggressiveLocking).toBe(true);
    await lockAtStart(txn, k('k1'));
    await txn.retryAggressiveLocking();
    await lockAtStart(txn, k('k2'));
    expect(txn.inAggressiveLocking).toBe(true);
    await txn.lockKeys([k('k3'), k('k4')], { forUpdateTs: txn.startTs });
    expect(txn.inAggressiveLocking).toBe(false);
    await txn.whenLocksReleased();
    expect(await isLocked(k('k1'))).toBe(false);
    for (const name of ['k2', 'k3', 'k4']) expect(await isLocked(k(name))).toBe(true);
    await txn.rollback();
  });

  test('TestAcquireFalseTimeoutLock: a secondary past its own TTL is not taken while heartbeats keep the primary alive', async () => {
    const managedLockTtlMs = 1000;
    const spy = await connectSpy(env, { tuning: { commit: { managedLockTtlMs } } });
    const [k1, k2] = [env.key('aftl_k1'), env.key('aftl_k2')];
    const txn1 = await spy.client.begin({ pessimistic: true });
    let pastTtl: (() => void) | undefined;
    const lockedAt = Date.now();
    const listener = (m: unknown) => {
      const e = m as TxnHeartbeatEvent;
      // A heartbeat that succeeded once the secondary's own TTL is over.
      if (e.startTs === txn1.startTs && e.lockTtlMs !== undefined && Date.now() > lockedAt + managedLockTtlMs)
        pastTtl?.();
    };
    subscribe(TXN_HEARTBEAT_CHANNEL, listener);
    try {
      const beat = new Promise<void>((resolve) => {
        pastTtl = resolve;
      });
      await lockAtStart(txn1, k1);
      await lockAtStart(txn1, k2);
      await beat;
      const txn2 = await env.client.begin({ pessimistic: true });
      await expect(txn2.lockKeys([k2], { noWait: true })).rejects.toMatchObject({
        code: 'LOCK_ACQUIRE_FAILED_NO_WAIT',
      });
      await expect(txn2.lockKeys([k2], { waitTimeoutMs: 200 })).rejects.toMatchObject({
        code: 'LOCK_WAIT_TIMEOUT',
      });
      await txn2.rollback();
      await txn1.rollback();
    } finally {
      unsubscribe(TXN_HEARTBEAT_CHANNEL, listener);
      await spy.close();
    }
  });

  // Needs its keys in separate regions (the embedded cluster's split).
  embeddedTest(
    'TestPessimisticLockPrimary: a lock of several keys waits at the primary before it locks the secondaries',
    async () => {
      const [k1, k2] = [env.key('plp_a'), env.key('plp_b')];
      if (embedded) env.split([k2]);
      const txn1 = await env.client.begin({ pessimistic: true });
      await lockAtStart(txn1, k1);
      // txn2's request for the primary is in flight (waiting in TiKV) before txn3 asks for k2.
      let primarySent: () => void = () => undefined;
      const waiting = new Promise<void>((resolve) => {
        primarySent = resolve;
      });
      const spy = await connectSpy(env, {
        around: async (request, send) => {
          if (request.$case === 'PessimisticLock' && request.value.mutations.length > 0) primarySent();
          return send();
        },
      });
      try {
        const txn2 = await spy.client.begin({ pessimistic: true });
        const blocked = txn2.lockKeys([k1, k2], { waitTimeoutMs: 200 }).then(
          () => undefined,
          (e: unknown) => e,
        );
        await waiting;
        const txn3 = await env.client.begin({ pessimistic: true });
        await txn3.lockKeys([k2], { noWait: true });
        expect(await blocked).toMatchObject({ code: 'LOCK_WAIT_TIMEOUT' });
        // Nothing but the primary was asked for.
        for (const r of spy.sent('PessimisticLock')) {
          expect(r.value.mutations.map((m) => Buffer.from(m.key).toString('hex'))).toEqual([
            Buffer.from(env.storageKey(k1)).toString('hex'),
          ]);
        }
        await txn3.rollback();
        await txn2.rollback();
        await txn1.rollback();
      } finally {
        await spy.close();
      }
    },
  );

  test('TestResolvePessimisticLock: keys a filter leaves out are prewritten as locks, with the value kept', async () => {
    const untouched = env.key('t00000001_i000000001');
    const untouchedValue = Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1, 49);
    const noValue = env.key('t00000001_i000000002');
    const spy = await connectSpy(env);
    try {
      const txn = await spy.client.begin();
      txn.put(untouched, untouchedValue);
      await txn.lockKeys([untouched, noValue], { noWait: true });
      const committer = new TwoPhaseCommitter(spy.client.parts, txn.memBuffer, {
        startTs: txn.startTs,
        lockResolver: spy.client.lockResolver,
        filter: (key) => Buffer.from(key).equals(Buffer.from(untouched)),
      });
      expect(committer.mutationCount).toBe(2);
      expect(committer.counts).toMatchObject({ puts: 0, locks: 2 });
      await (await committer.execute()).background;
      committer.close();
      const muts = spy.sent('Prewrite').flatMap((p) => p.value.mutations);
      const byKey = new Map(muts.map((m) => [Buffer.from(m.key).toString('hex'), m]));
      const a = byKey.get(Buffer.from(env.storageKey(untouched)).toString('hex'));
      const b = byKey.get(Buffer.from(env.storageKey(noValue)).toString('hex'));
      expect(a?.op).toBe(kvrpcpb.Op.Lock);
      expect(b?.op).toBe(kvrpcpb.Op.Lock);
      expect(a?.value).toEqual(untouchedValue);
      expect(b?.value.length).toBe(0);
      await txn.rollback();
      expect(await (await env.freshSnapshot()).get(untouched)).toBeUndefined();
    } finally {
      await spy.close();
    }
  });
});
