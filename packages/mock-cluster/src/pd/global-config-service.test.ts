import { pdpb } from '@tikv/proto';
import { type Channel, createChannel, createClient } from 'nice-grpc';
import { b, text } from '../../test/test-helpers.js';
import { MockCluster } from '../index.js';

const { PUT, DELETE } = pdpb.EventType;

describe('PD global config (StoreGlobalConfig / LoadGlobalConfig / WatchGlobalConfig of grpc_service.go)', () => {
  let cluster: MockCluster;
  let channel: Channel;
  let client: pdpb.PDClient;
  beforeEach(async () => {
    cluster = await MockCluster.start({ stores: 1 });
    channel = createChannel(cluster.pdEndpoints[0] as string);
    client = createClient(pdpb.PDDefinition, channel);
  });
  afterEach(async () => {
    channel.close();
    await cluster.close();
  });

  it('stores value before payload, resolves names under the path, and loads by names or by prefix', async () => {
    await client.storeGlobalConfig({
      configPath: '/global/config/app',
      changes: [
        { name: 'v', value: 'text', kind: PUT, payload: b('ignored') },
        { name: 'p', payload: b('bytes'), kind: PUT },
        { name: '', value: 'root', kind: PUT },
      ],
    });
    const named = await client.loadGlobalConfig({
      names: ['v', 'p', 'none'],
      configPath: '/global/config/app/',
    });
    expect(named.items.map((i) => [i.name, text(i.payload), i.error?.type ?? 0])).toEqual([
      ['v', 'text', 0],
      ['p', 'bytes', 0],
      ['none', '', pdpb.ErrorType.GLOBAL_CONFIG_NOT_FOUND],
    ]);
    expect(named.revision).toBe(0n);
    const all = await client.loadGlobalConfig({ names: [], configPath: '' });
    expect(all.items.map((i) => i.name)).toEqual([
      '/global/config/app',
      '/global/config/app/p',
      '/global/config/app/v',
    ]);
    expect(all.revision).toBe(5n); // the default resource group is stored at start
    await client.storeGlobalConfig({
      configPath: '/global/config/app',
      changes: [{ name: 'v', kind: DELETE }],
    });
    const after = await client.loadGlobalConfig({ names: ['v'], configPath: '/global/config/app' });
    expect(after.items[0]?.error?.message).toBe('key v not found');
  });

  it('refuses paths outside /global/config/ with INVALID_ARGUMENT', async () => {
    await expect(client.storeGlobalConfig({ configPath: '/x', changes: [] })).rejects.toThrow(/not allowed/);
    await expect(
      client.loadGlobalConfig({ names: ['a'], configPath: 'resource_group/controller' }),
    ).rejects.toThrow(/not allowed/);
    const ctl = await client.loadGlobalConfig({ names: [], configPath: 'resource_group/controller' });
    expect(ctl.items).toEqual([]);
  });

  it('watches from a revision: puts with their value, deletes with the value before', async () => {
    await client.storeGlobalConfig({ configPath: '', changes: [{ name: 'a', value: '1', kind: PUT }] });
    const ac = new AbortController();
    const it = client
      .watchGlobalConfig({ configPath: '', revision: 3n }, { signal: ac.signal })
      [Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.value?.changes.map((c: pdpb.GlobalConfigItem) => [c.kind, c.name, text(c.payload)])).toEqual(
      [[PUT, '/global/config/a', '1']],
    );
    expect(first.value?.revision).toBe(3n);
    await client.storeGlobalConfig({ configPath: '', changes: [{ name: 'a', kind: DELETE }] });
    const second = await it.next();
    expect(second.value?.changes.map((c: pdpb.GlobalConfigItem) => [c.kind, text(c.payload)])).toEqual([
      [DELETE, '1'],
    ]);
    ac.abort();
    await expect(it.next()).rejects.toThrow();
  });
});
