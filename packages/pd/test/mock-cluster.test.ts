import type { MockCluster } from '@tikv/mock-cluster';
import type { PdClient } from '../src/pd-client.js';
import { concurrentTimestamps } from './concurrent-timestamps.js';
import { useMockPd } from './mock-pd.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('PdClient against @tikv/mock-cluster', () => {
  let cluster: MockCluster;
  let client: PdClient;
  useMockPd({ stores: 3 }, (c, p) => {
    cluster = c;
    client = p;
  });

  test('many concurrent callers get unique, increasing timestamps', async () => {
    const all = await concurrentTimestamps(client, 128, 10);
    expect(new Set(all).size).toBe(all.length);
  });

  test('region lookups follow splits and merges', async () => {
    const before = await client.getRegion(enc('m'));
    expect(before).toBeDefined();
    cluster.split([enc('g'), enc('p')]);
    const mid = await client.getRegion(enc('m'));
    expect(mid?.region.startKey).toEqual(enc('g'));
    expect(mid?.region.endKey).toEqual(enc('p'));
    const left = await client.getPrevRegion(enc('m'));
    expect(left?.region.endKey).toEqual(enc('g'));
    const byId = await client.getRegionById(mid!.region.id);
    expect(byId?.region.id).toBe(mid!.region.id);
    const scanned = await client.scanRegions(new Uint8Array(), new Uint8Array(), 0);
    expect(scanned.length).toBeGreaterThanOrEqual(3);
    cluster.merge(left!.region.id, mid!.region.id);
    const merged = await client.getRegion(enc('m'));
    expect(merged?.region.endKey).toEqual(enc('p'));
    expect(merged!.region.epoch.version > mid!.region.epoch.version).toBe(true);
  });

  test('stores', async () => {
    const stores = await client.getAllStores({ excludeTombstone: true });
    expect(stores).toHaveLength(3);
    const s = await client.getStore(stores[0]!.id);
    expect(s?.address).toBe(stores[0]!.address);
    // the mock answers an unknown id as PD does: UNKNOWN "invalid store ID 77, not found"
    expect(await client.getStore(77n)).toBeUndefined();
  });

  test('scatter reports the regions it could not scatter; batch scans check their ranges', async () => {
    const r = await client.getRegion(enc('a'));
    expect(await client.scatterRegions([r!.region.id, 5555n])).toEqual({
      finishedPercentage: 50,
      failedRegionIds: [5555n],
    });
    // One unknown region alone is refused (a gRPC UNKNOWN from PD's scatterer), not retried.
    await expect(client.scatterRegion(5555n)).rejects.toMatchObject({ code: 'RPC_ERROR', retryable: false });
    const ranges = [
      { startKey: enc('a'), endKey: enc('c') },
      { startKey: enc('b'), endKey: enc('d') },
    ];
    await expect(client.batchScanRegions(ranges, 0)).rejects.toMatchObject({ name: 'InvalidArgumentError' });
  });
});

describe('PdClient SplitAndScatterRegions and GetRegionFromMember (client.go)', () => {
  let cluster: MockCluster;
  let client: PdClient;
  useMockPd({ stores: 3, pdMembers: 2 }, (c, p) => {
    cluster = c;
    client = p;
  });

  test('splitAndScatterRegions splits at the keys and scatters the new regions', async () => {
    const r = await client.splitAndScatterRegions([enc('g'), enc('p')], { group: 'g1' });
    expect(r.splitFinishedPercentage).toBe(100);
    expect(r.scatterFinishedPercentage).toBe(100);
    expect(r.regionIds).toHaveLength(2);
    expect((await client.getRegion(enc('h')))?.region.startKey).toEqual(enc('g'));
    expect((await client.getOperator(r.regionIds[0] as bigint)).desc).toBe('scatter-region');
    // Splitting at existing boundaries creates nothing to scatter: PD's "empty region".
    await expect(client.splitAndScatterRegions([enc('g')])).rejects.toMatchObject({
      code: 'RPC_ERROR',
      message: expect.stringContaining('empty region'),
    });
  });

  test('getRegionFromMember asks the members in turn', async () => {
    const [leader, follower] = cluster.pdMembers().sort((a, b) => Number(b.leader) - Number(a.leader));
    const r = await client.getRegionFromMember(enc('h'), [follower!.clientUrl, leader!.clientUrl]);
    expect(r?.region.startKey).toEqual(enc('g'));
    await expect(client.getRegionFromMember(enc('h'), [follower!.clientUrl])).rejects.toMatchObject({
      code: 'PD_UNREACHABLE',
      endpoints: [follower!.clientUrl],
    });
    await expect(client.getRegionFromMember(enc('h'), [])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});
