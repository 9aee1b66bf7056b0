import diagnostics from 'node:diagnostics_channel';
import { isTiKVError, nextKey, U64_MAX } from '@tikv/common';
import { LOCK_RESOLVE_CHANNEL, type LockResolveEvent, type TxnOracle } from '../src/index.js';
import { k, TxnTestCluster, t } from './txn-cluster.js';

let c: TxnTestCluster;
beforeAll(async () => {
  c = await TxnTestCluster.start();
});
afterAll(async () => {
  await c?.close();
});
afterEach(async () => {
  await c.resolver.whenIdle();
  c.sender.reset();
  c.cluster.clearFaults();
});

/** client-go `encodeKey(prefix, s08d("key", i))`. */
const rowKey = (prefix: string, i: number): Uint8Array => k(`${prefix}key${String(i).padStart(8, '0')}`);
const rowValue = (i: number): Uint8Array => k(`value${i}`);

/** Counts `resolveLocks` calls on the diagnostics channel (client-go's `SetMeetLockCallback`). */
function meetLocks(): { events: LockResolveEvent[]; stop: () => void } {
  const events: LockResolveEvent[] = [];
  const on = (e: unknown) => events.push(e as LockResolveEvent);
  diagnostics.subscribe(LOCK_RESOLVE_CHANNEL, on);
  return { events, stop: () => diagnostics.unsubscribe(LOCK_RESOLVE_CHANNEL, on) };
}

