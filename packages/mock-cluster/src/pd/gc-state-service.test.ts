import { pdpb } from '@tikv/proto';
import { MockCluster } from '../index.js';
import { TestClients } from '../test-helpers.js';

const NULL_KS = 0xffffffff;
const NEVER = (1n << 63n) - 1n;
const scope = (id: number): pdpb.KeyspaceScope => ({ keyspace: { $case: 'keyspaceId', value: id } });

describe('PD GC states API (GC state manager semantics)', () => {
  let cluster: MockCluster;
  let t: TestClients;
  let now = 1_000_000;
  beforeEach(async () => {
    now = 1_000_000;
    cluster = await MockCluster.start({
      stores: 1,
      nowMs: () => now,
      keyspaces: [
        { name: 'own', id: 5, config: { gc_management_type: 'keyspace_level' } },
        { name: 'shared', id: 6 },
        { name: 'gone', id: 8, state: 'disabled', config: { gc_management_type: 'keyspace_level' } },
      ],
    });
    t = new TestClients(cluster);
  });
  afterEach(async () => {
    t.close();
    await cluster.close();
  });

  const header = () => t.header();

  it('advances the txn safe point monotonically and the GC safe point up to it', async () => {
    const a = await t.pd.advanceTxnSafePoint({
      header: header(),
      keyspaceScope: scope(NULL_KS),
      target: 100n,
    });
    expect(a).toMatchObject({ oldTxnSafePoint: 0n, newTxnSafePoint: 100n, blockerDescription: '' });
    const back = await t.pd.advanceTxnSafePoint({
      header: header(),
      keyspaceScope: scope(NULL_KS),
      target: 50n,
    });
    expect(back.header?.error?.type).toBe(pdpb.ErrorType.UNKNOWN);
    expect(back.header?.error?.message).toMatch(/smaller value/);
    const tooFar = await t.pd.advanceGCSafePoint({
      header: header(),
      keyspaceScope: scope(NULL_KS),
      target: 101n,
    });
    expect(tooFar.header?.error?.message).toMatch(/exceeds the txn safe point/);
    const g = await t.pd.advanceGCSafePoint({
      header: header(),
      keyspaceScope: scope(NULL_KS),
      target: 100n,
    });
    expect(g).toMatchObject({ oldGcSafePoint: 0n, newGcSafePoint: 100n });
    const gBack = await t.pd.advanceGCSafePoint({
      header: header(),
      keyspaceScope: scope(NULL_KS),
      target: 10n,
    });
    expect(gBack.header?.error?.message).toMatch(/smaller value/);
  });

  it('blocks the txn safe point at the smallest live barrier, refuses barriers behind it, expires by TTL', async () => {
    const ks = scope(NULL_KS);
    const set = await t.pd.setGCBarrier({
      header: header(),
      keyspaceScope: ks,
      barrierId: 'br',
      barrierTs: 30n,
      ttlSeconds: 10n,
    });
    expect(set.newBarrierInfo).toEqual({ barrierId: 'br', barrierTs: 30n, ttlSeconds: 10n });
    await t.pd.setGCBarrier({
      header: header(),
      keyspaceScope: ks,
      barrierId: 'forever',
      barrierTs: 60n,
      ttlSeconds: NEVER,
    });
    const a = await t.pd.advanceTxnSafePoint({ header: header(), keyspaceScope: ks, target: 100n });
    expect(a.newTxnSafePoint).toBe(30n);
    expect(a.blockerDescription).toMatch(/br/);
    const behind = await t.pd.setGCBarrier({
      header: header(),
      keyspaceScope: ks,
      barrierId: 'x',
      barrierTs: 20n,
      ttlSeconds: 5n,
    });
    expect(behind.header?.error?.message).toMatch(/behind the txn safe point 30/);
    now += 4_500;
    const st = await t.pd.getGCState({
      header: header(),
      keyspaceScope: ks,
      excludeGcBarriers: false,
      includeGlobalGcBarriers: true,
    });
    expect(st.gcState?.gcBarriers).toEqual([
      { barrierId: 'br', barrierTs: 30n, ttlSeconds: 5n },
      { barrierId: 'forever', barrierTs: 60n, ttlSeconds: NEVER },
    ]);
    expect(st.globalGcBarriers).toEqual({ barriers: [] });
    now += 6_000;
    const b = await t.pd.advanceTxnSafePoint({ header: header(), keyspaceScope: ks, target: 100n });
    expect(b).toMatchObject({ oldTxnSafePoint: 30n, newTxnSafePoint: 60n });
    const del = await t.pd.deleteGCBarrier({ header: header(), keyspaceScope: ks, barrierId: 'forever' });
    expect(del.deletedBarrierInfo?.barrierTs).toBe(60n);
    const again = await t.pd.deleteGCBarrier({ header: header(), keyspaceScope: ks, barrierId: 'forever' });
    expect(again.deletedBarrierInfo).toBeUndefined();
    const c = await t.pd.advanceTxnSafePoint({ header: header(), keyspaceScope: ks, target: 100n });
    expect(c).toMatchObject({ newTxnSafePoint: 100n, blockerDescription: '' });
  });

  it('validates barrier arguments as PD does', async () => {
    const ks = scope(NULL_KS);
    for (const [barrierId, ttlSeconds, re] of [
      ['gc_worker', 1n, /reserved/],
      ['', 1n, /barrierID/],
      ['ok', 0n, /ttl/],
    ] as const) {
      const r = await t.pd.setGCBarrier({
        header: header(),
        keyspaceScope: ks,
        barrierId,
        barrierTs: 1n,
        ttlSeconds,
      });
      expect(r.header?.error?.message).toMatch(re);
    }
    const d1 = await t.pd.deleteGCBarrier({ header: header(), keyspaceScope: ks, barrierId: 'gc_worker' });
    expect(d1.header?.error?.message).toMatch(/reserved/);
    const d2 = await t.pd.deleteGCBarrier({ header: header(), keyspaceScope: ks, barrierId: '' });
    expect(d2.header?.error?.message).toMatch(/barrierID/);
    const d3 = await t.pd.deleteGlobalGCBarrier({ header: header(), barrierId: '' });
    expect(d3.header?.error?.message).toMatch(/barrierID/);
  });

  it('keeps per-keyspace states and redirects keyspaces without keyspace-level GC', async () => {
    await t.pd.advanceTxnSafePoint({ header: header(), keyspaceScope: scope(5), target: 70n });
    await t.pd.advanceTxnSafePoint({ header: header(), keyspaceScope: scope(NULL_KS), target: 40n });
    const internal = await t.pd.advanceTxnSafePoint({
      header: header(),
      keyspaceScope: scope(6),
      target: 1n,
    });
    expect(internal.header?.error?.message).toMatch(/keyspace level GC is not enabled/);
    const unknown = await t.pd.getGCState({
      header: header(),
      keyspaceScope: scope(99),
      excludeGcBarriers: false,
      includeGlobalGcBarriers: false,
    });
    expect(unknown.header?.error?.message).toMatch(/not found/);
    const shared = await t.pd.getGCState({
      header: header(),
      keyspaceScope: scope(6),
      excludeGcBarriers: true,
      includeGlobalGcBarriers: false,
    });
    expect(shared.gcState).toMatchObject({
      txnSafePoint: 40n,
      isKeyspaceLevelGc: false,
      keyspaceScope: scope(NULL_KS),
    });
    expect(shared.globalGcBarriers).toBeUndefined();
    const own = await t.pd.getGCState({
      header: header(),
      keyspaceScope: scope(5),
      excludeGcBarriers: false,
      includeGlobalGcBarriers: false,
    });
    expect(own.gcState).toMatchObject({ txnSafePoint: 70n, isKeyspaceLevelGc: true });
    const all = await t.pd.getAllKeyspacesGCStates({
      header: header(),
      excludeGcBarriers: false,
      excludeGlobalGcBarriers: false,
    });
    expect(all.gcStates.map((s) => [s.keyspaceScope?.keyspace?.value, s.txnSafePoint])).toEqual([
      [NULL_KS, 40n],
      [5, 70n],
    ]);
  });

  it('global barriers block every scope and are refused behind any txn safe point', async () => {
    await t.pd.advanceTxnSafePoint({ header: header(), keyspaceScope: scope(5), target: 50n });
    const behind = await t.pd.setGlobalGCBarrier({
      header: header(),
      barrierId: 'g',
      barrierTs: 40n,
      ttlSeconds: 10n,
    });
    expect(behind.header?.error?.message).toMatch(/global GC barrier .* keyspace \{ name: "own", id: 5 \}/);
    const g = await t.pd.setGlobalGCBarrier({
      header: header(),
      barrierId: 'g',
      barrierTs: 60n,
      ttlSeconds: 10n,
    });
    expect(g.newBarrierInfo).toEqual({ barrierId: 'g', barrierTs: 60n, ttlSeconds: 10n });
    const a = await t.pd.advanceTxnSafePoint({
      header: header(),
      keyspaceScope: scope(NULL_KS),
      target: 90n,
    });
    expect(a.newTxnSafePoint).toBe(60n);
    expect(a.blockerDescription).toMatch(/GlobalGCBarrier/);
    const all = await t.pd.getAllKeyspacesGCStates({
      header: header(),
      excludeGcBarriers: true,
      excludeGlobalGcBarriers: false,
    });
    expect(all.globalGcBarriers.map((b) => b.barrierId)).toEqual(['g']);
    const none = await t.pd.getAllKeyspacesGCStates({
      header: header(),
      excludeGcBarriers: true,
      excludeGlobalGcBarriers: true,
    });
    expect(none.globalGcBarriers).toEqual([]);
    const d = await t.pd.deleteGlobalGCBarrier({ header: header(), barrierId: 'g' });
    expect(d.deletedBarrierInfo?.barrierTs).toBe(60n);
    const d2 = await t.pd.deleteGlobalGCBarrier({ header: header(), barrierId: 'g' });
    expect(d2.deletedBarrierInfo).toBeUndefined();
    now += 1;
    await t.pd.setGlobalGCBarrier({ header: header(), barrierId: 'short', barrierTs: 60n, ttlSeconds: 1n });
    now += 1_000;
    const b = await t.pd.advanceTxnSafePoint({
      header: header(),
      keyspaceScope: scope(NULL_KS),
      target: 90n,
    });
    expect(b.newTxnSafePoint).toBe(90n);
  });

  it('checks the cluster id and honours injected faults', async () => {
    await expect(
      t.pd.getGCState({
        header: { clusterId: 1n },
        keyspaceScope: scope(NULL_KS),
        excludeGcBarriers: false,
        includeGlobalGcBarriers: false,
      }),
    ).rejects.toThrow(/mismatch cluster id/);
    cluster.inject({ method: 'GetGCState', times: 1, error: { grpcStatus: 14 } });
    await expect(
      t.pd.getGCState({
        header: header(),
        keyspaceScope: scope(NULL_KS),
        excludeGcBarriers: false,
        includeGlobalGcBarriers: false,
      }),
    ).rejects.toThrow();
  });
});
