import type { MockCluster } from '@tikv/mock-cluster';
import { PdClient } from '../src/pd-client.js';
import { useMockPd } from './mock-pd.js';

describe('PdClient.updateOptions (PD client UpdateOption) against two mock PD members', () => {
  let cluster: MockCluster;
  let pd: PdClient;
  useMockPd({ stores: 1, pdMembers: 2 }, (c, p) => {
    cluster = c;
    pd = p;
  });

  test('the TSO follower proxy sends the stream through a follower, and back to the leader when off', async () => {
    const leader = cluster.pdMembers().find((m) => m.leader)?.clientUrl;
    const follower = cluster.pdMembers().find((m) => !m.leader)?.clientUrl;
    const t1 = await pd.getTimestamp();
    expect(pd.timestamps.tsoStreamUrl).toBe(leader);
    pd.updateOptions({
      enableTsoFollowerProxy: true,
      tsoClientRpcConcurrency: 2,
      maxTsoBatchWaitIntervalMs: 1,
    });
    expect(pd.timestamps.dynamicOptions).toEqual({
      enableTsoFollowerProxy: true,
      tsoClientRpcConcurrency: 2,
      maxTsoBatchWaitIntervalMs: 1,
    });
    const many = await Promise.all(Array.from({ length: 50 }, () => pd.getTimestamp()));
    expect(pd.timestamps.tsoStreamUrl).toBe(follower);
    expect(Math.min(...many.map(Number))).toBeGreaterThan(Number(t1));
    expect(new Set(many).size).toBe(50);
    pd.updateOptions({ enableTsoFollowerProxy: false, maxTsoBatchWaitIntervalMs: 0 });
    expect(await pd.getTimestamp()).toBeGreaterThan(many.reduce((a, b) => (a > b ? a : b)));
    expect(pd.timestamps.tsoStreamUrl).toBe(leader);
    expect(() => pd.updateOptions({ maxTsoBatchWaitIntervalMs: 20 })).toThrow('maxBatchWaitMs');
  });

  test('follower handle: unary region lookups go to a follower, and to the leader when it fails', async () => {
    const unary = await PdClient.connect({ endpoints: cluster.pdEndpoints, enableRouterClient: false });
    try {
      const key = new TextEncoder().encode('k');
      await unary.getRegion(key);
      expect(unary.regions.followerReads).toBe(0);
      unary.updateOptions({ enableFollowerHandle: true });
      expect(unary.regions.followerHandle).toBe(true);
      expect((await unary.getRegion(key))?.region.id).toBeGreaterThan(0n);
      expect(await unary.getRegionById(424242n)).toBeUndefined();
      expect(unary.regions.followerReads).toBe(2);
      // A failing follower: the leader answers.
      cluster.inject({
        method: 'GetPrevRegion',
        times: 1,
        error: { grpcStatus: 14, message: 'follower down' },
      });
      await unary.getPrevRegion(key);
      expect(unary.regions.followerReads).toBe(2);
      unary.updateOptions({ enableFollowerHandle: false });
      await unary.getRegion(key);
      expect(unary.regions.followerReads).toBe(2);
    } finally {
      await unary.close();
    }
  });

  test('TestLoadRegionsWithLeader: a region lookup a follower cannot serve is answered by the leader', async () => {
    const unary = await PdClient.connect({ endpoints: cluster.pdEndpoints, enableRouterClient: false });
    unary.updateOptions({ enableFollowerHandle: true });
    try {
      // Split at b, c, d, e.
      cluster.split(['b', 'c', 'd', 'e']);
      const a = new TextEncoder().encode('a');
      const expected = (await pd.getRegion(a))?.region;
      const before = unary.regions.followerReads;
      // The follower refuses (client-go mustLeader: "not leader"); the leader answers.
      cluster.inject({ method: 'GetRegion', times: 1, error: { grpcStatus: 14, message: 'not leader' } });
      const got = await unary.getRegion(a);
      expect(got?.region.id).toBe(expected?.id);
      expect(got?.region.endKey).toEqual(new TextEncoder().encode('b'));
      expect(unary.regions.followerReads).toBe(before);
    } finally {
      await unary.close();
    }
  });

  test('getAllMembers lists every member and the leader (client.go GetAllMembers)', async () => {
    const m = await pd.getAllMembers();
    expect(m.members).toHaveLength(2);
    expect(m.leader?.clientUrls).toEqual([cluster.pdMembers().find((x) => x.leader)?.clientUrl]);
    expect(m.etcdLeader?.name).toBe(m.leader?.name);
  });
});
