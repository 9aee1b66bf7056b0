import {
  DEFAULT_RAW_CLIENT_OPTIONS,
  MAX_ENTRY_SIZE_BYTES,
  MAX_KEY_SIZE_BYTES,
  RawClient,
  resolveRawClientTuning,
} from '../src/index.js';
import { dec, enc, FakeCluster } from './fake-cluster.js';

let cluster: FakeCluster;
let client: RawClient;
beforeEach(() => {
  cluster = new FakeCluster();
  client = new RawClient({ sender: cluster.sender, locator: cluster.locator });
});
afterEach(async () => {
  await client.close();
});

describe('input validation (nothing is sent)', () => {
  afterEach(() => expect(cluster.sent).toHaveLength(0));

  test('empty keys', async () => {
    await expect(client.get('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(client.put(new Uint8Array(0), 'v')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(client.batchGet(['a', ''])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(client.batchPut([{ key: '', value: 'v' }])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(client.delete('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(client.batchDelete([''])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(client.getKeyTTL('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  test('sizes', async () => {
    await expect(client.get(new Uint8Array(MAX_KEY_SIZE_BYTES + 1))).rejects.toMatchObject({
      code: 'KEY_TOO_LARGE',
      sizeBytes: MAX_KEY_SIZE_BYTES + 1,
    });
    await expect(client.put('k', new Uint8Array(MAX_ENTRY_SIZE_BYTES))).rejects.toMatchObject({
      code: 'ENTRY_TOO_LARGE',
      limitBytes: MAX_ENTRY_SIZE_BYTES,
    });
    await expect(client.scan(new Uint8Array(MAX_KEY_SIZE_BYTES + 1), '')).rejects.toMatchObject({
      code: 'KEY_TOO_LARGE',
    });
  });

  test('scan limits and ranges', async () => {
    await expect(client.scan('a', 'b', { limit: 10_241 })).rejects.toMatchObject({
      code: 'MAX_SCAN_LIMIT_EXCEEDED',
      maxLimit: 10_240,
    });
    await expect(client.reverseScan('b', 'a', { limit: 20_000 })).rejects.toMatchObject({
      code: 'MAX_SCAN_LIMIT_EXCEEDED',
    });
    await expect(client.scan('a', 'b', { limit: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(client.scan('b', 'a')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(client.reverseScan('a', 'b')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(client.deleteRange('b', 'a')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(client.checksum('b', 'a')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(client.batchScan([{ startKey: 'b', endKey: 'a' }])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    const it = client.scanIter('a', 'b', { pageSize: 0 });
    await expect(it.next()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await client.scan('a', 'a')).toEqual([]);
    expect(await client.scan('a', 'b', { limit: 0 })).toEqual([]);
  });

  test('batch put shape, ttl and types', async () => {
    await expect(
      client.batchPut([
        { key: 'a', value: '1' },
        { key: enc('a'), value: '2' },
      ]),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(client.batchPut([{ key: 'a', value: '1' }], { ttlSeconds: [1, 2] })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(client.put('a', '1', { ttlSeconds: -1 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(client.put('a', '1', { ttlSeconds: 1.5 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(client.get(42 as unknown as string)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(client.get('a', { columnFamily: 1 as unknown as string })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  test('options', () => {
    expect(() => resolveRawClientTuning({ maxBatchKeys: 0 })).toThrow(/maxBatchKeys/);
    expect(() => resolveRawClientTuning({ maxBackoffMs: -1 })).toThrow(/maxBackoffMs/);
    expect(resolveRawClientTuning({ maxBatchKeys: undefined }).maxBatchKeys).toBe(512);
    expect(DEFAULT_RAW_CLIENT_OPTIONS.maxBatchPutBytes).toBe(16 * 1024);
    expect(Object.isFrozen(DEFAULT_RAW_CLIENT_OPTIONS)).toBe(true);
  });
});

describe('batches', () => {
  test('batchGet splits by region and 512 keys, keeps caller order, empty vs absent', async () => {
    cluster.split('k0500', 'k1000');
    cluster.refreshCache();
    const keys = Array.from({ length: 1500 }, (_, i) => `k${String(i).padStart(4, '0')}`);
    await client.batchPut(
      keys.filter((_, i) => i % 3 !== 0).map((key) => ({ key, value: key === 'k0001' ? '' : `v${key}` })),
    );
    const shuffled = [...keys].reverse();
    shuffled.push('k0002', 'k0002');
    cluster.sent.length = 0;
    const got = await client.batchGet(shuffled);
    expect(got).toHaveLength(shuffled.length);
    shuffled.forEach((k, i) => {
      const n = Number(k.slice(1));
      if (n % 3 === 0) expect(got[i]).toBeUndefined();
      else if (k === 'k0001') expect(got[i]).toEqual(new Uint8Array(0));
      else expect(dec(got[i])).toBe(`v${k}`);
    });
    const reqs = cluster.sent.filter((r) => r.$case === 'RawBatchGet');
    expect(reqs.every((r) => (r.value.keys as Uint8Array[]).length <= 512)).toBe(true);
    expect(reqs.reduce((n, r) => n + (r.value.keys as Uint8Array[]).length, 0)).toBe(1500);
    expect(new Set(reqs.map((r) => r.region.id)).size).toBe(3);
  });

  test('batchPut cuts at 16 KiB and sends per-pair TTLs', async () => {
    const pairs = Array.from({ length: 40 }, (_, i) => ({ key: `k${i}`, value: new Uint8Array(1000) }));
    await client.batchPut(pairs, { ttlSeconds: pairs.map((_, i) => i) });
    const reqs = cluster.sent.filter((r) => r.$case === 'RawBatchPut');
    expect(reqs.length).toBe(3);
    const first = reqs[0]?.value ?? {};
    expect((first.ttls as bigint[]).length).toBe((first.pairs as unknown[]).length);
    cluster.sent.length = 0;
    await client.batchPut(pairs.slice(0, 2));
    expect(cluster.sent[0]?.value.ttls).toEqual([]);
    await client.batchPut([]);
    await client.batchDelete([]);
    expect(await client.batchGet([])).toEqual([]);
  });

  test('a region error re-sends only that region’s keys, after re-locating', async () => {
    cluster.split('m');
    cluster.refreshCache();
    const keys = ['a', 'b', 'x', 'y'];
    await client.batchPut(keys.map((key) => ({ key, value: key })));
    const right = (await cluster.locator.locateKey(enc('x'))).region.id;
    cluster.regionErrors.push({
      $case: 'RawBatchGet',
      regionId: right,
      error: { notLeader: { regionId: right } },
    });
    cluster.sent.length = 0;
    expect((await client.batchGet(keys)).map(dec)).toEqual(keys);
    const sentKeys = cluster.sent.map((r) => (r.value.keys as Uint8Array[]).map((k) => dec(k)).join(','));
    expect(sentKeys.sort()).toEqual(['a,b', 'x,y', 'x,y']);
  });

  test('a split during a batch is followed (epoch not match)', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `k${String(i).padStart(2, '0')}`);
    await client.batchPut(keys.map((key) => ({ key, value: key })));
    cluster.split('k10', 'k20');
    await client.batchDelete(keys.slice(0, 15));
    expect((await client.scan('', '')).map((p) => dec(p.key))).toEqual(keys.slice(15));
  });

  test('the first failure cancels the rest and is thrown', async () => {
    cluster.split('m');
    cluster.refreshCache();
    cluster.hang.add('RawBatchDelete');
    const boom = new Error('store down');
    cluster.onSend = (r) => {
      if (r.$case === 'RawBatchDelete' && (r.value.keys as Uint8Array[])[0]?.[0] === 0x78) {
        cluster.hang.delete('RawBatchDelete');
        cluster.failures.set('RawBatchDelete', boom);
      }
    };
    await expect(client.batchDelete(['a', 'x'])).rejects.toBe(boom);
  });

  test('storage errors surface with the server message', async () => {
    const failing = new RawClient({
      locator: cluster.locator,
      sender: {
        sendRequest: async (_bo, req) =>
          ({ $case: req.$case, value: { regionError: undefined, error: 'TTL is not enabled' } }) as never,
      },
    });
    await expect(failing.put('a', 'b', { ttlSeconds: 5 })).rejects.toMatchObject({
      code: 'KEY_ERROR',
      message: 'TTL is not enabled',
    });
    await expect(failing.batchDelete(['a'])).rejects.toMatchObject({ code: 'KEY_ERROR' });
  });

  test('per-pair key errors surface as KeyError', async () => {
    const failing = new RawClient({
      locator: cluster.locator,
      sender: {
        sendRequest: async (_bo, req) =>
          ({
            $case: req.$case,
            value: {
              regionError: undefined,
              pairs: [{ error: { abort: 'boom' } }],
              kvs: [{ error: { abort: 'x' } }],
            },
          }) as never,
      },
    });
    await expect(failing.batchGet(['a'])).rejects.toMatchObject({ code: 'TXN_ABORTED' });
    await expect(failing.scan('a', '')).rejects.toMatchObject({ code: 'TXN_ABORTED' });
  });
});

describe('scans', () => {
  beforeEach(async () => {
    cluster.split('c', 'f');
    cluster.refreshCache();
    await client.batchPut(
      ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((key) => ({ key, value: key.toUpperCase() })),
    );
  });

  test('scanIter pages through regions, forward and reverse, and stops on break', async () => {
    const keys: string[] = [];
    for await (const p of client.scanIter('', '', { pageSize: 2 })) keys.push(dec(p.key) ?? '');
    expect(keys).toEqual(['a', 'b', 'c', 'd', 'e', 'f', 'g']);
    const rev: string[] = [];
    for await (const p of client.scanIter('z', 'b', { pageSize: 1, reverse: true, keyOnly: true })) {
      rev.push(dec(p.key) ?? '');
      expect(p.value).toEqual(new Uint8Array(0));
    }
    expect(rev).toEqual(['g', 'f', 'e', 'd', 'c', 'b']);
    cluster.sent.length = 0;
    for await (const p of client.scanIter('a', '', { pageSize: 1 })) {
      if (dec(p.key) === 'b') break;
    }
    expect(cluster.sent).toHaveLength(2);
  });

  test('batchScan answers per range', async () => {
    const got = await client.batchScan(
      [{ startKey: 'a', endKey: 'c' }, { startKey: 'e' }, { startKey: 'b', endKey: 'g' }],
      { eachLimit: 3 },
    );
    expect(got.map((ps) => ps.map((p) => dec(p.key)).join(''))).toEqual(['ab', 'efg', 'bcd']);
  });

  test('scan and reverse scan across a split that happens mid-walk', async () => {
    let done = false;
    cluster.onSend = (r) => {
      if (!done && r.$case === 'RawScan') {
        done = true;
        cluster.split('e');
      }
    };
    expect((await client.scan('a', '')).map((p) => dec(p.key)).join('')).toBe('abcdefg');
    done = false;
    expect((await client.reverseScan('z', '')).map((p) => dec(p.key)).join('')).toBe('gfedcba');
  });
});

describe('ttl, cas and checksum', () => {
  test('getKeyTTL', async () => {
    await client.put('t', 'v', { ttlSeconds: 100 });
    expect(await client.getKeyTTL('t')).toBe(100);
    cluster.nowSeconds += 40n;
    expect(await client.getKeyTTL('t')).toBe(60);
    await client.put('forever', 'v');
    expect(await client.getKeyTTL('forever')).toBe(0);
    cluster.nowSeconds += 60n;
    expect(await client.getKeyTTL('t')).toBeUndefined();
    expect(await client.get('t')).toBeUndefined();
  });

  test('compareAndSwap with an absent key and empty values', async () => {
    const atomic = new RawClient(
      { sender: cluster.sender, locator: cluster.locator },
      { atomicForCas: true },
    );
    let r = await atomic.compareAndSwap('k', undefined, '');
    expect(r).toEqual({ previous: undefined, swapped: true });
    r = await atomic.compareAndSwap('k', '', 'val');
    expect(r).toEqual({ previous: new Uint8Array(0), swapped: true });
    await atomic.put('p', 'x');
    expect(cluster.sent.find((s) => s.$case === 'RawPut')?.value.forCas).toBe(true);
  });
});

describe('cancellation, deadlines, budget, close', () => {
  test('an abort rejects with the signal reason', async () => {
    cluster.hang.add('RawGet');
    const ac = new AbortController();
    const p = client.get('k', { signal: ac.signal });
    const reason = new Error('user abort');
    ac.abort(reason);
    await expect(p).rejects.toBe(reason);
    const pre = new AbortController();
    pre.abort(reason);
    await expect(client.scan('a', '', { signal: pre.signal })).rejects.toBe(reason);
  });

  test('timeoutMs rejects with DEADLINE_EXCEEDED', async () => {
    cluster.hang.add('RawScan');
    await expect(client.scan('a', '', { timeoutMs: 5 })).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  });

  test('endless region errors run out of the backoff budget', async () => {
    const small = new RawClient({ sender: cluster.sender, locator: cluster.locator }, { maxBackoffMs: 10 });
    for (let i = 0; i < 100; i++) cluster.regionErrors.push({ error: { serverIsBusy: {} } });
    await expect(small.get('k')).rejects.toMatchObject({ code: 'BACKOFF_EXCEEDED' });
  });

  test('views share the connection; close is idempotent and final', async () => {
    let closes = 0;
    const c = new RawClient({
      sender: cluster.sender,
      locator: cluster.locator,
      clusterId: 9n,
      close: async () => {
        closes++;
      },
    });
    const view = c.withColumnFamily('x');
    expect(view.clusterId).toBe(9n);
    await view.close();
    await c.close();
    expect(closes).toBe(1);
    expect(c.closed).toBe(true);
    await expect(c.get('k')).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(client.clusterId).toBe(0n);
  });
});
