// Port of client-go integration_tests/ticlient_test.go through the public TransactionClient, in
// every API mode of the target. TestSplitRegionIn2PC splits regions through the embedded
// cluster's handle (client-go relies on its pre-split of large transactions; here the split
// happens under a commit in flight), so it is skipped on other targets.
import { EntryTooLargeError } from '@tikv/common';
import { CommitProtocol, isRetryableTxnError, TwoPhaseCommitter } from '@tikv/txn';
import { embeddedTest, s08d, startTxnEnv, type TxnEnv, text, txnModes, valueBytes } from './txn-env.js';

describe.each(txnModes())('ticlient_test.go (%s)', (_, mode) => {
  let env: TxnEnv;
  beforeAll(async () => {
    env = await startTxnEnv(mode, 'ticlient');
  });
  afterAll(async () => {
    await env?.close();
  });

  test('TestSingleKey', async () => {
    const key = env.key('key');
    let txn = await env.client.begin();
    txn.put(key, 'value');
    await txn.commit();
    txn = await env.client.begin();
    expect(text(await txn.get(key))).toBe('value');
    await txn.rollback();
    txn = await env.client.begin();
    txn.delete(key);
    await txn.commit();
    expect(await (await env.freshSnapshot()).get(key)).toBeUndefined();
  });

  test('TestMultiKeys', async () => {
    const keyNum = 100;
    let txn = await env.client.begin();
    for (let i = 0; i < keyNum; i++) txn.put(env.key(s08d('key', i)), valueBytes(i));
    await txn.commit();
    txn = await env.client.begin();
    for (let i = 0; i < keyNum; i++) expect(text(await txn.get(env.key(s08d('key', i))))).toBe(valueBytes(i));
    await txn.rollback();
    txn = await env.client.begin();
    for (let i = 0; i < keyNum; i++) txn.delete(env.key(s08d('key', i)));
    await txn.commit();
    const left = await (await env.freshSnapshot()).batchGet(
      Array.from({ length: keyNum }, (_, i) => env.key(s08d('key', i))),
    );
    expect(left.every((v) => v === undefined)).toBe(true);
  });

  test('TestNotExist', async () => {
    // client-go returns ErrNotExist; the TypeScript client answers undefined.
    const txn = await env.client.begin();
    expect(await txn.get(env.key('noSuchKey'))).toBeUndefined();
    await txn.rollback();
  });

  test('TestLargeRequest', async () => {
    const txn = await env.client.begin();
    const largeValue = new Uint8Array(9 * 1024 * 1024).fill(1);
    let err: unknown;
    try {
      txn.put(env.key('large_request_key'), largeValue);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EntryTooLargeError);
    expect(isRetryableTxnError(err)).toBe(false);
    // The buffer is unchanged: the commit writes nothing.
    expect(await txn.commit()).toBe(0n);
    expect(txn.commitProtocol).toBe(CommitProtocol.NONE);
  });

  embeddedTest(
    'TestSplitRegionIn2PC: regions split under prewrite and between prewrite and commit',
    async () => {
      const n = 500;
      const keyOf = (p: string, i: number) => env.key(s08d(p, i));
      const mock = env.target.mock;
      const regionOf = (k: Uint8Array) => mock?.regionByKey(env.storageKey(k)).id;
      for (const p of ['key', 'pkey']) expect(regionOf(keyOf(p, 0))).toBe(regionOf(keyOf(p, n - 1)));

      // Splits after the client cached the region: prewrite meets EpochNotMatch and re-groups.
      const txn = await env.client.begin();
      await txn.get(keyOf('key', 0));
      for (let i = 0; i < n; i++) txn.put(keyOf('key', i), valueBytes(i));
      env.split([100, 200, 300, 400].map((i) => keyOf('key', i)));
      await txn.commit();
      expect(regionOf(keyOf('key', 0))).not.toBe(regionOf(keyOf('key', n - 1)));

      // Splits between prewrite and commit: the commit of the secondaries follows them.
      const txn2 = await env.client.begin();
      for (let i = 0; i < n; i++) txn2.put(keyOf('pkey', i), valueBytes(i));
      const committer = new TwoPhaseCommitter(env.client.parts, txn2.memBuffer, {
        startTs: txn2.startTs,
        lockResolver: env.client.lockResolver,
      });
      await committer.prewrite();
      env.split([50, 250, 450].map((i) => keyOf('pkey', i)));
      const result = await committer.commit(await env.client.currentTimestamp());
      await result.background;
      committer.close();
      expect(regionOf(keyOf('pkey', 0))).not.toBe(regionOf(keyOf('pkey', n - 1)));

      const snap = await env.freshSnapshot();
      for (const p of ['key', 'pkey']) {
        const keys = Array.from({ length: n }, (_, i) => keyOf(p, i));
        expect((await snap.batchGet(keys)).map(text)).toEqual(keys.map((_, i) => valueBytes(i)));
      }
    },
  );
});
