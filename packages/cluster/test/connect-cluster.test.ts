// connectCluster against the embedded mock cluster: the pieces it wires work together, in API
// V1 and in an API V2 keyspace, for raw and for transactional keys; bad options are refused
// before anything is opened; a failure half-way closes what was opened.
import { isTiKVError, toBytes } from '@tikv/common';
import { KeyMode, KeyspaceError } from '@tikv/keyspace';
import { MockCluster } from '@tikv/mock-cluster';
import { CollapsingTransport, RegionExecutor } from '@tikv/rpc';
import { type ClusterConnection, connectCluster } from '../src/index.js';

jest.setTimeout(30_000);

const dec = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : new TextDecoder().decode(b);

/** A RawPut then a RawGet through the connection's sender and cache. */
async function putGet(conn: ClusterConnection, key: string, value: string): Promise<string | undefined> {
  const exec = new RegionExecutor({ sender: conn.sender, locator: conn.regionCache });
  const { bo } = exec.begin(undefined);
  const k = toBytes(key);
  await exec.sendToKey(bo, k, () => ({
    $case: 'RawPut' as const,
    value: { context: undefined, key: k, value: toBytes(value), cf: '', ttl: 0n, forCas: false },
  }));
  const { response } = await exec.sendToKey(bo, k, () => ({
    $case: 'RawGet' as const,
    value: { context: undefined, key: k, cf: '' },
  }));
  return response.value.notFound ? undefined : dec(response.value.value);
}

test('API V1: PD, region cache, transport and sender, wired for raw keys', async () => {
  const cluster = await MockCluster.start({ stores: 2, splitKeys: ['m'] });
  const conn = await connectCluster({ pdEndpoints: cluster.pdEndpoints, keyMode: KeyMode.RAW });
  try {
    expect(conn.clusterId).toBe(cluster.clusterId);
    expect(conn.pd.clusterId).toBe(conn.clusterId);
    expect(conn.codec.apiVersion).toBe('V1');
    expect(conn.codec.mode).toBe(KeyMode.RAW);
    expect(conn.transport).toBeInstanceOf(CollapsingTransport);
    expect(await putGet(conn, 'a', '1')).toBe('1');
    expect(await putGet(conn, 'z', '2')).toBe('2');
    expect((await conn.regionCache.locateKey(toBytes('z'))).startKey).toEqual(toBytes('m'));
  } finally {
    await conn.close();
    await cluster.close();
  }
});

test('API V2: the keyspace codec around the transport, region keys in the client’s key space', async () => {
  const cluster = await MockCluster.start({ stores: 1, apiVersion: 'V2', keyspaces: [{ name: 'tenant_a' }] });
  const raw = await connectCluster({
    pdEndpoints: cluster.pdEndpoints,
    apiVersion: 'V2',
    keyspace: 'tenant_a',
    keyMode: KeyMode.RAW,
  });
  const txn = await connectCluster({
    pdEndpoints: cluster.pdEndpoints,
    apiVersion: 'V2',
    keyspace: 'tenant_a',
    keyMode: KeyMode.TXN,
  });
  try {
    expect(raw.transport).not.toBe(raw.rpc);
    expect(raw.codec.keyspaceId).toBe(txn.codec.keyspaceId);
    expect(raw.codec.keyspacePrefix[0]).toBe(0x72);
    expect(txn.codec.keyspacePrefix[0]).toBe(0x78);
    expect(await putGet(raw, 'k', 'v')).toBe('v');
    // The cache holds the client's keys: the keyspace's one region starts at the empty key.
    const loc = await txn.regionCache.locateKey(toBytes('k'));
    expect(loc.startKey).toEqual(new Uint8Array(0));
    expect(await txn.pd.getTimestamp()).toBeGreaterThan(0n);
  } finally {
    await raw.close();
    await txn.close();
    await cluster.close();
  }
});

test('a V1 transactional client connects to V2 storage; a V1 raw client does not', async () => {
  const cluster = await MockCluster.start({ stores: 1, apiVersion: 'V2' });
  try {
    const txn = await connectCluster({ pdEndpoints: cluster.pdEndpoints, keyMode: KeyMode.TXN });
    await txn.close();
    await expect(
      connectCluster({ pdEndpoints: cluster.pdEndpoints, keyMode: KeyMode.RAW }),
    ).rejects.toMatchObject({
      code: 'API_VERSION_MISMATCH',
    });
  } finally {
    await cluster.close();
  }
});