describe('snapshot_test.go', () => {
  const key = (name: string) => k(`~snapshot_${name}`);
  const rowNums = [1, 100, 191];

  test.each(rowNums)('TestBatchGet, TestBatchGetNotExist (rows=%i)', async (rowNum) => {
    const prefix = `~bg${rowNum}_`;
    const keys = Array.from({ length: rowNum }, (_, i) => rowKey(prefix, i));
    await c.put(keys.map((kk, i) => [kk, rowValue(i)]));
    const snap = c.snapshot(await c.ts());
    const withMissing = [...keys, key('noSuchKey')];
    const values = await snap.batchGet(withMissing);
    expect(values).toHaveLength(rowNum + 1);
    expect(values.slice(0, rowNum).map(t)).toEqual(keys.map((_, i) => `value${i}`));
    expect(values[rowNum]).toBeUndefined();
    // checkAll: a scan sees exactly the keys the batch get found.
    const scanned = await snap.scan(k(prefix), k(`${prefix}~`));
    expect(scanned.map((p) => t(p.key))).toEqual(keys.map(t));
    expect(scanned.map((p) => t(p.value))).toEqual(values.slice(0, rowNum).map(t));
  });

  test('TestSnapshotCache', async () => {
    const [x, y, a, b] = ['cache_x', 'cache_y', 'cache_a', 'cache_b'].map(key) as Uint8Array[];
    await c.put([
      [x!, k('x')],
      [y!, undefined],
      [a!, k('a')],
      [b!, undefined],
    ]);
    const snap = c.snapshot(await c.ts());
    await snap.batchGet([x!, y!]);
    await snap.get(a!);
    expect(await snap.get(b!)).toBeUndefined();
    c.sender.reset();
    const hits = snap.cacheHits;
    // Absent keys are cached too: nothing is sent.
    expect((await snap.batchGet([x!, y!])).map(t)).toEqual(['x', undefined]);
    expect(t(await snap.get(a!))).toBe('a');
    expect(await snap.get(b!)).toBeUndefined();
    expect(c.sender.requests).toHaveLength(0);
    expect(snap.cacheHits - hits).toBe(4);
    expect(snap.cacheSize).toBe(4);
    snap.cleanCache([a!]);
    expect(snap.cacheSize).toBe(3);
    expect(t(await snap.get(a!))).toBe('a');
    expect(c.sender.count('Get')).toBe(1);
  });

  test('TestSnapshotCacheBypassMaxUint64', async () => {
    const [x, y, z] = ['bypass_x', 'bypass_y', 'bypass_z'].map(key) as Uint8Array[];
    await c.put([
      [x!, k('x')],
      [y!, k('y')],
      [z!, k('z')],
    ]);
    const snap = c.snapshot(await c.ts());
    await snap.get(x!);
    await snap.batchGet([y!, z!]);
    expect(snap.cacheSize).toBe(3);
    const latest = c.snapshot(U64_MAX);
    expect(t(await latest.get(x!))).toBe('x');
    expect((await latest.batchGet([y!, z!])).map(t)).toEqual(['y', 'z']);
    expect(latest.cacheSize).toBe(0);
  });

  test('TestSkipLargeTxnLock', async () => {
    const x = key('x_TestSkipLargeTxnLock');
    const y = key('y_TestSkipLargeTxnLock');
    const { startTs } = await c.prewrite({
      mutations: [
        [x, k('x')],
        [y, k('y')],
      ],
      lockTtlMs: 3000,
    });
    // A reader is not blocked: it pushes the writer's min commit ts past its start ts.
    const readTs = await c.ts();
    const snap = c.snapshot(readTs);
    expect(await snap.get(x)).toBeUndefined();
    expect(await snap.batchGet([key('z_TestSkipLargeTxnLock')])).toEqual([undefined]);
    const status = await c.resolver.getTxnStatus(startTs, x);
    expect(status.action === 'MinCommitTSPushed' || status.ttlMs > 0n).toBe(true);
    // A commit below the pushed min commit ts is refused.
    await expect(c.commitKeys([x], startTs, startTs + 1n)).rejects.toMatchObject({
      code: 'COMMIT_TS_EXPIRED',
    });
    const commitTs = await c.ts();
    await c.commitKeys([x, y], startTs, commitTs);
    expect(commitTs).toBeGreaterThan(readTs);
  });

  test('TestPointGetSkipTxnLock', async () => {
    const x = key('x_key_TestPointGetSkipTxnLock');
    const y = key('y_key_TestPointGetSkipTxnLock');
    const { startTs } = await c.prewrite({
      mutations: [
        [x, k('x')],
        [y, k('y')],
      ],
      lockTtlMs: 3000,
    });
    // A read of the latest data is not blocked by the secondary's lock and reads the old data.
    expect(await c.snapshot(U64_MAX).get(y)).toBeUndefined();
    await c.commitKeys([x], startTs, await c.ts());
    // With the primary committed, the secondary's lock is read through.
    expect(t(await c.snapshot(U64_MAX).get(y))).toBe('y');
  });

  test('TestSnapshotThreadSafe', async () => {
    const kk = key('key_test_snapshot_threadsafe');
    const missing = key('key_not_exist');
    await c.put([[kk, k('x')]]);
    const snap = c.snapshot(U64_MAX);
    await Promise.all(
      Array.from({ length: 5 }, async () => {
        for (let i = 0; i < 30; i++) {
          expect(t(await snap.get(kk))).toBe('x');
          expect((await snap.batchGet([kk, missing])).map(t)).toEqual(['x', undefined]);
        }
      }),
    );
  });

  test('TestRCRead', async () => {
    const prefix = '~rc_';
    const keys = Array.from({ length: 10 }, (_, i) => rowKey(prefix, i));
    await c.put(keys.map((kk, i) => [kk, rowValue(i)]));
    const { startTs } = await c.prewrite({ mutations: [[keys[0]!, rowValue(1)]], lockTtlMs: 3000 });
    const meet = meetLocks();
    try {
      const snap = c.snapshot(await c.ts(), { isolationLevel: 'RC' });
      expect(t(await snap.get(keys[0]!))).toBe('value0');
      expect((await snap.batchGet(keys)).map(t)).toEqual(keys.map((_, i) => `value${i}`));
      expect((await snap.scan(k(prefix), k(`${prefix}~`))).map((p) => t(p.value))).toEqual(
        keys.map((_, i) => `value${i}`),
      );
      expect(meet.events).toHaveLength(0);
      // The same reads under SI meet the lock.
      expect(t(await c.snapshot(await c.ts()).get(keys[0]!))).toBe('value0');
      expect(meet.events).toHaveLength(1);
      expect(meet.events[0]?.lockTxns).toEqual([startTs]);
      expect(meet.events[0]?.resolvedLocks).toEqual([startTs]);
    } finally {
      meet.stop();
    }
  });
});

