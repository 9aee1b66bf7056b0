// Ports of client-go rawkv/rawkv_test.go and integration_tests/raw/api_mock_test.go, run on a
// fake sender and locator (the same suites run against the mock cluster in e2e/test/raw).
import { crc64 } from '@tikv/common';
import { RawClient } from '../src/index.js';
import { dec, enc, FakeCluster } from './fake-cluster.js';

const s = (pairs: { key: Uint8Array; value: Uint8Array }[]) => pairs.map((p) => [dec(p.key), dec(p.value)]);

let cluster: FakeCluster;
let client: RawClient;
beforeEach(() => {
  cluster = new FakeCluster();
  client = new RawClient({ sender: cluster.sender, locator: cluster.locator, clusterId: 7n });
});
afterEach(async () => {
  await client.close();
});

const sample: Record<string, string> = {
  db: 'TiDB',
  key2: 'value2',
  key1: 'value1',
  key4: 'value4',
  key3: 'value3',
  kv: 'TiKV',
};
const samplePairs = () => Object.entries(sample).map(([key, value]) => ({ key, value }));

describe('rawkv_test.go', () => {
  test('TestColumnFamilyForClient', async () => {
    const cf1 = client.withColumnFamily('cf1');
    const cf2 = client.withColumnFamily('cf2');
    await cf1.put('test_key_cf1', 'test_value_cf1');
    await cf2.put('test_key_cf2', 'test_value_cf2');
    expect(dec(await cf1.get('test_key_cf1'))).toBe('test_value_cf1');
    expect(await cf1.get('test_key_cf2')).toBeUndefined();
    expect(dec(await cf2.get('test_key_cf2'))).toBe('test_value_cf2');
    expect(await cf2.get('test_key_cf1')).toBeUndefined();
    expect(await client.get('test_key_cf1')).toBeUndefined();
    expect(await client.get('test_key_cf2')).toBeUndefined();
    await cf1.delete('test_key_cf1');
    expect(await cf1.get('test_key_cf1')).toBeUndefined();
    await cf2.delete('test_key_cf2');
    expect(await cf2.get('test_key_cf2')).toBeUndefined();
    expect(cf1.settings.columnFamily).toBe('cf1');
    expect(client.settings.columnFamily).toBe('');
  });

  test('TestColumnFamilyForOptions', async () => {
    await client.put('db', 'TiDB', { columnFamily: 'cf1' });
    await client.put('kv', 'TiKV', { columnFamily: 'cf2' });
    expect(dec(await client.get('db', { columnFamily: 'cf1' }))).toBe('TiDB');
    expect(await client.get('kv', { columnFamily: 'cf1' })).toBeUndefined();
    expect(dec(await client.get('kv', { columnFamily: 'cf2' }))).toBe('TiKV');
    expect(await client.get('db', { columnFamily: 'cf2' })).toBeUndefined();
    await client.delete('db', { columnFamily: 'cf1' });
    expect(await client.get('db', { columnFamily: 'cf1' })).toBeUndefined();
    await client.delete('kv', { columnFamily: 'cf2' });
    expect(await client.get('kv', { columnFamily: 'cf2' })).toBeUndefined();
  });

  // The Go TestBatch / TestScan / TestDeleteRange replace a store between the writes and the
  // reads; those ports run on the mock cluster (rawkv-store-changes.test.ts). Here: the same
  // reads and writes on the fake.
  test('batch put, get and delete in a column family', async () => {
    const cf = 'test_cf';
    const pairs = samplePairs().filter((p) => p.key !== 'key4');
    await client.batchPut(pairs, { columnFamily: cf });
    const values = await client.batchGet(
      pairs.map((p) => p.key),
      { columnFamily: cf },
    );
    expect(values.map(dec)).toEqual(pairs.map((p) => p.value));
    await client.batchDelete(
      pairs.map((p) => p.key),
      { columnFamily: cf },
    );
    expect(await client.get(pairs[0]?.key ?? '', { columnFamily: cf })).toBeUndefined();
  });

  test('scan with a limit and a key-only reverse scan in a column family', async () => {
    const cf = 'test_cf';
    await client.batchPut(samplePairs(), { columnFamily: cf });
    const got = await client.scan('key1', 'keyz', { limit: 3, columnFamily: cf });
    expect(s(got)).toEqual([
      ['key1', 'value1'],
      ['key2', 'value2'],
      ['key3', 'value3'],
    ]);
    const rev = await client.reverseScan('key3', '', { limit: 10, columnFamily: cf, keyOnly: true });
    expect(rev.map((p) => dec(p.key))).toEqual(['key2', 'key1', 'db']);
    expect(rev.every((p) => p.value.length === 0)).toBe(true);
  });

  test('delete a range to the end, then everything, in a column family', async () => {
    const cf = 'test_cf';
    await client.batchPut(samplePairs(), { columnFamily: cf });
    await client.deleteRange('key3', '', { columnFamily: cf });
    expect(await client.scan('key3', '', { limit: 10, columnFamily: cf })).toHaveLength(0);
    expect(await client.scan('', '', { limit: 10, columnFamily: cf })).toHaveLength(3);
    await client.deleteRange('', '', { columnFamily: cf });
    expect(await client.scan('', '', { limit: 10, columnFamily: cf })).toHaveLength(0);
  });

  test('TestDeleteRangeEmptyKeysMultiRegion', async () => {
    cluster.split('key3');
    cluster.refreshCache();
    const cf = 'test_cf';
    await client.batchPut(samplePairs(), { columnFamily: cf });
    const l1 = await cluster.locator.locateKey(enc('key1'));
    const l2 = await cluster.locator.locateKey(enc('key4'));
    expect(l1.region.id).not.toBe(l2.region.id);
    expect(l1.endKey.length).toBeGreaterThan(0);
    expect(await client.scan('', '', { limit: 10, columnFamily: cf })).toHaveLength(6);
    await client.deleteRange('', '', { columnFamily: cf });
    expect(await client.scan('', '', { limit: 10, columnFamily: cf })).toHaveLength(0);
    expect(cluster.sent.filter((r) => r.$case === 'RawDeleteRange')).toHaveLength(2);
  });

  test('TestCompareAndSwap', async () => {
    const cf = 'my_cf';
    await client.put('kv', 'TiDB', { columnFamily: cf });
    await expect(client.compareAndSwap('kv', 'TiDB', 'TiKV', { columnFamily: cf })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    const atomic = client.withAtomicForCas(true);
    let r = await atomic.compareAndSwap('kv', 'TiKV', 'TiKV', { columnFamily: cf });
    expect(r.swapped).toBe(false);
    expect(dec(r.previous)).toBe('TiDB');
    r = await atomic.compareAndSwap('kv', 'TiDB', 'TiKV', { columnFamily: cf });
    expect(r.swapped).toBe(true);
    expect(dec(r.previous)).toBe('TiDB');
    expect(dec(await client.get('kv', { columnFamily: cf }))).toBe('TiKV');
  });

  test('TestRawChecksum', async () => {
    let crc = 0n;
    let kvs = 0n;
    let bytes = 0n;
    for (const [k, v] of Object.entries(sample)) {
      crc ^= crc64(enc(k), enc(v));
      kvs++;
      bytes += BigInt(k.length + v.length);
    }
    await client.batchPut(samplePairs(), { columnFamily: '' });
    cluster.split('key2', 'kv');
    expect(await client.checksum('db', '')).toEqual({ crc64Xor: crc, totalKvs: kvs, totalBytes: bytes });
  });
});

describe('api_mock_test.go', () => {
  test('TestSimple', async () => {
    expect(await client.get('key')).toBeUndefined();
    await client.put('key', 'value');
    expect(dec(await client.get('key'))).toBe('value');
    await client.delete('key');
    expect(await client.get('key')).toBeUndefined();
    await client.put('key', '');
    expect(await client.get('key')).toEqual(new Uint8Array(0));
  });

  test('TestRawBatch', async () => {
    const keys: string[] = [];
    const values: string[] = [];
    let size = 0;
    for (let i = 0; size / (16 * 1024) < 4; i++) {
      keys.push(`key${i}`);
      values.push(`value${i}`);
      size += `key${i}`.length + `value${i}`.length;
    }
    cluster.split(`key${Math.floor((keys.length - 1) / 2)}`);
    await client.batchPut(keys.map((key, i) => ({ key, value: values[i] ?? '' })));
    expect((await client.batchGet(keys)).map(dec)).toEqual(values);
    const puts = cluster.sent.filter((r) => r.$case === 'RawBatchPut');
    expect(puts.length).toBeGreaterThanOrEqual(5);
    await client.batchDelete(keys);
    expect((await client.batchGet(keys)).every((v) => v === undefined)).toBe(true);
  });

  test('TestSplit', async () => {
    await client.put('k1', 'v1');
    await client.put('k3', 'v3');
    cluster.split('k2');
    expect(dec(await client.get('k1'))).toBe('v1');
    expect(dec(await client.get('k3'))).toBe('v3');
  });

  const fill = async () => {
    for (const k of ['k1', 'k3', 'k5', 'k7']) await client.put(k, `v${k.slice(1)}`);
  };
  const scanOf = async (start: string, end: string, limit: number) =>
    (await client.scan(start, end, { limit })).flatMap((p) => [dec(p.key), dec(p.value)]);
  const revOf = async (start: string | Uint8Array, end: string | Uint8Array, limit: number) =>
    (await client.reverseScan(start, end, { limit })).flatMap((p) => [dec(p.key), dec(p.value)]);

  const checkScan = async () => {
    expect(await scanOf('', '', 1)).toEqual(['k1', 'v1']);
    expect(await scanOf('k1', '', 2)).toEqual(['k1', 'v1', 'k3', 'v3']);
    expect(await scanOf('', '', 10)).toEqual(['k1', 'v1', 'k3', 'v3', 'k5', 'v5', 'k7', 'v7']);
    expect(await scanOf('k2', '', 2)).toEqual(['k3', 'v3', 'k5', 'v5']);
    expect(await scanOf('k2', '', 3)).toEqual(['k3', 'v3', 'k5', 'v5', 'k7', 'v7']);
    expect(await scanOf('', 'k1', 1)).toEqual([]);
    expect(await scanOf('k1', 'k3', 2)).toEqual(['k1', 'v1']);
    expect(await scanOf('k1', 'k5', 10)).toEqual(['k1', 'v1', 'k3', 'v3']);
    expect(await scanOf('k1', 'k5\0', 10)).toEqual(['k1', 'v1', 'k3', 'v3', 'k5', 'v5']);
    expect(await scanOf('k5\0', 'k5\0\0', 10)).toEqual([]);
  };

  test('TestScan', async () => {
    await fill();
    await checkScan();
    cluster.split('k2');
    await checkScan();
    cluster.split('k5');
    await checkScan();
  });

  const checkReverseScan = async () => {
    expect(await revOf('', '', 10)).toEqual([]);
    expect(await revOf('z', '', 1)).toEqual(['k7', 'v7']);
    expect(await revOf('z', '', 2)).toEqual(['k7', 'v7', 'k5', 'v5']);
    expect(await revOf('z', '', 10)).toEqual(['k7', 'v7', 'k5', 'v5', 'k3', 'v3', 'k1', 'v1']);
    expect(await revOf('k2', '', 10)).toEqual(['k1', 'v1']);
    expect(await revOf('k6', '', 2)).toEqual(['k5', 'v5', 'k3', 'v3']);
    expect(await revOf('k5', '', 1)).toEqual(['k3', 'v3']);
    expect(await revOf('k5\0', '', 1)).toEqual(['k5', 'v5']);
    expect(await revOf('k6', '', 3)).toEqual(['k5', 'v5', 'k3', 'v3', 'k1', 'v1']);
    expect(await revOf('z', 'k3', 10)).toEqual(['k7', 'v7', 'k5', 'v5', 'k3', 'v3']);
    expect(await revOf('k7', 'k3\0', 10)).toEqual(['k5', 'v5']);
  };

  test('TestReverseScan', async () => {
    await fill();
    await checkReverseScan();
    cluster.split('k2');
    await checkReverseScan();
    cluster.split('k5');
    await checkReverseScan();
  });

  test('TestDeleteRange', async () => {
    const data = new Map<string, string>();
    for (const i of 'abcd') {
      for (let j = 0; j <= 9; j++) {
        await client.put(`${i}${j}`, `v${i}${j}`);
        data.set(`${i}${j}`, `v${i}${j}`);
      }
    }
    cluster.split('b', 'c', 'd');
    const check = async () => {
      const got = await client.scan('', '', { limit: data.size + 1 });
      expect(got.map((p) => [dec(p.key), dec(p.value)])).toEqual(
        [...data.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)),
      );
    };
    const del = async (start: string, end: string) => {
      await client.deleteRange(start, end);
      for (const k of [...data.keys()]) if (start <= k && k < end) data.delete(k);
      await check();
    };
    await check();
    await del('b', 'c0');
    await del('c11', 'c12');
    await del('d0', 'd0');
    await del('c5', 'd5');
    await del('a', 'z');
  });
});
