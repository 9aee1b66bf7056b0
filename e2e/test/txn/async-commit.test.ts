// Port of client-go integration_tests/async_commit_test.go (TestRepeatableRead with an optimistic
// transaction, TestAsyncCommitLinearizability, TestRollbackAsyncCommitEnforcesFallback) and
// 2pc_test.go's TestAsyncCommit through the public API; plus an async commit over several regions
// (embedded) read before its background commit is done, and the order of commit timestamps with
// causal consistency off.
import { setTimeout as delay } from 'node:timers/promises';
import { extractPhysical } from '@tikv/common';
import type { kvrpcpb } from '@tikv/proto';
import { CommitProtocol } from '@tikv/txn';
import { connectSpy, embedded, hex, startTxnEnv, type TxnEnv, text, txnModes } from './txn-env.js';

describe.each(txnModes())('async_commit_test.go (%s)', (_, mode) => {
  let env: TxnEnv;
  beforeAll(async () => {
    env = await startTxnEnv(mode, 'asynccommit');
  });
  afterAll(async () => {
    await env?.close();
  });

  const beginAsyncCommit = () => env.client.begin({ asyncCommit: true });

  test('TestAsyncCommit (2pc_test.go)', async () => {
    const pk = env.key('tpk');
    const k1 = env.key('tk1');
    const txn = await beginAsyncCommit();
    txn.put(pk, 'pkVal');
    txn.put(k1, 'k1Val');
    await txn.commit();
    expect(txn.commitProtocol).toBe(CommitProtocol.ASYNC_COMMIT);
    expect(txn.commitTs).toBeGreaterThan(txn.startTs);
    const snap = await env.freshSnapshot();
    expect((await snap.batchGet([pk, k1])).map(text)).toEqual(['pkVal', 'k1Val']);
    await txn.whenCommitSettled();
  });

  test('TestRepeatableRead', async () => {
    const k = env.key('rr_k1');
    const put = await env.client.begin({ asyncCommit: true });
    put.put(k, 'v1');
    await put.commit();
    await put.whenCommitSettled();

    const txn1 = await beginAsyncCommit();
    expect(text(await txn1.get(k))).toBe('v1');
    txn1.put(k, 'v2');
    for (let i = 0; i < 20; i++) await env.client.currentTimestamp();
    const txn2 = await beginAsyncCommit();
    expect(text(await txn2.get(k))).toBe('v1');
    await txn1.commit();
    expect(txn1.commitProtocol).toBe(CommitProtocol.ASYNC_COMMIT);
    // The commit ts is above every ts handed out before the commit: txn2 keeps reading v1, also
    // from TiKV (a snapshot at its start ts, not its cache).
    expect(txn1.commitTs).toBeGreaterThan(txn2.startTs);
    expect(text(await txn2.get(k))).toBe('v1');
    expect(text(await env.client.snapshot(txn2.startTs).get(k))).toBe('v1');
    await txn2.rollback();
    const txn3 = await beginAsyncCommit();
    expect(text(await txn3.get(k))).toBe('v2');
    await txn3.rollback();
    await txn1.whenCommitSettled();
  });

  test('TestAsyncCommitLinearizability', async () => {
    const t1 = await beginAsyncCommit();
    const t2 = await beginAsyncCommit();
    t1.put(env.key('linear_a'), 'a1');
    t2.put(env.key('linear_b'), 'b1');
    // t2 commits earlier than t1.
    await t2.commit();
    await t1.commit();
    expect([t1.commitProtocol, t2.commitProtocol]).toEqual([
      CommitProtocol.ASYNC_COMMIT,
      CommitProtocol.ASYNC_COMMIT,
    ]);
    expect(t2.commitTs).toBeLessThan(t1.commitTs);
    await Promise.all([t1.whenCommitSettled(), t2.whenCommitSettled()]);
  });

  // client-go prewrites the transaction's two mutations one at a time through its committer probe,
  // with a max commit ts it chose; here the pessimistic async-commit transaction commits through
  // the client, each mutation in its own prewrite request (a 1-byte batch limit), and the
  // prewrite of the second is held until a reader found the first's lock expired. The lock TTL
  // is the client's: a pessimistic async-commit lock must outlive the max commit ts (tidb#33641),
  // so the reader's ts is past it and the held prewrite has to fall back to 2PC.
  test('TestRollbackAsyncCommitEnforcesFallback: a reader that finds the lock expired forces the rest of the prewrite to 2PC', async () => {
    const [a, z] = [env.key('fallback_a'), env.key('fallback_z')];
    // Longer than the 3 s lock TTL a small transaction starts with: the safe TTL is what counts.
    const asyncCommitSafeWindowMs = 3_500;
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const prewrites = new Map<
      string,
      { request: kvrpcpb.PrewriteRequest; response: kvrpcpb.PrewriteResponse }
    >();
    let onPrimaryPrewritten: () => void = () => undefined;
    const primaryPrewritten = new Promise<void>((resolve) => {
      onPrimaryPrewritten = resolve;
    });
    const spy = await connectSpy(env, {
      tuning: { commit: { asyncCommitSafeWindowMs, commitBatchSizeBytes: 1 } },
      around: async (request, send) => {
        if (request.$case !== 'Prewrite') return send();
        const key = request.value.mutations[0]?.key ?? new Uint8Array(0);
        const isZ = hex(key) === hex(env.storageKey(z));
        if (isZ) await held;
        const resp = await send();
        if (resp.$case === 'Prewrite') {
          prewrites.set(isZ ? 'z' : 'a', { request: request.value, response: resp.value });
          if (!isZ) onPrimaryPrewritten();
        }
        return resp;
      },
    });
    try {
      const txn = await spy.client.begin({ pessimistic: true, asyncCommit: true });
      txn.put(a, 'a');
      txn.put(z, 'z');
      const committing = txn.commit();
      await primaryPrewritten;
      const first = prewrites.get('a');
      expect(first?.request.mutations).toHaveLength(1);
      expect(first?.request.useAsyncCommit).toBe(true);
      // Still async commit after the first prewrite.
      expect(first?.response.minCommitTs).toBeGreaterThan(0n);
      const maxCommitTs = first?.request.maxCommitTs ?? 0n;
      expect(maxCommitTs).toBeGreaterThan(txn.startTs);

      // A reader checks the primary until its own ts is past the lock's expiry.
      for (;;) {
        const readerTs = await env.client.currentTimestamp();
        const status = await env.client.lockResolver.getTxnStatus(txn.startTs, a, {
          callerStartTs: readerTs,
        });
        expect(status.isStatusDetermined).toBe(false);
        expect(status.primaryLock?.useAsyncCommit).toBe(true);
        const expiresAt = extractPhysical(txn.startTs) + Number(status.ttlMs);
        // The lock outlives the max commit ts.
        expect(expiresAt).toBeGreaterThan(extractPhysical(maxCommitTs));
        if (extractPhysical(readerTs) > expiresAt) {
          expect(readerTs).toBeGreaterThan(maxCommitTs);
          break;
        }
        // Wait for the clock to reach the expiry the reader was told.
        await delay(expiresAt - extractPhysical(readerTs) + 1);
      }

      release();
      await committing;
      // The second prewrite answered no min commit ts: the transaction fell back to 2PC.
      expect(prewrites.get('z')?.response.minCommitTs).toBe(0n);
      expect(txn.commitProtocol).toBe(CommitProtocol.TWO_PC);
      expect(txn.commitTs).toBeGreaterThan(maxCommitTs);
      await txn.whenCommitSettled();
      const snap = await env.freshSnapshot();
      expect((await snap.batchGet([a, z])).map(text)).toEqual(['a', 'z']);
    } finally {
      release();
      await spy.close();
    }
  }, 30_000);

  test('an async commit over several regions is read right after commit returns', async () => {
    const keys = Array.from({ length: 16 }, (_, i) => env.key(`multi/${String(i).padStart(2, '0')}`));
    if (embedded) env.split([keys[4], keys[8], keys[12]] as Uint8Array[]);
    const txn = await beginAsyncCommit();
    for (const [i, k] of keys.entries()) txn.put(k, `v${i}`);
    await txn.commit();
    expect(txn.commitProtocol).toBe(CommitProtocol.ASYNC_COMMIT);
    // The keys may still be locked (their commit runs in the background): the reader resolves
    // them as committed at the transaction's commit ts.
    const snap = await env.freshSnapshot();
    expect((await snap.batchGet(keys)).map(text)).toEqual(keys.map((_, i) => `v${i}`));
    await txn.whenCommitSettled();
    expect(text(await env.client.snapshot(txn.commitTs).get(keys[15] as Uint8Array))).toBe('v15');
    expect(await env.client.snapshot(txn.commitTs - 1n).get(keys[15] as Uint8Array)).toBeUndefined();
  });
});
