import { decodeBytes, encodeBytes } from '@tikv/common';
import { pdpb } from '@tikv/proto';
import { b, TestClients } from '../../test/test-helpers.js';
import { ApiVersion, MockCluster } from '../index.js';

describe('PD service', () => {
  let cluster: MockCluster;
  let c: TestClients;
  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 3, splitKeys: ['m'] });
    c = new TestClients(cluster);
  });
  afterAll(async () => {
    c.close();
    await cluster.close();
  });

  it('GetMembers reports the leader with its client URL', async () => {
    const r = await c.pd.getMembers({});
    expect(r.header?.clusterId).toBe(cluster.clusterId);
    expect(r.leader?.clientUrls).toEqual([`http://${cluster.pdEndpoints[0]}`]);
    expect(r.members).toHaveLength(1);
    expect(r.etcdLeader?.memberId).toBe(r.leader?.memberId);
  });

  it('GetClusterInfo answers PD service mode', async () => {
    const r = await c.pd.getClusterInfo({ header: c.header() });
    expect(r.serviceModes).toEqual([pdpb.ServiceMode.PD_SVC_MODE]);
  });

  it('rejects another cluster id with FAILED_PRECONDITION', async () => {
    await expect(c.pd.getRegion({ header: { clusterId: 1n }, regionKey: b('a') })).rejects.toMatchObject({
      code: 9,
    });
  });

  it('GetRegion, GetPrevRegion and GetRegionByID follow splits', async () => {
    const left = await c.pd.getRegion({ header: c.header(), regionKey: b('a') });
    const right = await c.pd.getRegion({ header: c.header(), regionKey: b('z') });
    expect(left.region?.endKey).toEqual(b('m'));
    expect(right.region?.startKey).toEqual(b('m'));
    expect(left.leader?.storeId).toBe(1n);
    const [created] = cluster.split('t');
    expect(created).toBeDefined();
    const mid = await c.pd.getRegion({ header: c.header(), regionKey: b('p') });
    expect(mid.region?.startKey).toEqual(b('m'));
    expect(mid.region?.endKey).toEqual(b('t'));
    // TiKV keeps the original id on the right-most part.
    expect((await c.pd.getRegion({ header: c.header(), regionKey: b('x') })).region?.id).toBe(
      right.region?.id,
    );
    expect(mid.region?.regionEpoch?.version).toBe((right.region?.regionEpoch?.version ?? 0n) + 1n);
    const prev = await c.pd.getPrevRegion({ header: c.header(), regionKey: b('p') });
    expect(prev.region?.id).toBe(left.region?.id);
    const none = await c.pd.getPrevRegion({ header: c.header(), regionKey: b('a') });
    expect(none.region).toBeUndefined();
    const byId = await c.pd.getRegionByID({ header: c.header(), regionId: mid.region?.id ?? 0n });
    expect(byId.region?.startKey).toEqual(b('m'));
    const missing = await c.pd.getRegionByID({ header: c.header(), regionId: 9999n });
    expect(missing.region).toBeUndefined();
    expect(missing.header?.error).toBeUndefined();
  });

  it('ScanRegions and BatchScanRegions list regions in order', async () => {
    const all = await c.pd.scanRegions({
      header: c.header(),
      startKey: new Uint8Array(0),
      endKey: new Uint8Array(0),
      limit: 0,
    });
    expect(all.regions.map((r) => r.region?.startKey)).toEqual(cluster.regions().map((r) => r.wireStartKey));
    expect(all.regionMetas).toHaveLength(all.regions.length);
    const two = await c.pd.scanRegions({
      header: c.header(),
      startKey: b('b'),
      endKey: new Uint8Array(0),
      limit: 2,
    });
    expect(two.regions).toHaveLength(2);
    const batch = await c.pd.batchScanRegions({
      header: c.header(),
      ranges: [
        { startKey: b('a'), endKey: b('b') },
        { startKey: b('n'), endKey: b('o') },
      ],
      limit: 10,
      containAllKeyRange: true,
    });
    expect(batch.regions).toHaveLength(2);
    const bad = await c.pd.batchScanRegions({
      header: c.header(),
      ranges: [
        { startKey: b('n'), endKey: b('o') },
        { startKey: b('a'), endKey: b('b') },
      ],
    });
    expect(bad.header?.error?.type).toBe(pdpb.ErrorType.UNKNOWN);
    const inverted = await c.pd.batchScanRegions({
      header: c.header(),
      ranges: [{ startKey: b('z'), endKey: b('a') }],
    });
    expect(inverted.header?.error?.message).toContain('start key > end key');
  });

  it('QueryRegion answers batched lookups on a stream', async () => {
    async function* reqs() {
      yield { header: c.header(), keys: [b('a'), b('p')], prevKeys: [b('p')], ids: [1n, 0n, 424242n] };
      yield { header: c.header(), keys: [b('z')] };
    }
    const out: pdpb.QueryRegionResponse[] = [];
    for await (const r of c.pd.queryRegion(reqs())) out.push(r);
    expect(out).toHaveLength(2);
    const first = out[0] as pdpb.QueryRegionResponse;
    expect(first.keyIdMap).toHaveLength(2);
    expect(first.prevKeyIdMap).toEqual([first.keyIdMap[0]]);
    for (const id of first.keyIdMap) expect(first.regionsById.get(id)?.region?.id).toBe(id);
    expect(first.regionsById.has(424242n)).toBe(false);
  });

  it('GetStore and GetAllStores describe the stores', async () => {
    const s = await c.pd.getStore({ header: c.header(), storeId: 2n });
    expect(s.store?.address).toBe(cluster.stores()[1]?.address);
    expect(s.stats?.regionCount).toBeGreaterThan(0);
    const missing = await c.pd.getStore({ header: c.header(), storeId: 77n });
    expect(missing.header?.error?.message).toBe('invalid store ID 77, not found');
    const all = await c.pd.getAllStores({ header: c.header(), excludeTombstoneStores: true });
    expect(all.stores.map((x) => x.id)).toEqual([1n, 2n, 3n]);
  });

  it('SplitRegions, ScatterRegion and GetOperator', async () => {
    const r = await c.pd.splitRegions({ header: c.header(), splitKeys: [b('c'), b('d')] });
    expect(r.finishedPercentage).toBe(100n);
    expect(r.regionsId).toHaveLength(2);
    const none = await c.pd.getOperator({ header: c.header(), regionId: r.regionsId[0] ?? 0n });
    expect(none.header?.error?.type).toBe(pdpb.ErrorType.REGION_NOT_FOUND);
    const sc = await c.pd.scatterRegion({ header: c.header(), regionsId: [...r.regionsId, 5555n] });
    expect(sc.failedRegionsId).toEqual([5555n]);
    const op = await c.pd.getOperator({ header: c.header(), regionId: r.regionsId[0] ?? 0n });
    expect(new TextDecoder().decode(op.desc)).toBe('scatter-region');
    expect(op.status).toBe(pdpb.OperatorStatus.SUCCESS);
  });

  it('answers UNIMPLEMENTED for what it does not serve', async () => {
    await expect(c.pd.getGCSafePointV2({ header: c.header() })).rejects.toMatchObject({
      code: 12,
    });
    await expect(c.pd.getMinTS({ header: c.header() })).rejects.toMatchObject({ code: 12 });
    const watch = async (): Promise<void> => {
      for await (const _ of c.pd.watchGCSafePointV2({ header: c.header(), revision: 0n })) {
        // nothing arrives
      }
    };
    await expect(watch()).rejects.toMatchObject({ code: 12 });
  });

  it('applies injected gRPC faults to PD methods', async () => {
    cluster.inject({ method: 'GetRegion', times: 1, error: { grpcStatus: 14, message: 'pd down' } });
    await expect(c.pd.getRegion({ header: c.header(), regionKey: b('a') })).rejects.toMatchObject({
      code: 14,
    });
    await expect(c.pd.getRegion({ header: c.header(), regionKey: b('a') })).resolves.toBeDefined();
    cluster.inject({ method: 'GetMembers', times: 1, error: { grpcStatus: 14 } });
    await expect(c.pd.getMembers({})).rejects.toMatchObject({ code: 14 });
  });
});

describe('PD service in API V2', () => {
  it('reports memcomparable-encoded region boundaries', async () => {
    const cluster = await MockCluster.start({ stores: 1, apiVersion: ApiVersion.V2, regions: 2 });
    const c = new TestClients(cluster);
    try {
      const key = encodeBytes(Uint8Array.of(0x72, 0, 0, 0, 0x10));
      const r = await c.pd.getRegion({ header: c.header(), regionKey: key });
      expect(r.region?.startKey).toEqual(new Uint8Array(0));
      const end = r.region?.endKey ?? new Uint8Array(0);
      expect(decodeBytes(end).value).toEqual(Uint8Array.of(0x72, 0, 0, 0, 0x80));
      const bad = await c.pd.splitRegions({ header: c.header(), splitKeys: [Uint8Array.of(1, 2, 3)] });
      expect(bad.header?.error?.type).toBe(pdpb.ErrorType.UNKNOWN);
    } finally {
      c.close();
      await cluster.close();
    }
  });
});
