import { encodeBytes } from '@tikv/common';
import { KeyMode } from './api-version.js';
import { CodecV1 } from './codec-v1.js';
import { CodecV2 } from './codec-v2.js';
import { CodecRegionKeyCodec, type RegionShape } from './region-key-codec.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const E = new Uint8Array();
const region = (
  startKey: Uint8Array,
  endKey: Uint8Array,
  keys?: Uint8Array[],
): RegionShape & { id: number } => ({
  id: 7,
  region: { startKey, endKey },
  buckets: keys === undefined ? undefined : { version: 3n, keys },
});

describe('CodecRegionKeyCodec (client-go CodecPDClient)', () => {
  test('V1 raw: keys pass as they are', () => {
    const c = new CodecRegionKeyCodec(new CodecV1(KeyMode.RAW));
    expect(c.encodeRegionKey(enc('a'))).toEqual(enc('a'));
    expect(c.encodeRegionRange(enc('a'), E)).toEqual([enc('a'), E]);
    expect(c.decodeRegion(region(enc('a'), E))?.region).toEqual({ startKey: enc('a'), endKey: E });
  });

  test('V1 txn: memcomparable boundaries and buckets', () => {
    const c = new CodecRegionKeyCodec(new CodecV1(KeyMode.TXN));
    expect(c.encodeRegionKey(enc('a'))).toEqual(encodeBytes(enc('a')));
    const out = c.decodeRegion(
      region(encodeBytes(enc('a')), E, [encodeBytes(enc('a')), encodeBytes(enc('b')), E]),
    );
    expect(out?.id).toBe(7);
    expect(out?.region).toEqual({ startKey: enc('a'), endKey: E });
    expect(out?.buckets).toEqual({ version: 3n, keys: [enc('a'), enc('b'), E] });
    expect(() => c.decodeRegion(region(Uint8Array.of(1), E))).toThrow(
      expect.objectContaining({ code: 'CODEC_ERROR' }),
    );
  });

  test('V2: keys get the keyspace prefix; regions clamp; foreign regions are dropped', () => {
    const v2 = new CodecV2(KeyMode.RAW, {
      id: 1,
      name: 'ks',
      state: 'enabled',
      createdAt: 0n,
      stateChangedAt: 0n,
      config: {},
    });
    const c = new CodecRegionKeyCodec(v2);
    const pre = Uint8Array.of(0x72, 0, 0, 1);
    const next = Uint8Array.of(0x72, 0, 0, 2);
    expect(c.encodeRegionKey(enc('a'))).toEqual(encodeBytes(Uint8Array.of(...pre, 0x61)));
    // An empty end key becomes the keyspace's end ({} end key case).
    expect(c.encodeRegionRange(E, E)).toEqual([encodeBytes(pre), encodeBytes(next)]);
    expect(c.decodeRegion(region(E, E))?.region).toEqual({ startKey: E, endKey: E });
    const mid = c.decodeRegion(region(encodeBytes(Uint8Array.of(...pre, 0x61)), encodeBytes(next)));
    expect(mid?.region).toEqual({ startKey: enc('a'), endKey: E });
    expect(c.decodeRegion(region(encodeBytes(next), E))).toBeUndefined();
    expect(c.decodeRegion(region(E, encodeBytes(pre)))).toBeUndefined();
  });
});