describe('scan_test.go', () => {
  const batch = 10;
  const makeKey = (i: number) => k(`~scan_prefix${String(i).padStart(10, ' ')}`);
  const makeValue = (i: number) => k(`${i}`);
  const recordPrefix = k('~scan_');

  test.each([1, batch, batch + 1, batch * 3])('TestScan (rows=%i)', async (rowNum) => {
    const cluster = await TxnTestCluster.start();
    try {
      await cluster.put(Array.from({ length: rowNum }, (_, i) => [makeKey(i), makeValue(i)]));
      if (rowNum > 12) cluster.split(t(makeKey(12)) as string);
      if (rowNum > 25) cluster.split(t(makeKey(25)) as string);
      const check = (pairs: { key: Uint8Array; value: Uint8Array }[], n: number, keyOnly: boolean) => {
        expect(pairs.map((p) => t(p.key))).toEqual(Array.from({ length: n }, (_, i) => t(makeKey(i))));
        if (!keyOnly)
          expect(pairs.map((p) => t(p.value))).toEqual(Array.from({ length: n }, (_, i) => `${i}`));
        else expect(pairs.every((p) => p.value.length === 0)).toBe(true);
      };
      const snap = cluster.snapshot(await cluster.ts(), { scanBatchSize: batch });
      expect(t(await snap.get(makeKey(0)))).toBe('0');
      check(await snap.scan(recordPrefix, new Uint8Array(0)), rowNum, false);
      const upper = Math.floor(rowNum / 2);
      check(await snap.scan(recordPrefix, makeKey(upper)), upper, false);

      const keyOnly = cluster.snapshot(await cluster.ts(), { scanBatchSize: batch, keyOnly: true });
      check(await keyOnly.scan(recordPrefix, new Uint8Array(0)), rowNum, true);
      check(await keyOnly.scan(recordPrefix, makeKey(upper)), upper, true);
      check(await keyOnly.scan(recordPrefix, new Uint8Array(0), { keyOnly: false }), rowNum, false);

      // RC reads do not meet the lock of a prewritten transaction.
      await cluster.prewrite({ mutations: [[makeKey(0), makeValue(1)]], lockTtlMs: 3000 });
      const meet = meetLocks();
      try {
        const rc = cluster.snapshot(await cluster.ts(), { scanBatchSize: batch, isolationLevel: 'RC' });
        check(await rc.scan(recordPrefix, new Uint8Array(0)), rowNum, false);
        expect(meet.events).toHaveLength(0);
      } finally {
        meet.stop();
      }
    } finally {
      await cluster.close();
    }
  });
});

