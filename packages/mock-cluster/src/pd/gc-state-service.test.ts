import { pdpb } from '@tikv/proto';
import { TestClients } from '../../test/test-helpers.js';
import { MockCluster } from '../index.js';

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
    // As PD: every enabled keyspace, those on unified GC (DEFAULT, 6) with zero safe points.
    expect(
      all.gcStates.map((s) => [s.keyspaceScope?.keyspace?.value, s.isKeyspaceLevelGc, s.txnSafePoint]),
    ).toEqual([
      [NULL_KS, false, 40n],
      [0, false, 0n],
      [5, true, 70n],
      [6, false, 0n],
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

describe('PD pre-GC-states safe point API (gc_service.go over the GC state manager)', () => {
  let cluster: MockCluster;
  let t: TestClients;
  let now = 5_000_000;
  beforeEach(async () => {
    now = 5_000_000;
    cluster = await MockCluster.start({
      stores: 1,
      nowMs: () => now,
      keyspaces: [{ name: 'own', id: 5, config: { gc_management_type: 'keyspace_level' } }],
    });
    t = new TestClients(cluster);
  });
  afterEach(async () => {
    t.close();
    await cluster.close();
  });
  const header = () => t.header();
  const unified = () =>
    t.pd.getGCState({
      header: header(),
      keyspaceScope: scope(NULL_KS),
      excludeGcBarriers: false,
      includeGlobalGcBarriers: true,
    });
  const service = (serviceId: string, ttl: bigint, safePoint: bigint) =>
    t.pd.updateServiceGCSafePoint({
      header: header(),
      serviceId: new TextEncoder().encode(serviceId),
      TTL: ttl,
      safePoint,
    });
  // PD answers `expired_at - now` with `expired_at` = MaxInt64.
  const simulatedTtl = () => NEVER - BigInt(Math.floor(now / 1000));

  it('GetGCSafePoint and UpdateGCSafePoint read and advance unified GC, never past the txn safe point', async () => {
    expect((await t.pd.getGCSafePoint({ header: header() })).safePoint).toBe(0n);
    await expect(t.pd.updateGCSafePoint({ header: header(), safePoint: 10n })).rejects.toMatchObject({
      code: 2,
      details: expect.stringContaining('exceeds the txn safe point'),
    });
    await t.pd.advanceTxnSafePoint({ header: header(), keyspaceScope: scope(NULL_KS), target: 100n });
    expect((await t.pd.updateGCSafePoint({ header: header(), safePoint: 80n })).newSafePoint).toBe(80n);
    // A smaller value is no error: the answer is the current one.
    expect((await t.pd.updateGCSafePoint({ header: header(), safePoint: 0n })).newSafePoint).toBe(80n);
    expect((await t.pd.getGCSafePoint({ header: header() })).safePoint).toBe(80n);
    expect((await unified()).gcState?.gcSafePoint).toBe(80n);
    // Keyspace-level GC is untouched.
    const own = await t.pd.getGCState({
      header: header(),
      keyspaceScope: scope(5),
      excludeGcBarriers: true,
      includeGlobalGcBarriers: false,
    });
    expect(own.gcState?.gcSafePoint).toBe(0n);
    await expect(t.pd.getGCSafePoint({ header: { clusterId: 1n } })).rejects.toMatchObject({ code: 9 });
  });

  it('a service safe point is a GC barrier; TTL <= 0 deletes it; behind the txn safe point it is dropped silently', async () => {
    const set = await service('cdc', 60n, 500n);
    expect(set).toMatchObject({ minSafePoint: 0n, TTL: simulatedTtl() });
    expect(new TextDecoder().decode(set.serviceId)).toBe('gc_worker');
    expect((await unified()).gcState?.gcBarriers).toEqual([
      { barrierId: 'cdc', barrierTs: 500n, ttlSeconds: 60n },
    ]);
    now += 61_000;
    expect((await unified()).gcState?.gcBarriers).toEqual([]);
    await service('cdc', 60n, 500n);
    await t.pd.advanceTxnSafePoint({ header: header(), keyspaceScope: scope(NULL_KS), target: 400n });
    const behind = await service('br', 60n, 300n);
    expect(behind.minSafePoint).toBe(400n);
    expect((await unified()).gcState?.gcBarriers.map((b) => b.barrierId)).toEqual(['cdc']);
    await service('cdc', 0n, 0n);
    expect((await unified()).gcState?.gcBarriers).toEqual([]);
    // Go saturates huge TTLs to "never".
    await service('forever', NEVER - 1n, 900n);
    expect((await unified()).gcState?.gcBarriers).toEqual([
      { barrierId: 'forever', barrierTs: 900n, ttlSeconds: NEVER },
    ]);
    await expect(service('', 60n, 900n)).rejects.toMatchObject({
      code: 2,
      details: 'invalid argument for barrierID: ',
    });
  });

  it("gc_worker's service safe point advances the txn safe point, held back by the lowest barrier", async () => {
    await expect(service('gc_worker', 3600n, 100n)).rejects.toMatchObject({
      code: 2,
      details: "TTL of gc_worker's service safe point must be infinity",
    });
    const free = await service('gc_worker', NEVER, 100n);
    expect(new TextDecoder().decode(free.serviceId)).toBe('gc_worker');
    expect(free).toMatchObject({ minSafePoint: 100n, TTL: simulatedTtl() });
    await service('lightning', 600n, 150n);
    const held = await service('gc_worker', NEVER, 300n);
    expect(new TextDecoder().decode(held.serviceId)).toBe('lightning');
    expect(held.minSafePoint).toBe(150n);
    expect((await unified()).gcState?.txnSafePoint).toBe(150n);
    await expect(service('gc_worker', NEVER, 120n)).rejects.toMatchObject({
      code: 2,
      details: expect.stringContaining('smaller value'),
    });
  });

  it('native_br maps to a global GC barrier', async () => {
    await t.pd.advanceTxnSafePoint({ header: header(), keyspaceScope: scope(5), target: 70n });
    const set = await service('native_br', 60n, 200n);
    expect(set.minSafePoint).toBe(70n);
    expect((await unified()).globalGcBarriers?.barriers).toEqual([
      { barrierId: 'native_br', barrierTs: 200n, ttlSeconds: 60n },
    ]);
    // Behind the largest txn safe point of any keyspace: not set, no error.
    await service('native_br', 0n, 0n);
    await service('native_br', 60n, 50n);
    expect((await unified()).globalGcBarriers?.barriers).toEqual([]);
  });
});
