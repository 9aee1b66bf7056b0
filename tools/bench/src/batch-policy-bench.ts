/**
 * Batch policy comparison: RawGet requests per second, client CPU per request and the mean
 * `BatchCommands` message size through `@tikv/rpc` with each batch policy (client-go
 * `batch-policy`) against the standalone mock cluster (a separate process), at concurrency 1,
 * 64 and 512. The baseline is the `basic` policy (never waits) measured in the same run, so the
 * last column is a ratio that holds on a noisy machine.
 */
import diagnostics from 'node:diagnostics_channel';
import { RPC_BATCH_CHANNEL, type RpcBatchEvent, RpcClient } from '@tikv/rpc';
import { type ConcurrentRun, formatRate, printRows, runConcurrent } from './harness.js';
import { startStandaloneCluster } from './standalone-cluster.js';
import { unaryRawGet } from './unary-baseline.js';

/** The policies compared, `basic` first (the baseline). */
export const BENCH_BATCH_POLICIES = [
  'basic',
  'standard',
  'positive',
  'custom {"v":2,"t":0.0002,"w":0.2,"p":0.5}',
] as const;

/** Runs the batch-policy suite and prints its table. */
export async function runBatchPolicyBench(durationMs = 1500): Promise<void> {
  const cluster = await startStandaloneCluster();
  const warmMs = Math.min(300, durationMs);
  const levels = [1, 64, 512];
  try {
    const probe = await unaryRawGet(cluster, Buffer.from('bench-key-000001'));
    const { request, address } = probe;
    probe.close();
    const cmd = { $case: 'RawGet', value: request } as const;
    const results = new Map<string, { run: ConcurrentRun; meanBatch: number }>();
    let sizes = 0;
    let batches = 0;
    const onBatch = (e: unknown): void => {
      sizes += (e as RpcBatchEvent).size;
      batches++;
    };
    // Warm the process (JIT, the mock's connections) first, so the baseline is not the cold one.
    const warm = new RpcClient();
    try {
      for (const c of levels)
        await runConcurrent(c, warmMs * 2, () => warm.send(address, cmd, { timeoutMs: 10_000 }));
    } finally {
      await warm.close();
    }
    for (const policy of BENCH_BATCH_POLICIES) {
      const rpc = new RpcClient({ batchPolicy: policy });
      const send = () => rpc.send(address, cmd, { timeoutMs: 10_000 });
      try {
        for (const c of levels) {
          await runConcurrent(c, warmMs, send);
          sizes = 0;
          batches = 0;
          diagnostics.subscribe(RPC_BATCH_CHANNEL, onBatch);
          const run = await runConcurrent(c, durationMs, send);
          diagnostics.unsubscribe(RPC_BATCH_CHANNEL, onBatch);
          results.set(`${policy}|${c}`, { run, meanBatch: sizes / Math.max(1, batches) });
        }
      } finally {
        await rpc.close();
      }
    }
    const rows: string[][] = [];
    for (const c of levels) {
      const base = results.get(`basic|${c}`);
      for (const policy of BENCH_BATCH_POLICIES) {
        const r = results.get(`${policy}|${c}`);
        if (r === undefined || base === undefined) continue;
        rows.push([
          String(c),
          policy,
          formatRate(r.run.opsPerSec),
          r.run.cpuUsPerOp.toFixed(1),
          r.meanBatch.toFixed(1),
          (r.run.opsPerSec / base.run.opsPerSec).toFixed(2),
        ]);
      }
    }
    printRows(
      `batch-policy: RawGet through BatchCommands per batch policy (4 connections, max batch 128), ${durationMs} ms per figure`,
      ['concurrency', 'policy', 'req/s', 'CPU µs/req', 'mean batch', 'x basic'],
      rows,
    );
  } finally {
    await cluster.stop();
  }
}