describe('scan_mock_test.go', () => {
  const key = (name: string) => k(`~scan_mock${name}`);
  const alphabet = Array.from({ length: 26 }, (_, i) => String.fromCharCode(0x61 + i));

  beforeAll(async () => {
    await c.put(alphabet.map((ch) => [key(ch), k(ch)]));
    c.split(t(key('f')) as string, t(key('p')) as string);
  });

  test('TestScanMultipleRegions', async () => {
    const snap = c.snapshot(await c.ts(), { scanBatchSize: 10 });
    expect((await snap.scan(key('a'), k('~scan_mock~'))).map((p) => t(p.value))).toEqual(alphabet);
    expect((await snap.scan(key('a'), key('i'))).map((p) => t(p.value))).toEqual(alphabet.slice(0, 8));
  });

  test('TestReverseScan', async () => {
    const snap = c.snapshot(await c.ts(), { scanBatchSize: 10 });
    expect((await snap.scan(k('~scan_mock'), key('z'), { reverse: true })).map((p) => t(p.value))).toEqual(
      alphabet.slice(0, 25).reverse(),
    );
    expect((await snap.scan(key('a'), key('i'), { reverse: true })).map((p) => t(p.value))).toEqual(
      alphabet.slice(0, 8).reverse(),
    );
    // Unbounded above: from the last region down.
    const all = await snap.scan(key('a'), new Uint8Array(0), { reverse: true, limit: 3 });
    expect(all.map((p) => t(p.key)).at(-1) !== undefined).toBe(true);
    expect(all).toHaveLength(3);
  });

  test('limit and break stop the reads', async () => {
    const snap = c.snapshot(await c.ts(), { scanBatchSize: 4 });
    c.sender.reset();
    expect((await snap.scan(key('a'), k('~scan_mock~'), { limit: 5 })).map((p) => t(p.value))).toEqual(
      alphabet.slice(0, 5),
    );
    // One page of 4, then one of the 1 still wanted.
    expect(c.sender.sent('Scan').map((s) => s.request.value.limit)).toEqual([4, 1]);
    c.sender.reset();
    const seen: string[] = [];
    for await (const p of snap.scanIter(key('a'), k('~scan_mock~'))) {
      seen.push(t(p.value) as string);
      if (seen.length === 6) break;
    }
    expect(seen).toEqual(alphabet.slice(0, 6));
    // a-d (a full page), e (the rest of the first region), f-i: then the loop broke.
    expect(c.sender.count('Scan')).toBe(3);
  });
});

