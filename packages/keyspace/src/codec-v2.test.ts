import { encodeBytes } from '@tikv/common';
import { errorpb, keyspacepb } from '@tikv/proto';
import { DEFAULT_KEYSPACE_ID, KeyMode } from './api-version.js';
import { CodecV2 } from './codec-v2.js';
import { decodeRegionErrorWith } from './region-error-decoder.js';

// Ports client-go internal/apicodec/codec_v2_test.go (construction, ranges, regions, buckets).
const TEST_KEYSPACE_ID = 4242;
const r = 0x72;
// Ordered: beforePrefix < keyspacePrefix < insideLeft < insideRight < keyspaceEndKey < afterEndKey.
const prevKeyspacePrefix = Uint8Array.of(r, 0, 16, 145);
const keyspacePrefix = Uint8Array.of(r, 0, 16, 146);
const keyspaceEndKey = Uint8Array.of(r, 0, 16, 147);
const beforePrefix = Uint8Array.of(r, 0, 0, 1);
const afterEndKey = Uint8Array.of(r, 1, 0, 0);
const insideLeft = Uint8Array.of(r, 0, 16, 146, 100);
const insideRight = Uint8Array.of(r, 0, 16, 146, 200);

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const cat = (a: Uint8Array, b: Uint8Array | string): Uint8Array =>
  Uint8Array.from([...a, ...(typeof b === 'string' ? enc(b) : b)]);
const meta = (id: number): keyspacepb.KeyspaceMeta =>
  keyspacepb.KeyspaceMeta.fromPartial({ keyspace: { $case: 'id', value: id }, name: `ks${id}` });

