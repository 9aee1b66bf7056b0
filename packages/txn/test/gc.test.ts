import { Backoffer, isTiKVError, ManualClock } from '@tikv/common';
import { keyspacePrefix } from '@tikv/mock-cluster';
import { kvrpcpb } from '@tikv/proto';
import {
  BaseRegionLockResolver,
  type GcProgress,
  type GcStatesApi,
  GcWorker,
  gcKeyspaceIdOf,
  NULL_KEYSPACE_ID,
  resolveLocksForRange,
  TxnAbortedByGcError,
  TxnSafePointCache,
} from '../src/index.js';
import { k, TxnTestCluster, t } from './txn-cluster.js';

/** The GC states API of a test cluster's GC scope. */
function gcStatesOf(c: TxnTestCluster): GcStatesApi {
  return c.conn.pd.gcStates(gcKeyspaceIdOf(c.conn.codec.keyspaceMeta));
}

/** Every version of a key (client-go `MvccGetByKey`), after the store's GC caught up. */
async function mvccOf(c: TxnTestCluster, key: Uint8Array): Promise<kvrpcpb.MvccInfo | undefined> {
  const { response } = await c.exec.sendToKey(c.bo(), key, () => ({
    $case: 'MvccGetByKey' as const,
    value: kvrpcpb.MvccGetByKeyRequest.fromPartial({ key }),
  }));
  return response.value.info;
}