describe('snapshot_fail_test.go', () => {
  const key = (name: string) => k(`~snapshot_fail_${name}`);

  test('TestBatchGetResponseKeyError', async () => {
    await c.put([
      [key('k1'), k('v1')],
      [key('k2'), k('v2')],
    ]);
    // A response-level lock error (client-go's failpoint rpcBatchGetResult): resolved, then the
    // whole batch is read again.
    const fault = c.cluster.inject({
      method: 'KvBatchGet',
      times: 1,
      error: {
        keyError: {
          locked: { key: key('k1'), primaryLock: key('k1'), lockVersion: 1n, lockTtl: 0n, lockType: 0 },
        },
      },
    });
    const snap = c.snapshot(await c.ts());
    expect((await snap.batchGet([key('k1'), key('k2')])).map(t)).toEqual(['v1', 'v2']);
    expect(fault.hits).toBe(1);
    expect(c.sender.count('BatchGet')).toBe(2);
  });

  test('TestScanResponseKeyError', async () => {
    const [k1, k2, k3] = [key('s1'), key('s2'), key('s3')] as [Uint8Array, Uint8Array, Uint8Array];
    await c.put([
      [k1, k('v1')],
      [k2, k('v2')],
      [k3, k('v3')],
    ]);
    const locked = { key: k1, primaryLock: k1, lockVersion: 1n, lockTtl: 0n, lockType: 0 };
    c.cluster.inject({ method: 'KvScan', times: 1, error: { keyError: { locked } } });
    let snap = c.snapshot(await c.ts());
    expect((await snap.scan(key('s'), key('sz'))).map((p) => t(p.value))).toEqual(['v1', 'v2', 'v3']);
    c.cluster.inject({ method: 'KvScan', times: 1, error: { keyError: { locked } } });
    snap = c.snapshot(await c.ts());
    expect((await snap.scan(k2, key('s4'))).map((p) => t(p.value))).toEqual(['v2', 'v3']);
  });

  test('TestRetryMaxTsPointGetSkipLock', async () => {
    const [k1, k2] = [key('mk1'), key('mk2')] as [Uint8Array, Uint8Array];
    // An async-commit transaction that crashed after prewrite, its locks expired.
    await c.prewrite({
      mutations: [
        [k1, k('v1')],
        [k2, k('v2')],
      ],
      asyncCommit: true,
      lockTtlMs: 1,
      startTs: c.pastTs(1000),
    });
    const snap = c.snapshot(U64_MAX);
    // The first read resolves the expired locks (committing the transaction); before it retries,
    // a second transaction locks the key: the read of the latest data must not wait for it.
    let relocked = false;
    c.sender.afterResponse = async (req) => {
      if (req.$case !== 'ResolveLock' || relocked) return;
      relocked = true;
      await c.prewrite({
        mutations: [
          [k1, k('v3')],
          [k2, k('v4')],
        ],
        asyncCommit: true,
        lockTtlMs: 20_000,
      });
    };
    expect(t(await snap.get(k2))).toBe('v2');
    expect(relocked).toBe(true);
    c.sender.afterResponse = undefined;
    await c.resolver.resolveLocks(c.bo(), {
      callerStartTs: 0n,
      locks: [{ ...(await c.getLock(k2))!, lockTtlMs: 0n }],
    });
  });

  test('TestResetSnapshotTS', async () => {
    const x = key('x_key_TestResetSnapshotTS');
    const y = key('y_key_TestResetSnapshotTS');
    await c.put([
      [x, k('x0')],
      [y, k('y0')],
    ]);
    const { startTs } = await c.prewrite({
      mutations: [
        [x, k('x1')],
        [y, k('y1')],
      ],
      lockTtlMs: 3000,
    });
    const snap = c.snapshot(await c.ts());
    expect(t(await snap.get(y))).toBe('y0');
    // Only the primary x commits.
    const commitTs = await c.ts();
    await c.commitKeys([x], startTs, commitTs);
    // At the new ts the ignorable-lock list is dropped: y's lock is checked again and read through.
    snap.setTs(commitTs);
    expect(t(await snap.get(y))).toBe('y1');
  });

  test.each([false, true])('TestSnapshotUseResolveForRead (asyncCommit=%s)', async (asyncCommit) => {
    const x = key(`x_key_TestSnapshotUseResolveForRead_${asyncCommit}`);
    const y = key(`y_key_TestSnapshotUseResolveForRead_${asyncCommit}`);
    const { startTs } = await c.prewrite({
      mutations: [
        [x, k('x')],
        [y, k('y')],
      ],
      asyncCommit,
      lockTtlMs: asyncCommit ? 1 : 3000,
      startTs: asyncCommit ? c.pastTs(1000) : undefined,
    });
    if (!asyncCommit) await c.commitKeys([x], startTs, await c.ts());
    expect(await c.getLock(y)).toBeDefined();
    // The cleanup's answers are held back (client-go's failpoint sleeps in resolveLock): the
    // read must not wait for them.
    let release = (): void => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    c.sender.afterResponse = (req) => (req.$case === 'ResolveLock' ? gate : undefined);
    expect(t(await c.snapshot(await c.ts()).get(y))).toBe('y');
    expect(c.resolver.backgroundResolves).toBeGreaterThan(0);
    release();
    await c.resolver.whenIdle();
    expect(await c.getLock(y)).toBeUndefined();

    const z = key(`z_key_TestSnapshotUseResolveForRead_${asyncCommit}`);
    const w = key(`w_key_TestSnapshotUseResolveForRead_${asyncCommit}`);
    const second = await c.prewrite({
      mutations: [
        [w, k('w')],
        [z, k('z')],
      ],
      asyncCommit,
      lockTtlMs: asyncCommit ? 1 : 3000,
      startTs: asyncCommit ? c.pastTs(1000) : undefined,
    });
    if (!asyncCommit) await c.commitKeys([w], second.startTs, await c.ts());
    let release2 = (): void => {};
    const gate2 = new Promise<void>((r) => {
      release2 = r;
    });
    c.sender.afterResponse = (req) => (req.$case === 'ResolveLock' ? gate2 : undefined);
    expect((await c.snapshot(await c.ts()).batchGet([z])).map(t)).toEqual(['z']);
    expect(c.resolver.backgroundResolves).toBeGreaterThan(0);
    release2();
    await c.resolver.whenIdle();
    expect(await c.getLock(z)).toBeUndefined();
  });
});

