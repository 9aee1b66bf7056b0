import { kvrpcpb, type pdpb } from '@tikv/proto';
import { b, ctxFor, TestClients, text } from '../../test/test-helpers.js';
import { MockCluster } from '../index.js';
import { ConcurrencyManager } from './concurrency-manager.js';
import { gcKey } from './gc.js';
import { MvccReader } from './mvcc-reader.js';
import { MvccTestEngine } from './mvcc-test-util.js';
import { MvccTxn } from './mvcc-txn.js';

describe('src/storage/txn/actions/gc.rs', () => {
  function gc(e: MvccTestEngine, key: string, safePoint: number): void {
    const txn = new MvccTxn(0n, new ConcurrencyManager(1n));
    gcKey(txn, new MvccReader(e.engine, 0n), b(key), BigInt(safePoint));
    txn.apply(e.engine);
  }

  test.each([
    ['k1', 'v1', 'v2', 'v3', 'v4'],
    ['k2', 'x'.repeat(256), 'y'.repeat(256), 'z'.repeat(256), 'v'.repeat(256)],
  ])('test_gc (%s)', (k, v1, v2, v3, v4) => {
    const e = new MvccTestEngine();
    e.prewritePut(k, v1, k, 5);
    e.commit(k, 5, 10);
    e.prewritePut(k, v2, k, 15);
    e.commit(k, 15, 20);
    e.prewriteDelete(k, k, 25);
    e.commit(k, 25, 30);
    e.prewritePut(k, v3, k, 35);
    e.commit(k, 35, 40);
    e.prewriteLock(k, k, 45);
    e.commit(k, 45, 50);
    e.prewritePut(k, v4, k, 55);
    e.rollback(k, 55, false);
    gc(e, k, 12);
    expect(e.getString(k, 12)).toBe(v1);
    gc(e, k, 22);
    expect(e.getString(k, 22)).toBe(v2);
    expect(e.get(k, 12)).toBeUndefined();
    gc(e, k, 32);
    expect(e.get(k, 22)).toBeUndefined();
    expect(e.get(k, 35)).toBeUndefined();
    gc(e, k, 60);
    expect(e.getString(k, 62)).toBe(v3);
    expect(e.writeAt(k, 50)).toBeUndefined();
    expect(e.writeAt(k, 55)).toBeUndefined();
  });
});

describe('GC driven by PD’s GC states', () => {
  let cluster: MockCluster;
  let c: TestClients;
  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 1 });
    c = new TestClients(cluster);
  });
  afterAll(async () => {
    c.close();
    await cluster.close();
  });

  it('collapses versions below the GC safe point once PD advances it', async () => {
    const kv = c.leaderKv(cluster.regionByKey('g'));
    const ctx = ctxFor(cluster.regionByKey('g'));
    for (const [start, value] of [
      [10n, 'old'],
      [20n, 'new'],
    ] as const) {
      await kv.kvPrewrite({
        context: ctx,
        mutations: [{ op: kvrpcpb.Op.Put, key: b('g'), value: b(value), assertion: 0 }],
        primaryLock: b('g'),
        startVersion: start,
      });
      await kv.kvCommit({ context: ctx, startVersion: start, keys: [b('g')], commitVersion: start + 1n });
    }
    expect(text((await kv.kvGet({ context: ctx, key: b('g'), version: 15n })).value)).toBe('old');
    const scope: pdpb.KeyspaceScope = { keyspace: { $case: 'keyspaceId', value: 0xffffffff } };
    await c.pd.advanceTxnSafePoint({ header: c.header(), keyspaceScope: scope, target: 25n });
    await c.pd.advanceGCSafePoint({ header: c.header(), keyspaceScope: scope, target: 25n });
    // A reader that skips its own safe-point check now reads wrong data, as on TiKV.
    expect((await kv.kvGet({ context: ctx, key: b('g'), version: 15n })).notFound).toBe(true);
    expect(text((await kv.kvGet({ context: ctx, key: b('g'), version: 30n })).value)).toBe('new');
    const info = await kv.mvccGetByKey({ context: ctx, key: b('g') });
    expect(info.info?.writes.map((w) => w.commitTs)).toEqual([21n]);
  });
});
