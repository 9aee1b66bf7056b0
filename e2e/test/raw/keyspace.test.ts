// API V2 keyspaces on one embedded cluster: clients of two keyspaces never see each other's keys,
// scans stay inside the keyspace even where another keyspace's keys follow, TTL and CAS work in
// a keyspace, checksums cover the storage (prefixed) keys as TiKV computes them, and an unknown
// or disabled keyspace fails at connect with a typed error. Skipped against an external cluster
// (it creates keyspaces and moves the mock's clock).
import { crc64, isTiKVError } from '@tikv/common';
import { keyspacePrefix, type MockCluster } from '@tikv/mock-cluster';
import { KeyspaceError, RawClient } from '@tikv/raw';
import { type ClusterTarget, startTarget, TargetKind, targetKindFrom } from '../../src/cluster-target.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));
const keysOf = (pairs: readonly { key: Uint8Array }[]) => pairs.map((p) => dec(p.key));
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

const maybe = targetKindFrom(process.env) === TargetKind.Embedded ? describe : describe.skip;

maybe('API V2 keyspaces on one cluster', () => {
  let nowMs = 1_700_000_000_000;
  let target: ClusterTarget;
  let a: RawClient;
  let b: RawClient;
  let def: RawClient;
  const mock = (): MockCluster => target.mock as MockCluster;
  const idOf = (name: string) =>
    mock()
      .keyspaces()
      .find((k) => k.name === name)?.id as number;
  // The storage key of a user key in a keyspace, as TiKV stores it.
  const storageKey = (name: string, key: string) => concat(keyspacePrefix('raw', idOf(name)), enc(key));

  beforeAll(async () => {
    target = await startTarget({
      stores: 3,
      apiVersion: 'V2',
      keyspaces: ['ks_a', 'ks_b'],
      nowMs: () => nowMs,
    });
    const connect = (keyspace: string) =>
      RawClient.connect({ pdEndpoints: target.pdEndpoints, apiVersion: 'V2', keyspace });
    [a, b, def] = await Promise.all([connect('ks_a'), connect('ks_b'), connect('')]);
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close(), def?.close()]);
    await target?.close();
  });

  beforeEach(async () => {
    mock().clearFaults();
    await Promise.all([a.deleteRange('', ''), b.deleteRange('', ''), def.deleteRange('', '')]);
  });

  /** Writes the same user keys with different values in each keyspace. */
  async function fill(keys: readonly string[]): Promise<void> {
    await a.batchPut(keys.map((k) => ({ key: k, value: `a:${k}` })));
    await b.batchPut(keys.map((k) => ({ key: k, value: `b:${k}` })));
    await def.batchPut(keys.map((k) => ({ key: k, value: `d:${k}` })));
  }

  test('the keyspaces have distinct ids and prefixes', () => {
    expect(idOf('DEFAULT')).toBe(0);
    expect(new Set([idOf('DEFAULT'), idOf('ks_a'), idOf('ks_b')]).size).toBe(3);
  });

  test('point reads and batch reads see only their own keyspace', async () => {
    await a.put('only-a', '1');
    await fill(['k1', 'k2']);
    expect(dec(await a.get('only-a'))).toBe('1');
    expect(await b.get('only-a')).toBeUndefined();
    expect(await def.get('only-a')).toBeUndefined();
    expect((await a.batchGet(['k1', 'k2', 'only-a'])).map(dec)).toEqual(['a:k1', 'a:k2', '1']);
    expect((await b.batchGet(['k1', 'k2', 'only-a'])).map(dec)).toEqual(['b:k1', 'b:k2', undefined]);
    await b.delete('k1');
    await b.batchDelete(['k2']);
    expect((await a.batchGet(['k1', 'k2'])).map(dec)).toEqual(['a:k1', 'a:k2']);
    expect((await b.batchGet(['k1', 'k2'])).map(dec)).toEqual([undefined, undefined]);
  });

  test('unbounded scans are clamped to the keyspace, across region boundaries', async () => {
    await fill(['a', 'm', 'z']);
    await b.put(new Uint8Array([0xff, 0xff]), 'b-last');
    // Regions that straddle keyspace boundaries and others that cut inside a keyspace.
    mock().split([storageKey('ks_a', 'm'), keyspacePrefix('raw', idOf('ks_b')), storageKey('ks_b', 'n')]);
    for (const [client, tag] of [
      [a, 'a'],
      [b, 'b'],
      [def, 'd'],
    ] as const) {
      const fwd = await client.scan('', '', { limit: 100 });
      const expected = tag === 'b' ? ['a', 'm', 'z', '\uFFFD\uFFFD'] : ['a', 'm', 'z'];
      expect(keysOf(fwd)).toEqual(expected);
      expect(fwd.slice(0, 3).map((p) => dec(p.value))).toEqual(['a', 'm', 'z'].map((k) => `${tag}:${k}`));
      // reverseScan from the keyspace's end: an empty upper bound is not "unbounded" in
      // client-go's API, so start just past the largest key.
      const rev = await client.reverseScan(new Uint8Array([0xff, 0xff, 0xff]), '', { limit: 100 });
      expect(keysOf(rev)).toEqual([...expected].reverse());
      const all: string[] = [];
      for await (const p of client.scanIter('', '', { pageSize: 2 })) all.push(dec(p.key) ?? '');
      expect(all).toEqual(expected);
      const reversed: string[] = [];
      for await (const p of client.scanIter(new Uint8Array([0xff, 0xff, 0xff]), '', {
        pageSize: 2,
        reverse: true,
      }))
        reversed.push(dec(p.key) ?? '');
      expect(reversed).toEqual([...expected].reverse());
    }
    expect(
      (
        await a.batchScan(
          [
            { startKey: '', endKey: 'n' },
            { startKey: 'n', endKey: '' },
          ],
          { eachLimit: 10 },
        )
      ).map(keysOf),
    ).toEqual([['a', 'm'], ['z']]);
  });

  test('deleteRange of a whole keyspace leaves the others alone', async () => {
    await fill(['x1', 'x2', 'x3']);
    mock().split([storageKey('ks_a', 'x2')]);
    await a.deleteRange('', '');
    expect(await a.scan('', '', { limit: 10 })).toEqual([]);
    expect(keysOf(await b.scan('', '', { limit: 10 }))).toEqual(['x1', 'x2', 'x3']);
    expect(keysOf(await def.scan('', '', { limit: 10 }))).toEqual(['x1', 'x2', 'x3']);
    await b.deleteRange('x2', 'x3');
    expect(keysOf(await b.scan('', '', { limit: 10 }))).toEqual(['x1', 'x3']);
    expect(keysOf(await def.scan('', '', { limit: 10 }))).toEqual(['x1', 'x2', 'x3']);
  });

  test('checksum covers only the keyspace, over the prefixed storage keys', async () => {
    const keys = Array.from({ length: 300 }, (_, i) => `c/${String(i).padStart(3, '0')}`);
    await fill(keys);
    mock().split([
      storageKey('ks_a', 'c/100'),
      storageKey('ks_a', 'c/200'),
      keyspacePrefix('raw', idOf('ks_b')),
    ]);
    for (const [client, name, tag] of [
      [a, 'ks_a', 'a'],
      [b, 'ks_b', 'b'],
      [def, 'DEFAULT', 'd'],
    ] as const) {
      let crc64Xor = 0n;
      let totalBytes = 0n;
      for (const k of keys) {
        const sk = storageKey(name, k);
        const v = enc(`${tag}:${k}`);
        crc64Xor ^= crc64(sk, v);
        totalBytes += BigInt(sk.length + v.length);
      }
      expect(await client.checksum('', '')).toEqual({ crc64Xor, totalKvs: 300n, totalBytes });
      const part = await client.checksum('c/100', 'c/200');
      expect(part.totalKvs).toBe(100n);
    }
  });

  test('TTL in a keyspace lives in the value encoding and expires on the mock clock', async () => {
    await a.put('t', 'v', { ttlSeconds: 2 });
    await b.put('t', 'v');
    expect(await a.getKeyTTL('t')).toBe(2);
    expect(await b.getKeyTTL('t')).toBe(0);
    expect(await def.getKeyTTL('t')).toBeUndefined();
    await a.batchPut(
      [
        { key: 'b1', value: '1' },
        { key: 'b2', value: '2' },
      ],
      { ttlSeconds: [1, 5] },
    );
    nowMs += 2_000;
    expect(await a.get('t')).toBeUndefined();
    expect(await a.getKeyTTL('t')).toBeUndefined();
    expect(dec(await b.get('t'))).toBe('v');
    expect((await a.batchGet(['b1', 'b2'])).map(dec)).toEqual([undefined, '2']);
    expect(keysOf(await a.scan('', '', { limit: 10 }))).toEqual(['b2']);
    expect(await a.getKeyTTL('b2')).toBe(3);
    // Expired keys are gone from every read path: key-only and reverse scans, checksums, CAS.
    expect(await a.scan('', '', { limit: 10, keyOnly: true })).toEqual([
      { key: new TextEncoder().encode('b2'), value: new Uint8Array(0) },
    ]);
    expect(keysOf(await a.reverseScan('zz', '', { limit: 10 }))).toEqual(['b2']);
    const sum = await a.checksum('', '');
    expect(sum).toEqual({
      crc64Xor: crc64(storageKey('ks_a', 'b2'), enc('2')),
      totalKvs: 1n,
      totalBytes: BigInt(storageKey('ks_a', 'b2').length + 1),
    });
    expect(await a.withAtomicForCas(true).compareAndSwap('t', undefined, 'again')).toEqual({
      previous: undefined,
      swapped: true,
    });
    expect(await a.getKeyTTL('t')).toBe(0);
    nowMs += 3_000;
    expect(await a.scan('', '', { limit: 10 })).toHaveLength(1);
    expect(dec(await a.get('t'))).toBe('again');
  });

  test('compare-and-swap in one keyspace does not see the other', async () => {
    const casA = a.withAtomicForCas(true);
    const casB = b.withAtomicForCas(true);
    expect(await casA.compareAndSwap('cas', undefined, 'a1')).toEqual({ previous: undefined, swapped: true });
    // Same key in ks_b does not exist yet: the swap from "absent" succeeds there too.
    expect(await casB.compareAndSwap('cas', undefined, 'b1')).toEqual({ previous: undefined, swapped: true });
    const r = await casA.compareAndSwap('cas', 'b1', 'x');
    expect(r.swapped).toBe(false);
    expect(dec(r.previous)).toBe('a1');
    const ok = await casA.compareAndSwap('cas', 'a1', 'a2');
    expect([ok.swapped, dec(ok.previous)]).toEqual([true, 'a1']);
    expect([dec(await a.get('cas')), dec(await b.get('cas'))]).toEqual(['a2', 'b1']);
  });

  test('an unknown or disabled keyspace fails at connect with a typed error', async () => {
    const connect = (keyspace: string) =>
      RawClient.connect({ pdEndpoints: target.pdEndpoints, apiVersion: 'V2', keyspace });
    const unknown = await connect('no_such_keyspace').then(
      (c) => c.close().then(() => undefined),
      (e: unknown) => e,
    );
    expect(unknown).toBeInstanceOf(KeyspaceError);
    expect(isTiKVError(unknown, 'INVALID_ARGUMENT')).toBe(true);
    expect(unknown).toMatchObject({ name: 'KeyspaceError', reason: 'NOT_FOUND', retryable: false });
    mock().createKeyspace('ks_off', { state: 'disabled' });
    const disabled = await connect('ks_off').then(
      (c) => c.close().then(() => undefined),
      (e: unknown) => e,
    );
    expect(disabled).toBeInstanceOf(KeyspaceError);
    expect(isTiKVError(disabled, 'INVALID_ARGUMENT')).toBe(true);
    expect(disabled).toMatchObject({ name: 'KeyspaceError', reason: 'NOT_ENABLED', keyspaceName: 'ks_off' });
    // Enabled again, it connects.
    mock().setKeyspaceState('ks_off', 'enabled');
    const on = await connect('ks_off');
    try {
      await on.put('k', 'v');
      expect(dec(await on.get('k'))).toBe('v');
      expect(await a.get('k')).toBeUndefined();
    } finally {
      await on.close();
    }
  });
});
