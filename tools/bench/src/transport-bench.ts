/**
 * Transport benchmark: RawGet-sized requests per second and client CPU microseconds per request
 * through `@tikv/rpc`'s BatchCommands transport against the standalone mock cluster (a separate
 * process), at concurrency 1, 64 and 512, next to a baseline of bare `@grpc/grpc-js` unary RawGet
 * calls with the same messages in the same run.
 *
 * Targets (issue 5): at concurrency 512, at least 8x the unary baseline's throughput and at most
 * 20 µs of client CPU per request.
 */
import { RpcClient } from '@tikv/rpc';
import { type ConcurrentRun, formatRate, printRows, runConcurrent } from './harness.js';
import { startStandaloneCluster } from './standalone-cluster.js';
import { unaryRawGet } from './unary-baseline.js';

/** Runs the transport suite and prints its table. */
export async function runTransportBench(durationMs = 2000): Promise<void> {
  const cluster = await startStandaloneCluster();
  const warmMs = Math.min(500, durationMs);
  try {
    const rows: string[][] = [];
    // Baseline: bare grpc-js unary RawGet on one channel, the same encoded message.
    const bare = await unaryRawGet(cluster, Buffer.from('bench-key-000001'));
    const unary = () => bare.call();
    const { request, address: store } = bare;
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
