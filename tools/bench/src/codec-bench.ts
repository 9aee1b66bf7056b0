/**
 * Codec benchmark of the hot messages: build + encode and decode of a RawGet request with a
 * full Context, its response, and a BatchCommands message of 64 RawGet requests. The baseline
 * is JSON round trips of the same objects in the same run.
 */
import { kvrpcpb, tikvpb } from '@tikv/proto';
import { type Measurement, measure, printTable } from './harness.js';

const key = new TextEncoder().encode('user:0000000001:profile');
const value = new Uint8Array(256).fill(7);

function rawGetRequest(i: number): kvrpcpb.RawGetRequest {
  return kvrpcpb.RawGetRequest.fromPartial({
    context: {
      regionId: 4242n + BigInt(i & 7),
      regionEpoch: { confVer: 5n, version: 1234n },
      peer: { id: 4243n, storeId: 1n },
      apiVersion: kvrpcpb.APIVersion.V2,
      requestSource: 'external_raw',
      resourceControlContext: { resourceGroupName: 'default' },
      maxExecutionDurationMs: 20_000n,
    },
    key,
    cf: 'default',
  });
}

const jsonReplacer = (_k: string, v: unknown) =>
  typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v;

/** Runs the codec suite and prints its table. */
export function runCodecBench(): Measurement[] {
  const iterations = 200_000;
  const req = rawGetRequest(0);
  const reqBytes = kvrpcpb.RawGetRequest.encode(req).finish();
  const resp = kvrpcpb.RawGetResponse.fromPartial({ value, notFound: false });
  const respBytes = kvrpcpb.RawGetResponse.encode(resp).finish();
  const batch = tikvpb.BatchCommandsRequest.fromPartial({
    requests: Array.from({ length: 64 }, (_, i) => ({
      cmd: { $case: 'RawGet' as const, value: rawGetRequest(i) },
    })),
    requestIds: Array.from({ length: 64 }, (_, i) => BigInt(i + 1)),
  });
  const batchResp = tikvpb.BatchCommandsResponse.fromPartial({
    responses: Array.from({ length: 64 }, () => ({ cmd: { $case: 'RawGet' as const, value: resp } })),
    requestIds: Array.from({ length: 64 }, (_, i) => BigInt(i + 1)),
  });
  const batchRespBytes = tikvpb.BatchCommandsResponse.encode(batchResp).finish();
  const reqJson = JSON.stringify(req, jsonReplacer);

  const baseline = measure(
    'JSON round trip of RawGetRequest',
    () => JSON.parse(JSON.stringify(req, jsonReplacer)),
    {
      iterations,
    },
  );
  const rows = [
    baseline,
    measure('JSON.parse RawGetRequest', () => JSON.parse(reqJson), { iterations }),
    measure('RawGetRequest build+encode', () => kvrpcpb.RawGetRequest.encode(rawGetRequest(1)).finish(), {
      iterations,
    }),
    measure('RawGetRequest decode', () => kvrpcpb.RawGetRequest.decode(reqBytes), { iterations }),
    measure('RawGetResponse (256 B) decode', () => kvrpcpb.RawGetResponse.decode(respBytes), { iterations }),
    measure('BatchCommands 64xRawGet encode', () => tikvpb.BatchCommandsRequest.encode(batch).finish(), {
      iterations: iterations / 64,
    }),
    measure(
      'BatchCommands 64xRawGet resp decode',
      () => tikvpb.BatchCommandsResponse.decode(batchRespBytes),
      {
        iterations: iterations / 64,
      },
    ),
  ];
  printTable('codec: hot messages (ns per message or batch)', rows, baseline);
  return rows;
}