test('bad options are refused before anything is opened', async () => {
  const bad: [unknown, string][] = [
    [undefined, 'options must be an object, got undefined'],
    [
      { pdEndpoints: [], keyMode: 'raw' },
      'options.pdEndpoints must list at least one PD endpoint, got array of length 0',
    ],
    [{ pdEndpoints: 'x', keyMode: 'raw' }, 'options.pdEndpoints must be an array, got string'],
    [{ pdEndpoints: [1], keyMode: 'raw' }, 'options.pdEndpoints[0] must be a string, got number 1'],
    [
      { pdEndpoints: ['a:1'], apiVersion: 'V3', keyMode: 'raw' },
      "options.apiVersion must be 'V1', 'V2' or undefined, got 'V3'",
    ],
    [
      { pdEndpoints: ['a:1'], apiVersion: 2, keyMode: 'raw' },
      "options.apiVersion must be 'V1', 'V2' or undefined, got number 2",
    ],
    [{ pdEndpoints: ['a:1'], keyMode: 'kv' }, "options.keyMode must be 'raw' or 'txn', got string"],
    [
      { pdEndpoints: ['a:1'], keyMode: 'raw', keyspace: 1 },
      'options.keyspace must be a string or undefined, got number 1',
    ],
    [{ pdEndpoints: ['127.0.0.1:1'], keyMode: 'raw', keyspace: 'x' }, 'a keyspace requires apiVersion V2'],
  ];
  for (const [options, message] of bad) {
    const e = await connectCluster(options as never).catch((x: unknown) => x);
    expect(isTiKVError(e, 'INVALID_ARGUMENT')).toBe(true);
    expect((e as Error).message).toContain(message);
  }
  await expect(
    connectCluster({ pdEndpoints: ['127.0.0.1:1'], keyMode: KeyMode.RAW }, { timeoutMs: -1 }),
  ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
});

test('a failure half-way closes what was opened: an unknown keyspace, an aborted connect', async () => {
  const cluster = await MockCluster.start({ stores: 1, apiVersion: 'V2' });
  try {
    const e = await connectCluster({
      pdEndpoints: cluster.pdEndpoints,
      apiVersion: 'V2',
      keyspace: 'nope',
      keyMode: KeyMode.RAW,
    }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(KeyspaceError);
    const reason = new Error('stop');
    await expect(
      connectCluster(
        { pdEndpoints: cluster.pdEndpoints, apiVersion: 'V2', keyMode: KeyMode.RAW },
        { signal: AbortSignal.abort(reason) },
      ),
    ).rejects.toBe(reason);
  } finally {
    await cluster.close();
  }
});

test('API V1 txn keys: region errors come back in the client’s key space (EpochNotMatch after a split)', async () => {
  // Region boundaries of a V1 transactional cluster are memcomparable-encoded keys.
  const cluster = await MockCluster.start({ stores: 1, regionKeyEncoding: 'memcomparable' });
  const conn = await connectCluster({ pdEndpoints: cluster.pdEndpoints, keyMode: KeyMode.TXN });
  try {
    expect(conn.transport).not.toBe(conn.rpc);
    const exec = new RegionExecutor({ sender: conn.sender, locator: conn.regionCache });
    const { bo } = exec.begin(undefined);
    const get = (key: string) =>
      exec.sendToKey(bo, toBytes(key), () => ({
        $case: 'Get' as const,
        value: { context: undefined, key: toBytes(key), version: 100n, needCommitTs: false },
      }));
    await get('z'); // the cache now holds the one region
    cluster.split(['m']);
    // Sent with the stale epoch: TiKV answers EpochNotMatch with both new regions, whose
    // boundaries the cache must take as user keys.
    await get('z');
    const left = await conn.regionCache.locateKey(toBytes('l'));
    const right = await conn.regionCache.locateKey(toBytes('m'));
    expect(dec(left.endKey)).toBe('m');
    expect(dec(right.startKey)).toBe('m');
    expect(right.region.id).not.toBe(left.region.id);
  } finally {
    await conn.close();
    await cluster.close();
  }
});

test('TestKVStoreCloseCheckRegionCacheClosedBeforePDClose (tikv/kv_test.go): the region cache is closed before PD', async () => {
  const cluster = await MockCluster.start({ stores: 1 });
  try {
    const conn = await connectCluster({ pdEndpoints: cluster.pdEndpoints, keyMode: KeyMode.RAW });
    const events: string[] = [];
    const cacheClose = conn.regionCache.close.bind(conn.regionCache);
    const pdClose = conn.pd.close.bind(conn.pd);
    conn.regionCache.close = async () => {
      events.push('cache:start');
      // The cache's background loops may still talk to PD while they stop.
      await new Promise<void>((resolve) => setImmediate(resolve));
      await cacheClose();
      events.push('cache:done');
    };
    conn.pd.close = async () => {
      events.push('pd:start');
      await pdClose();
    };
    await conn.close();
    expect(events.indexOf('pd:start')).toBeGreaterThan(events.indexOf('cache:done'));
  } finally {
    await cluster.close();
  }
});
