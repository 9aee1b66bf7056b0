// Port of client-go integration_tests/raw/api_test.go: the public RawClient against the target
// cluster (embedded mock by default), in every API mode the target offers: on the embedded
// cluster API V1 and API V2 in a keyspace; elsewhere the mode TIKV_E2E_API_VERSION and
// TIKV_E2E_KEYSPACE describe. Region splits go through the mock handle; against an external
// cluster they are skipped. TestTTL lives in faults.test.ts and keyspace.test.ts (it needs the
// mock's clock).

import { crc64 } from '@tikv/common';
import { RawClient } from '@tikv/raw';
import { type ApiMode, apiModesFrom, type ClusterTarget, startTarget } from '../../src/cluster-target.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
const withPrefix = (prefix: string, key: string) => prefix + key;
const modeName = (m: ApiMode) => (m.apiVersion === 'V1' ? 'API V1' : `API V2, keyspace '${m.keyspace}'`);

describe.each(apiModesFrom(process.env).map((m) => [modeName(m), m] as const))('raw API (%s)', (_, mode) => {
  let target: ClusterTarget;
  let client: RawClient;
  let clientForCas: RawClient;

  /** The storage prefix of the mode's keys: `r` + 3-byte keyspace id in V2 (embedded only), else none. */
  function storagePrefix(): Uint8Array | undefined {
    if (mode.apiVersion === 'V1') return new Uint8Array(0);
    const name = mode.keyspace === '' ? 'DEFAULT' : mode.keyspace;
    const ks = target.mock?.keyspaces().find((k) => k.name === name);
    if (ks === undefined) return undefined;
    return Uint8Array.of(0x72, (ks.id >> 16) & 0xff, (ks.id >> 8) & 0xff, ks.id & 0xff);
  }

  beforeAll(async () => {
    target = await startTarget({
      apiVersion: mode.apiVersion,
      keyspaces: mode.keyspace === '' ? [] : [mode.keyspace],
    });
    client = await RawClient.connect({
      pdEndpoints: target.pdEndpoints,
      apiVersion: mode.apiVersion,
      keyspace: mode.keyspace,
    });
    clientForCas = client.withAtomicForCas(true);
  });
  afterAll(async () => {
    await client?.close();
    await target?.close();
  });

  async function cleanKeyPrefix(prefix: string): Promise<void> {
    const end = new Uint8Array([...enc(prefix), 127]);
    await client.deleteRange(prefix, end);
    expect(await mustScan(prefix, '', '', 10240)).toEqual([[], []]);
  }

  async function mustScan(
    prefix: string,
    start: string,
    end: string,
    limit: number,
  ): Promise<[string[], string[]]> {
    const endKey = new Uint8Array([...enc(withPrefix(prefix, end)), 127]);
    const pairs = await client.scan(withPrefix(prefix, start), endKey, { limit });
    return [pairs.map((p) => (dec(p.key) ?? '').slice(prefix.length)), pairs.map((p) => dec(p.value) ?? '')];
  }

  async function mustReverseScan(prefix: string, start: string, end: string, limit: number) {
    const pairs = await client.reverseScan(withPrefix(prefix, start), withPrefix(prefix, end), { limit });
    return pairs.map((p) => ({ key: (dec(p.key) ?? '').slice(prefix.length), value: p.value }));
  }

  async function mustBatchPut(prefix: string, keys: string[], values: string[]): Promise<void> {
    await client.batchPut(keys.map((k, i) => ({ key: withPrefix(prefix, k), value: values[i] ?? '' })));
  }

  function mustSplitRegion(prefix: string, keys: string[]): void {
    target.mock?.split(keys.map((k) => withPrefix(prefix, k)));
  }

  test('TestSimple', async () => {
    const prefix = 'test_simple';
    await cleanKeyPrefix(prefix);
    expect(await client.get(withPrefix(prefix, 'key'))).toBeUndefined();
    await client.put(withPrefix(prefix, 'key'), 'value');
    expect(dec(await client.get(withPrefix(prefix, 'key')))).toBe('value');
    await client.delete(withPrefix(prefix, 'key'));
    expect(await client.get(withPrefix(prefix, 'key'))).toBeUndefined();
  });

  test('TestScan', async () => {
    const prefix = 'test_scan';
    await cleanKeyPrefix(prefix);
    const keys = Array.from({ length: 20480 }, (_, i) => `key@${i}`);
    const values = Array.from({ length: 20480 }, (_, i) => `value@${i}`);
    await mustBatchPut(prefix, keys, values);
    const splitKeys: string[] = [];
    for (let i = 0; i < 20480; i += 1024) splitKeys.push(`key@${i}`);
    mustSplitRegion(prefix, splitKeys);
    const [ks, vs] = await mustScan(prefix, keys[0] ?? '', '', 10240);
    expect(ks).toHaveLength(10240);
    expect(vs).toHaveLength(10240);
    expect(ks.every((k) => k.startsWith('key@'))).toBe(true);
    expect(vs.every((v) => v.startsWith('value@'))).toBe(true);
  });

  test('TestReverseScan', async () => {
    const prefix = 'test_reverse_scan';
    await cleanKeyPrefix(prefix);
    for (let i = 0; i < 10; i++) await client.put(withPrefix(prefix, `key:${i}`), `value:${i}`);
    const got = await mustReverseScan(prefix, 'key:', '', 5);
    for (let i = 0; i < got.length; i++) {
      expect(got[got.length - 1 - i]?.key).toBe(`key:${i}`);
      expect(dec(got[got.length - 1 - i]?.value)).toBe(`value:${i}`);
    }
  });

  test('TestBatchOp', async () => {
    const prefix = 'test_batch_op';
    await cleanKeyPrefix(prefix);
    await mustBatchPut(prefix, ['k1', 'k2'], ['v1', 'v2']);
    const vs = await client.batchGet([withPrefix(prefix, 'k1'), withPrefix(prefix, 'k2')]);
    expect(vs.map(dec)).toEqual(['v1', 'v2']);
    await client.batchDelete([withPrefix(prefix, 'k1'), withPrefix(prefix, 'k2')]);
    expect(await client.get(withPrefix(prefix, 'k1'))).toBeUndefined();
    expect(await client.get(withPrefix(prefix, 'k2'))).toBeUndefined();
  });

  test('TestCAS', async () => {
    const prefix = 'test_cas';
    await cleanKeyPrefix(prefix);
    const key = withPrefix(prefix, 'key');
    let r = await clientForCas.compareAndSwap(key, undefined, 'hello world');
    expect(r).toEqual({ previous: undefined, swapped: true });
    expect(dec(await client.get(key))).toBe('hello world');
    r = await clientForCas.compareAndSwap(key, 'hello', 'world');
    expect(r.swapped).toBe(false);
    expect(dec(r.previous)).toBe('hello world');
    expect(dec(await client.get(key))).toBe('hello world');
    r = await clientForCas.compareAndSwap(key, 'hello world', 'world');
    expect(r.swapped).toBe(true);
    expect(dec(r.previous)).toBe('hello world');
    expect(dec(await client.get(key))).toBe('world');
  });

  test('TestDeleteRange', async () => {
    const prefix = 'test_delete_range';
    await cleanKeyPrefix(prefix);
    const keys = Array.from({ length: 20480 }, (_, i) => `key@${i}`);
    await mustBatchPut(
      prefix,
      keys,
      keys.map((_, i) => `value@${i}`),
    );
    mustSplitRegion(prefix, ['key@4096']);
    await client.deleteRange(withPrefix(prefix, ''), new Uint8Array([...enc(prefix), 127]));
    for (const k of ['key@0', 'key@1', 'key@2'])
      expect(await client.get(withPrefix(prefix, k))).toBeUndefined();
  });

  test('TestRawChecksum', async () => {
    const prefix = 'test_checksum';
    await cleanKeyPrefix(prefix);
    const keys: string[] = [];
    const values: string[] = [];
    // TiKV sums over the storage key: in API V2 the keyspace prefix is part of every key.
    const storage = storagePrefix();
    const prefixBytes = mode.apiVersion === 'V2' ? 4 : 0;
    let crc64Xor = 0n;
    let totalBytes = 0n;
    for (let i = 0; i < 20480; i++) {
      keys.push(`key@${i}`);
      values.push(`value@${i}`);
      if (storage !== undefined)
        crc64Xor ^= crc64(storage, enc(withPrefix(prefix, `key@${i}`)), enc(`value@${i}`));
      totalBytes += BigInt(prefixBytes + prefix.length + `key@${i}`.length + `value@${i}`.length);
    }
    await mustBatchPut(prefix, keys, values);
    const end = new Uint8Array([...enc(prefix), 127]);
    const got = await client.checksum(withPrefix(prefix, ''), end);
    expect({ totalKvs: got.totalKvs, totalBytes: got.totalBytes }).toEqual({ totalKvs: 20480n, totalBytes });
    if (storage !== undefined) expect(got.crc64Xor).toBe(crc64Xor);
  });

  test('TestEmptyValue', async () => {
    const prefix = 'test_empty_value';
    await cleanKeyPrefix(prefix);
    const key = withPrefix(prefix, 'key');
    const empty = new Uint8Array(0);
    const verifyEmptyValue = async () => {
      expect(await client.get(key)).toEqual(empty);
      expect(await client.batchGet([key, withPrefix(prefix, 'key1')])).toEqual([empty, undefined]);
      expect(await client.scan(key, withPrefix(prefix, 'keyz'), { limit: 10 })).toEqual([
        { key: enc(key), value: empty },
      ]);
      expect(await client.reverseScan(withPrefix(prefix, 'keyz'), key, { limit: 10 })).toEqual([
        { key: enc(key), value: empty },
      ]);
    };
    const verifyNotExist = async () => {
      expect(await client.get(key)).toBeUndefined();
      expect(await client.batchGet([key, withPrefix(prefix, 'key1')])).toEqual([undefined, undefined]);
      expect(await client.scan(key, withPrefix(prefix, 'keyz'), { limit: 10 })).toEqual([]);
      expect(await client.reverseScan(withPrefix(prefix, 'keyz'), key, { limit: 10 })).toEqual([]);
    };
    await client.put(key, '');
    await verifyEmptyValue();
    await client.delete(key);
    await verifyNotExist();
    await client.batchPut([{ key, value: '' }]);
    await verifyEmptyValue();
    await client.delete(key);
    let r = await clientForCas.compareAndSwap(key, undefined, '');
    expect(r).toEqual({ previous: undefined, swapped: true });
    await verifyEmptyValue();
    r = await clientForCas.compareAndSwap(key, '', 'val');
    expect(r).toEqual({ previous: empty, swapped: true });
  });
});
