import { MockCluster } from '@tikv/mock-cluster';
import { PdClient } from '../src/pd-client.js';

describe('PdClient keyspace meta (keyspacepb.Keyspace)', () => {
  let cluster: MockCluster;
  let client: PdClient;
  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 1, apiVersion: 'V2', keyspaces: [{ name: 'ks1', id: 5 }] });
    client = await PdClient.connect({ endpoints: cluster.pdEndpoints });
  });
  afterAll(async () => {
    await client?.close();
    await cluster?.close();
  });

  test('loadKeyspace and loadKeyspaceById', async () => {
    const meta = await client.loadKeyspace('ks1');
    expect(meta.name).toBe('ks1');
    expect(meta.keyspace).toEqual({ $case: 'id', value: 5 });
    const byId = await client.loadKeyspaceById(5);
    expect(byId.name).toBe('ks1');
    expect((await client.loadKeyspace('DEFAULT')).keyspace).toEqual({ $case: 'id', value: 0 });
  });

  test('an unknown keyspace rejects with a non-retryable ENTRY_NOT_FOUND PdError', async () => {
    await expect(client.loadKeyspace('nope')).rejects.toMatchObject({
      code: 'PD_ERROR',
      pdErrorType: 'ENTRY_NOT_FOUND',
      retryable: false,
    });
    await expect(client.loadKeyspaceById(999)).rejects.toMatchObject({ pdErrorType: 'ENTRY_NOT_FOUND' });
  });
});
