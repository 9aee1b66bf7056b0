import { PdError } from '@tikv/common';
import { keyspacepb } from '@tikv/proto';
import { KeyMode } from './api-version.js';
import { CodecV1 } from './codec-v1.js';
import { CodecV2 } from './codec-v2.js';
import { createCodec } from './create-codec.js';
import { KeyspaceCache, type KeyspaceSource, loadKeyspaceMeta } from './keyspace-source.js';

function fakeSource(
  metas: Record<string, Partial<keyspacepb.KeyspaceMeta>>,
): KeyspaceSource & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    loadKeyspace: async (name) => {
      calls.push(name);
      const m = metas[name];
      if (m === undefined) throw new PdError('ENTRY_NOT_FOUND', 'keyspace not found');
      return keyspacepb.KeyspaceMeta.fromPartial({
        name,
        ...m,
      } as keyspacepb.DeepPartial<keyspacepb.KeyspaceMeta>);
    },
  };
}

const source = fakeSource({
  DEFAULT: { keyspace: { $case: 'id', value: 0 } },
  ks1: { keyspace: { $case: 'id', value: 1 }, config: { a: 'b' } },
  off: { keyspace: { $case: 'id', value: 2 }, state: keyspacepb.KeyspaceState.DISABLED },
  v3: { keyspace: { $case: 'keyspaceIdentity', value: { namespaceId: 1, keyspaceId: 2 } } },
});

describe('keyspace meta loading (client-go pd_codec.go)', () => {
  test('loads an enabled keyspace; an empty name is DEFAULT', async () => {
    const m = await loadKeyspaceMeta(source, 'ks1');
    expect(m).toMatchObject({ id: 1, name: 'ks1', state: 'enabled', config: { a: 'b' } });
    expect((await loadKeyspaceMeta(source, '')).name).toBe('DEFAULT');
  });

  test('unknown and disabled keyspaces are typed errors', async () => {
    await expect(loadKeyspaceMeta(source, 'nope')).rejects.toMatchObject({
      name: 'KeyspaceError',
      reason: 'NOT_FOUND',
      code: 'INVALID_ARGUMENT',
      keyspaceName: 'nope',
    });
    await expect(loadKeyspaceMeta(source, 'off')).rejects.toMatchObject({ reason: 'NOT_ENABLED' });
    const other: KeyspaceSource = { loadKeyspace: () => Promise.reject(new Error('boom')) };
    await expect(loadKeyspaceMeta(other, 'x')).rejects.toThrow('boom');
    const empty: KeyspaceSource = {
      loadKeyspace: () => Promise.resolve(undefined as unknown as keyspacepb.KeyspaceMeta),
    };
    await expect(loadKeyspaceMeta(empty, 'x')).rejects.toMatchObject({ reason: 'NOT_FOUND' });
  });

  test('TestGetKeyspaceIDRejectsV3Identity', async () => {
    await expect(loadKeyspaceMeta(source, 'v3')).rejects.toMatchObject({
      reason: 'UNSUPPORTED_IDENTITY',
      code: 'NOT_SUPPORTED',
    });
  });

  test('the cache loads once and shares concurrent loads; failures are not cached', async () => {
    const s = fakeSource({ ks1: { keyspace: { $case: 'id', value: 1 } } });
    const cache = new KeyspaceCache(s);
    const [a, b] = await Promise.all([cache.get('ks1'), cache.get('ks1')]);
    expect(a).toBe(b);
    expect(await cache.get('ks1')).toBe(a);
    expect(s.calls).toEqual(['ks1']);
    cache.invalidate('ks1');
    await cache.get('ks1');
    expect(s.calls).toEqual(['ks1', 'ks1']);
    await expect(cache.get('missing')).rejects.toMatchObject({ reason: 'NOT_FOUND' });
    await expect(cache.get('missing')).rejects.toMatchObject({ reason: 'NOT_FOUND' });
    expect(s.calls.filter((n) => n === 'missing')).toHaveLength(2);
  });

  test('createCodec builds V1 and V2 codecs', async () => {
    expect(await createCodec({ mode: KeyMode.RAW })).toBeInstanceOf(CodecV1);
    const c = await createCodec({ apiVersion: 'V2', mode: KeyMode.TXN, keyspace: 'ks1', source });
    expect(c).toBeInstanceOf(CodecV2);
    expect(c.keyspacePrefix).toEqual(Uint8Array.of(0x78, 0, 0, 1));
    await expect(createCodec({ mode: KeyMode.RAW, keyspace: 'ks1' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(createCodec({ apiVersion: 'V2', mode: KeyMode.RAW })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    await expect(createCodec({ apiVersion: 'V3' as 'V2', mode: KeyMode.RAW, source })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
  });
});
