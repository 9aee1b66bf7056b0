import { InvalidArgumentError } from '@tikv/common';
import { keyspacepb, pdpb } from '@tikv/proto';
import { createChannel, createClient } from 'nice-grpc';
import { MockCluster } from '../index.js';

describe('keyspacepb.Keyspace service', () => {
  let cluster: MockCluster;
  let channel: ReturnType<typeof createChannel>;
  let ks: keyspacepb.KeyspaceClient;
  let header: { clusterId: bigint };
  beforeAll(async () => {
    cluster = await MockCluster.start({
      stores: 1,
      apiVersion: 'V2',
      keyspaces: [
        { name: 'ks1', id: 7, config: { a: 'b' } },
        { name: 'off', state: 'disabled' },
      ],
    });
    channel = createChannel(cluster.pdEndpoints[0] as string);
    ks = createClient(keyspacepb.KeyspaceDefinition, channel);
    header = { clusterId: cluster.clusterId };
  });
  afterAll(async () => {
    channel.close();
    await cluster.close();
  });

  it('LoadKeyspace answers the meta of DEFAULT and created keyspaces', async () => {
    const def = await ks.loadKeyspace({ header, name: 'DEFAULT' });
    expect(def.header?.error).toBeUndefined();
    expect(def.keyspace?.keyspace).toEqual({ $case: 'id', value: 0 });
    const one = await ks.loadKeyspace({ header, name: 'ks1' });
    expect(one.keyspace).toMatchObject({
      name: 'ks1',
      state: keyspacepb.KeyspaceState.ENABLED,
      config: { a: 'b' },
    });
    expect(one.keyspace?.keyspace).toEqual({ $case: 'id', value: 7 });
    const off = await ks.loadKeyspace({ header, name: 'off' });
    expect(off.keyspace?.state).toBe(keyspacepb.KeyspaceState.DISABLED);
    expect(off.keyspace?.keyspace).toEqual({ $case: 'id', value: 1 });
  });

  it('an unknown keyspace answers ENTRY_NOT_FOUND in the header', async () => {
    const r = await ks.loadKeyspace({ header, name: 'nope' });
    expect(r.header?.error?.type).toBe(pdpb.ErrorType.ENTRY_NOT_FOUND);
    expect(r.keyspace).toBeUndefined();
    const byId = await ks.loadKeyspaceByID({ header, keyspace: { $case: 'id', value: 999 } });
    expect(byId.header?.error?.type).toBe(pdpb.ErrorType.ENTRY_NOT_FOUND);
    const ident = await ks.loadKeyspaceByID({
      header,
      keyspace: { $case: 'keyspaceIdentity', value: { namespaceId: 1, keyspaceId: 1 } },
    });
    expect(ident.header?.error?.type).toBe(pdpb.ErrorType.ENTRY_NOT_FOUND);
  });

  it('rejects another cluster id', async () => {
    await expect(ks.loadKeyspace({ header: { clusterId: 1n }, name: 'ks1' })).rejects.toMatchObject({
      code: 9,
    });
  });

  it('keyspaces created and changed through the handle are served', async () => {
    const info = cluster.createKeyspace('later');
    expect(info).toMatchObject({ name: 'later', id: 2, state: 'enabled' });
    const r = await ks.loadKeyspaceByID({ header, keyspace: { $case: 'id', value: 2 } });
    expect(r.keyspace?.name).toBe('later');
    cluster.setKeyspaceState('later', 'archived');
    expect((await ks.loadKeyspace({ header, name: 'later' })).keyspace?.state).toBe(
      keyspacepb.KeyspaceState.ARCHIVED,
    );
    // PD's stateTransitionTable: ARCHIVED may only become TOMBSTONE.
    const refused = await ks.updateKeyspaceState({
      header,
      keyspace: { $case: 'id', value: 2 },
      state: keyspacepb.KeyspaceState.ENABLED,
    });
    expect(refused.header?.error).toEqual({
      type: pdpb.ErrorType.UNKNOWN,
      message: 'cannot change keyspace state from ARCHIVED to ENABLED',
    });
    const upd = await ks.updateKeyspaceState({
      header,
      keyspace: { $case: 'id', value: 2 },
      state: keyspacepb.KeyspaceState.TOMBSTONE,
    });
    expect(upd.keyspace?.state).toBe(keyspacepb.KeyspaceState.TOMBSTONE);
    const bad = await ks.updateKeyspaceState({ header, keyspace: { $case: 'id', value: 555 } });
    expect(bad.header?.error?.type).toBe(pdpb.ErrorType.ENTRY_NOT_FOUND);
    const dflt = await ks.updateKeyspaceState({
      header,
      keyspace: { $case: 'id', value: 0 },
      state: keyspacepb.KeyspaceState.DISABLED,
    });
    expect(dflt.header?.error?.message).toContain('ErrModifyDefaultKeyspace');
    expect(cluster.keyspaces().map((k) => k.name)).toEqual(['DEFAULT', 'off', 'later', 'ks1']);
    const all = await ks.getAllKeyspaces({ header, startKeyspace: { $case: 'startId', value: 1 }, limit: 2 });
    expect(all.keyspaces.map((k) => k.name)).toEqual(['off', 'later']);
  });

  it('validates created keyspaces', () => {
    expect(() => cluster.createKeyspace('ks1')).toThrow(InvalidArgumentError);
    expect(() => cluster.createKeyspace('dup-id', { id: 7 })).toThrow(InvalidArgumentError);
    expect(() => cluster.createKeyspace('big', { id: 1 << 24 })).toThrow(InvalidArgumentError);
    expect(() => cluster.createKeyspace('')).toThrow(InvalidArgumentError);
    expect(() => cluster.setKeyspaceState('missing', 'enabled')).toThrow(InvalidArgumentError);
  });

  it('injected faults fail the call', async () => {
    cluster.inject({ method: 'LoadKeyspace', error: { grpcStatus: 14 }, times: 1 });
    await expect(ks.loadKeyspace({ header, name: 'ks1' })).rejects.toMatchObject({ code: 14 });
    expect((await ks.loadKeyspace({ header, name: 'ks1' })).keyspace?.name).toBe('ks1');
  });
});
