// Port of client-go integration_tests/async_commit_test.go (TestRepeatableRead with an optimistic
// transaction, TestAsyncCommitLinearizability) and 2pc_test.go's TestAsyncCommit through the
// public API; plus an async commit over several regions (embedded) read before its background
// commit is done, and the order of commit timestamps with causal consistency off.
import { CommitProtocol } from '@tikv/txn';
import { embedded, startTxnEnv, type TxnEnv, text, txnModes } from './txn-env.js';

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