describe('CodecV2 (client-go codec_v2_test.go)', () => {
  const codec = new CodecV2(KeyMode.RAW, meta(TEST_KEYSPACE_ID));

  test('SetupSuite: the prefix of keyspace 4242', () => {
    expect(codec.keyspacePrefix).toEqual(keyspacePrefix);
    expect(codec.keyspaceEndKey).toEqual(keyspaceEndKey);
  });

  test('TestGetKeyspaceID', () => {
    expect(codec.keyspaceId).toBe(TEST_KEYSPACE_ID);
    expect(codec.keyspaceMeta.name).toBe('ks4242');
  });

  test.each([
    { mode: KeyMode.RAW, id: 2 ** 24 - 2, prefix: [r, 255, 255, 254], end: [r, 255, 255, 255] },
    // The end key carries the increment into higher bytes.
    { mode: KeyMode.TXN, id: 2 ** 8 - 1, prefix: [0x78, 0, 0, 255], end: [0x78, 0, 1, 0] },
    { mode: KeyMode.TXN, id: 2 ** 16 - 1, prefix: [0x78, 0, 255, 255], end: [0x78, 1, 0, 0] },
    // The last keyspace's end changes the mode byte.
    { mode: KeyMode.RAW, id: 2 ** 24 - 1, prefix: [r, 255, 255, 255], end: [0x73, 0, 0, 0] },
    { mode: KeyMode.TXN, id: DEFAULT_KEYSPACE_ID, prefix: [0x78, 0, 0, 0], end: [0x78, 0, 0, 1] },
  ])('TestNewCodecV2: keyspace $id ($mode)', ({ mode, id, prefix, end }) => {
    const m = meta(id);
    const c = new CodecV2(mode, m);
    expect(c.keyspacePrefix).toEqual(Uint8Array.from(prefix));
    expect(c.keyspaceEndKey).toEqual(Uint8Array.from(end));
    expect(c.keyspaceMeta.id).toBe(id);
  });

  test('TestNewCodecV2: errors', () => {
    expect(() => new CodecV2(KeyMode.RAW, meta(0xffffffff))).toThrow(
      expect.objectContaining({ name: 'KeyspaceError', reason: 'ID_OUT_OF_RANGE' }),
    );
    expect(() => new CodecV2('bad' as KeyMode, meta(0))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  test('TestNewCodecV2RejectsKeyspaceIdentity', () => {
    const m = keyspacepb.KeyspaceMeta.fromPartial({
      keyspace: { $case: 'keyspaceIdentity', value: { namespaceId: 1, keyspaceId: 2 } },
    });
    expect(() => new CodecV2(KeyMode.TXN, m)).toThrow(
      expect.objectContaining({ reason: 'UNSUPPORTED_IDENTITY', code: 'NOT_SUPPORTED' }),
    );
  });

  test('TestNewCodecV2RejectsNilMeta', () => {
    expect(() => new CodecV2(KeyMode.TXN, undefined as unknown as keyspacepb.KeyspaceMeta)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  test('a meta without an id arm is keyspace 0, as in Go', () => {
    const c = new CodecV2(KeyMode.TXN, keyspacepb.KeyspaceMeta.fromPartial({ name: 'DEFAULT' }));
    expect(c.keyspaceId).toBe(0);
  });

  test('TestEncodeV2KeyRanges: an empty end becomes the keyspace end', () => {
    const e = new Uint8Array();
    expect(codec.encodeRange(e, e)).toEqual([keyspacePrefix, keyspaceEndKey]);
    expect(codec.encodeRange(e, enc('z'))).toEqual([keyspacePrefix, cat(keyspacePrefix, 'z')]);
    expect(codec.encodeRange(enc('a'), e)).toEqual([cat(keyspacePrefix, 'a'), keyspaceEndKey]);
    expect(codec.encodeRange(enc('a'), enc('z'))).toEqual([
      cat(keyspacePrefix, 'a'),
      cat(keyspacePrefix, 'z'),
    ]);
    // Reverse scans send the upper bound first: its empty form is the keyspace end.
    expect(codec.encodeRangeDirected(e, e, true)).toEqual([keyspaceEndKey, keyspacePrefix]);
  });

  test('keys round-trip; a key of another keyspace is out of bound', () => {
    expect(codec.decodeKey(codec.encodeKey(enc('k')))).toEqual(enc('k'));
    expect(codec.decodeKey(new Uint8Array())).toHaveLength(0);
    expect(() => codec.decodeKey(cat(prevKeyspacePrefix, 'k'))).toThrow(
      expect.objectContaining({ name: 'KeyOutOfKeyspaceError', code: 'CODEC_ERROR' }),
    );
    expect(codec.decodeRegionKey(codec.encodeRegionKey(enc('k')))).toEqual(enc('k'));
    expect(codec.encodeRegionRange(enc('a'), new Uint8Array())).toEqual([
      encodeBytes(cat(keyspacePrefix, 'a')),
      encodeBytes(keyspaceEndKey),
    ]);
  });

  test('decodeRange clamps to the keyspace and rejects ranges outside it', () => {
    expect(codec.decodeRange(beforePrefix, afterEndKey)).toEqual([new Uint8Array(), new Uint8Array()]);
    expect(codec.decodeRange(insideLeft, new Uint8Array())).toEqual([Uint8Array.of(100), new Uint8Array()]);
    expect(() => codec.decodeRange(keyspaceEndKey, afterEndKey)).toThrow(
      expect.objectContaining({ outOfKeyspace: true }),
    );
    expect(() => codec.decodeRange(beforePrefix, keyspacePrefix)).toThrow(
      expect.objectContaining({ outOfKeyspace: true }),
    );
    expect(codec.decodeRegionRange(new Uint8Array(), new Uint8Array())).toEqual([
      new Uint8Array(),
      new Uint8Array(),
    ]);
    expect(() => codec.decodeRegionRange(Uint8Array.of(1), new Uint8Array())).toThrow(
      expect.objectContaining({ code: 'CODEC_ERROR' }),
    );
  });

  test('TestDecodeEpochNotMatch: regions clamp to the keyspace, foreign ones are dropped', () => {
    const m = (k: Uint8Array): Uint8Array => encodeBytes(k);
    const err = errorpb.Error.fromPartial({
      epochNotMatch: {
        currentRegions: [
          { id: 1n, startKey: m(keyspacePrefix), endKey: m(keyspaceEndKey) },
          { id: 2n, startKey: m(beforePrefix), endKey: m(afterEndKey) },
          { id: 3n, startKey: m(beforePrefix), endKey: m(insideLeft) },
          { id: 4n, startKey: m(insideLeft), endKey: m(insideRight) },
          { id: 5n, startKey: m(beforePrefix), endKey: m(keyspacePrefix) },
          { id: 6n, startKey: m(keyspaceEndKey), endKey: m(afterEndKey) },
        ],
      },
    });
    const out = decodeRegionErrorWith(codec, err, true);
    const got = out.epochNotMatch?.currentRegions.map((x) => [x.id, x.startKey, x.endKey]);
    expect(got).toEqual([
      [1n, new Uint8Array(), new Uint8Array()],
      [2n, new Uint8Array(), new Uint8Array()],
      [3n, new Uint8Array(), Uint8Array.of(100)],
      [4n, Uint8Array.of(100), Uint8Array.of(200)],
    ]);
  });

  test("BucketVersionNotMatch: its bucket keys come back in the caller's keys", () => {
    const m = (k: Uint8Array): Uint8Array => encodeBytes(k);
    const err = errorpb.Error.fromPartial({
      bucketVersionNotMatch: { version: 3n, keys: [m(keyspacePrefix), m(insideLeft), m(keyspaceEndKey)] },
    });
    const out = decodeRegionErrorWith(codec, err, true);
    expect(out.bucketVersionNotMatch?.keys).toEqual([new Uint8Array(), Uint8Array.of(100), new Uint8Array()]);
    expect(out.bucketVersionNotMatch?.version).toBe(3n);
  });

  test('EpochNotMatch: a malformed region key still throws', () => {
    const err = errorpb.Error.fromPartial({
      epochNotMatch: { currentRegions: [{ startKey: Uint8Array.of(9) }] },
    });
    expect(() => decodeRegionErrorWith(codec, err, true)).toThrow(
      expect.objectContaining({ code: 'CODEC_ERROR' }),
    );
  });

  test('TestDecodeBucketKeys', () => {
    const withPrefix = (p: Uint8Array, k: string): Uint8Array => encodeBytes(cat(p, k));
    const e = new Uint8Array();
    const want = [e, enc('a'), enc('b'), enc('c'), e];
    expect(
      codec.decodeBucketKeys([
        withPrefix(prevKeyspacePrefix, 'a'),
        withPrefix(prevKeyspacePrefix, 'b'),
        withPrefix(prevKeyspacePrefix, 'c'),
        codec.encodeRegionKey(enc('a')),
        codec.encodeRegionKey(enc('b')),
        codec.encodeRegionKey(enc('c')),
        withPrefix(keyspaceEndKey, ''),
        withPrefix(keyspaceEndKey, 'a'),
        withPrefix(keyspaceEndKey, 'b'),
        withPrefix(keyspaceEndKey, 'c'),
      ]),
    ).toEqual(want);
    const inner = [
      withPrefix(prevKeyspacePrefix, 'a'),
      withPrefix(prevKeyspacePrefix, 'b'),
      withPrefix(prevKeyspacePrefix, 'c'),
      codec.encodeRegionKey(enc('')),
      codec.encodeRegionKey(enc('a')),
      codec.encodeRegionKey(enc('b')),
      codec.encodeRegionKey(enc('c')),
      e,
    ];
    expect(codec.decodeBucketKeys(inner)).toEqual(want);
    expect(codec.decodeBucketKeys([e, ...inner])).toEqual(want);
  });
});
