// Ports of client-go tests that check what the transactional requests carry, watched through a spy
// client's interceptor: the retry flag of prewrites after a lost response and a split
// (prewrite_test.go TestIsRetryRequestFlagWithRegionError), the min commit ts of async-commit
// prewrites (prewrite_test.go TestSetMinCommitTSInAsyncCommit), the priority of every command
// (store_test.go TestRequestPriority), lock requests of optimistic and pessimistic lockKeys
// (txnkv/transaction/txn_test.go TestLockKeys), timestamps when the TSO fails for a while
// (store_test.go TestOracle), and a point get at the maximum ts that must not push a lock's min
// commit ts (snapshot_fail_test.go TestRetryPointGetResolveTS).
import { composeTs, RpcError, U64_MAX } from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import { KeyFlags, TwoPhaseCommitter } from '@tikv/txn';
import { connectSpy, embedded, embeddedTest, startTxnEnv, type TxnEnv, text, txnModes } from './txn-env.js';

/** gRPC UNAVAILABLE. */
const UNAVAILABLE = 14;

describe.each(txnModes())('request fields (%s)', (_, mode) => {
  let env: TxnEnv;
  beforeAll(async () => {
    env = await startTxnEnv(mode, 'reqfields');
  });
  afterAll(async () => {
    await env?.close();
  });

  embeddedTest('TestIsRetryRequestFlagWithRegionError (prewrite_test.go)', async () => {
    const [a, z] = [env.key('irr_a'), env.key('irr_z')];
    let lost = false;
    const spy = await connectSpy(env, {
      around: async (request, send) => {
        if (request.$case !== 'Prewrite' || lost) return send();
        // The first prewrite is applied but its answer is lost; meanwhile the region splits.
        lost = true;
        const resp = await send();
        env.split([env.key('irr_h')]);
        throw new RpcError('the answer was lost', {
          address: 'lost',
          command: 'KvPrewrite',
          grpcCode: UNAVAILABLE,
          requestSent: true,
          retryable: true,
          cause: resp,
        });
      },
    });
    try {
      const txn = await spy.client.begin();
      txn.put(a, 'v');
      txn.put(z, 'v');
      const committer = new TwoPhaseCommitter(spy.client.parts, txn.memBuffer, {
        startTs: txn.startTs,
        lockResolver: spy.client.lockResolver,
      });
      await committer.prewrite();
      // The first attempt; its retry, which meets the split; one retry per new region.
      expect(spy.sent('Prewrite').map((r) => r.value.context?.isRetryRequest)).toEqual([
        false,
        true,
        true,
        true,
      ]);
      await committer.rollback();
      committer.close();
      await txn.rollback();
    } finally {
      await spy.close();
    }
  });

  test('TestSetMinCommitTSInAsyncCommit (prewrite_test.go): above the start ts, or the for-update ts when there is one', async () => {
    const spy = await connectSpy(env);
    try {
      const key = env.key('smc_k');
      let txn = await spy.client.begin({ asyncCommit: true });
      txn.put(key, 'v');
      await txn.commit();
      let [p] = spy.sent('Prewrite').filter((r) => r.value.startVersion === txn.startTs);
      expect(p?.value.useAsyncCommit).toBe(true);
      expect(p?.value.minCommitTs).toBeGreaterThanOrEqual(txn.startTs + 1n);
      await txn.whenCommitSettled();

      // A pessimistic async commit: its locks raised the for-update ts past the start ts.
      txn = await spy.client.begin({ asyncCommit: true, pessimistic: true });
      await spy.client.currentTimestamp();
      await txn.lockKeys([key]);
      const forUpdateTs = txn.forUpdateTs;
      expect(forUpdateTs).toBeGreaterThan(txn.startTs);
      txn.put(key, 'v2');
      await txn.commit();
      [p] = spy.sent('Prewrite').filter((r) => r.value.startVersion === txn.startTs);
      expect(p?.value.useAsyncCommit).toBe(true);
      expect(p?.value.forUpdateTs).toBe(forUpdateTs);
      expect(p?.value.minCommitTs).toBeGreaterThanOrEqual(forUpdateTs + 1n);
      await txn.whenCommitSettled();
    } finally {
      await spy.close();
    }
  });

  test('TestRequestPriority (store_test.go): every command of a transaction carries its priority', async () => {
    const spy = await connectSpy(env);
    try {
      const key = env.key('rp_key');
      const high = await spy.client.begin({ priority: 'high' });
      high.put(key, 'value');
      await high.commit();
      await high.whenCommitSettled();
      const writes = spy.requests.filter((r) => r.$case === 'Prewrite' || r.$case === 'Commit');
      expect(writes.length).toBeGreaterThanOrEqual(2);
      for (const r of writes) expect(r.value.context?.priority).toBe(kvrpcpb.CommandPri.High);

      spy.requests.length = 0;
      const low = await spy.client.begin({ priority: 'low' });
      expect(text(await low.get(key))).toBe('value');
      const gets = spy.sent('Get');
      expect(gets.length).toBe(1);
      expect(gets[0]?.value.context?.priority).toBe(kvrpcpb.CommandPri.Low);
      await low.rollback();

      spy.requests.length = 0;
      const scan = await spy.client.begin({ priority: 'high' });
      expect((await scan.scan(key, env.end)).length).toBeGreaterThan(0);
      const scans = spy.sent('Scan');
      expect(scans.length).toBeGreaterThan(0);
      for (const r of scans) expect(r.value.context?.priority).toBe(kvrpcpb.CommandPri.High);
      await scan.rollback();
    } finally {
      await spy.close();
    }
  });

  test('TestLockKeys (txn_test.go): an optimistic lock sends nothing, a pessimistic one sends one PessimisticLock per key', async () => {
    const spy = await connectSpy(env);
    try {
      const key = env.key('lk_k');
      const optimistic = await spy.client.begin();
      spy.requests.length = 0;
      await optimistic.lockKeys([key], { noWait: true });
      expect(spy.requests).toEqual([]);
      let flags = optimistic.memBuffer.getFlags(key) ?? 0;
      expect(KeyFlags.hasLocked(flags)).toBe(true);
      expect(KeyFlags.hasLockedInShareMode(flags)).toBe(false);
      await optimistic.rollback();

      const pessimistic = await spy.client.begin({ pessimistic: true });
      await pessimistic.lockKeys([key], { noWait: true });
      const locks = spy.sent('PessimisticLock');
      expect(locks.length).toBe(1);
      expect(locks[0]?.value.mutations.map((m) => m.op)).toEqual([kvrpcpb.Op.PessimisticLock]);
      flags = pessimistic.memBuffer.getFlags(key) ?? 0;
      expect(KeyFlags.hasLocked(flags)).toBe(true);
      expect(KeyFlags.hasLockedInShareMode(flags)).toBe(false);
      await pessimistic.rollback();
    } finally {
      await spy.close();
    }
  });

  test('TestOracle (store_test.go): timestamps grow, survive a TSO outage, and judge lock expiry', async () => {
    const oracle = env.client.parts.oracle;
    const t1 = await env.client.currentTimestamp();
    const t2 = await env.client.currentTimestamp();
    expect(t1).toBeLessThan(t2);
    const l1 = await oracle.getLowResolutionTimestamp();
    const l2 = await oracle.getLowResolutionTimestamp();
    expect(l1).toBeLessThanOrEqual(l2);
    if (embedded) {
      // The TSO fails twice, then answers: the call retries.
      const fault = env.target.mock?.inject({ method: 'Tso', times: 2, error: { grpcStatus: UNAVAILABLE } });
      const t3 = await env.client.currentTimestamp();
      expect(t3).toBeGreaterThan(t2);
      expect(fault?.remaining).toBe(0);
    }
    expect(oracle.isExpired(composeTs(Date.now() - 1000, 0), 50)).toBe(true);
    expect(oracle.isExpired(await env.client.currentTimestamp(), 60_000)).toBe(false);
  });

  test('TestRetryPointGetResolveTS (snapshot_fail_test.go): a read at the maximum ts does not push the lock past the commit ts', async () => {
    const [k1, k2] = [env.key('rpg_k1'), env.key('rpg_k2')];
    const txn = await env.client.begin();
    txn.put(k1, 'v1');
    txn.put(k2, 'v2');
    const committer = new TwoPhaseCommitter(env.client.parts, txn.memBuffer, {
      startTs: txn.startTs,
      lockResolver: env.client.lockResolver,
      causalConsistency: true,
    });
    expect(committer.primaryKey).toEqual(k1);
    await committer.prewrite();
    // Nothing is visible at the maximum ts yet, and the read leaves the primary's min commit ts.
    expect(await env.client.snapshot(U64_MAX).get(k2)).toBeUndefined();
    const commitTs = await env.client.currentTimestamp();
    const result = await committer.commit(commitTs);
    expect(result.commitTs).toBe(commitTs);
    await result.background;
    committer.close();
    expect(text(await env.client.snapshot(commitTs).get(k2))).toBe('v2');
  });
});
