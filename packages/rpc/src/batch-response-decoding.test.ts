import { kvrpcpb, tikvpb } from '@tikv/proto';
import { decodeBatchResponse } from './batch-response-decoding.js';

const b = (s: string): Uint8Array => new TextEncoder().encode(s);

type Cmd = tikvpb.DeepPartial<tikvpb.BatchCommandsResponse_Response>['cmd'];

function encode(message: tikvpb.DeepPartial<tikvpb.BatchCommandsResponse>): Buffer {
  return Buffer.from(
    tikvpb.BatchCommandsResponse.encode(tikvpb.BatchCommandsResponse.fromPartial(message)).finish(),
  );
}

/** The fast decoder must give exactly what the generated one gives. */
function expectSameAsGenerated(bytes: Uint8Array): tikvpb.BatchCommandsResponse {
  const fast = decodeBatchResponse(bytes);
  expect(fast).toStrictEqual(tikvpb.BatchCommandsResponse.decode(bytes));
  return fast;
}

const lock = { primaryLock: b('p'), lockVersion: 5n, key: b('k'), lockTtl: 3000n };
const pairs = [
  { key: b('a'), value: b('1') },
  { key: b('b'), value: new Uint8Array(0) },
  { key: b('c'), value: b('3'), commitTs: 99n },
  { error: { locked: lock }, key: b('d') },
  {},
];
const regionError = { message: 'epoch', epochNotMatch: { currentRegions: [{ id: 7n }] } };

describe('decodeBatchResponse: the same objects as the generated decoder', () => {
  test.each<[string, Cmd]>([
    ['RawBatchGet', { $case: 'RawBatchGet', value: { pairs } }],
    ['RawBatchGet with a region error', { $case: 'RawBatchGet', value: { regionError } }],
    ['RawScan', { $case: 'RawScan', value: { kvs: pairs } }],
    [
      'BatchGet',
      {
        $case: 'BatchGet',
        value: { pairs, execDetailsV2: { timeDetail: { processWallTimeMs: 3n } }, error: { abort: 'x' } },
      },
    ],
    ['BatchGet empty', { $case: 'BatchGet', value: {} }],
    ['Scan', { $case: 'Scan', value: { pairs, error: { locked: lock }, regionError } }],
    ['RawGet (generated path)', { $case: 'RawGet', value: { value: b('v'), error: 'e' } }],
    ['Prewrite (generated path)', { $case: 'Prewrite', value: { errors: [{ abort: 'no' }] } }],
    ['no arm', undefined],
  ])('%s', (_name, cmd) => {
    const bytes = encode({
      responses: [{ cmd }, { cmd: { $case: 'RawBatchGet', value: { pairs: pairs.slice(0, 1) } } }],
      requestIds: [1n, 300n, 2n ** 40n],
      transportLayerLoad: 12n,
      healthFeedback: { storeId: 1n, feedbackSeqNo: 2n, slowScore: 3 },
      tikvSendTimeNs: 77n,
    });
    const fast = expectSameAsGenerated(bytes);
    expect(fast.responses).toHaveLength(2);
  });

  test('an empty message, and pairs whose keys are views of the input', () => {
    expectSameAsGenerated(new Uint8Array(0));
    const bytes = encode({
      responses: [{ cmd: { $case: 'RawBatchGet', value: { pairs } } }],
      requestIds: [1n],
    });
    const fast = expectSameAsGenerated(bytes);
    const cmd = fast.responses[0]?.cmd;
    const key = cmd?.$case === 'RawBatchGet' ? cmd.value.pairs[0]?.key : undefined;
    expect(key?.buffer).toBe(bytes.buffer);
    // The fast path ran: the pair without bytes shares one empty array for key and value,
    // where the generated decoder makes two.
    const empty = cmd?.$case === 'RawBatchGet' ? cmd.value.pairs[4] : undefined;
    expect(empty?.key).toBe(empty?.value);
  });

  test('unknown fields are skipped at every level; unpacked request ids are read', () => {
    const unknownVarint = [0xf8, 0x01, 0x05]; // field 31, varint 5
    const unknownBytes = [0xfa, 0x01, 0x02, 0x61, 0x62]; // field 31, length-delimited "ab"
    const pair = [
      ...kvrpcpb.KvPair.encode(kvrpcpb.KvPair.fromPartial({ key: b('k'), value: b('v') })).finish(),
    ];
    const pairWithUnknown = [...pair, ...unknownVarint, ...unknownBytes];
    const arm = [0x12, pairWithUnknown.length, ...pairWithUnknown, ...unknownBytes]; // pairs, then unknown
    const response = [(14 << 3) | 2, arm.length, ...arm]; // RawBatchGet
    const message = [
      0x0a,
      response.length,
      ...response,
      0x10,
      0x07, // request_ids unpacked: 7
      ...unknownVarint,
    ];
    const fast = expectSameAsGenerated(Uint8Array.from(message));
    expect(fast.requestIds).toEqual([7n]);
  });

  test('a response holding two arms falls back to the generated decoder (the last arm wins)', () => {
    const first = [
      ...tikvpb.BatchCommandsResponse_Response.encode({
        cmd: { $case: 'RawBatchGet', value: kvrpcpb.RawBatchGetResponse.fromPartial({ pairs }) },
      }).finish(),
    ];
    const second = [
      ...tikvpb.BatchCommandsResponse_Response.encode({
        cmd: { $case: 'RawGet', value: kvrpcpb.RawGetResponse.fromPartial({ value: b('v') }) },
      }).finish(),
    ];
    const response = [...first, ...second];
    const fast = expectSameAsGenerated(Uint8Array.from([0x0a, response.length, ...response]));
    expect(fast.responses[0]?.cmd?.$case).toBe('RawGet');
  });
});
