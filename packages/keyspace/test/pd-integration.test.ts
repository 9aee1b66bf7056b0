import { encodeBytes } from '@tikv/common';
import { MockCluster } from '@tikv/mock-cluster';
import { PdClient } from '@tikv/pd';
import { CodecRegionKeyCodec, createCodec, KeyMode, KeyspaceCache } from '../src/index.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('keyspaces against @tikv/mock-cluster in API V2', () => {
  let cluster: MockCluster;
  let pd: PdClient;
  beforeAll(async () => {
    cluster = await MockCluster.start({
      stores: 1,
      apiVersion: 'V2',
      keyspaces: [
        { name: 'ks1', id: 1 },
        { name: 'off', id: 9, state: 'disabled' },
      ],
    });
    pd = await PdClient.connect({ endpoints: cluster.pdEndpoints });
  });
  afterAll(async () => {
    await pd?.close();
    await cluster?.close();
  });

  test('createCodec loads the keyspace from PD; unknown and disabled ones are typed errors', async () => {
    const c = await createCodec({
      apiVersion: 'V2',
      mode: KeyMode.RAW,
      keyspace: 'ks1',
      source: pd,
      timeoutMs: 5000,
    });
    expect(c.keyspaceId).toBe(1);
    expect(c.keyspacePrefix).toEqual(Uint8Array.of(0x72, 0, 0, 1));
    const def = await createCodec({ apiVersion: 'V2', mode: KeyMode.TXN, source: pd });
    expect(def.keyspaceMeta?.name).toBe('DEFAULT');
    await expect(
      createCodec({ apiVersion: 'V2', mode: KeyMode.RAW, keyspace: 'nope', source: pd }),
    ).rejects.toMatchObject({
      name: 'KeyspaceError',
      reason: 'NOT_FOUND',
    });
    await expect(new KeyspaceCache(pd).get('off')).rejects.toMatchObject({ reason: 'NOT_ENABLED' });
  });

  test('a PdClient with the region-key codec sees regions clamped to its keyspace', async () => {
    const codec = await createCodec({ apiVersion: 'V2', mode: KeyMode.RAW, keyspace: 'ks1', source: pd });
    // Region boundaries at the keyspace's start, inside it, and at its end.
    cluster.split([
      codec.encodeKey(new Uint8Array()),
      codec.encodeKey(enc('m')),
      Uint8Array.of(0x72, 0, 0, 2),
    ]);
    const scoped = await PdClient.connect({
      endpoints: cluster.pdEndpoints,
      codec: new CodecRegionKeyCodec(codec),
    });
    try {
      const left = await scoped.getRegion(enc('a'));
      expect(left?.region.startKey).toEqual(new Uint8Array());
      expect(left?.region.endKey).toEqual(enc('m'));
      const right = await scoped.getRegion(enc('x'));
      expect(right?.region.startKey).toEqual(enc('m'));
      expect(right?.region.endKey).toEqual(new Uint8Array());
      const all = await scoped.scanRegions(new Uint8Array(), new Uint8Array(), 0);
      expect(all.map((r) => [r.region.startKey, r.region.endKey])).toEqual([
        [new Uint8Array(), enc('m')],
        [enc('m'), new Uint8Array()],
      ]);
      // The wire carries the prefixed, memcomparable form.
      expect(cluster.regionByKey(codec.encodeKey(enc('a'))).endKey).toEqual(codec.encodeKey(enc('m')));
      expect(new CodecRegionKeyCodec(codec).encodeRegionKey(enc('a'))).toEqual(
        encodeBytes(codec.encodeKey(enc('a'))),
      );
    } finally {
      await scoped.close();
    }
  });
});