describe.each([
  ['API V1', undefined],
  ['API V2', 'gc_ks'],
])('GC (client-go KVStore.GC, gc_test.go) in %s', (_name, keyspace) => {
  let c: TxnTestCluster;
  beforeEach(async () => {
    c = await TxnTestCluster.start({ keyspace, mock: { stores: 2 } });
    c.split('g_b', 'g_d', 'g_f');
  });
  afterEach(async () => {
    await c?.close();
  });

  it('gc end to end: old versions gone, newest intact, locks below the safe point resolved, reads below refused', async () => {
    const keys = ['g_a', 'g_c', 'g_e', 'g_g'].map(k);
    // Three committed versions of every key.
    for (let v = 1; v <= 3; v++) await c.put(keys.map((key) => [key, k(`v${v}`)] as const));
    // An abandoned transaction below the safe point (its client died after prewrite), spanning regions.
    const abandoned = await c.prewrite({
      mutations: [
        [k('g_lock1'), k('x')],
        [k('g_lock2'), k('y')],
        [k('g_z'), k('z')],
      ],
      lockTtlMs: 3_600_000,
    });
    // An abandoned transaction whose primary committed: its secondary must be committed by GC.
    const half = await c.prewrite({
      mutations: [
        [k('g_h1'), k('h1')],
        [k('g_h2'), k('h2')],
      ],
    });
    const halfCommit = await c.ts();
    await c.commitKeys([k('g_h1')], half.startTs, halfCommit);
    const safePoint = await c.ts();
    // A lock above the safe point is left alone.
    const young = await c.prewrite({ mutations: [[k('g_young'), k('y')]], lockTtlMs: 3_600_000 });
    expect(young.startTs).toBeGreaterThan(safePoint);

    const cache = new TxnSafePointCache({ gcStates: gcStatesOf(c) });
    await cache.start();
    const progress: GcProgress[] = [];
    const worker = new GcWorker({
      executor: c.exec,
      lockResolver: c.resolver,
      gcStates: gcStatesOf(c),
      safePointCache: cache,
    });
    const result = await worker.gcWithStats(safePoint, {
      concurrency: 2,
      onProgress: (p) => progress.push(p),
    });
    await cache.close();
    expect(result.newSafePoint).toBe(safePoint);
    expect(result.blockerDescription).toBe('');
    expect(result.resolvedLocks).toBe(4);
    expect(result.completedRegions).toBeGreaterThanOrEqual(4);
    expect(progress.at(-1)?.completedRegions).toBe(result.completedRegions);
    const state = await worker.getGcState();
    expect(state).toMatchObject({ txnSafePoint: safePoint, gcSafePoint: safePoint });

    // No lock at or below the safe point is left; the young one is.
    expect(await c.scanLocks(k('g_'), k('g_~'), safePoint)).toEqual([]);
    expect((await c.scanLocks(k('g_'), k('g_~'))).map((l) => t(l.key))).toEqual(['g_young']);
    // The abandoned transaction rolled back, the half-committed one committed.
    expect(await c.read(k('g_lock1'))).toBeUndefined();
    expect(await c.read(k('g_z'))).toBeUndefined();
    expect(await c.read(k('g_h2'))).toBe('h2');
    expect(abandoned.startTs).toBeLessThan(safePoint);

    // Old versions are gone from MVCC, the newest one below the safe point stays.
    for (const key of keys) {
      const info = await mvccOf(c, key);
      const puts = (info?.writes ?? []).filter((w) => w.type === kvrpcpb.Op.Put);
      expect(puts).toHaveLength(1);
      expect(await c.read(key)).toBe('v3');
    }

    // A read below the txn safe point is refused.
    expect(() => cache.checkVisibility(safePoint - 1n)).toThrow(TxnAbortedByGcError);
    expect(() => cache.checkVisibility(safePoint)).not.toThrow();
    try {
      cache.checkVisibility(1n);
    } catch (e) {
      expect(isTiKVError(e, 'TXN_ABORTED_BY_GC')).toBe(true);
      expect((e as TxnAbortedByGcError).txnSafePoint).toBe(safePoint);
    }
  });

  it('a GC barrier holds the safe point back, and the barrier API is wrapped', async () => {
    const worker = new GcWorker({ executor: c.exec, lockResolver: c.resolver, gcStates: gcStatesOf(c) });
    const barrierTs = await c.ts();
    await c.prewrite({ mutations: [[k('g_b1'), k('x')]], lockTtlMs: 3_600_000 });
    const barrier = await worker.setGcBarrier('backup', barrierTs, 60_000);
    expect(barrier).toMatchObject({ barrierId: 'backup', barrierTs });
    const later = await c.ts();
    const result = await worker.gcWithStats(later);
    expect(result.newSafePoint).toBe(barrierTs);
    expect(result.blockerDescription).toContain('backup');
    // The lock above the barrier survived.
    expect(await c.scanLocks(k('g_'), k('g_~'))).toHaveLength(1);
    expect(await worker.deleteGcBarrier('backup')).toMatchObject({ barrierId: 'backup' });
    expect(await worker.deleteGcBarrier('backup')).toBeUndefined();

    const g = await worker.setGlobalGcBarrier('global-backup', later, 60_000);
    expect(g.barrierTs).toBe(later);
    expect(await worker.gc(await c.ts())).toBe(later);
    expect(await worker.deleteGlobalGcBarrier('global-backup')).toMatchObject({ barrierId: 'global-backup' });
    expect(await worker.gc(await c.ts())).toBeGreaterThan(later);
    expect(await c.scanLocks(k('g_'), k('g_~'))).toHaveLength(0);
  });

  it('resolveLocksForRange pages by the scan limit and stops at the range end (client-go ResolveLocksForRange)', async () => {
    // One transaction per key: a batch ResolveLock clears a whole transaction's locks in the region.
    for (let i = 0; i < 10; i++) {
      await c.prewrite({
        mutations: [[k(`g_p${String(i).padStart(2, '0')}`), k('v')]],
        lockTtlMs: 3_600_000,
      });
    }
    await c.prewrite({ mutations: [[k('g_q'), k('v')]], lockTtlMs: 3_600_000 });
    const maxVersion = await c.ts();
    const resolver = new BaseRegionLockResolver({
      executor: c.exec,
      lockResolver: c.resolver,
      identifier: 'test',
    });
    expect(resolver.identifier).toBe('test');
    const pages: number[] = [];
    const stat = await resolveLocksForRange(resolver, {
      maxVersion,
      startKey: k('g_p'),
      endKey: k('g_p~'),
      scanLimit: 4,
      newBackoffer: () => new Backoffer({ maxBackoffMs: 20_000 }),
      onLocksResolved: (n) => pages.push(n),
    });
    expect(stat.completedRegions).toBe(1);
    expect(pages).toEqual([4, 4, 2]);
    expect(await c.scanLocks(k('g_p'), k('g_p~'))).toEqual([]);
    // g_q is outside the range: still locked.
    expect(await c.scanLocks(k('g_q'), k('g_r'))).toHaveLength(1);
  });

  it('scans again when a region splits between the scan and the resolve (client-go batchResolveLocksInOneRegion)', async () => {
    for (let i = 0; i < 6; i++) {
      await c.prewrite({ mutations: [[k(`g_s${i}`), k('v')]], lockTtlMs: 3_600_000 });
    }
    const maxVersion = await c.ts();
    let split = false;
    c.sender.afterResponse = (req) => {
      if (req.$case === 'ScanLock' && !split) {
        split = true;
        c.split('g_s3');
      }
    };
    const resolver = new BaseRegionLockResolver({ executor: c.exec, lockResolver: c.resolver });
    const stat = await resolveLocksForRange(resolver, {
      maxVersion,
      startKey: k('g_s'),
      endKey: k('g_t'),
      newBackoffer: () => new Backoffer({ maxBackoffMs: 20_000 }),
    });
    expect(split).toBe(true);
    expect(stat.completedRegions).toBe(2);
    expect(await c.scanLocks(k('g_s'), k('g_t'))).toEqual([]);
    expect(c.sender.count('ScanLock')).toBeGreaterThanOrEqual(3);
  });

  it('resolves stranded transactions of the mock (strandTransaction) during gc', async () => {
    const prefix = keyspace === undefined ? new Uint8Array(0) : keyspacePrefix('txn', c.keyspaceId as number);
    const at = (s: string) => Buffer.concat([prefix, k(s)]);
    c.cluster.strandTransaction({
      keys: [at('g_st1'), at('g_st2')],
      startTs: await c.ts(),
      lockTtlMs: 3_600_000,
    });
    c.cluster.strandTransaction({
      keys: [at('g_sc1'), at('g_sc2')],
      startTs: await c.ts(),
      value: k('committed'),
      commitPrimaryTs: await c.ts(),
    });
    c.cluster.strandTransaction({
      keys: [at('g_sa1'), at('g_sa2')],
      startTs: await c.ts(),
      asyncCommit: true,
    });
    const worker = new GcWorker({ executor: c.exec, lockResolver: c.resolver, gcStates: gcStatesOf(c) });
    await worker.gc(await c.ts());
    expect(await c.scanLocks(k('g_'), k('g_~'))).toEqual([]);
    expect(await c.read(k('g_st2'))).toBeUndefined();
    expect(await c.read(k('g_sc2'))).toBe('committed');
    // Async commit with every lock present: committed at its min commit ts.
    expect(await c.read(k('g_sa2'))).toBe(t(at('g_sa2')));
  });

  it('refuses barrier calls the GC states API lacks, and a bad scan limit', async () => {
    const api = gcStatesOf(c);
    const bare: GcStatesApi = {
      advanceTxnSafePoint: (ts, o) => api.advanceTxnSafePoint(ts, o),
      advanceGcSafePoint: (ts, o) => api.advanceGcSafePoint(ts, o),
      getGcState: (o) => api.getGcState(o),
    };
    const worker = new GcWorker({ executor: c.exec, lockResolver: c.resolver, gcStates: bare });
    expect(() => worker.setGcBarrier('x', 1n, 1000)).toThrow(/NOT_SUPPORTED|no setGcBarrier/);
    expect(() => worker.deleteGlobalGcBarrier('x')).toThrow(/deleteGlobalGcBarrier/);
    await expect(worker.resolveLocks(1n, { scanLockLimit: 0 })).rejects.toThrow(/scanLockLimit/);
  });

  it('gc stops with the caller signal', async () => {
    const worker = new GcWorker({ executor: c.exec, lockResolver: c.resolver, gcStates: gcStatesOf(c) });
    const ac = new AbortController();
    const reason = new Error('stop');
    ac.abort(reason);
    await expect(worker.resolveLocks(await c.ts(), { signal: ac.signal })).rejects.toBe(reason);
  });
});

