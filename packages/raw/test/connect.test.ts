// RawClient.connect against the embedded mock cluster (API V1 and V2).
import { MockCluster } from '@tikv/mock-cluster';
import { KeyspaceError, KeyspaceErrorReason, RawClient } from '../src/index.js';

const dec = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

test('connect wires PD, the region cache, the transport and the sender (V1)', async () => {
  const cluster = await MockCluster.start({ stores: 2, splitKeys: ['m'] });
  const raw = await RawClient.connect({ pdEndpoints: cluster.pdEndpoints });
  try {
    expect(raw.clusterId).toBe(7000000000000000001n);
    await raw.batchPut([
      { key: 'a', value: '1' },
      { key: 'z', value: '2' },
    ]);
    expect((await raw.batchGet(['z', 'a', 'q'])).map(dec)).toEqual(['2', '1', undefined]);
    expect((await raw.reverseScan('zz', '')).map((p) => dec(p.key))).toEqual(['z', 'a']);
  } finally {
    await raw.close();
    await cluster.close();
  }
});

test('connect in API V2 uses the keyspace codec and TTLs work', async () => {
  let now = 1_000_000;
  const cluster = await MockCluster.start({ stores: 1, apiVersion: 'V2', nowMs: () => now });
  const raw = await RawClient.connect({ pdEndpoints: cluster.pdEndpoints, apiVersion: 'V2' });
  try {
    await raw.put('k', 'v', { ttlSeconds: 10 });
    expect(await raw.getKeyTTL('k')).toBe(10);
    now += 10_000;
    expect(await raw.get('k')).toBeUndefined();
    expect(await raw.scan('', '')).toEqual([]);
  } finally {
    await raw.close();
    await cluster.close();
  }
});

test('connect rejects bad input', async () => {
  await expect(RawClient.connect({ pdEndpoints: [] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  await expect(RawClient.connect({ pdEndpoints: ['127.0.0.1:1'], keyspace: 'x' })).rejects.toMatchObject({
    code: 'INVALID_ARGUMENT',
  });
});

test('connect in API V2 rejects an unknown or disabled keyspace with a KeyspaceError', async () => {
  const cluster = await MockCluster.start({
    stores: 1,
    apiVersion: 'V2',
    keyspaces: [{ name: 'on' }, { name: 'off', state: 'disabled' }],
  });
  const connect = (keyspace: string) =>
    RawClient.connect({ pdEndpoints: cluster.pdEndpoints, apiVersion: 'V2', keyspace });
  try {
    const unknown = await connect('nope').catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(KeyspaceError);
    expect(unknown).toMatchObject({ code: 'INVALID_ARGUMENT', reason: KeyspaceErrorReason.NOT_FOUND });
    const off = await connect('off').catch((e: unknown) => e);
    expect(off).toBeInstanceOf(KeyspaceError);
    expect(off).toMatchObject({ reason: KeyspaceErrorReason.NOT_ENABLED, keyspaceName: 'off' });
    const on = await connect('on');
    try {
      await on.put('k', 'v');
      expect(dec(await on.get('k'))).toBe('v');
    } finally {
      await on.close();
    }
  } finally {
    await cluster.close();
  }
});
