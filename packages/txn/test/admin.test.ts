import { BackoffBudgetExceededError, InvalidArgumentError, ManualClock } from '@tikv/common';
import {
  type AdminOperator,
  ClusterAdmin,
  GcWorker,
  gcKeyspaceIdOf,
  getMinSafeTs,
  type RangeTaskProgress,
  waitScatterRegionFinish,
} from '../src/index.js';
import { k, TxnTestCluster, t } from './txn-cluster.js';

const empty = new Uint8Array(0);

describe.each([
  ['API V1', undefined],
  ['API V2', 'adm_ks'],
])('cluster administration in %s', (_name, keyspace) => {
  let c: TxnTestCluster;
  let admin: ClusterAdmin;
  beforeEach(async () => {
    c = await TxnTestCluster.start({ keyspace, mock: { stores: 3 } });
    admin = new ClusterAdmin({
      executor: c.exec,
      pd: c.conn.pd,
      transport: c.conn.transport,
      oracle: c.oracle,
      gcStates: c.conn.pd.gcStates(gcKeyspaceIdOf(c.conn.codec.keyspaceMeta)),
    });
  });
  afterEach(async () => {
    await c?.close();
  });

  const keysOf = (regions: { startKey: Uint8Array; endKey: Uint8Array }[]): string[][] =>
    regions.map((r) => [t(r.startKey) as string, t(r.endKey) as string]);

  it('splits through TiKV (client-go split_region.go SplitRegions), skipping keys that start a region', async () => {
    const before = await admin.getRegionsInRange(k('s_'), k('s_~'));
    expect(before).toHaveLength(1);
    const { regionIds, scatterFailedRegionIds } = await admin.splitRegions([
      k('s_c'),
      k('s_a'),
      k('s_b'),
      k('s_a'),
    ]);
    expect(regionIds).toHaveLength(3);
    expect(scatterFailedRegionIds).toEqual([]);
    const regions = await admin.getRegionsInRange(k('s_a'), k('s_c'));
    expect(keysOf(regions)).toEqual([
      ['s_a', 's_b'],
      ['s_b', 's_c'],
    ]);
    expect(regions.map((r) => r.id)).toEqual(regionIds.slice(1));
    // Already split there: nothing to do.
    expect((await admin.splitRegions([k('s_b')])).regionIds).toEqual([]);
    // The executor's cache follows the split.
    await c.put([[k('s_b1'), k('v')]]);
    expect(await c.read(k('s_b1'))).toBe('v');
  });

  it('splits through PD and scatters, waiting for the scatter to finish', async () => {
    const { regionIds } = await admin.splitRegions([k('p_m'), k('p_n')], {
      via: 'pd',
      scatter: true,
      waitForScatter: true,
    });
    expect(regionIds.length).toBeGreaterThanOrEqual(2);
    const region = await admin.getRegionByKey(k('p_m'));
    expect(t(region?.startKey)).toBe('p_m');
    expect(t(region?.endKey)).toBe('p_n');
  });

  it('inspects regions by key, by id and in a range, with leaders and peers', async () => {
    c.split('i_b', 'i_c', 'i_d');
    const region = await admin.getRegionByKey(k('i_b5'));
    expect(region).toBeDefined();
    expect(keysOf([region as { startKey: Uint8Array; endKey: Uint8Array }])).toEqual([['i_b', 'i_c']]);
    expect(region?.peers).toHaveLength(3);
    expect(region?.leader?.isLeader).toBe(true);
    expect(region?.peers.filter((p) => p.isLeader)).toHaveLength(1);
    expect(region?.peers.every((p) => !p.isDown && !p.isPending)).toBe(true);
    const byId = await admin.getRegionById(region?.id as bigint);
    expect(byId?.id).toBe(region?.id);
    expect(await admin.getRegionById(999_999n)).toBeUndefined();
    const paged = await admin.getRegionsInRange(k('i_a'), k('i_d'), { pageSize: 1 });
    expect(keysOf(paged).map(([s]) => s)).toEqual([expect.any(String), 'i_b', 'i_c']);
    expect(await admin.getRegionsInRange(k('i_a'), empty, { limit: 2 })).toHaveLength(2);
    await expect(admin.getRegionsInRange(k('i_a'), empty, { pageSize: 0 })).rejects.toThrow(
      InvalidArgumentError,
    );
    const stores = await admin.getStores();
    expect(stores).toHaveLength(3);
  });

  it('reads each store safe ts and their minimum (client-go GetMinSafeTS)', async () => {
    c.cluster.setResolvedTsLagMs(0);
    const before = await c.ts();
    const { minSafeTs, stores } = await admin.getMinSafeTs();
    expect(stores).toHaveLength(3);
    for (const s of stores) expect(s.safeTs).toBeGreaterThan(0n);
    expect(minSafeTs).toBe(stores.map((s) => s.safeTs as bigint).reduce((a, b) => (a < b ? a : b)));
    expect(minSafeTs).toBeGreaterThan(0n);
    expect(await admin.getStoreSafeTs(stores[0]?.storeId as bigint)).toBeGreaterThanOrEqual(
      stores[0]?.safeTs as bigint,
    );
    expect(before).toBeGreaterThan(0n);
    await expect(admin.getStoreSafeTs(77n)).rejects.toThrow(InvalidArgumentError);
  });

  it('flashes a range back to a version in two phases', async () => {
    c.split('f_m');
    await c.put([
      [k('f_a'), k('a1')],
      [k('f_z'), k('z1')],
    ]);
    const version = await c.ts();
    await c.put([
      [k('f_a'), k('a2')],
      [k('f_n'), k('n2')],
      [k('f_z'), k('z2')],
    ]);
    await c.put([[k('g_out'), k('kept')]]);
    const progress: RangeTaskProgress[] = [];
    const result = await admin.flashbackToVersion(version, k('f_'), k('f_~'), {
      onProgress: (p) => progress.push(p),
    });
    expect(result.completedRegions).toBe(2);
    expect(result.commitTs).toBeGreaterThan(result.startTs);
    expect(progress.map((p) => p.name)).toEqual(['flashback-prepare', 'flashback']);
    expect(await c.read(k('f_a'))).toBe('a1');
    expect(await c.read(k('f_n'))).toBeUndefined();
    expect(await c.read(k('f_z'))).toBe('z1');
    expect(await c.read(k('g_out'))).toBe('kept');
    // Writes are let in again.
    await c.put([[k('f_a'), k('a3')]]);
    expect(await c.read(k('f_a'))).toBe('a3');
    await expect(
      admin.flashbackToVersion((await c.ts()) + (3_600_000n << 18n), k('f_'), k('f_~')),
    ).rejects.toThrow(/not before the current ts/);
    // Below the GC safe point the data may be gone: refused.
    const gcStates = c.conn.pd.gcStates(gcKeyspaceIdOf(c.conn.codec.keyspaceMeta));
    await new GcWorker({ executor: c.exec, lockResolver: c.resolver, gcStates }).gc(await c.ts());
    await expect(admin.flashbackToVersion(version, k('f_'), k('f_~'))).rejects.toThrow(/GC safe point/);
  });
});

