import { MockCluster } from '@tikv/mock-cluster';
import { tikv, tikvJson } from './run-cli-helper.js';

// One API V2 cluster with a keyspace serves raw and transactional keys alike.
let cluster: MockCluster;
let target: string[];

beforeAll(async () => {
  cluster = await MockCluster.start({ stores: 3, apiVersion: 'V2', keyspaces: [{ name: 'cli' }] });
  target = ['--pd', cluster.pdEndpoints.join(','), '--keyspace', 'cli'];
});

afterAll(async () => {
  await cluster.close();
});

describe('raw', () => {
  test('put, get, scan, delete, delete-range', async () => {
    expect(await tikv([...target, 'raw', 'put', 'r/a', '1'])).toEqual({
      status: 0,
      stdout: 'OK\n',
      stderr: '',
    });
    await tikv([...target, 'raw', 'put', 'r/b', 'two']);
    await tikv([...target, 'raw', 'put', 'r/c', '3']);
    expect((await tikv([...target, 'raw', 'get', 'r/b'])).stdout).toBe('two\n');
    expect(await tikvJson([...target, 'raw', 'get', 'r/b'])).toEqual({
      key: 'r/b',
      found: true,
      value: 'two',
    });
    expect(await tikvJson([...target, 'raw', 'get', 'r/zz'])).toEqual({
      key: 'r/zz',
      found: false,
      value: null,
    });
    expect((await tikv([...target, 'raw', 'get', 'r/zz'])).stdout).toBe('(not found)\n');
    expect((await tikv([...target, 'raw', 'scan', 'r/', 'r0'])).stdout).toBe('r/a\t1\nr/b\ttwo\nr/c\t3\n');
    expect((await tikv([...target, 'raw', 'scan', 'r/', 'r0', '--limit', '2', '--key-only'])).stdout).toBe(
      'r/a\nr/b\n',
    );
    expect(await tikvJson([...target, 'raw', 'scan', 'r/', 'r0', '--reverse', '--limit', '2'])).toEqual([
      { key: 'r/c', value: '3' },
      { key: 'r/b', value: 'two' },
    ]);
    const sum = (await tikvJson([...target, 'raw', 'checksum', 'r/', 'r0'])) as Record<string, unknown>;
    // API V2: TiKV counts the keys with their 4-byte keyspace prefix.
    expect(sum).toMatchObject({ totalKvs: '3', totalBytes: String(3 * (3 + 4) + 1 + 3 + 1) });
    expect(sum.crc64Xor).toMatch(/^[0-9a-f]{16}$/);
    await tikv([...target, 'raw', 'delete', 'r/a']);
    expect((await tikv([...target, 'raw', 'get', 'r/a'])).stdout).toBe('(not found)\n');
    expect((await tikv([...target, 'raw', 'delete-range', 'r/', 'r0'])).status).toBe(0);
    expect(await tikvJson([...target, 'raw', 'scan', 'r/', 'r0'])).toEqual([]);
  });

  test('hex and base64 in and out; binary escaped in UTF-8 output', async () => {
    await tikv([...target, '--hex', 'raw', 'put', '6200ff', '00010aff']);
    expect((await tikv([...target, 'raw', 'scan', 'b', 'c'])).stdout).toBe(
      'b\\x00\\xff\t\\x00\\x01\\n\\xff\n',
    );
    expect((await tikv([...target, '--hex', 'raw', 'get', '6200ff'])).stdout).toBe('00010aff\n');
    expect((await tikv([...target, 'raw', 'get', 'YgD/', '--base64'])).stdout).toBe('AAEK/w==\n');
  });

  test('ttl and compare-and-swap', async () => {
    await tikv([...target, 'raw', 'put', 't/key', 'v', '--ttl', '600']);
    const ttl = (await tikvJson([...target, 'raw', 'ttl', 't/key'])) as { ttlSeconds: number };
    expect(ttl.ttlSeconds).toBeGreaterThan(500);
    expect((await tikv([...target, 'raw', 'ttl', 't/none'])).stdout).toBe('(not found)\n');
    expect((await tikv([...target, 'raw', 'cas', 'c/k', '1', '--absent'])).stdout).toBe(
      'swapped, previous (not found)\n',
    );
    expect(await tikvJson([...target, 'raw', 'cas', 'c/k', '2', '--expect', '1'])).toEqual({
      swapped: true,
      previous: '1',
    });
    expect((await tikv([...target, 'raw', 'cas', 'c/k', '3', '--expect', '1'])).stdout).toBe(
      'not swapped, previous 2\n',
    );
  });
});

