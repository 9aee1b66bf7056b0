import { MockCluster } from '@tikv/mock-cluster';
import { PdClient } from '../src/pd-client.js';

describe('PdClient.updateOptions (PD client UpdateOption) against two mock PD members', () => {
  let cluster: MockCluster;
  let pd: PdClient;
  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 1, pdMembers: 2 });
    pd = await PdClient.connect({ endpoints: cluster.pdEndpoints });
  });
  afterAll(async () => {
    await pd?.close();
    await cluster?.close();
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
});
