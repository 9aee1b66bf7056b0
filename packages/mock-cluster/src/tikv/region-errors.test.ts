import { RegionErrorKind } from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import { b, ctxFor, TestClients } from '../../test/test-helpers.js';
import { MockCluster } from '../index.js';

describe('context validation and region errors', () => {
  let cluster: MockCluster;
  let c: TestClients;
  beforeEach(async () => {
    cluster = await MockCluster.start({ stores: 3 });
    c = new TestClients(cluster);
  });
  afterEach(async () => {
    c.close();
    await cluster.close();
  });

  it('StoreNotMatch when the peer names another store', async () => {
    const r = cluster.regionByKey('a');
    const res = await c.kv(2).rawGet({ context: ctxFor(r), key: b('a') });
    expect(res.regionError?.storeNotMatch).toEqual({ requestStoreId: 1n, actualStoreId: 2n });
  });

  it('RegionNotFound for an unknown region or a store without a peer', async () => {
    const ctx = kvrpcpb.Context.fromPartial({ ...ctxFor(cluster.regionByKey('a')), regionId: 999n });
    const res = await c.kv(1).rawGet({ context: ctx, key: b('a') });
    expect(res.regionError?.regionNotFound?.regionId).toBe(999n);
    expect(res.regionError?.message).toBe('region 999 not found');
  });

  it('NotLeader with the leader hint on a follower, MismatchPeerId on a wrong peer', async () => {
    const r = cluster.regionByKey('a');
    const follower = r.peers.find((p) => p.storeId === 2n);
    const ctx = kvrpcpb.Context.fromPartial({ ...ctxFor(r), peer: { id: follower?.id ?? 0n, storeId: 2n } });
    const res = await c.kv(2).rawGet({ context: ctx, key: b('a') });
    expect(res.regionError?.notLeader?.leader?.storeId).toBe(1n);
    const replica = await c.kv(2).rawGet({ context: { ...ctx, replicaRead: true }, key: b('a') });
    expect(replica.regionError).toBeUndefined();
    const write = await c
      .kv(2)
      .rawPut({ context: { ...ctx, replicaRead: true }, key: b('a'), value: b('v') });
    expect(write.regionError?.notLeader).toBeDefined();
    const wrongPeer = kvrpcpb.Context.fromPartial({ ...ctxFor(r), peer: { id: 12345n, storeId: 1n } });
    const mp = await c.kv(1).rawGet({ context: wrongPeer, key: b('a') });
    expect(mp.regionError?.mismatchPeerId?.requestPeerId).toBe(12345n);
  });

  it('EpochNotMatch after a split carries the current region and its sibling', async () => {
    const before = cluster.regionByKey('z');
    const [left] = cluster.split('m');
    const res = await c.kv(1).rawGet({ context: ctxFor(before), key: b('z') });
    const regions = res.regionError?.epochNotMatch?.currentRegions ?? [];
    expect(regions.map((r) => r.id)).toEqual([before.id, left?.id]);
    expect(regions[0]?.regionEpoch?.version).toBe(before.epoch.version + 1n);
    const missing = await c
      .kv(1)
      .rawGet({ context: { ...ctxFor(before), regionEpoch: undefined }, key: b('z') });
    // TiKV's raft header always carries an epoch: none is 0/0, behind by every version.
    expect(missing.regionError?.epochNotMatch?.currentRegions.map((r) => r.id)).toEqual([
      before.id,
      left?.id,
    ]);
    // conf_ver is not checked for normal commands
    const conf = await c.kv(1).rawGet({
      context: {
        ...ctxFor(cluster.regionByKey('z')),
        regionEpoch: { confVer: 99n, version: cluster.regionByKey('z').epoch.version },
      },
      key: b('z'),
    });
    expect(conf.regionError).toBeUndefined();
  });

  it('KeyNotInRegion for keys outside the region, in reads, writes and scans', async () => {
    cluster.split('m');
    const left = cluster.regionByKey('a');
    const get = await c.kv(1).rawGet({ context: ctxFor(left), key: b('x') });
    expect(get.regionError?.keyNotInRegion).toEqual({
      key: b('x'),
      regionId: left.id,
      startKey: new Uint8Array(0),
      endKey: b('m'),
    });
    const put = await c.kv(1).rawBatchPut({
      context: ctxFor(left),
      pairs: [
        { key: b('a'), value: b('1') },
        { key: b('y'), value: b('2') },
      ],
    });
    expect(put.regionError?.keyNotInRegion?.key).toEqual(b('y'));
    expect((await c.kv(1).rawGet({ context: ctxFor(left), key: b('a') })).notFound).toBe(true);
    // the end key itself is a valid seek bound for a scan; it is clamped to the region
    await c.kv(1).rawPut({ context: ctxFor(cluster.regionByKey('n')), key: b('n'), value: b('1') });
    const scanAtEnd = await c.kv(1).rawScan({ context: ctxFor(left), startKey: b('m'), limit: 10 });
    expect(scanAtEnd.kvs).toEqual([]);
    const scanOut = await c.kv(1).rawScan({ context: ctxFor(left), startKey: b('n'), limit: 10 });
    expect(scanOut.regionError?.keyNotInRegion).toBeDefined();
  });

  it('every named fault kind is answered as a region error', async () => {
    const r = cluster.regionByKey('a');
    for (const kind of Object.values(RegionErrorKind).filter((k) => k !== 'Other')) {
      cluster.inject({ method: 'RawGet', storeId: 1, regionId: r.id, times: 1, error: kind });
      const res = await c.kv(1).rawGet({ context: ctxFor(r), key: b('a') });
      expect(res.regionError).toBeDefined();
      expect(res.regionError?.message.length).toBeGreaterThan(0);
    }
    expect((await c.kv(1).rawGet({ context: ctxFor(r), key: b('a') })).regionError).toBeUndefined();
    cluster.inject({
      times: 1,
      error: { regionError: { serverIsBusy: { reason: 'custom', backoffMs: 5n } } },
    });
    expect(
      (await c.kv(1).rawGet({ context: ctxFor(r), key: b('a') })).regionError?.serverIsBusy?.reason,
    ).toBe('custom');
    const h = cluster.inject({
      times: Number.POSITIVE_INFINITY,
      storeId: 1,
      error: { grpcStatus: 14, message: 'gone' },
    });
    await expect(c.kv(1).rawGet({ context: ctxFor(r), key: b('a') })).rejects.toMatchObject({ code: 14 });
    expect(h.hits).toBe(1);
    h.clear();
    cluster.clearFaults();
    expect((await c.kv(1).rawGet({ context: ctxFor(r), key: b('a') })).regionError).toBeUndefined();
  });
});
