// connect refuses a client whose API version is not the cluster's (issue 10: a V2 client on a V1
// cluster failed later with "malformed region key"; a V1 client on a V2 cluster had every call
// refused by TiKV). The mock answers as TiKV's storage `check_api_version` does.
import { isTiKVError } from '@tikv/common';
import { MockCluster } from '@tikv/mock-cluster';
import { ApiVersionMismatchError, KeyError, RawClient } from '../src/index.js';

async function connectError(cluster: MockCluster, apiVersion: 'V1' | 'V2'): Promise<unknown> {
  return RawClient.connect({ pdEndpoints: cluster.pdEndpoints, apiVersion }).then(
    async (raw) => {
      await raw.close();
      return undefined;
    },
    (e: unknown) => e,
  );
}

test('a V2 client on a V1 cluster is refused at connect with ApiVersionMismatchError', async () => {
  // Splits make V1's raw region keys undecodable as V2's memcomparable ones: without the check
  // the first call failed with "malformed region key".
  const cluster = await MockCluster.start({ stores: 2, apiVersion: 'V1', splitKeys: ['m', 'r\0\0\0x'] });
  try {
    const e = await connectError(cluster, 'V2');
    expect(e).toBeInstanceOf(ApiVersionMismatchError);
    expect(isTiKVError(e, 'API_VERSION_MISMATCH')).toBe(true);
    const err = e as ApiVersionMismatchError;
    expect(err.retryable).toBe(false);
    expect(err.clientApiVersion).toBe('V2');
    expect(err.clusterApiVersion).toBe('V1');
    expect(cluster.stores().map((s) => s.address)).toContain(err.storeAddress);
    expect(err.message).toBe(
      `API version mismatch: the client uses V2 but the cluster's storage is V1 (store ${err.storeAddress}); ` +
        "set apiVersion to the cluster's",
    );
    expect(err.cause).toBeInstanceOf(KeyError);
    expect((err.cause as Error).message).toBe(
      'Api version in request does not match with TiKV storage, cmd: raw_get, storage: V1, request: V2',
    );
  } finally {
    await cluster.close();
  }
});

test('a V1 client on a V2 cluster is refused too (TiKV serves V1 raw requests only on V1 storage)', async () => {
  const cluster = await MockCluster.start({ stores: 1, apiVersion: 'V2' });
  try {
    const e = await connectError(cluster, 'V1');
    expect(e).toBeInstanceOf(ApiVersionMismatchError);
    expect(e).toMatchObject({
      code: 'API_VERSION_MISMATCH',
      clientApiVersion: 'V1',
      clusterApiVersion: 'V2',
    });
  } finally {
    await cluster.close();
  }
});

test('matching versions connect, in V1 and in a V2 keyspace', async () => {
  const v1 = await MockCluster.start({ stores: 1 });
  const v2 = await MockCluster.start({ stores: 1, apiVersion: 'V2', keyspaces: [{ name: 'tenant_a' }] });
  try {
    const a = await RawClient.connect({ pdEndpoints: v1.pdEndpoints });
    const b = await RawClient.connect({
      pdEndpoints: v2.pdEndpoints,
      apiVersion: 'V2',
      keyspace: 'tenant_a',
    });
    await a.put('k', 'v1');
    await b.put('k', 'v2');
    expect(new TextDecoder().decode(await a.get('k'))).toBe('v1');
    expect(new TextDecoder().decode(await b.get('k'))).toBe('v2');
    await a.close();
    await b.close();
  } finally {
    await v1.close();
    await v2.close();
  }
});

test('a stopped store is skipped: the next one tells; with none answering, connect goes on', async () => {
  const cluster = await MockCluster.start({ stores: 2, apiVersion: 'V1' });
  try {
    const [first, second] = cluster.stores();
    await cluster.stopStore(first!.id);
    const e = await connectError(cluster, 'V2');
    expect(e).toMatchObject({ code: 'API_VERSION_MISMATCH', storeAddress: second!.address });
    await cluster.stopStore(second!.id);
    const raw = await RawClient.connect({ pdEndpoints: cluster.pdEndpoints, apiVersion: 'V2' });
    await raw.close();
  } finally {
    await cluster.close();
  }
});
