// Port of client-go integration_tests/2pc_test.go (the cases that need no pessimistic locks)
// through the public API: a write conflict fails the commit and leaves the other writer's value
// (TestCommitRollback, TestPrewritePrimaryKeyFailed), prewrite retried and rolled back
// (TestPrewriteRollback, TestCommitBeforePrewrite), cancellation through an AbortSignal
// (TestContextCancel, TestContextCancel2), an illegal start ts, commits over many regions with
// small and large values, a transaction whose every write is deleted again, and a write conflict
// that leaves nothing behind. Splits run on the embedded cluster only; the rest runs everywhere.
import { randomBytes } from 'node:crypto';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { InvalidArgumentError, U64_MAX, WriteConflictError } from '@tikv/common';
import {
  CommitProtocol,
  FlagsOp,
  isRetryableTxnError,
  LOCK_RESOLVE_CHANNEL,
  type Transaction,
  TwoPhaseCommitter,
} from '@tikv/txn';
import { embedded, startTxnEnv, type TxnEnv, text, txnModes } from './txn-env.js';

/** client-go's `txnCommitBatchSize` (16 KiB). */
const txnCommitBatchSize = 16 * 1024;

describe.each(txnModes())('2pc_test.go (%s)', (_, mode) => {
  let env: TxnEnv;
  beforeAll(async () => {
    env = await startTxnEnv(mode, 'twopc');
  });
  afterAll(async () => {
    await env?.close();
  });

  async function mustCommit(m: ReadonlyMap<string, string> | Record<string, string>): Promise<void> {
    const txn = await env.client.begin();
    for (const [k, v] of m instanceof Map ? m : Object.entries(m)) txn.put(env.key(k), v);
    await txn.commit();
    expect(txn.commitProtocol).toBe(CommitProtocol.TWO_PC);
    await txn.whenCommitSettled();
    await checkValues(m);
  }

  async function checkValues(m: ReadonlyMap<string, string> | Record<string, string>): Promise<void> {
    const entries = [...(m instanceof Map ? m : Object.entries(m))] as [string, string][];
    const snap = await env.freshSnapshot();
    const got = await snap.batchGet(entries.map(([k]) => env.key(k)));
    expect(got.map(text)).toEqual(entries.map(([, v]) => v));
  }

  const committerOf = (txn: Transaction) =>
    new TwoPhaseCommitter(env.client.parts, txn.memBuffer, {
      startTs: txn.startTs,
      lockResolver: env.client.lockResolver,
    });

  test('TestCommitRollback', async () => {
    await mustCommit({ a: 'a', b: 'b', c: 'c' });
    const txn = await env.client.begin();
    txn.put(env.key('a'), 'a1');
    txn.put(env.key('b'), 'b1');
    txn.put(env.key('c'), 'c1');
    await mustCommit({ c: 'c2' });
    const err = await txn.commit().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WriteConflictError);
    expect(isRetryableTxnError(err)).toBe(true);
    await checkValues({ a: 'a', b: 'b', c: 'c2' });
  });

  test('TestPrewriteRollback', async () => {
    await mustCommit({ pr_a: 'a0', pr_b: 'b0' });
    let txn1 = await env.client.begin();
    txn1.put(env.key('pr_a'), 'a1');
    txn1.put(env.key('pr_b'), 'b1');
    let committer = committerOf(txn1);
    await committer.prewrite();
    // A reader at a later ts meets the lock; a 2PC lock alive is waited for or pushed, not read.
    const txn2 = await env.client.begin();
    expect(text(await txn2.get(env.key('pr_a')))).toBe('a0');
    await txn2.rollback();
    const again = await committer.prewrite().then(
      () => undefined,
      (e: unknown) => e,
    );
    if (again !== undefined) {
      // Retry in a new transaction, as client-go does.
      committer.close();
      txn1 = await env.client.begin();
      txn1.put(env.key('pr_a'), 'a1');
      txn1.put(env.key('pr_b'), 'b1');
      committer = committerOf(txn1);
      await committer.prewrite();
    }
    const result = await committer.commit(await env.client.currentTimestamp());
    await result.background;
    committer.close();
    await checkValues({ pr_a: 'a1', pr_b: 'b1' });
  });

  test('TestContextCancel: an aborted signal stops prewrite with its reason', async () => {
    const txn = await env.client.begin();
    txn.put(env.key('cc_a'), 'a1');
    txn.put(env.key('cc_b'), 'b1');
    const committer = committerOf(txn);
    const reason = new Error('canceled');
    await expect(committer.prewrite({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    committer.close();
    const txn2 = await env.client.begin();
    txn2.put(env.key('cc_a'), 'a2');
    await expect(txn2.commit({ signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
  });

  test('TestContextCancel2: aborting after commit returned leaves the secondaries to commit', async () => {
    const ac = new AbortController();
    const txn = await env.client.begin();
    txn.put(env.key('cc2_a'), 'a');
    txn.put(env.key('cc2_b'), 'b');
    await txn.commit({ signal: ac.signal });
    ac.abort(new Error('canceled'));
    await txn.whenCommitSettled();
    const met: unknown[] = [];
    const onResolve = (e: unknown) => met.push(e);
    subscribe(LOCK_RESOLVE_CHANNEL, onResolve);
    try {
      await checkValues({ cc2_a: 'a', cc2_b: 'b' });
    } finally {
      unsubscribe(LOCK_RESOLVE_CHANNEL, onResolve);
    }
    expect(met).toEqual([]);
  });

  test('TestIllegalTso', async () => {
    await expect(env.client.begin({ startTs: U64_MAX })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  test('TestCommitBeforePrewrite: a prewrite after the rollback fails', async () => {
    const txn = await env.client.begin();
    txn.put(env.key('cbp_a'), 'a1');
    const committer = committerOf(txn);
    await committer.rollback();
    await expect(committer.prewrite()).rejects.toBeInstanceOf(Error);
    committer.close();
    expect(await (await env.freshSnapshot()).get(env.key('cbp_a'))).toBeUndefined();
  });

  test('TestPrewritePrimaryKeyFailed', async () => {
    const [a, b] = [env.key('ppf_a'), env.key('ppf_b')];
    const txn1 = await env.client.begin();
    txn1.put(a, 'a1');
    await txn1.commit();
    // txn2 starts before txn1: its prewrite of the primary `a` conflicts.
    const txn2 = await env.client.begin({ startTs: txn1.startTs - 1n });
    txn2.put(a, 'a2');
    txn2.put(b, 'b2');
    await expect(txn2.commit()).rejects.toBeInstanceOf(WriteConflictError);
    let txn = await env.client.begin();
    expect(text(await txn.get(a))).toBe('a1');
    expect(await txn.get(b)).toBeUndefined();
    await txn.rollback();
    // Rolling back again is harmless.
    const txn2b = await env.client.begin({ startTs: txn1.startTs - 1n });
    txn2b.put(a, 'a2');
    txn2b.put(b, 'b2');
    const cleanup = committerOf(txn2b);
    await cleanup.rollback();
    cleanup.close();
    txn = await env.client.begin();
    expect(text(await txn.get(a))).toBe('a1');
    txn.put(a, 'a3');
    await txn.commit();
    await checkValues({ ppf_a: 'a3' });
  });

  test('TestCommitMultipleRegions', async () => {
    const randKV = (keyLen: number, valueLen: number): [string, string] => [
      `mr/${randomBytes(keyLen).toString('hex').slice(0, keyLen)}`,
      randomBytes(valueLen).toString('hex').slice(0, valueLen),
    ];
    if (embedded) env.split(['mr/2', 'mr/5', 'mr/8', 'mr/b', 'mr/e'].map((k) => env.key(k)));
    const small = new Map<string, string>();
    for (let i = 0; i < 100; i++) small.set(...randKV(10, 10));
    await mustCommit(small);
    // Big values: several commit batches per region.
    const big = new Map<string, string>();
    for (let i = 0; i < 50; i++) big.set(...randKV(11, Math.floor(txnCommitBatchSize / 7)));
    await mustCommit(big);
  });

  test('TestDeleteAllYourWrites', async () => {
    if (embedded) env.split(['da/a', 'da/b', 'da/c', 'da/d'].map((k) => env.key(k)));
    const [k1, k2, k3] = ['da/a', 'da/b', 'da/c'].map((k) => env.key(k)) as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
    const txn = await env.client.begin();
    for (const [i, k] of [k1, k2, k3].entries()) {
      txn.memBuffer.setWithFlags(k, Uint8Array.of(i), FlagsOp.SetPresumeKeyNotExists);
      txn.delete(k);
    }
    await txn.commit();
    await txn.whenCommitSettled();
    const snap = await env.freshSnapshot();
    expect(await snap.batchGet([k1, k2, k3])).toEqual([undefined, undefined, undefined]);
  });

  test('the locks of a commit that failed on a write conflict do not hold up the next writer', async () => {
    await mustCommit({ wl1: 'x', wl2: 'x' });
    const loser = await env.client.begin();
    loser.put(env.key('wl1'), 'loser');
    loser.put(env.key('wl2'), 'loser');
    loser.put(env.key('wl3'), 'loser');
    await mustCommit({ wl2: 'winner' });
    await expect(loser.commit()).rejects.toBeInstanceOf(WriteConflictError);
    await loser.whenCommitSettled();
    await mustCommit({ wl1: 'next', wl3: 'next' });
    await checkValues({ wl1: 'next', wl2: 'winner', wl3: 'next' });
  });
});
