// The PdClient's parts (issue 11): `timestamps`, `regions` and `keyspaces` are the objects the
// client's flat methods delegate to, each usable on its own through the interface a consumer
// declares (TimestampSource, OracleTimestampSource, RegionSource, KeyspaceSource).
import { keyspacepb } from '@tikv/proto';
import { PdClient } from '../src/pd-client.js';
import { PdOracle } from '../src/pd-oracle.js';
import type { RegionSource } from '../src/region-source.js';
import type { OracleTimestampSource, TimestampSource } from '../src/timestamp-source.js';
import { FakePdCluster } from './fake-pd-cluster.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

let pd: FakePdCluster;
let client: PdClient;
beforeAll(async () => {
  pd = await FakePdCluster.start(1);
  client = await PdClient.connect({ endpoints: pd.endpoints });
});
afterAll(async () => {
  await client.close();
  await pd.close();
});

test('timestamps: one TSO stream behind the client and its part, strictly increasing across both', async () => {
  const source: TimestampSource = client.timestamps;
  const a = await source.getTimestamp();
  const b = await client.getTimestamp();
  const c = await client.timestamps.getTimestamp({ timeoutMs: 1_000 });
  expect(a < b && b < c).toBe(true);
  expect(client.tsoStats).toEqual(client.timestamps.stats);
  expect(client.timestamps.stats.streamsOpened).toBe(1);
  expect(await client.timestamps.getMinTimestamp()).toBeGreaterThanOrEqual(c);
});

test('an oracle draws from the timestamp part alone', async () => {
  const source: OracleTimestampSource = client.timestamps;
  const oracle = await PdOracle.create(source, { noUpdateTs: true });
  try {
    const ts = await oracle.getTimestamp();
    const asSource: TimestampSource = oracle;
    expect(await asSource.getTimestamp()).toBeGreaterThan(ts);
    await oracle.setExternalTimestamp(ts);
    expect(await client.getExternalTimestamp()).toBe(ts);
  } finally {
    oracle.close();
  }
});

test('regions: the part is a RegionSource and answers as the client does', async () => {
  const source: RegionSource = client.regions;
  const viaPart = await source.getRegion(enc('k'));
  const viaClient = await client.getRegion(enc('k'));
  expect(viaPart?.region.id).toBe(1n);
  expect(viaClient).toEqual(viaPart);
  expect(await client.regions.getRegionById(1n)).toEqual(viaPart);
  expect((await client.regions.scanRegions(enc(''), enc(''), 0)).map((r) => r.region.id)).toEqual([1n]);
  expect(client.queryRegionRequests).toBe(client.regions.queryRegionRequests);
  expect(client.regions.queryRegionRequests).toBeGreaterThanOrEqual(2);
  expect((await client.regions.getAllStores()).length).toBe(
    await client.getAllStores().then((s) => s.length),
  );
});

test('keyspaces: the part loads keyspace meta as the client does', async () => {
  pd.keyspaces.set(
    'ks1',
    keyspacepb.KeyspaceMeta.fromPartial({
      keyspace: { $case: 'id', value: 3 },
      name: 'ks1',
      state: keyspacepb.KeyspaceState.ENABLED,
    }),
  );
  const load: (name: string) => Promise<keyspacepb.KeyspaceMeta> = (name) =>
    client.keyspaces.loadKeyspace(name);
  expect((await load('ks1')).keyspace).toEqual({ $case: 'id', value: 3 });
  expect(await client.loadKeyspace('ks1')).toEqual(await load('ks1'));
  await expect(client.keyspaces.loadKeyspace('missing')).rejects.toMatchObject({
    pdErrorType: 'ENTRY_NOT_FOUND',
  });
});

test('closing the client closes its parts', async () => {
  const other = await PdClient.connect({ endpoints: pd.endpoints });
  await other.timestamps.getTimestamp();
  await other.close();
  await expect(other.timestamps.getTimestamp()).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
  await expect(other.regions.getRegion(enc('k'))).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
  await expect(other.keyspaces.loadKeyspace('ks1')).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
  await other.close();
});
