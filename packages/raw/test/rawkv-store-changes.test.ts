// Ports of client-go rawkv/rawkv_test.go run on the real stack (RawClient on RawClient.connect's
// wiring, against a MockCluster over gRPC): each test changes the stores under a client that has the old
// topology cached, the way the Go tests do with mocktikv, then checks the client still reads
// and writes the right data. Where the Go tests inject liveness ("store1:reachable
// store2:unreachable" by address), the mock's addresses are real: the address a removed store
// had refuses connections, the one another store took over answers StoreNotMatch.

import { connectCluster } from '@tikv/cluster';
import { MockCluster } from '@tikv/mock-cluster';
import type { RegionCache } from '@tikv/region-cache';
import { RawClient, resolveRawClientTuning } from '../src/index.js';

jest.setTimeout(60_000);

const dec = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : new TextDecoder().decode(b);
const portOf = (address: string): number => Number(address.split(':')[1]);

let cluster: MockCluster;
let client: RawClient;
/** The client's region cache (the Go tests build their Client around a cache they keep). */
let cache: RegionCache;
let region1: bigint;

beforeEach(async () => {
  // client-go's suite: two stores, one region, store1 holds the leader.
  cluster = await MockCluster.start({ stores: 2 });
  region1 = cluster.regionByKey('a').id;
  expect(cluster.region(region1)?.leader.storeId).toBe(1n);
  // RawClient.connect's wiring, keeping a handle on the region cache.
  const tuning = resolveRawClientTuning();
  const parts = await connectCluster({ pdEndpoints: cluster.pdEndpoints, keyMode: 'raw' });
  cache = parts.regionCache;
  client = new RawClient(
    { sender: parts.sender, locator: parts.regionCache, clusterId: parts.clusterId, close: parts.close },
    tuning,
  );
});
afterEach(async () => {
  await client.close();
  await cluster.close();
});

const addressOf = (id: bigint): string => cluster.stores().find((s) => s.id === id)?.address ?? '';

/** client-go `UpdateStoreAddr` both ways: store1 takes store2's address and store2 store1's. */
async function swapStoreAddresses(): Promise<void> {
  const [a1, a2] = [addressOf(1n), addressOf(2n)];
  await cluster.stopStore(1);
  await cluster.stopStore(2);
  await cluster.startStore(1, { port: portOf(a2) });
  await cluster.startStore(2, { port: portOf(a1) });
  expect([addressOf(1n), addressOf(2n)]).toEqual([a2, a1]);
}

/**
 * "make store2 using store1's addr and store1 offline": the address swap, then store1 removed
 * (its new address refuses connections), the leader moved to store2 and store1's peer removed.
 */
async function replaceStore1ByStore2(): Promise<void> {
  await swapStoreAddresses();
  await cluster.removeStore(1);
  cluster.transferLeader(region1, 2);
  cluster.removePeer(region1, 1);
}

const samplePairs = (keys: string[]) => {
  const all: Record<string, string> = {
    db: 'TiDB',
    key2: 'value2',
    key1: 'value1',
    key4: 'value4',
    key3: 'value3',
    kv: 'TiKV',
  };
  return keys.map((key) => ({ key, value: all[key] as string }));
};

describe('rawkv_test.go', () => {
  test('TestReplaceAddrWithNewStore', async () => {
    await client.put('test_key', 'test_value');
    await replaceStore1ByStore2();
    expect(dec(await client.get('test_key'))).toBe('test_value');
  });

  test('TestUpdateStoreAddr', async () => {
    await client.put('test_key', 'test_value');
    // TiKV answers StoreNotMatch at the old address; the client re-resolves and retries.
    await swapStoreAddresses();
    expect(dec(await client.get('test_key'))).toBe('test_value');
  });

  test('TestReplaceNewAddrAndOldOfflineImmediately', async () => {
    await client.put('test_key', 'test_value');
    // Pre-load store2's address into the cache through a follower read's routing.
    const loc = await cache.locateKey(new TextEncoder().encode('test_key'));
    const follower = await cache.getRpcContext(loc.region, { replicaRead: 'follower' });
    expect(follower?.store.id).toBe(2n);
    expect(follower?.addr).toBe(addressOf(2n));
    await replaceStore1ByStore2();
    expect(dec(await client.get('test_key'))).toBe('test_value');
  });

  test('TestReplaceStore', async () => {
    await client.put('test_key', 'test_value');
    // store1 becomes a tombstone and a new store3 takes its address, a peer and the leadership.
    const store1Addr = addressOf(1n);
    cluster.setStoreState(1, 'tombstone');
    await cluster.stopStore(1);
    const store3 = await cluster.addStore({ port: portOf(store1Addr) });
    expect(store3.address).toBe(store1Addr);
    cluster.addPeer(region1, store3.id);
    cluster.transferLeader(region1, store3.id);
    cluster.removePeer(region1, 1);
    await client.put('test_key', 'test_value');
    expect(dec(await client.get('test_key'))).toBe('test_value');
  });

  test('TestBatch', async () => {
    const cf = 'write'; // client-go's 'test_cf': mocktikv takes any name, TiKV only its own CFs
    const pairs = samplePairs(['db', 'key2', 'key1', 'key3', 'kv']);
    await client.batchPut(pairs, { columnFamily: cf });
    await replaceStore1ByStore2();
    const keys = pairs.map((p) => p.key);
    const values = await client.batchGet(keys, { columnFamily: cf });
    expect(values.map(dec)).toEqual(pairs.map((p) => p.value));
    await client.batchDelete(keys, { columnFamily: cf });
    expect(await client.get(keys[0] as string, { columnFamily: cf })).toBeUndefined();
  });

  test('TestScan', async () => {
    const cf = 'write'; // client-go's 'test_cf': mocktikv takes any name, TiKV only its own CFs
    const pairs = samplePairs(['db', 'key2', 'key1', 'key4', 'key3', 'kv']);
    await client.batchPut(pairs, { columnFamily: cf });
    await replaceStore1ByStore2();
    const got = await client.scan('key1', 'keyz', { limit: 3, columnFamily: cf });
    expect(got.map((p) => [dec(p.key), dec(p.value)])).toEqual([
      ['key1', 'value1'],
      ['key2', 'value2'],
      ['key3', 'value3'],
    ]);
    const rev = await client.reverseScan('key3', '', { limit: 10, columnFamily: cf, keyOnly: true });
    expect(rev.map((p) => dec(p.key))).toEqual(['key2', 'key1', 'db']);
  });

  test('TestDeleteRange', async () => {
    const cf = 'write'; // client-go's 'test_cf': mocktikv takes any name, TiKV only its own CFs
    await client.batchPut(samplePairs(['db', 'key2', 'key1', 'key4', 'key3', 'kv']), { columnFamily: cf });
    await replaceStore1ByStore2();
    await client.deleteRange('key3', '', { columnFamily: cf });
    expect(await client.scan('key3', '', { limit: 10, columnFamily: cf })).toHaveLength(0);
    expect(await client.scan('', '', { limit: 10, columnFamily: cf })).toHaveLength(3);
    await client.deleteRange('', '', { columnFamily: cf });
    expect(await client.scan('', '', { limit: 10, columnFamily: cf })).toHaveLength(0);
  });
});
