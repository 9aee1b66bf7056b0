// Port of client-go integration_tests/1pc_test.go through the public API: one-phase commit of
// keys in one region, its commit ts and MVCC versions, its isolation from a transaction that
// started before it committed, the fall back to 2PC when the keys span regions (the split goes
// through the embedded cluster's handle, so that case runs only there, as in client-go), and the
// order of commit timestamps.
import { CommitProtocol } from '@tikv/txn';
import { embeddedTest, startTxnEnv, type TxnEnv, text, txnModes } from './txn-env.js';

describe.each(txnModes())('1pc_test.go (%s)', (_, mode) => {
  let env: TxnEnv;
  beforeAll(async () => {
    env = await startTxnEnv(mode, 'onepc');
  });
  afterAll(async () => {
    await env?.close();
  });

  const begin1PC = () => env.client.begin({ onePc: true });
  const mustGetFromSnapshot = async (ts: bigint, key: Uint8Array) =>
    text(await env.client.snapshot(ts).get(key));

  test('TestOnePC', async () => {
    const [k1, k2, k3, k4, k5] = ['k1', 'k2', 'k3', 'k4', 'k5'].map((s) => env.key(s)) as Uint8Array[] as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
    let txn = await begin1PC();
    txn.put(k1, 'v1');
    await txn.commit();
    expect(txn.commitProtocol).toBe(CommitProtocol.ONE_PC);
    expect(txn.commitTs).toBeGreaterThan(txn.startTs);

    // Without the option, 2PC.
    txn = await env.client.begin();
    txn.put(k2, 'v2');
    await txn.commit();
    expect(txn.commitProtocol).toBe(CommitProtocol.TWO_PC);
    expect(txn.commitTs).toBeGreaterThan(txn.startTs);

    // Several keys: all at one version.
    txn = await begin1PC();
    txn.put(k3, 'v3');
    txn.put(k4, 'v4');
    txn.put(k5, 'v5');
    await txn.commit();
    expect(txn.commitProtocol).toBe(CommitProtocol.ONE_PC);
    for (const [k, v] of [
      [k3, 'v3'],
      [k4, 'v4'],
      [k5, 'v5'],
    ] as const) {
      expect(await mustGetFromSnapshot(txn.commitTs, k)).toBe(v);
      expect(await mustGetFromSnapshot(txn.commitTs - 1n, k)).toBeUndefined();
    }

    // Overwriting in MVCC.
    txn = await begin1PC();
    txn.put(k5, 'v5new');
    await txn.commit();
    expect(txn.commitProtocol).toBe(CommitProtocol.ONE_PC);
    expect(await mustGetFromSnapshot(txn.commitTs, k5)).toBe('v5new');
    expect(await mustGetFromSnapshot(txn.commitTs - 1n, k5)).toBe('v5');

    const snap = await env.freshSnapshot();
    expect((await snap.batchGet([k1, k2, k3, k4, k5])).map(text)).toEqual(['v1', 'v2', 'v3', 'v4', 'v5new']);
  });

  test('Test1PCIsolation', async () => {
    const k = env.key('isolation_k');
    let txn = await begin1PC();
    txn.put(k, 'v1');
    await txn.commit();

    txn = await begin1PC();
    txn.put(k, 'v2');
    // Make a wrong commit ts (one below txn2's start ts) more likely.
    for (let i = 0; i < 10; i++) await env.client.currentTimestamp();
    const txn2 = await begin1PC();
    expect(text(await txn2.get(k))).toBe('v1');
    await txn.commit();
    expect(txn.commitProtocol).toBe(CommitProtocol.ONE_PC);
    // A read at txn2's start ts (not answered from its cache) still sees v1.
    expect(await mustGetFromSnapshot(txn2.startTs, k)).toBe('v1');
    expect(text(await txn2.get(k))).toBe('v1');
    await txn2.rollback();
    expect(await mustGetFromSnapshot(txn.commitTs, k)).toBe('v2');
    expect(await mustGetFromSnapshot(txn.commitTs - 1n, k)).toBe('v1');
  });

  embeddedTest('Test1PCDisallowMultiRegion', async () => {
    const keys = ['mr_k0', 'mr_k1', 'mr_k2', 'mr_k3'].map((s) => env.key(s));
    const values = ['v0', 'v1', 'v2', 'v3'];
    let txn = await begin1PC();
    txn.put(keys[0] as Uint8Array, 'v0');
    txn.put(keys[3] as Uint8Array, 'v3');
    await txn.commit();
    expect(txn.commitProtocol).toBe(CommitProtocol.ONE_PC);

    // The client still caches one region for both keys: prewrite meets the split and falls back.
    env.split([keys[2] as Uint8Array]);
    txn = await begin1PC();
    txn.put(keys[1] as Uint8Array, 'v1');
    txn.put(keys[2] as Uint8Array, 'v2');
    await txn.commit();
    expect(txn.commitProtocol).toBe(CommitProtocol.TWO_PC);
    expect(txn.commitTs).toBeGreaterThan(txn.startTs);
    await txn.whenCommitSettled();

    // And with the split known beforehand.
    txn = await begin1PC();
    txn.put(keys[0] as Uint8Array, 'v0');
    txn.put(keys[3] as Uint8Array, 'v3');
    await txn.commit();
    expect(txn.commitProtocol).toBe(CommitProtocol.TWO_PC);
    await txn.whenCommitSettled();

    const snap = await env.freshSnapshot();
    expect((await snap.batchGet(keys)).map(text)).toEqual(values);
  });

  test('Test1PCLinearizability', async () => {
    const t1 = await begin1PC();
    const t2 = await begin1PC();
    t1.put(env.key('linear_a'), 'a1');
    t2.put(env.key('linear_b'), 'b1');
    // t2 commits earlier than t1.
    await t2.commit();
    await t1.commit();
    expect(t2.commitTs).toBeLessThan(t1.commitTs);
  });
});
