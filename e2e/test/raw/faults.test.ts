// RawClient under topology changes and faults on the embedded mock cluster: region splits and
// leader moves during scans and batches, a stopped store, injected region errors, TTL expiry
// on the mock's clock, and cancellation, in API V1 and in an API V2 keyspace. Skipped against an
// external cluster.
import { keyspacePrefix, MockCluster } from '@tikv/mock-cluster';
import { RawClient } from '@tikv/raw';
import { type ApiMode, type ClusterTarget, startTarget } from '../../src/cluster-target.js';

const dec = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
const key = (i: number) => `f/${String(i).padStart(4, '0')}`;

let target: ClusterTarget;
let raw: RawClient;
const embedded =
  process.env.TIKV_PD_ENDPOINTS === undefined && process.env.TIKV_E2E_TESTCONTAINERS === undefined;
const maybe = embedded ? describe : describe.skip;

const modes: [string, ApiMode][] = [
  ['API V1', { apiVersion: 'V1', keyspace: '' }],
  ['API V2, keyspace', { apiVersion: 'V2', keyspace: 'faults_ks' }],
];

maybe.each(modes)('raw client under faults (%s)', (_, mode) => {
  beforeAll(async () => {
    target = await startTarget({
      stores: 3,
      apiVersion: mode.apiVersion,
      keyspaces: mode.keyspace === '' ? [] : ['other_ks', mode.keyspace],
    });
    raw = await RawClient.connect({
      pdEndpoints: target.pdEndpoints,
      apiVersion: mode.apiVersion,
      keyspace: mode.keyspace,
    });
  });
  afterAll(async () => {
    await raw?.close();
    await target?.close();
  });
  const mock = (): MockCluster => target.mock as MockCluster;
  /** A user key in the mock's (storage) key domain: prefixed with the keyspace in V2. */
  const storageKey = (k: string): Uint8Array => {
    const user = new TextEncoder().encode(k);
    if (mode.apiVersion === 'V1') return user;
    const id = mock()
      .keyspaces()
      .find((ks) => ks.name === mode.keyspace)?.id as number;
    return new Uint8Array([...keyspacePrefix('raw', id), ...user]);
  };

  beforeEach(async () => {
    mock().clearFaults();
    await raw.deleteRange('f/', 'f0');
    await raw.batchPut(Array.from({ length: 200 }, (_, i) => ({ key: key(i), value: `v${i}` })));
  });

  test('a split while scanIter walks a region is followed', async () => {
    const seen: string[] = [];
    let splitDone = false;
    for await (const p of raw.scanIter('f/', 'f0', { pageSize: 16 })) {
      seen.push(dec(p.key) ?? '');
      if (!splitDone) {
        splitDone = true;
        mock().split([storageKey(key(50)), storageKey(key(120))]);
      }
    }
    expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => key(i)));
  });

  test('leader moves during batches and reverse scans', async () => {
    for (const r of mock().regions()) {
      const other = r.peers.find((p) => p.storeId !== r.leader.storeId);
      if (other !== undefined) mock().transferLeader(r.id, other.storeId);
    }
    const keys = Array.from({ length: 200 }, (_, i) => key(199 - i));
    expect((await raw.batchGet(keys)).map(dec)).toEqual(keys.map((k) => `v${Number(k.slice(2))}`));
    mock().split([storageKey(key(100))]);
    const rev = await raw.reverseScan('f0', 'f/', { limit: 300 });
    expect(rev.map((p) => dec(p.key))).toEqual(keys);
  });

  test('a stopped leader store: requests fail over to the new leader', async () => {
    const region = mock().regionByKey(storageKey(key(10)));
    const leader = region.leader.storeId;
    const follower = region.peers.find((p) => p.storeId !== leader)?.storeId;
    expect(follower).toBeDefined();
    await raw.get(key(10));
    await mock().stopStore(leader);
    try {
      mock().transferLeader(region.id, follower as bigint);
      expect(dec(await raw.get(key(10)))).toBe('v10');
      await raw.batchPut([{ key: key(10), value: 'after' }]);
      expect(dec(await raw.get(key(10)))).toBe('after');
    } finally {
      await mock().startStore(leader);
    }
  });

  test('injected region errors are retried per region', async () => {
    const busy = mock().inject({ method: 'RawBatchGet', times: 2, error: 'NotLeader' });
    const epoch = mock().inject({ method: 'RawScan', times: 1, error: 'EpochNotMatch' });
    const notLeader = mock().inject({ method: 'RawBatchPut', times: 1, error: 'NotLeader' });
    expect((await raw.batchGet([key(1), key(2)])).map(dec)).toEqual(['v1', 'v2']);
    expect(await raw.scan('f/', 'f0', { limit: 5, keyOnly: true })).toHaveLength(5);
    await raw.batchPut([{ key: key(3), value: 'x' }]);
    expect([busy.hits, epoch.hits, notLeader.hits]).toEqual([2, 1, 1]);
  });

  test('a final region error surfaces as a typed error', async () => {
    mock().inject({ method: 'RawPut', times: 1, error: 'RaftEntryTooLarge' });
    await expect(raw.put(key(4), 'x')).rejects.toMatchObject({ code: 'REGION_ERROR' });
  });

  test('cancellation through AbortSignal and timeoutMs', async () => {
    const region = mock().regionByKey(storageKey(key(5)));
    mock().setStoreDelay(region.leader.storeId, 1_000);
    try {
      const ac = new AbortController();
      const pending = raw.get(key(5), { signal: ac.signal });
      const reason = new Error('stop');
      ac.abort(reason);
      await expect(pending).rejects.toBe(reason);
      await expect(raw.batchGet([key(5), key(6)], { timeoutMs: 50 })).rejects.toMatchObject({
        code: 'DEADLINE_EXCEEDED',
      });
    } finally {
      mock().setStoreDelay(region.leader.storeId, 0);
    }
    expect(dec(await raw.get(key(5)))).toBe('v5');
  });
});

maybe('TTL (API V2, mock clock)', () => {
  test('TestTTL', async () => {
    let nowMs = 1_700_000_000_000;
    const cluster = await MockCluster.start({ stores: 1, apiVersion: 'V2', nowMs: () => nowMs });
    const client = await RawClient.connect({ pdEndpoints: cluster.pdEndpoints, apiVersion: 'V2' });
    try {
      const ttl = 2;
      await client.put('test_ttlkey', 'value', { ttlSeconds: ttl });
      nowMs += (ttl / 2) * 1000;
      const rest = await client.getKeyTTL('test_ttlkey');
      expect(rest).toBeDefined();
      expect(rest).toBeLessThanOrEqual(ttl / 2);
      await client.batchPut(
        [
          { key: 'b1', value: '1' },
          { key: 'b2', value: '2' },
        ],
        { ttlSeconds: [1, 5] },
      );
      nowMs += (ttl / 2) * 1000;
      expect(await client.get('test_ttlkey')).toBeUndefined();
      expect(await client.getKeyTTL('test_ttlkey')).toBeUndefined();
      expect((await client.batchGet(['b1', 'b2'])).map(dec)).toEqual([undefined, '2']);
    } finally {
      await client.close();
      await cluster.close();
    }
  });
});
