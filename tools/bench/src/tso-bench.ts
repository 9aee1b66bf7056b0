/**
 * TSO benchmark: timestamps per second from one `PdClient` with 1, 64 and 1,024 concurrent
 * callers against the standalone mock cluster (a separate process), next to the number of TSO
 * RPCs it took (the batching ratio) and the client CPU per timestamp. Baseline in the same run: bare nice-grpc unary
 * `GetMembers` calls from 64 concurrent callers to the same PD.
 *
 * Target (issue 4): at 1,024 callers at least 20 timestamps per RPC and 200,000 timestamps/s.
 */
import { PdClient } from '@tikv/pd';
import { pdpb } from '@tikv/proto';
import { createChannel, createClient } from 'nice-grpc';
import { formatRate, printRows, runConcurrent } from './harness.js';
import { startStandaloneCluster } from './standalone-cluster.js';

/** Unmeasured run before each row, in ms. */
const WARMUP_MS = 1000;

/** Runs the TSO suite and prints its table. */
export async function runTsoBench(durationMs = 2000): Promise<void> {
  const cluster = await startStandaloneCluster();
  try {
    const channel = createChannel(cluster.pdEndpoint);
    const raw = createClient(pdpb.PDDefinition, channel);
    await runConcurrent(64, 200, () => raw.getMembers({}));
    const base = await runConcurrent(64, durationMs, () => raw.getMembers({}));
    channel.close();
    const rows = [
      [
        'bare unary GetMembers x64 (baseline)',
        formatRate(base.opsPerSec),
        '-',
        '-',
        '1.00',
        base.cpuUsPerOp.toFixed(1),
      ],
    ];
    for (const callers of [1, 64, 1024]) {
      const client = await PdClient.connect({ endpoints: [cluster.pdEndpoint] });
      try {
        // A fresh process runs its first seconds unoptimised: warm up long enough that the x1 row
        // measures the steady state rather than the JIT.
        await runConcurrent(callers, WARMUP_MS, () => client.getTimestamp());
        const before = client.tsoStats.rpcs;
        const r = await runConcurrent(callers, durationMs, () => client.getTimestamp());
        const rpcs = client.tsoStats.rpcs - before;
        rows.push([
          `getTimestamp x${callers}`,
          formatRate(r.opsPerSec),
          String(rpcs),
          (r.ops / Math.max(1, rpcs)).toFixed(1),
          (r.opsPerSec / base.opsPerSec).toFixed(2),
          r.cpuUsPerOp.toFixed(1),
        ]);
      } finally {
        await client.close();
      }
    }
    printRows(
      `tso: one PdClient against the standalone mock cluster (${durationMs} ms per row)`,
      ['benchmark', 'ts/s (ops/s)', 'TSO RPCs', 'ts per RPC', 'x baseline', 'client CPU us/op'],
      rows,
    );
  } finally {
    await cluster.stop();
  }
}
