import { isTiKVError } from '@tikv/common';
import { MockCluster } from '@tikv/mock-cluster';
import { isGcBarrierExpired, NULL_KEYSPACE_ID } from '../src/gc-states-client.js';
import { PdClient } from '../src/pd-client.js';

// Ports the behaviour pinned by PD's client/gc_client tests and client-go tikv/gc.go usage:
// monotonic safe points, barrier blocking and refusals, TTLs on PD's clock.
describe('PdClient GC states API', () => {
  let cluster: MockCluster;
  let client: PdClient;
  let now = 5_000_000;
  beforeEach(async () => {
    now = 5_000_000;
    cluster = await MockCluster.start({
      stores: 1,
      nowMs: () => now,
      keyspaces: [
        { name: 'own', id: 3, config: { gc_management_type: 'keyspace_level' } },
        { name: 'shared', id: 4 },
      ],
    });
    client = await PdClient.connect({ endpoints: cluster.pdEndpoints, maxBackoffMs: 2_000 });
  });
  afterEach(async () => {
    await client?.close();
    await cluster?.close();
  });

  test('advances both safe points monotonically; the GC safe point never passes the txn safe point', async () => {
    const gc = client.gcStates();
    expect(gc.keyspaceId).toBe(NULL_KEYSPACE_ID);
    await expect(gc.advanceTxnSafePoint(100n)).resolves.toEqual({
      oldTxnSafePoint: 0n,
      target: 100n,
      newTxnSafePoint: 100n,
      blockerDescription: '',
    });
    await expect(gc.advanceTxnSafePoint(10n)).rejects.toMatchObject({
      code: 'PD_ERROR',
      pdErrorType: 'UNKNOWN',
      retryable: false,
    });
    await expect(gc.advanceGcSafePoint(101n)).rejects.toThrow(/exceeds the txn safe point/);
    await expect(gc.advanceGcSafePoint(80n)).resolves.toEqual({
      oldGcSafePoint: 0n,
      target: 80n,
      newGcSafePoint: 80n,
    });
    await expect(gc.advanceGcSafePoint(70n)).rejects.toThrow(/smaller value/);
    const state = await gc.getGcState();
    expect(state).toMatchObject({
      keyspaceId: NULL_KEYSPACE_ID,
      isKeyspaceLevelGc: false,
      txnSafePoint: 100n,
      gcSafePoint: 80n,
      barriers: [],
      globalBarriers: undefined,
    });
  });

  test('barriers block the txn safe point until deleted or expired; barriers behind it are refused', async () => {
    const gc = client.gcStates();
    const b = await gc.setGcBarrier('br', 30n, 9_500);
    expect(b).toMatchObject({ barrierId: 'br', barrierTs: 30n, ttlMs: 10_000 });
    const forever = await gc.setGcBarrier('forever', 50n, Number.POSITIVE_INFINITY);
    expect(forever.ttlMs).toBe(Number.POSITIVE_INFINITY);
    expect(isGcBarrierExpired(forever, Number.MAX_SAFE_INTEGER)).toBe(false);
    expect(isGcBarrierExpired(b, b.fetchedAtMs + 10_001)).toBe(true);
    expect(isGcBarrierExpired(b)).toBe(false);

    const blocked = await gc.advanceTxnSafePoint(100n);
    expect(blocked.newTxnSafePoint).toBe(30n);
    expect(blocked.blockerDescription).toMatch(/br/);
    await expect(gc.setGcBarrier('late', 20n, 1_000)).rejects.toThrow(/behind the txn safe point/);

    now += 3_000;
    const state = await gc.getGcState({ includeGlobalGcBarriers: true });
    expect(state.barriers.map((x) => [x.barrierId, x.ttlMs])).toEqual([
      ['br', 7_000],
      ['forever', Number.POSITIVE_INFINITY],
    ]);
    expect(state.globalBarriers).toEqual([]);
    expect((await gc.getGcState({ excludeGcBarriers: true })).barriers).toEqual([]);

    now += 8_000;
    expect((await gc.advanceTxnSafePoint(100n)).newTxnSafePoint).toBe(50n);
    expect(await gc.deleteGcBarrier('forever')).toMatchObject({ barrierTs: 50n });
    expect(await gc.deleteGcBarrier('forever')).toBeUndefined();
    expect((await gc.advanceTxnSafePoint(100n)).newTxnSafePoint).toBe(100n);
  });

  test('global barriers block every keyspace', async () => {
    const own = client.gcStates(3);
    await own.advanceTxnSafePoint(40n);
    await expect(own.setGlobalGcBarrier('g', 30n, 1_000)).rejects.toThrow(/keyspace .*"?own"?/);
    const g = await own.setGlobalGcBarrier('g', 60n, 60_000);
    expect(g).toMatchObject({ barrierId: 'g', barrierTs: 60n, ttlMs: 60_000 });
    expect((await own.advanceTxnSafePoint(90n)).newTxnSafePoint).toBe(60n);
    expect((await client.gcStates().advanceTxnSafePoint(90n)).newTxnSafePoint).toBe(60n);

    const all = await client.gcStates().getAllKeyspacesGcStates();
    // Every enabled keyspace, as PD answers; those on unified GC (DEFAULT, 4) with zero safe points.
    expect([...all.states.keys()]).toEqual([NULL_KEYSPACE_ID, 0, 3, 4]);
    expect(all.states.get(3)).toMatchObject({ isKeyspaceLevelGc: true, txnSafePoint: 60n });
    expect(all.states.get(4)).toMatchObject({ isKeyspaceLevelGc: false, txnSafePoint: 0n, gcSafePoint: 0n });
    expect(all.globalBarriers?.map((x) => x.barrierId)).toEqual(['g']);
    const noGlobals = await client.gcStates().getAllKeyspacesGcStates({
      excludeGlobalGcBarriers: true,
      excludeGcBarriers: true,
    });
    expect(noGlobals.globalBarriers).toBeUndefined();

    expect(await own.deleteGlobalGcBarrier('g')).toMatchObject({ barrierTs: 60n });
    expect(await own.deleteGlobalGcBarrier('g')).toBeUndefined();
    expect((await own.advanceTxnSafePoint(90n)).newTxnSafePoint).toBe(90n);
  });

  test('a keyspace without keyspace-level GC reads the unified state and cannot advance it', async () => {
    await client.gcStates().advanceTxnSafePoint(25n);
    const shared = client.gcStates(4);
    expect(await shared.getGcState()).toMatchObject({ keyspaceId: NULL_KEYSPACE_ID, txnSafePoint: 25n });
    await expect(shared.advanceTxnSafePoint(30n)).rejects.toThrow(/keyspace level GC is not enabled/);
    await expect(shared.advanceGcSafePoint(1n)).rejects.toThrow(/keyspace level GC is not enabled/);
  });

  test('arguments are checked before any call', async () => {
    const gc = client.gcStates();
    for (const p of [
      gc.setGcBarrier('', 1n, 1_000),
      gc.setGcBarrier('x', 1n, 0),
      gc.setGcBarrier('x', 1n, Number.NaN),
      gc.setGlobalGcBarrier('x', 1n, -5),
    ]) {
      await expect(p).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    }
    expect(() => client.gcStates(-1)).toThrow(/uint32/);
    await expect(gc.setGcBarrier('gc_worker', 1n, 1_000)).rejects.toThrow(/reserved/);
  });

  test('transport failures are retried; the caller abort and deadline are honoured', async () => {
    const gc = client.gcStates();
    const fault = cluster.inject({ method: 'GetGCState', times: 1, error: { grpcStatus: 14 } });
    expect((await gc.getGcState()).txnSafePoint).toBe(0n);
    expect(fault.hits).toBe(1);

    const ac = new AbortController();
    const reason = new Error('stop');
    ac.abort(reason);
    await expect(gc.getGcState({ signal: ac.signal })).rejects.toBe(reason);

    cluster.inject({
      method: 'AdvanceTxnSafePoint',
      times: Number.POSITIVE_INFINITY,
      error: { grpcStatus: 14 },
    });
    const e = await gc.advanceTxnSafePoint(1n, { timeoutMs: 200 }).catch((x: unknown) => x);
    expect(isTiKVError(e)).toBe(true);
  });
});