describe('getMinSafeTs semantics (client-go updateMinSafeTS)', () => {
  const store = (id: bigint) => ({ id, address: `s${id}`, state: 'up', labels: [] });
  const parts = (answers: Record<string, bigint | Error>) => ({
    stores: { getAllStores: async () => Object.keys(answers).map((a) => store(BigInt(a.slice(1)))) },
    transport: {
      send: async (address: string) => {
        const v = answers[address] as bigint | Error;
        if (v instanceof Error) throw v;
        return { $case: 'GetStoreSafeTS', value: { safeTs: v } };
      },
    } as unknown as Parameters<typeof getMinSafeTs>[0]['transport'],
  });
  it('ignores stores at 0, is 0 when a store fails, when all are 0, or with no store', async () => {
    expect((await getMinSafeTs(parts({ s1: 5n, s2: 0n, s3: 3n }))).minSafeTs).toBe(3n);
    expect((await getMinSafeTs(parts({ s1: 5n, s2: new Error('down') }))).minSafeTs).toBe(0n);
    expect((await getMinSafeTs(parts({ s1: 0n, s2: 0n }))).minSafeTs).toBe(0n);
    expect((await getMinSafeTs(parts({}))).minSafeTs).toBe(0n);
    const failed = await getMinSafeTs(parts({ s1: new Error('down') }));
    expect(failed.stores[0]?.error).toBeInstanceOf(Error);
  });
});

describe('waitScatterRegionFinish (client-go WaitScatterRegionFinish)', () => {
  function pdOf(answers: (AdminOperator | Error)[]): {
    getOperator: () => Promise<AdminOperator>;
    calls: number;
  } {
    const box = {
      calls: 0,
      getOperator: async (): Promise<AdminOperator> => {
        const a = answers[Math.min(box.calls, answers.length - 1)] as AdminOperator | Error;
        box.calls++;
        if (a instanceof Error) throw a;
        return a;
      },
    };
    return box;
  }
  const running: AdminOperator = { regionId: 1n, desc: 'scatter-region', status: 'running' };
  const done: AdminOperator = { regionId: 1n, desc: 'scatter-region', status: 'success' };
  const other: AdminOperator = { regionId: 1n, desc: 'transfer-leader', status: 'running' };

  it('returns once the scatter operator is no longer running, retrying PD errors', async () => {
    const pd = pdOf([running, new Error('pd busy'), done]);
    await waitScatterRegionFinish(pd, 1n, { maxBackoffMs: 10_000 });
    expect(pd.calls).toBe(3);
    const pd2 = pdOf([other]);
    await waitScatterRegionFinish(pd2, 1n);
    expect(pd2.calls).toBe(1);
  });

  it('gives up when the budget is spent', async () => {
    const clock = new ManualClock();
    const pd = pdOf([running]);
    const p = waitScatterRegionFinish(pd, 1n, { maxBackoffMs: 1, clock });
    const settled = p.catch((e: unknown) => e);
    for (let i = 0; i < 10 && pd.calls < 5; i++) {
      clock.advance(1_000);
      await new Promise((r) => setImmediate(r));
    }
    expect(await settled).toBeInstanceOf(BackoffBudgetExceededError);
  });
});