describe('txn', () => {
  test('put, get, scan, delete (optimistic, pessimistic, 1PC)', async () => {
    const put = (await tikvJson([...target, 'txn', 'put', 'x/a', '1', 'x/b', '2'])) as Record<string, string>;
    expect(put.ok).toBe(true);
    expect(BigInt(put.commitTs!)).toBeGreaterThan(BigInt(put.startTs!));
    const onePc = await tikv([...target, 'txn', 'put', 'x/c', '3', '--one-pc']);
    expect(onePc.stdout).toMatch(/^OK startTs \d+ commitTs \d+ \(1pc\)\n$/i);
    expect((await tikv([...target, 'txn', 'get', 'x/b'])).stdout).toBe('2\n');
    expect(await tikvJson([...target, 'txn', 'scan', 'x/', 'x0', '--reverse', '--limit', '2'])).toEqual([
      { key: 'x/c', value: '3' },
      { key: 'x/b', value: '2' },
    ]);
    expect((await tikv([...target, 'txn', 'delete', 'x/a', 'x/c', '--pessimistic'])).status).toBe(0);
    expect((await tikv([...target, 'txn', 'scan', 'x/', 'x0', '--key-only'])).stdout).toBe('x/b\n');
    // Raw and transactional keys live apart in API V2.
    expect((await tikv([...target, 'raw', 'get', 'x/b'])).stdout).toBe('(not found)\n');
  });

  test('an odd number of put arguments is refused', async () => {
    const r = await tikv([...target, 'txn', 'put', 'k']);
    expect(r).toMatchObject({ status: 1, stdout: '' });
    expect(r.stderr).toBe('error INVALID_ARGUMENT: txn put takes pairs: key value [key value ...]\n');
  });
});

