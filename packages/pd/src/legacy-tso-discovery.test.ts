import { tsopb } from '@tikv/proto';
import {
  assignedNonDefaultGroup,
  createLegacyTsoDiscovery,
  defaultGroupPrimaryKey,
} from './legacy-tso-discovery.js';

const signal = new AbortController().signal;

describe('the legacy TSO discovery (PD discoverWithLegacyPath)', () => {
  test('the default group primary key and the keyspace config rule (PD hasKeyspaceGroupIDConfig)', () => {
    expect(defaultGroupPrimaryKey(42n)).toBe('/ms/42/tso/00000/primary');
    expect(assignedNonDefaultGroup({})).toBeUndefined();
    expect(assignedNonDefaultGroup({ tso_keyspace_group_id: '0' })).toBeUndefined();
    expect(assignedNonDefaultGroup({ tso_keyspace_group_id: 'x' })).toBeUndefined();
    expect(assignedNonDefaultGroup({ tso_keyspace_group_id: '3' })).toBe(3);
  });

  test('reads the primary from etcd; refuses the fallback for a keyspace of another group in API mode', async () => {
    let api = true;
    let config: Record<string, string> = { tso_keyspace_group_id: '2' };
    let values: Uint8Array[] = [
      tsopb.Participant.encode({ name: 'p', id: 1n, listenUrls: ['http://a:1'] }).finish(),
    ];
    const keys: string[] = [];
    const legacy = createLegacyTsoDiscovery({
      clusterId: () => 9n,
      keyspaceId: 4,
      isApiServiceMode: async () => api,
      keyspaceConfig: async () => config,
      metaGet: async (key) => {
        keys.push(key);
        return values;
      },
    });
    await expect(legacy.checkFallbackAllowed(signal)).rejects.toThrow('keyspace group 2');
    config = { tso_keyspace_group_id: '0' };
    await legacy.checkFallbackAllowed(signal);
    config = { tso_keyspace_group_id: '2' };
    api = false;
    await legacy.checkFallbackAllowed(signal);
    expect(await legacy.primaryUrls(signal)).toEqual(['http://a:1']);
    expect(keys).toEqual(['/ms/9/tso/00000/primary']);
    values = [];
    await expect(legacy.primaryUrls(signal)).rejects.toThrow('no TSO primary');
    values = [new Uint8Array(), new Uint8Array()];
    await expect(legacy.primaryUrls(signal)).rejects.toThrow('more than one');
    values = [tsopb.Participant.encode({ name: 'p', id: 1n, listenUrls: [] }).finish()];
    await expect(legacy.primaryUrls(signal)).rejects.toThrow('lists no URL');
  });

  test('a client without a keyspace may always fall back', async () => {
    const legacy = createLegacyTsoDiscovery({
      clusterId: () => 9n,
      keyspaceId: undefined,
      isApiServiceMode: async () => true,
      keyspaceConfig: async () => {
        throw new Error('not asked');
      },
      metaGet: async () => [],
    });
    await legacy.checkFallbackAllowed(signal);
  });
});