describe('gcKeyspaceIdOf', () => {
  it('is the keyspace only with keyspace-level GC', () => {
    expect(gcKeyspaceIdOf(undefined)).toBe(NULL_KEYSPACE_ID);
    expect(gcKeyspaceIdOf({ id: 7, config: {} })).toBe(NULL_KEYSPACE_ID);
    expect(gcKeyspaceIdOf({ id: 7, config: { gc_management_type: 'keyspace_level' } })).toBe(7);
  });
});

/** Lets every promise chain the manual clock started run to its next wait (no time passes). */
function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('TxnSafePointCache (client-go CheckVisibility, runTxnSafePointUpdater)', () => {
  function fakeStates(values: (bigint | Error)[]): { api: Pick<GcStatesApi, 'getGcState'>; calls: number } {
    const box = { calls: 0, api: undefined as unknown as Pick<GcStatesApi, 'getGcState'> };
    box.api = {
      getGcState: async () => {
        const v = values[Math.min(box.calls, values.length - 1)] as bigint | Error;
        box.calls++;
        if (v instanceof Error) throw v;
        return { txnSafePoint: v, gcSafePoint: 0n };
      },
    };
    return box;
  }

  it('refuses everything before the first load and after it goes stale', async () => {
    const clock = new ManualClock({ startMs: 1_000 });
    const states = fakeStates([100n]);
    const cache = new TxnSafePointCache({ gcStates: states.api, clock, maxStalenessMs: 50 });
    expect(() => cache.checkVisibility(200n)).toThrow(/may fall behind safe point/);
    expect(await cache.refresh()).toBe(100n);
    expect(cache.txnSafePoint).toBe(100n);
    expect(() => cache.checkVisibility(200n)).not.toThrow();
    expect(() => cache.checkVisibility(99n)).toThrow(TxnAbortedByGcError);
    clock.advance(51);
    expect(() => cache.checkVisibility(200n)).toThrow(/may fall behind safe point/);
    cache.update(50n);
    // A smaller value does not move it back, but the load time is fresh again.
    expect(cache.txnSafePoint).toBe(100n);
    expect(() => cache.checkVisibility(200n)).not.toThrow();
  });

  it('loads in the background, retries sooner after a failure, and stops with the lifetime signal', async () => {
    const clock = new ManualClock({ startMs: 0 });
    const states = fakeStates([1n, new Error('pd down'), 3n]);
    const lifetime = new AbortController();
    const cache = new TxnSafePointCache({
      gcStates: states.api,
      clock,
      pollIntervalMs: 100,
      retryIntervalMs: 10,
      lifetimeSignal: lifetime.signal,
    });
    await cache.start();
    await cache.start();
    expect(states.calls).toBe(1);
    // Nothing is due before the poll interval.
    clock.advance(99);
    await drain();
    expect(states.calls).toBe(1);
    clock.advance(1);
    await drain();
    expect(states.calls).toBe(2);
    expect(cache.txnSafePoint).toBe(1n);
    clock.advance(10);
    await drain();
    expect(states.calls).toBe(3);
    expect(cache.txnSafePoint).toBe(3n);
    lifetime.abort();
    await cache.close();
    clock.advance(1000);
    await drain();
    expect(states.calls).toBe(3);
  });
});
