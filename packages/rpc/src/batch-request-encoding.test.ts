import { kvrpcpb, tikvpb } from '@tikv/proto';
import { encodeBatchItem, encodeBatchRequest } from './batch-request-encoding.js';

describe('BatchCommandsRequest encoding', () => {
  it('builds a message ts-proto decodes back to the same requests and ids', () => {
    const cmds = Array.from({ length: 130 }, (_, i) => ({
      $case: 'RawGet' as const,
      value: kvrpcpb.RawGetRequest.fromPartial({
        key: Buffer.alloc(i * 3, i),
        context: { regionId: BigInt(i) },
      }),
    }));
    for (const firstId of [1, 127, 16_383, 2 ** 40]) {
      const decoded = tikvpb.BatchCommandsRequest.decode(
        encodeBatchRequest(cmds.map(encodeBatchItem), firstId),
      );
      expect(decoded.requestIds).toEqual(cmds.map((_, i) => BigInt(firstId + i)));
      expect(decoded.requests.map((r) => r.cmd)).toEqual(cmds);
    }
  });

  it('encodes an empty batch as an empty message', () => {
    expect(encodeBatchRequest([], 1)).toHaveLength(0);
  });
});
