import { encodeBytes } from '@tikv/common';
import { errorpb, kvrpcpb } from '@tikv/proto';
import { KeyMode, NULLSPACE_ID } from './api-version.js';
import type { CodecResponse } from './codec-request.js';
import { CodecV1 } from './codec-v1.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('CodecV1', () => {
  test('TestEncodeUnknownRequest: a request without keys encodes without error', () => {
    const c = new CodecV1(KeyMode.TXN);
    const req = { $case: 'GetStoreSafeTS' as const, value: kvrpcpb.StoreSafeTSRequest.fromPartial({}) };
    const out = c.encodeRequest(req);
    expect(out).not.toBe(req);
    expect(out.value).toEqual(req.value);
  });

  test('keys pass unchanged; the context is tagged V1 with the null keyspace, the input untouched', () => {
    const c = new CodecV1(KeyMode.RAW);
    const req = { $case: 'RawGet' as const, value: kvrpcpb.RawGetRequest.fromPartial({ key: enc('k') }) };
    const out = c.encodeRequest(req);
    expect(out.value.key).toEqual(enc('k'));
    expect(out.value.context?.apiVersion).toBe(kvrpcpb.APIVersion.V1);
    expect(out.value.context?.keyspace).toEqual({ $case: 'keyspaceId', value: NULLSPACE_ID });
    expect(req.value.context).toBeUndefined();
    expect(c.keyspaceId).toBe(NULLSPACE_ID);
    expect(c.keyspacePrefix).toHaveLength(0);
    expect(c.keyspaceMeta).toBeUndefined();
    const compact = c.encodeRequest({ $case: 'Compact', value: kvrpcpb.CompactRequest.fromPartial({}) });
    expect(compact.value.keyspace).toEqual({ $case: 'keyspaceId', value: NULLSPACE_ID });
  });

  test('raw mode keeps region keys plain', () => {
    const c = new CodecV1(KeyMode.RAW);
    expect(c.encodeRegionKey(enc('a'))).toEqual(enc('a'));
    expect(c.encodeRegionRange(enc('a'), new Uint8Array())).toEqual([enc('a'), new Uint8Array()]);
    expect(c.decodeRegionRange(enc('a'), enc('b'))).toEqual([enc('a'), enc('b')]);
    expect(c.encodeRange(enc('a'), enc('b'))).toEqual([enc('a'), enc('b')]);
    expect(c.decodeRange(enc('a'), enc('b'))).toEqual([enc('a'), enc('b')]);
    expect(c.encodeKey(enc('a'))).toEqual(enc('a'));
    expect(c.decodeKey(enc('a'))).toEqual(enc('a'));
  });

  test('txn mode memcomparable-encodes region keys; an empty end stays unbounded', () => {
    const c = new CodecV1(KeyMode.TXN);
    expect(c.encodeRegionKey(enc('a'))).toEqual(encodeBytes(enc('a')));
    expect(c.encodeRegionRange(enc('a'), new Uint8Array())).toEqual([
      encodeBytes(enc('a')),
      new Uint8Array(),
    ]);
    expect(c.encodeRegionRange(enc('a'), enc('b'))).toEqual([encodeBytes(enc('a')), encodeBytes(enc('b'))]);
    expect(c.decodeRegionRange(encodeBytes(enc('a')), new Uint8Array())).toEqual([
      enc('a'),
      new Uint8Array(),
    ]);
    expect(c.decodeRegionKey(new Uint8Array())).toHaveLength(0);
    expect(c.decodeBucketKeys([new Uint8Array(), encodeBytes(enc('m'))])).toEqual([
      new Uint8Array(),
      enc('m'),
    ]);
    expect(() => c.decodeRegionKey(Uint8Array.of(1, 2, 3))).toThrow(
      expect.objectContaining({ code: 'CODEC_ERROR' }),
    );
  });

  test('decodes region errors of listed commands (EpochNotMatch, KeyNotInRegion)', () => {
    const c = new CodecV1(KeyMode.TXN);
    const resp: CodecResponse = {
      $case: 'Get',
      value: kvrpcpb.GetResponse.fromPartial({
        regionError: errorpb.Error.fromPartial({
          epochNotMatch: {
            currentRegions: [{ id: 1n, startKey: encodeBytes(enc('a')), endKey: encodeBytes(enc('c')) }],
          },
          keyNotInRegion: { key: enc('z'), startKey: encodeBytes(enc('a')), endKey: new Uint8Array() },
        }),
      }),
    };
    c.decodeResponse(resp);
    const e = resp.value.regionError;
    expect(e?.epochNotMatch?.currentRegions[0]?.startKey).toEqual(enc('a'));
    expect(e?.epochNotMatch?.currentRegions[0]?.endKey).toEqual(enc('c'));
    expect(e?.keyNotInRegion?.key).toEqual(enc('z'));
    expect(e?.keyNotInRegion?.startKey).toEqual(enc('a'));
    // Commands client-go's V1 codec does not list are returned as they are.
    const split: CodecResponse = {
      $case: 'SplitRegion',
      value: kvrpcpb.SplitRegionResponse.fromPartial({
        regionError: { epochNotMatch: { currentRegions: [{ startKey: encodeBytes(enc('a')) }] } },
      }),
    };
    c.decodeResponse(split);
    expect(split.value.regionError?.epochNotMatch?.currentRegions[0]?.startKey).toEqual(
      encodeBytes(enc('a')),
    );
    const ok: CodecResponse = {
      $case: 'RawGet',
      value: kvrpcpb.RawGetResponse.fromPartial({ value: enc('v') }),
    };
    expect(c.decodeResponse(ok)).toBe(ok);
  });

  test("decodes the region errors of pipelined DML's Flush and BufferBatchGet too", () => {
    const c = new CodecV1(KeyMode.TXN);
    const region = { id: 1n, startKey: encodeBytes(enc('a')), endKey: encodeBytes(enc('c')) };
    const flush: CodecResponse = {
      $case: 'Flush',
      value: kvrpcpb.FlushResponse.fromPartial({
        regionError: { epochNotMatch: { currentRegions: [region] } },
      }),
    };
    c.decodeResponse(flush);
    expect(flush.value.regionError?.epochNotMatch?.currentRegions[0]?.endKey).toEqual(enc('c'));
    const get: CodecResponse = {
      $case: 'BufferBatchGet',
      value: kvrpcpb.BufferBatchGetResponse.fromPartial({
        regionError: { epochNotMatch: { currentRegions: [{ ...region }] } },
      }),
    };
    c.decodeResponse(get);
    expect(get.value.regionError?.epochNotMatch?.currentRegions[0]?.startKey).toEqual(enc('a'));
  });
});
