import type { MockCluster } from '@tikv/mock-cluster';
import { keyspacepb } from '@tikv/proto';
import type { PdClient } from '../src/pd-client.js';
import { useMockPd } from './mock-pd.js';

describe('PdClient keyspace meta (keyspacepb.Keyspace)', () => {
  let client: PdClient;
  useMockPd({ stores: 1, apiVersion: 'V2', keyspaces: [{ name: 'ks1', id: 5 }] }, (_c, p) => {
    client = p;
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

describe('PdClient keyspace administration (keyspace_client.go UpdateKeyspaceState, GetAllKeyspaces; PD WatchKeyspaces)', () => {
  let cluster: MockCluster;
  let client: PdClient;
  useMockPd({ stores: 1, apiVersion: 'V2', keyspaces: [{ name: 'ks1', id: 5 }] }, (c, p) => {
    cluster = c;
    client = p;
  });

  test('updateKeyspaceState follows PD state transitions', async () => {
    const disabled = await client.updateKeyspaceState(5, keyspacepb.KeyspaceState.DISABLED);
    expect(disabled.state).toBe(keyspacepb.KeyspaceState.DISABLED);
    expect((await client.loadKeyspace('ks1')).state).toBe(keyspacepb.KeyspaceState.DISABLED);
    // The same state again is allowed (idempotent).
    await client.updateKeyspaceState(5, keyspacepb.KeyspaceState.DISABLED);
    await client.updateKeyspaceState(5, keyspacepb.KeyspaceState.ARCHIVED);
    await expect(client.updateKeyspaceState(5, keyspacepb.KeyspaceState.ENABLED)).rejects.toMatchObject({
      code: 'PD_ERROR',
      pdErrorType: 'UNKNOWN',
      message: expect.stringContaining('cannot change keyspace state from ARCHIVED to ENABLED'),
    });
    await expect(client.updateKeyspaceState(0, keyspacepb.KeyspaceState.DISABLED)).rejects.toMatchObject({
      pdErrorType: 'UNKNOWN',
    });
    await expect(client.updateKeyspaceState(77, keyspacepb.KeyspaceState.DISABLED)).rejects.toMatchObject({
      pdErrorType: 'ENTRY_NOT_FOUND',
    });
    await expect(client.updateKeyspaceState(-1, keyspacepb.KeyspaceState.DISABLED)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(client.updateKeyspaceState(5, 42 as keyspacepb.KeyspaceState)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });

  test('getAllKeyspaces pages by id', async () => {
    cluster.createKeyspace('ks6', { id: 6 });
    expect((await client.getAllKeyspaces()).map((k) => k.name)).toEqual(['DEFAULT', 'ks1', 'ks6']);
    expect((await client.getAllKeyspaces({ startId: 1, limit: 1 })).map((k) => k.name)).toEqual(['ks1']);
    await expect(client.getAllKeyspaces({ limit: 1.5 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  test('watchKeyspaces lists every keyspace, then each change; break ends it', async () => {
    const it = client.watchKeyspaces()[Symbol.asyncIterator]();
    const first = await it.next();
    expect((first.value as keyspacepb.KeyspaceMeta[]).map((k) => k.name)).toEqual(
      expect.arrayContaining(['DEFAULT', 'ks1']),
    );
    const next = it.next();
    cluster.createKeyspace('fresh');
    expect(((await next).value as keyspacepb.KeyspaceMeta[]).map((k) => k.name)).toEqual(['fresh']);
    const after = it.next();
    await client.updateKeyspaceState(6, keyspacepb.KeyspaceState.DISABLED);
    const changed = (await after).value as keyspacepb.KeyspaceMeta[];
    expect(changed.map((k) => [k.name, k.state])).toEqual([['ks6', keyspacepb.KeyspaceState.DISABLED]]);
    await it.return?.();
  });
});