describe('Snapshot', () => {
  const key = (name: string) => k(`~snap_${name}`);

  test('a live lock is waited for with txnLockFast backoffs, and the wait ends with the budget', async () => {
    const kk = key('live');
    // An async-commit lock cannot be pushed: the reader has to wait for it.
    await c.prewrite({ mutations: [[kk, k('v')]], asyncCommit: true, lockTtlMs: 20_000 });
    const snap = c.snapshot(await c.ts());
    const kinds: string[] = [];
    const on = (e: unknown) => kinds.push((e as { kind: string }).kind);
    diagnostics.subscribe('tikv:backoff', on);
    let err: unknown;
    try {
      err = await snap.get(kk, { timeoutMs: 300 }).catch((e: unknown) => e);
    } finally {
      diagnostics.unsubscribe('tikv:backoff', on);
    }
    expect(isTiKVError(err, 'DEADLINE_EXCEEDED')).toBe(true);
    expect(kinds.length).toBeGreaterThan(0);
    expect(kinds.every((kind) => kind === 'txnLockFast')).toBe(true);
    await c.resolver.resolveLocks(c.bo(), {
      callerStartTs: 0n,
      locks: [{ ...(await c.getLock(kk))!, lockTtlMs: 0n }],
    });
  });

  test('an aborted read rejects with the signal reason', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    const snap = c.snapshot(await c.ts());
    await expect(snap.get(key('a'), { signal: ac.signal })).rejects.toThrow('stop');
    await expect(snap.batchGet([key('a')], { signal: ac.signal })).rejects.toThrow('stop');
    await expect(snap.scan(key('a'), key('b'), { signal: ac.signal })).rejects.toThrow('stop');
  });

  test('a future read ts is refused (FUTURE_TS_READ), once validated it is not asked again', async () => {
    const future = (await c.ts()) + (1000n << 18n);
    const err = await c
      .snapshot(future)
      .get(key('a'))
      .catch((e: unknown) => e);
    expect(isTiKVError(err, 'FUTURE_TS_READ')).toBe(true);
    let calls = 0;
    const oracle: TxnOracle = {
      ...c.oracle,
      validateReadTs: async (...args) => {
        calls++;
        return c.oracle.validateReadTs(...args);
      },
    };
    const { Snapshot } = await import('../src/index.js');
    const snap = new Snapshot({ executor: c.exec, oracle, lockResolver: c.resolver }, await c.ts());
    await snap.get(key('a'));
    await snap.batchGet([key('b')]);
    await snap.scan(key('a'), key('c'));
    expect(calls).toBe(1);
  });

  test('TestRegionRequestValidateReadTS: reads at a future ts are refused, normal and stale; the max ts only for a normal read', async () => {
    const minute = 60_000n << 18n;
    const read = async (ts: bigint, staleRead: boolean): Promise<unknown> =>
      c
        .snapshot(ts, { staleRead })
        .get(key('validate_read_ts'), { timeoutMs: 10_000 })
        .then(() => undefined)
        .catch((e: unknown) => e);
    for (const staleRead of [false, true]) {
      expect(await read(await c.ts(), staleRead)).toBeUndefined();
      expect(await read((await c.ts()) - minute, staleRead)).toBeUndefined();
      expect(isTiKVError(await read((await c.ts()) + minute, staleRead), 'FUTURE_TS_READ')).toBe(true);
    }
    expect(await read(U64_MAX, false)).toBeUndefined();
    // client-go ErrLatestStaleRead: the latest data cannot be read stale.
    expect(await read(U64_MAX, true)).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  test('a replica read adjuster picks the replica read and labels of each Get and BatchGet by key count', async () => {
    const [a, b] = [key('adjust_a'), key('adjust_b')] as [Uint8Array, Uint8Array];
    await c.put([
      [a, k('a')],
      [b, k('b')],
    ]);
    const counts: number[] = [];
    const labels = [{ key: 'zone', value: 'z2' }];
    const replicaReadAdjuster = (n: number) => {
      counts.push(n);
      return n > 1
        ? { replicaRead: 'follower' as const, matchStoreLabels: labels }
        : { replicaRead: 'leader' as const };
    };
    const ts = await c.ts();
    const snap = c.snapshot(ts, { replicaRead: 'mixed', replicaReadAdjuster, maxCacheBytes: 0 });
    c.sender.reset();
    expect(t(await snap.get(a))).toBe('a');
    expect((await snap.batchGet([a, b])).map(t)).toEqual(['a', 'b']);
    expect((await snap.scan(a, nextKey(b))).map((p) => t(p.value))).toEqual(['a', 'b']);
    expect(counts).toEqual([1, 2]);
    const seen = c.sender.requests.map((r) => [
      r.request.$case,
      r.options?.replicaRead,
      r.options?.matchStoreLabels,
    ]);
    expect(seen).toEqual([
      ['Get', 'leader', undefined],
      ['BatchGet', 'follower', labels],
      ['Scan', 'mixed', undefined],
    ]);
    // Leader reads and stale reads keep their settings: the adjuster is not asked.
    await c.snapshot(ts, { replicaReadAdjuster }).get(a);
    await c.snapshot(ts, { staleRead: true, replicaReadAdjuster }).get(a);
    expect(counts).toEqual([1, 2]);
    expect(() => c.snapshot(ts, { replicaReadAdjuster: 'closest' as never })).toThrow(/replicaReadAdjuster/);
  });

  test('input checks', async () => {
    expect(() => c.snapshot(-1n)).toThrow(/ts/);
    expect(() => c.snapshot(1n << 63n)).toThrow(/too large/);
    expect(() => c.snapshot(1n, { scanBatchSize: 0 })).toThrow(/scanBatchSize/);
    expect(() => c.snapshot(1n, { staleRead: true, replicaRead: 'follower' })).toThrow(/staleRead/);
    expect(() => c.snapshot(1n, { resourceGroupTagger: 'tag' as never })).toThrow(/resourceGroupTagger/);
    const snap = c.snapshot(await c.ts());
    await expect(snap.get(new Uint8Array(0))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(() => snap.scanIter(key('b'), key('a'))).toThrow(/lower/);
    expect(() => snap.scanIter(key('a'), key('b'), { limit: 0 })).toThrow(/limit/);
    expect(snap.options.scanBatchSize).toBe(256);
    expect(snap.options.batchGetSize).toBe(5120);
  });

  test('batchGet: repeated keys, batches cut at batchGetSize, values aligned', async () => {
    const keys = Array.from({ length: 7 }, (_, i) => key(`bg_${i}`));
    await c.put(keys.map((kk, i) => [kk, rowValue(i)]));
    const snap = c.snapshot(await c.ts(), { batchGetSize: 3, maxCacheBytes: 0 });
    c.sender.reset();
    const asked = [keys[6]!, keys[0]!, keys[6]!, key('bg_none'), ...keys.slice(1, 6)];
    expect((await snap.batchGet(asked)).map(t)).toEqual([
      'value6',
      'value0',
      'value6',
      undefined,
      'value1',
      'value2',
      'value3',
      'value4',
      'value5',
    ]);
    expect(c.sender.sent('BatchGet').map((s) => s.request.value.keys.length)).toEqual([3, 3, 2]);
    expect(snap.cacheSize).toBe(0);
  });

  test('reads carry the options to the request context', async () => {
    const snap = c.snapshot(await c.ts(), {
      priority: 'high',
      notFillCache: true,
      requestSource: 'test_source',
      resourceGroupName: 'rg1',
    });
    const seen: unknown[] = [];
    const on = (ctx: unknown) => seen.push(ctx);
    const tracing = diagnostics.tracingChannel('tikv:rpc');
    const handlers = { start: on, end: () => {}, asyncStart: () => {}, asyncEnd: () => {}, error: () => {} };
    tracing.subscribe(handlers);
    try {
      await snap.get(key('ctx'));
    } finally {
      tracing.unsubscribe(handlers);
    }
    const get = seen
      .map((e) => (e as { request: { $case: string; value: { context: Record<string, unknown> } } }).request)
      .find((r) => r.$case === 'Get');
    expect(get?.value.context).toMatchObject({ priority: 2, notFillCache: true });
    expect(String(get?.value.context.requestSource)).toContain('test_source');
    expect(get?.value.context.resourceControlContext).toMatchObject({ resourceGroupName: 'rg1' });
  });

  test('resolved and committed lock lists ride on the retries (Context.resolved_locks / committed_locks)', async () => {
    const a = key('lists_a');
    const b = key('lists_b');
    // a: pushed (live 2PC lock); b: committed primary, secondary still locked.
    const live = await c.prewrite({ mutations: [[a, k('a')]], lockTtlMs: 20_000 });
    const done = await c.prewrite({
      mutations: [
        [key('lists_b_primary'), k('p')],
        [b, k('b')],
      ],
    });
    await c.commitKeys([key('lists_b_primary')], done.startTs, await c.ts());
    const snap = c.snapshot(await c.ts());
    c.sender.reset();
    expect((await snap.batchGet([a, b])).map(t)).toEqual([undefined, 'b']);
    const retries = c.sender.sent('BatchGet');
    expect(retries).toHaveLength(2);
    expect(retries[1]?.request.value.context?.resolvedLocks).toEqual([live.startTs]);
    expect(retries[1]?.request.value.context?.committedLocks).toEqual([done.startTs]);
    // The next read sends them from the start.
    c.sender.reset();
    expect(await snap.get(nextKey(a))).toBeUndefined();
    expect(c.sender.sent('Get')[0]?.request.value.context?.resolvedLocks).toEqual([live.startTs]);
    await c.resolver.resolveLocks(c.bo(), {
      callerStartTs: 0n,
      locks: [{ ...(await c.getLock(a))!, lockTtlMs: 0n }],
    });
  });

  test('region errors during a batch get and a scan are retried on the new regions', async () => {
    const keys = ['re_a', 're_m', 're_z'].map(key);
    await c.put(keys.map((kk, i) => [kk, rowValue(i)]));
    const snap = c.snapshot(await c.ts(), { maxCacheBytes: 0 });
    c.split('~snap_re_f', '~snap_re_q');
    expect((await snap.batchGet(keys)).map(t)).toEqual(['value0', 'value1', 'value2']);
    c.split('~snap_re_n');
    expect((await snap.scan(key('re_'), key('re_~'))).map((p) => t(p.value))).toEqual([
      'value0',
      'value1',
      'value2',
    ]);
    expect((await snap.scan(key('re_'), key('re_~'), { reverse: true })).map((p) => t(p.value))).toEqual([
      'value2',
      'value1',
      'value0',
    ]);
    c.cluster.inject({ method: 'KvGet', times: 1, error: 'NotLeader' });
    expect(t(await snap.get(keys[1]!))).toBe('value1');
  });

  test('a scan resolves the lock of a pair (read again by a point get)', async () => {
    const a = key('pl_a');
    const b = key('pl_b');
    await c.put([
      [a, k('a0')],
      [b, k('b0')],
    ]);
    const { startTs } = await c.prewrite({
      mutations: [
        [key('pl_p'), k('p')],
        [b, undefined],
      ],
    });
    await c.commitKeys([key('pl_p')], startTs, await c.ts());
    const snap = c.snapshot(await c.ts());
    expect((await snap.scan(key('pl_a'), key('pl_c'))).map((p) => t(p.value))).toEqual(['a0']);
    expect((await snap.scan(key('pl_a'), key('pl_c'), { keyOnly: true })).map((p) => t(p.key))).toEqual([
      t(a),
    ]);
  });
});
