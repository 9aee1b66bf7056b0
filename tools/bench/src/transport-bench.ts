/**
 * Transport benchmark: RawGet-sized requests per second and client CPU microseconds per request
 * through `@tikv/rpc`'s BatchCommands transport against the standalone mock cluster (a separate
 * process), at concurrency 1, 64 and 512, next to a baseline of bare `@grpc/grpc-js` unary RawGet
 * calls with the same messages in the same run.
 *
 * Targets (issue 5): at concurrency 512, at least 8x the unary baseline's throughput and at most
 * 20 µs of client CPU per request.
 */
import * as grpc from '@grpc/grpc-js';
import { kvrpcpb, pdpb } from '@tikv/proto';
import { RpcClient } from '@tikv/rpc';
import { createChannel, createClient } from 'nice-grpc';
import { type ConcurrentRun, formatRate, printRows, runConcurrent } from './harness.js';
import { type StandaloneCluster, startStandaloneCluster } from './standalone-cluster.js';

/** The RawGet request the bench sends: a full Context for the first region, a 16-byte key. */
async function rawGetRequest(cluster: StandaloneCluster): Promise<kvrpcpb.RawGetRequest> {
  const channel = createChannel(cluster.pdEndpoint);
  try {
    const pdClient = createClient(pdpb.PDDefinition, channel);
    const r = await pdClient.getRegion({
      header: { clusterId: cluster.clusterId },
      regionKey: new Uint8Array(),
    });
    if (r.region === undefined || r.leader === undefined) throw new Error('no region');
    return kvrpcpb.RawGetRequest.fromPartial({
      context: {
        regionId: r.region.id,
        regionEpoch: r.region.regionEpoch,
        peer: r.leader,
        requestSource: 'bench',
        resourceControlContext: { resourceGroupName: 'default' },
      },
      key: Buffer.from('bench-key-000001'),
      cf: 'default',
    });
  } finally {
    channel.close();
  }
}

/** Runs the transport suite and prints its table. */
export async function runTransportBench(durationMs = 2000): Promise<void> {
  const cluster = await startStandaloneCluster(1);
  const store = [...cluster.stores.values()][0] ?? '';
  const warmMs = Math.min(500, durationMs);
  try {
    const request = await rawGetRequest(cluster);
    const rows: string[][] = [];

    // Baseline: bare grpc-js unary RawGet on one channel, the same encoded message.
    const bare = new grpc.Client(store, grpc.credentials.createInsecure());
    const path = '/tikvpb.Tikv/RawGet';
    const serialize = (r: kvrpcpb.RawGetRequest): Buffer =>
      Buffer.from(kvrpcpb.RawGetRequest.encode(r).finish());
    const deserialize = (b: Buffer): kvrpcpb.RawGetResponse => kvrpcpb.RawGetResponse.decode(b);
    const unary = (): Promise<kvrpcpb.RawGetResponse> =>
      new Promise((ok, fail) => {
        bare.makeUnaryRequest(path, serialize, deserialize, request, (e, r) =>
          e ? fail(e) : ok(r as kvrpcpb.RawGetResponse),
        );
      });
    const baseline = new Map<number, ConcurrentRun>();
    const levels = [1, 64, 512];
    for (const c of levels) {
      await runConcurrent(c, warmMs, unary);
      baseline.set(c, await runConcurrent(c, durationMs, unary));
    }
    bare.close();

    const rpc = new RpcClient();
    const cmd = { $case: 'RawGet', value: request } as const;
    const send = () => rpc.send(store, cmd, { timeoutMs: 10_000 });
    try {
      for (const c of levels) {
        await runConcurrent(c, warmMs, send);
        const r = await runConcurrent(c, durationMs, send);
        const b = baseline.get(c) as ConcurrentRun;
        rows.push([
          String(c),
          formatRate(b.opsPerSec),
          b.cpuUsPerOp.toFixed(1),
          formatRate(r.opsPerSec),
          r.cpuUsPerOp.toFixed(1),
          (r.opsPerSec / b.opsPerSec).toFixed(2),
        ]);
      }
    } finally {
      await rpc.close();
    }

    printRows(
      `transport: RawGet through BatchCommands (4 connections, max batch 128) vs bare grpc-js unary, ${durationMs} ms per figure`,
      ['concurrency', 'unary req/s', 'unary CPU µs/req', 'batch req/s', 'batch CPU µs/req', 'x unary'],
      rows,
    );
    console.log('targets at 512: >= 8x unary throughput, <= 20 µs client CPU per request');
  } finally {
    await cluster.stop();
  }
}
