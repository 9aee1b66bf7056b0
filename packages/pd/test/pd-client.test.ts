import { isTiKVError } from '@tikv/common';
import { Status } from 'nice-grpc';
import { PdClient } from '../src/pd-client.js';
import { PdOracle } from '../src/pd-oracle.js';
import type { RegionSource } from '../src/region-source.js';
import { concurrentTimestamps } from './concurrent-timestamps.js';
import { FakePdCluster } from './fake-pd-cluster.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

describe('PdClient against a fake PD cluster', () => {
  let pd: FakePdCluster;
  let client: PdClient;
  afterEach(async () => {
    await client?.close();
    await pd?.close();
  });

  test('connects, keeps the cluster id and serves timestamps', async () => {
    pd = await FakePdCluster.start(3);
    client = await PdClient.connect({ endpoints: [pd.endpoints[1]!] });
    expect(client.clusterId).toBe(7n);
    expect(client.leaderUrl).toBe(pd.urls[0]);
    const a = await client.getTimestamp();
    const b = await client.getTimestamp({ timeoutMs: 1000 });
    expect(b > a).toBe(true);
    expect(await client.getMinTimestamp()).toBeGreaterThanOrEqual(b);
    const source: RegionSource = client;
    expect(source).toBe(client);
  });

  test('many concurrent callers: monotonic per caller, no duplicates, batched', async () => {
    pd = await FakePdCluster.start(1);
    client = await PdClient.connect({ endpoints: pd.endpoints });
    const all = await concurrentTimestamps(client, 256, 20);
    expect(new Set(all).size).toBe(all.length);
    const { rpcs, timestamps } = client.tsoStats;
    expect(timestamps / rpcs).toBeGreaterThan(20);
    expect(pd.tsoRequests).toBe(rpcs);
  });

  test('leader change during a TSO burst: every caller gets a timestamp, all increasing', async () => {
    pd = await FakePdCluster.start(3);
    client = await PdClient.connect({ endpoints: pd.endpoints, tsoRetryIntervalMs: 1 });
    const switched = new Promise<string>((r) => client.onLeaderChange(r));
    const all: bigint[] = [];
    const burst = Promise.all(
      Array.from({ length: 64 }, async (_, i) => {
        for (let k = 0; k < 30; k++) {
          all.push(await client.getTimestamp());
          if (i === 0 && k === 10) pd.leaderIndex = 2;
        }
      }),
    );
    await burst;
    expect(await switched).toBe(pd.urls[2]);
    expect(new Set(all).size).toBe(64 * 30);
    expect(client.tsoStats.streamsOpened).toBeGreaterThanOrEqual(2);
  });

  test('a broken stream fails in-flight waiters with a retryable error and reconnects', async () => {
    pd = await FakePdCluster.start(1);
    client = await PdClient.connect({ endpoints: pd.endpoints, maxTsoRetries: 1 });
    await client.getTimestamp();
    pd.breakNextTso = Status.INTERNAL;
    const err: unknown = await client.getTimestamp().catch((e: unknown) => e);
    expect(isTiKVError(err)).toBe(true);
    expect((err as { retryable: boolean }).retryable).toBe(true);
    const after = await client.getTimestamp();
    expect(after > 0n).toBe(true);
    expect(client.tsoStats.streamsOpened).toBe(2);
    // with retries the caller does not see the breakage at all
    await client.close();
    client = await PdClient.connect({ endpoints: pd.endpoints });
    pd.breakNextTso = Status.UNAVAILABLE;
    await expect(client.getTimestamp()).resolves.toBeGreaterThan(after);
  });

  test('region lookups across splits and merges go over QueryRegion', async () => {
    pd = await FakePdCluster.start(1);
    client = await PdClient.connect({ endpoints: pd.endpoints });
    const r0 = await client.getRegion(enc('m'));
    expect(r0?.region.id).toBe(1n);
    expect(r0?.leader?.storeId).toBe(1n);
    pd.split(enc('g'));
    pd.split(enc('p'));
    const [a, b, c] = await Promise.all([
      client.getRegion(enc('a')),
      client.getRegion(enc('h')),
      client.getRegion(enc('z')),
    ]);
    expect(a?.region.id).toBe(1n);
    expect(dec(a!.region.endKey)).toBe('g');
    expect(dec(b!.region.startKey)).toBe('g');
    expect(dec(b!.region.endKey)).toBe('p');
    expect(c?.region.epoch.version).toBe(3n);
    const prev = await client.getPrevRegion(enc('h'));
    expect(prev?.region.id).toBe(1n);
    expect(await client.getPrevRegion(enc('a'))).toBeUndefined();
    const byId = await client.getRegionById(b!.region.id, { needBuckets: true });
    expect(dec(byId!.region.startKey)).toBe('g');
    expect(await client.getRegionById(999n)).toBeUndefined();
    pd.merge(1n);
    const merged = await client.getRegion(enc('h'));
    expect(merged?.region.id).toBe(1n);
    expect(dec(merged!.region.endKey)).toBe('p');
    expect(pd.queryRegionRequests).toBeGreaterThan(0);
    expect(pd.queryRegionRequests).toBeLessThan(8);
    expect(pd.unaryRegionRequests).toBe(0);
    expect(client.queryRegionRequests).toBe(pd.queryRegionRequests);
  });

  test('falls back to unary region calls when QueryRegion is unimplemented', async () => {
    pd = await FakePdCluster.start(1);
    pd.unimplemented.add('queryRegion');
    client = await PdClient.connect({ endpoints: pd.endpoints });
    pd.split(enc('k'));
    expect((await client.getRegion(enc('x')))?.region.startKey).toEqual(enc('k'));
    expect((await client.getPrevRegion(enc('x')))?.region.id).toBe(1n);
    expect((await client.getRegionById(1n))?.region.endKey).toEqual(enc('k'));
    expect(pd.unaryRegionRequests).toBe(3);
    await client.close();
    client = await PdClient.connect({ endpoints: pd.endpoints, enableRouterClient: false });
    expect(await client.getRegion(enc('a'))).toBeDefined();
  });

  test('scans, batch scans (with fallback), stores', async () => {
    pd = await FakePdCluster.start(1);
    client = await PdClient.connect({ endpoints: pd.endpoints });
    pd.split(enc('b'));
    pd.split(enc('d'));
    pd.split(enc('f'));
    const all = await client.scanRegions(new Uint8Array(), new Uint8Array(), 0);
    expect(all.map((r) => dec(r.region.startKey))).toEqual(['', 'b', 'd', 'f']);
    expect(await client.scanRegions(enc('c'), enc('e'), 10)).toHaveLength(2);
    expect(await client.scanRegions(enc('a'), new Uint8Array(), 2)).toHaveLength(2);
    const ranges = [
      { startKey: enc('a'), endKey: enc('b') },
      { startKey: enc('e'), endKey: enc('g') },
    ];
    expect((await client.batchScanRegions(ranges, 0)).map((r) => dec(r.region.startKey))).toEqual([
      '',
      'd',
      'f',
    ]);
    pd.unimplemented.add('batchScanRegions');
    expect((await client.batchScanRegions(ranges, 2)).map((r) => dec(r.region.startKey))).toEqual(['', 'd']);
    const s1 = await client.getStore(1n);
    expect(s1?.address).toBe('127.0.0.1:20161');
    expect(s1?.labels).toEqual([{ key: 'zone', value: 'z1' }]);
    expect(await client.getStore(3n)).toBeUndefined(); // tombstone
    expect(await client.getStore(9n)).toBeUndefined();
    expect((await client.getAllStores()).map((s) => s.state)).toEqual(['up', 'tombstone']);
    expect(await client.getAllStores({ excludeTombstone: true })).toHaveLength(1);
  });

  test('admin calls: split, scatter, operator; header errors surface typed', async () => {
    pd = await FakePdCluster.start(1);
    client = await PdClient.connect({ endpoints: pd.endpoints });
    const split = await client.splitRegions([enc('k'), enc('t')]);
    expect(split.finishedPercentage).toBe(100);
    expect(split.regionIds).toHaveLength(2);
    expect(await client.scatterRegion(split.regionIds[0]!, { group: 'g' })).toEqual({
      finishedPercentage: 100,
      failedRegionIds: [],
    });
    expect(await client.scatterRegions(split.regionIds)).toEqual({
      finishedPercentage: 100,
      failedRegionIds: [],
    });
    expect(await client.getOperator(1n)).toEqual({
      regionId: 1n,
      desc: 'scatter-region',
      kind: 'admin',
      status: 'running',
    });
    await client.setExternalTimestamp(10n);
    expect(await client.getExternalTimestamp()).toBe(10n);
    await expect(client.setExternalTimestamp(5n)).rejects.toMatchObject({
      code: 'PD_ERROR',
      pdErrorType: 'INVALID_VALUE',
    });
  });

  test('retryable failures are retried with backoff; non-retryable surface at once', async () => {
    pd = await FakePdCluster.start(1);
    client = await PdClient.connect({ endpoints: pd.endpoints });
    pd.failNextUnary = Status.UNAVAILABLE;
    expect(await client.getAllStores()).toHaveLength(2);
    pd.failNextUnary = Status.INVALID_ARGUMENT;
    await expect(client.getAllStores()).rejects.toMatchObject({ code: 'RPC_ERROR', retryable: false });
  });

  test('cancellation and deadlines', async () => {
    pd = await FakePdCluster.start(2);
    client = await PdClient.connect({ endpoints: pd.endpoints });
    pd.leaderIndex = 1; // the client still believes member 0 leads: calls fail and back off
    pd.leaderIndex = 5; // no member answers any more
    const ac = new AbortController();
    const p = client.getAllStores({ signal: ac.signal });
    ac.abort(new Error('user abort'));
    await expect(p).rejects.toThrow('user abort');
    await expect(client.getStore(1n, { timeoutMs: 50 })).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  });

  test('close rejects later calls; connect to a dead endpoint fails', async () => {
    pd = await FakePdCluster.start(1);
    client = await PdClient.connect({ endpoints: pd.endpoints });
    await client.close();
    await expect(client.getTimestamp()).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    await expect(client.getAllStores()).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    await expect(
      PdClient.connect({ endpoints: ['127.0.0.1:1'], discovery: { maxInitRetries: 1 }, timeoutMs: 200 }),
    ).rejects.toMatchObject({ code: 'PD_UNREACHABLE', endpoints: ['http://127.0.0.1:1'] });
  });

  test('the oracle over a real client', async () => {
    pd = await FakePdCluster.start(1);
    client = await PdClient.connect({ endpoints: pd.endpoints });
    const o = await PdOracle.create(client, { updateIntervalMs: 2000 });
    const ts = await o.getTimestamp();
    expect(await o.getLowResolutionTimestamp()).toBe(ts);
    await o.validateReadTs(ts, false);
    await expect(o.validateReadTs(ts + (1n << 40n), false)).rejects.toMatchObject({ code: 'FUTURE_TS_READ' });
    o.close();
  });
});