describe('PD', () => {
  test('tso', async () => {
    const before = Date.now();
    const r = (await tikvJson([...target, 'tso'])) as Record<string, unknown>;
    expect(BigInt(r.ts as string) >> 18n).toBe(BigInt(r.physicalMs as number));
    expect(r.physicalMs as number).toBeGreaterThanOrEqual(before - 60_000);
    expect(new Date(r.time as string).getTime()).toBe(r.physicalMs);
  });

  test('stores', async () => {
    const stores = (await tikvJson([...target, 'stores'])) as {
      id: string;
      address: string;
      state: string;
    }[];
    expect(stores.map((s) => s.id).sort()).toEqual(['1', '2', '3']);
    expect(stores.every((s) => s.state === 'up' && s.address.startsWith('127.0.0.1:'))).toBe(true);
    const text = (await tikv([...target, 'stores'])).stdout.split('\n');
    expect(text[0]).toMatch(/^id\s+address\s+state\s+version\s+labels$/);
  });

  test('split, then regions by key and by range, in the keyspace', async () => {
    const split = (await tikvJson([...target, 'split', 'm', 't'])) as { regionIds: string[] };
    expect(split.regionIds).toHaveLength(2);
    const all = (await tikvJson([...target, 'regions'])) as { startKey: string; endKey: string }[];
    expect(all.map((r) => [r.startKey, r.endKey])).toEqual([
      ['', 'm'],
      ['m', 't'],
      ['t', ''],
    ]);
    const one = (await tikvJson([...target, 'regions', '--key', 'n'])) as {
      startKey: string;
      leaderStoreId: string;
    }[];
    expect(one).toHaveLength(1);
    expect(one[0]).toMatchObject({ startKey: 'm' });
    const some = (await tikvJson([...target, 'regions', '--range', 'a', 'n'])) as unknown[];
    expect(some).toHaveLength(2);
    const text = await tikv([...target, 'regions', '--range', 'n']);
    expect(text.stdout).toMatch(
      /^id\s+start\s+end\s+leader\s+stores\s+epoch\n\d+\s+m\s+t\s+\d\s+[\d,]+\s+\d+\/\d+\n\d+\s+t\s+\(end\)/,
    );
    // The transactional key space has its own regions.
    const txnRegions = (await tikvJson([...target, 'regions', '--txn'])) as unknown[];
    expect(txnRegions).toHaveLength(1);
  });

  test('gc-state and keyspace show', async () => {
    expect(await tikvJson([...target, 'gc-state'])).toMatchObject({
      keyspaceId: null,
      keyspaceLevelGc: false,
      txnSafePoint: '0',
      gcSafePoint: '0',
      barriers: [],
    });
    const ks = (await tikvJson([...target, 'keyspace', 'show', 'cli'])) as Record<string, unknown>;
    expect(ks).toMatchObject({ name: 'cli', state: 'enabled' });
    expect(ks.id).toBe(cluster.keyspaces().find((k) => k.name === 'cli')?.id);
    expect((await tikv([...target, 'keyspace', 'show', 'cli'])).stdout).toMatch(
      /^keyspace cli: id \d+, enabled\n/,
    );
    const missing = await tikv([...target, 'keyspace', 'show', 'nope']);
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/^error [A-Z_]+: .*\n$/);
  });
});

describe('bench', () => {
  test('raw and txn print a latency summary', async () => {
    const raw = (await tikvJson([
      ...target,
      'bench',
      'raw',
      '--ops',
      '60',
      '--concurrency',
      '4',
      '--keys',
      '20',
    ])) as Record<string, unknown>;
    expect(raw).toMatchObject({ benchmark: 'bench raw mixed', ops: 60, errors: 0, concurrency: 4 });
    const lat = raw.latencyUs as Record<string, number>;
    expect(lat.count).toBe(60);
    expect(lat.p50Us).toBeLessThanOrEqual(lat.p99Us!);
    expect(lat.p99Us).toBeLessThanOrEqual(lat.maxUs!);
    const txn = await tikv([...target, 'bench', 'txn', '--workload', 'rmw', '--ops', '20', '--keys', '5']);
    expect(txn.status).toBe(0);
    expect(txn.stdout).toMatch(
      /^bench txn rmw: 20 ops in [\d.]+s, \d+ ops\/s, 0 errors \(concurrency 16\)\nlatency: min .* p50 .* p90 .* p99 .* p99\.9 .* max .*\n$/,
    );
    const bad = await tikv([...target, 'bench', 'raw', '--workload', 'scan']);
    expect(bad.stderr).toBe(
      "error INVALID_ARGUMENT: --workload must be one of mixed, get, put, got 'scan'\n",
    );
  });
});

test('--verbose prints retries and backoffs from the diagnostics channels', async () => {
  await tikv([...target, 'raw', 'put', 'v/k', 'v']);
  // RawScan: connecting sends a RawGet of its own (the API version check).
  const busy = cluster.inject({ method: 'RawScan', times: 1, error: 'ServerIsBusy' });
  const r = await tikv([...target, '--verbose', 'raw', 'scan', 'v/', 'v0', '--key-only']);
  expect(busy.hits).toBe(1);
  expect(r.stdout).toBe('v/k\n');
  expect(r.stderr).toMatch(/^backoff tikvServerBusy \d+ ms \(attempt 1, \d+ ms in all\): REGION_ERROR: /m);
  expect(r.stderr).toMatch(
    /^retry #1 RawScan to 127\.0\.0\.1:\d+ region \d+: (REGION_ERROR|region error serverIsBusy)/m,
  );
});
