// Port of client-go integration_tests/2pc_test.go (the cases that need no pessimistic locks)
// through the public API: a write conflict fails the commit and leaves the other writer's value,
// commits over many regions with small and large values, a transaction whose every write is
// deleted again, and a write conflict that leaves nothing behind. Splits run on the embedded
// cluster only; the rest runs everywhere.
import { randomBytes } from 'node:crypto';
import { WriteConflictError } from '@tikv/common';
import { CommitProtocol, FlagsOp, isRetryableTxnError } from '@tikv/txn';
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
