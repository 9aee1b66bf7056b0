import { pdpb, tsopb } from '@tikv/proto';
import { encodeTsoRequest, tsoRequestPrefix } from './tso-request-encoding.js';

const COUNTS = [1, 2, 127, 128, 300, 10_000, 16_384, 2 ** 31, 2 ** 32 - 1];

describe('TSO request encoding from a pre-encoded header', () => {
  test('pdpb.TsoRequest: the general decoder reads back the header and every count', () => {
    const header: pdpb.RequestHeader = {
      clusterId: 7_234_567_890_123_456_789n,
      senderId: 0n,
      callerId: 'tikv-client-ts',
      callerComponent: 'bench',
    };
    const prefix = tsoRequestPrefix(pdpb.RequestHeader.encode(header).finish());
    for (const count of COUNTS) {
      const bytes = encodeTsoRequest(prefix, count);
      expect(pdpb.TsoRequest.decode(bytes)).toEqual({ header, count, dcLocation: '' });
      // Byte for byte what the general encoder writes.
      expect(Buffer.from(bytes)).toEqual(
        Buffer.from(pdpb.TsoRequest.encode({ header, count, dcLocation: '' }).finish()),
      );
    }
  });

  test('tsopb.TsoRequest: keyspace, group and callee id survive; a header longer than 127 bytes', () => {
    const header: tsopb.RequestHeader = {
      clusterId: 1n,
      senderId: 0n,
      keyspace: { $case: 'keyspaceId', value: 4_000_000 },
      keyspaceGroupId: 65_535,
      calleeId: `tso-${'x'.repeat(200)}:2379`,
    };
    const encoded = tsopb.RequestHeader.encode(header).finish();
    expect(encoded.length).toBeGreaterThan(127);
    const prefix = tsoRequestPrefix(encoded);
    for (const count of COUNTS) {
      expect(tsopb.TsoRequest.decode(encodeTsoRequest(prefix, count))).toEqual({
        header,
        count,
        dcLocation: '',
      });
    }
  });

  test('an empty header still names field 1', () => {
    const bytes = encodeTsoRequest(tsoRequestPrefix(new Uint8Array(0)), 3);
    expect([...bytes]).toEqual([0x0a, 0x00, 0x10, 0x03]);
  });
});
