// Port of client-go integration_tests/snapshot_test.go through the public API: batch reads
// against a scan of the same keys and with absent keys (TestBatchGet, TestBatchGetNotExist), the
// snapshot's read cache (client-go's "snapshot-get-cache-fail" failpoint becomes, on the embedded
// cluster, reads that fail at TiKV while the cache still answers), read-committed reads that never
// meet a lock, the maximum-ts snapshot that caches nothing, live locks a reader pushes or reads
// past (TestSkipLargeTxnLock, TestPointGetSkipTxnLock), and concurrent reads of one snapshot.
// client-go leaves `rowNums` empty in this suite; here the client sends at most 64 keys per
// BatchGet request and the rows are 1, 64, 65 and 300 keys, over several regions where the target
// can split.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { LOCK_RESOLVE_CHANNEL, type LockResolveEvent, TwoPhaseCommitter } from '@tikv/txn';
import {
  embedded,
  embeddedTest,
  SLOW_TEST_MS,
  s08d,
  startTxnEnv,
  type TxnEnv,
  text,
  txnModes,
  valueBytes,
} from './txn-env.js';

const batchGetSize = 64;
const rowNums = [1, batchGetSize, batchGetSize + 1, 300];

describe.each(txnModes())('snapshot_test.go (%s)', (_, mode) => {
  let env: TxnEnv;
  beforeAll(async () => {
    env = await startTxnEnv(mode, 'snapshot', { tuning: { snapshot: { batchGetSize } } });
    if (embedded) env.split([env.key(s08d('rows/key', 50)), env.key(s08d('rows/key', 200))]);
  });
  afterAll(async () => {
    await env?.close();
  });

  const rowKey = (i: number) => env.key(s08d('rows/key', i));
  const makeKeys = (n: number) => Array.from({ length: n }, (_, i) => rowKey(i));

  async function putRows(n: number): Promise<Uint8Array[]> {
    const txn = await env.client.begin();
    for (let i = 0; i < n; i++) txn.put(rowKey(i), valueBytes(i));
    await txn.commit();
    return makeKeys(n);
  }

  /** client-go `checkAll`: a batch read of `keys` agrees with a scan of the rows. */
  async function checkAll(keys: Uint8Array[]): Promise<void> {
    const txn = await env.client.begin();
    const values = await txn.snapshot.batchGet(keys);
    const byKey = new Map(keys.map((k, i) => [Buffer.from(k).toString('latin1'), values[i]]));
    const rows = await txn.scan(env.key('rows/'), env.key('rows0'));
    for (const p of rows) {
      const k = Buffer.from(p.key).toString('latin1');
      expect(byKey.has(k)).toBe(true);
      expect(text(byKey.get(k))).toBe(text(p.value));
    }
    expect(values.filter((v) => v !== undefined)).toHaveLength(rows.length);
    await txn.commit();
  }

  async function deleteKeys(keys: Uint8Array[]): Promise<void> {
    const txn = await env.client.begin();
    for (const k of keys) txn.delete(k);
    await txn.commit();
  }

  test(
    'TestBatchGet',
    async () => {
      for (const n of rowNums) {
        const keys = await putRows(n);
        await checkAll(keys);
        await deleteKeys(keys);
      }
    },
    SLOW_TEST_MS,
  );

  test(
    'TestBatchGetNotExist',
    async () => {
      for (const n of rowNums) {
        const keys = [...(await putRows(n)), env.key('noSuchKey')];
        await checkAll(keys);
        await deleteKeys(keys);
      }
    },
    SLOW_TEST_MS,
  );

  test('TestSnapshotCache', async () => {
    const [x, y, a, b] = ['cache_x', 'cache_y', 'cache_a', 'cache_b'].map((s) => env.key(s)) as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
    const writer = await env.client.begin();
    writer.put(x, 'x');
    writer.delete(y); // a delete is cached too
    writer.put(a, 'a');
    writer.delete(b);
    const commitTs = await writer.commit();

    const txn = await env.client.begin();
    const snapshot = txn.snapshot;
    expect((await snapshot.batchGet([x, y])).map(text)).toEqual(['x', undefined]);
    expect(text(await snapshot.get(a))).toBe('a');
    expect(await snapshot.get(b)).toBeUndefined();
    expect(snapshot.cacheSize).toBe(4);
    expect(snapshot.cacheHits).toBe(0);

    // Reads TiKV would now fail are answered by the cache.
    const failing = [
      env.target.mock?.inject({
        method: 'KvGet',
        times: Number.POSITIVE_INFINITY,
        error: 'RaftEntryTooLarge',
      }),
      env.target.mock?.inject({
        method: 'KvBatchGet',
        times: Number.POSITIVE_INFINITY,
        error: 'RaftEntryTooLarge',
      }),
    ];
    try {
      expect((await snapshot.batchGet([x, y])).map(text)).toEqual(['x', undefined]);
      expect(text(await snapshot.get(a))).toBe('a');
      expect(await snapshot.get(b)).toBeUndefined();
      expect(snapshot.cacheHits).toBe(4);
      if (embedded) {
        await expect(snapshot.get(env.key('cache_not_cached'))).rejects.toMatchObject({
          code: 'REGION_ERROR',
        });
        expect(failing.map((f) => f?.hits)).toEqual([1, 0]);
      }
    } finally {
      for (const f of failing) f?.clear();
    }

    // Reads asking for the commit ts: the values cached without one are read again (the absent
    // keys the cache holds answer as they are), and the cache keeps the commit ts from then on.
    for (const cacheOnly of [false, true]) {
      const hits = snapshot.cacheHits;
      const faults = cacheOnly
        ? (['KvGet', 'KvBatchGet'] as const).map((method) =>
            env.target.mock?.inject({ method, times: Number.POSITIVE_INFINITY, error: 'RaftEntryTooLarge' }),
          )
        : [];
      try {
        const entries = await snapshot.batchGetEntries([x, y]);
        expect(entries.map((e) => (e === undefined ? undefined : [text(e.value), e.commitTs]))).toEqual([
          ['x', commitTs],
          undefined,
        ]);
        const entry = await snapshot.getEntry(a);
        expect([text(entry?.value), entry?.commitTs]).toEqual(['a', commitTs]);
        expect(await snapshot.getEntry(b)).toBeUndefined();
        // The second round is the cache's alone; the first reads x and a again.
        expect(snapshot.cacheHits - hits).toBe(cacheOnly ? 4 : 2);
      } finally {
        for (const f of faults) f?.clear();
      }
    }
    await txn.rollback();
  });

  test('TestRCRead: a read-committed snapshot reads past a live lock without meeting it', async () => {
    const met: LockResolveEvent[] = [];
    const onResolve = (e: unknown) => {
      if ((e as LockResolveEvent).lockCount > 0) met.push(e as LockResolveEvent);
    };
    subscribe(LOCK_RESOLVE_CHANNEL, onResolve);
    try {
      for (const n of [1, 100]) {
        const keys = await putRows(n);
        const writer = await env.client.begin();
        writer.put(rowKey(0), valueBytes(1));
        const committer = new TwoPhaseCommitter(env.client.parts, writer.memBuffer, {
          startTs: writer.startTs,
          lockResolver: env.client.lockResolver,
        });
        await committer.prewrite();
        try {
          const rc = await env.client.begin({ isolation: 'RC' });
          expect(text(await rc.get(rowKey(0)))).toBe(valueBytes(0));
          expect((await rc.batchGet(keys)).map(text)).toEqual(keys.map((_, i) => valueBytes(i)));
          expect(met).toEqual([]);
          await rc.rollback();
        } finally {
          await committer.rollback();
          committer.close();
        }
        await deleteKeys(keys);
      }
    } finally {
      unsubscribe(LOCK_RESOLVE_CHANNEL, onResolve);
    }
  });

  test('TestSnapshotCacheBypassMaxUint64', async () => {
    const [x, y, z] = ['bypass_x', 'bypass_y', 'bypass_z'].map((s) => env.key(s)) as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
    const txn = await env.client.begin();
    txn.put(x, 'x');
    txn.put(y, 'y');
    txn.put(z, 'z');
    await txn.commit();
    // A snapshot below the maximum ts caches what it reads.
    let snapshot = env.client.snapshot(await env.client.currentTimestamp());
    await snapshot.get(x);
    await snapshot.batchGet([y, z]);
    expect(snapshot.cacheSize).toBe(3);
    // A snapshot at the maximum ts reads the latest data each time, and caches nothing.
    snapshot = env.client.snapshot();
    expect(text(await snapshot.get(x))).toBe('x');
    expect((await snapshot.batchGet([y, z])).map(text)).toEqual(['y', 'z']);
    expect(snapshot.cacheSize).toBe(0);
    const later = await env.client.begin();
    later.put(x, 'x2');
    await later.commit();
    expect(text(await snapshot.get(x))).toBe('x2');
  });

  /** Prewrites `x` and `y` (primary `x`) with the public committer and leaves them locked. */
  async function prewriteXY(x: Uint8Array, y: Uint8Array) {
    const txn = await env.client.begin();
    txn.put(x, 'x');
    txn.put(y, 'y');
    const committer = new TwoPhaseCommitter(env.client.parts, txn.memBuffer, {
      startTs: txn.startTs,
      lockResolver: env.client.lockResolver,
      primaryKey: x,
    });
    await committer.prewrite();
    return { txn, committer };
  }

  test('TestSkipLargeTxnLock: a reader pushes a live lock instead of waiting; the commit ts moves past it', async () => {
    const [x, y, z] = ['x_TestSkipLargeTxnLock', 'y_TestSkipLargeTxnLock', 'z'].map((s) => env.key(s)) as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
    const { txn, committer } = await prewriteXY(x, y);
    try {
      const txn1 = await env.client.begin();
      expect(await txn1.get(x)).toBeUndefined();
      expect(await txn1.batchGet([z])).toEqual([undefined]);
      // A commit at start ts + 1 is below the pushed min commit ts: the committer takes a new one.
      const result = await committer.commit(txn.startTs + 1n);
      await result.background;
      expect(committer.commitTs).toBeGreaterThan(txn1.startTs);
      expect(text(await env.client.snapshot(committer.commitTs).get(y))).toBe('y');
      expect(await env.client.snapshot(txn1.startTs).get(y)).toBeUndefined();
      await txn1.rollback();
    } finally {
      committer.close();
      await txn.rollback();
    }
  });

  test('TestPointGetSkipTxnLock: a max-ts point get of a secondary reads past its lock', async () => {
    const [x, y] = ['x_key_TestPointGetSkipTxnLock', 'y_key_TestPointGetSkipTxnLock'].map((s) =>
      env.key(s),
    ) as [Uint8Array, Uint8Array];
    const { txn, committer } = await prewriteXY(x, y);
    try {
      expect(committer.primaryKey).toEqual(x);
      expect(await env.client.snapshot().get(y)).toBeUndefined();
      const result = await committer.commit(txn.startTs + 1n);
      await result.background;
      expect(text(await env.client.snapshot().get(y))).toBe('y');
    } finally {
      committer.close();
      await txn.rollback();
    }
  });

  test('TestSnapshotThreadSafe: concurrent reads through one snapshot', async () => {
    const key = env.key('key_test_snapshot_threadsafe');
    const notExistKey = env.key('key_not_exist');
    const txn = await env.client.begin();
    txn.put(key, 'x');
    await txn.commit();
    await txn.whenCommitSettled();
    const snapshots = [env.client.snapshot(), await env.freshSnapshot()];
    for (const snapshot of snapshots) {
      await Promise.all(
        Array.from({ length: 5 }, async () => {
          for (let i = 0; i < 30; i++) {
            expect(text(await snapshot.get(key))).toBe('x');
            expect((await snapshot.batchGet([key, notExistKey])).map(text)).toEqual(['x', undefined]);
          }
        }),
      );
    }
  });

  embeddedTest('reads cross region boundaries and leader moves (embedded)', async () => {
    const keys = await putRows(200);
    const mock = env.target.mock;
    for (const r of mock?.regions() ?? []) {
      const other = r.peers.find((p) => p.storeId !== r.leader.storeId);
      if (other !== undefined) mock?.transferLeader(r.id, other.storeId);
    }
    const snap = await env.freshSnapshot();
    expect((await snap.batchGet(keys)).map(text)).toEqual(keys.map((_, i) => valueBytes(i)));
    await deleteKeys(keys);
  });
});
