import { keyspacePrefix } from '@tikv/mock-cluster';
import { k, TxnTestCluster, t } from './txn-cluster.js';

let c: TxnTestCluster;
let otherPrefix: Uint8Array;
beforeAll(async () => {
  c = await TxnTestCluster.start({
    keyspace: 'ks1',
    mock: { apiVersion: 'V2', keyspaces: [{ name: 'ks1' }, { name: 'ks2' }] },
  });
  const ks2 = c.cluster.keyspaces().find((ks) => ks.name === 'ks2');
  otherPrefix = keyspacePrefix('txn', ks2!.id);
});
afterAll(async () => {
  await c?.close();
});

/** Writes a committed key into the other keyspace, straight into the mock's storage. */
async function putOther(key: string, value: string): Promise<void> {
  const startTs = await c.ts();
  c.cluster.strandTransaction({
    keys: [Buffer.concat([otherPrefix, k(key)])],
    value: k(value),
    startTs,
    commitPrimaryTs: await c.ts(),
  });
}

describe('API V2: a snapshot reads only its keyspace', () => {
  test('get, batchGet and scans in both directions see the keyspace only', async () => {
    await c.put([
      [k('a'), k('ks1-a')],
      [k('m'), k('ks1-m')],
      [k('z'), k('ks1-z')],
    ]);
    await putOther('a', 'ks2-a');
    await putOther('b', 'ks2-b');
    await putOther('zz', 'ks2-zz');
    c.split('g', 'p');
    const snap = c.snapshot(await c.ts(), { scanBatchSize: 2 });
    expect(t(await snap.get(k('a')))).toBe('ks1-a');
    expect(await snap.get(k('b'))).toBeUndefined();
    expect((await snap.batchGet([k('z'), k('b'), k('a'), k('zz')])).map(t)).toEqual([
      'ks1-z',
      undefined,
      'ks1-a',
      undefined,
    ]);
    const all = await snap.scan(new Uint8Array(0), new Uint8Array(0));
    expect(all.map((p) => t(p.value))).toEqual(['ks1-a', 'ks1-m', 'ks1-z']);
    const reverse = await snap.scan(new Uint8Array(0), new Uint8Array(0), { reverse: true });
    expect(reverse.map((p) => t(p.value))).toEqual(['ks1-z', 'ks1-m', 'ks1-a']);
    // The keys on the wire carry the keyspace prefix; the ones returned do not.
    expect(all.map((p) => t(p.key))).toEqual(['a', 'm', 'z']);
  });

  test('locks met in the keyspace are resolved through the codec', async () => {
    // A crashed writer: primary committed, secondary still locked.
    const { startTs } = await c.prewrite({
      mutations: [
        [k('lp'), k('p')],
        [k('ls'), k('s')],
      ],
    });
    await c.commitKeys([k('lp')], startTs, await c.ts());
    const lock = await c.getLock(k('ls'));
    expect(t(lock?.key)).toBe('ls');
    expect(t(lock?.primary)).toBe('lp');
    expect(t(await c.snapshot(await c.ts()).get(k('ls')))).toBe('s');
    await c.resolver.whenIdle();
    expect(await c.getLock(k('ls'))).toBeUndefined();
    // Async commit with secondaries in another region of the keyspace.
    c.split('lt');
    const ac = await c.prewrite({
      mutations: [
        [k('la'), k('A')],
        [k('lz'), k('Z')],
      ],
      asyncCommit: true,
      lockTtlMs: 1,
      startTs: c.pastTs(1000),
    });
    const res = await c.resolver.resolveLocks(c.bo(), {
      callerStartTs: await c.ts(),
      locks: [(await c.getLock(k('lz')))!],
    });
    expect(res.msBeforeTxnExpired).toBe(0);
    expect(c.resolver.cachedStatus(ac.startTs)?.isCommitted).toBe(true);
    expect(await c.read(k('la'))).toBe('A');
    expect(await c.read(k('lz'))).toBe('Z');
  });
});
