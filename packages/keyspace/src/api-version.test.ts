import { compareKeys } from '@tikv/common';
import {
  ApiVersion,
  buildKeyspaceName,
  codecV1ExcludePrefixes,
  codecV2Prefixes,
  DEFAULT_KEYSPACE_NAME,
  NULLSPACE_ID,
  parseKeyspaceId,
  splitKeyspaceKey,
} from './api-version.js';

const r = 0x72;
const x = 0x78;
const t = 0x74;

// Ports client-go internal/apicodec/codec_test.go.
describe('api-version helpers (client-go codec_test.go)', () => {
  test('TestParseKeyspaceID', () => {
    expect(parseKeyspaceId(Uint8Array.of(x, 1, 2, 3, 1, 2, 3))).toBe(0x010203);
    expect(parseKeyspaceId(Uint8Array.of(r, 1, 2, 3, 1, 2, 3, 4))).toBe(0x010203);
    expect(() => parseKeyspaceId(Uint8Array.of(t, 0, 0))).toThrow(
      expect.objectContaining({ code: 'CODEC_ERROR' }),
    );
    expect(() => parseKeyspaceId(Uint8Array.of(t, 0, 0, 1, 1, 2, 3))).toThrow(
      expect.objectContaining({ code: 'CODEC_ERROR' }),
    );
    expect(() => parseKeyspaceId(Uint8Array.of(r, 0, 0))).toThrow();
  });

  test('TestDecodeKey', () => {
    let s = splitKeyspaceKey(Uint8Array.of(r, 1, 2, 3, 1, 2, 3, 4), ApiVersion.V2);
    expect(s.prefix).toEqual(Uint8Array.of(r, 1, 2, 3));
    expect(s.key).toEqual(Uint8Array.of(1, 2, 3, 4));
    s = splitKeyspaceKey(Uint8Array.of(x, 1, 2, 3, 1, 2, 3, 4), ApiVersion.V2);
    expect(s.prefix).toEqual(Uint8Array.of(x, 1, 2, 3));
    expect(s.key).toEqual(Uint8Array.of(1, 2, 3, 4));
    s = splitKeyspaceKey(Uint8Array.of(t, 1, 2, 3, 1, 2, 3, 4), ApiVersion.V1);
    expect(s.prefix).toHaveLength(0);
    expect(s.key).toEqual(Uint8Array.of(t, 1, 2, 3, 1, 2, 3, 4));
    expect(() => splitKeyspaceKey(Uint8Array.of(t, 1, 2, 3, 1, 2, 3, 4), ApiVersion.V2)).toThrow();
  });

  test('TestCodecListUtilityFunctions: prefix lists are sorted', () => {
    for (const list of [codecV2Prefixes(), codecV1ExcludePrefixes()]) {
      for (let i = 1; i < list.length; i++) expect(compareKeys(list[i - 1]!, list[i]!)).toBeLessThan(0);
    }
    expect(codecV2Prefixes()).toEqual([Uint8Array.of(r), Uint8Array.of(x)]);
  });

  test('BuildKeyspaceName: empty selects DEFAULT', () => {
    expect(buildKeyspaceName('')).toBe(DEFAULT_KEYSPACE_NAME);
    expect(buildKeyspaceName(undefined)).toBe('DEFAULT');
    expect(buildKeyspaceName('ks1')).toBe('ks1');
    expect(NULLSPACE_ID).toBe(0xffffffff);
  });
});
