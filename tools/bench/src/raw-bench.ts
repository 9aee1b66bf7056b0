/**
 * `pnpm bench raw`: `@tikv/raw` get, put and batchGet (16 keys) against the standalone mock
 * cluster (a separate process), at concurrency 1, 64 and 512: throughput and p50/p99 latency,
 * next to a baseline of bare `@grpc/grpc-js` unary RawGet calls on one channel in the same run.
 */
import { RawClient } from '@tikv/raw';
import { formatRate, printRows, runConcurrent } from './harness.js';
import { startStandaloneCluster } from './standalone-cluster.js';
import { unaryRawGet } from './unary-baseline.js';

const KEYS = 1024;
const keyOf = (i: number): Uint8Array => Buffer.from(`bench-raw-${String(i % KEYS).padStart(6, '0')}`);

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

async function measureOp(
  concurrency: number,
  durationMs: number,
  op: (i: number) => Promise<unknown>,
): Promise<{ opsPerSec: number; p50: number; p99: number }> {
  let n = 0;
  await runConcurrent(concurrency, Math.min(300, durationMs), () => op(n++));
  const lat: number[] = [];
  const run = await runConcurrent(concurrency, durationMs, async () => {
    const t = performance.now();
    await op(n++);
    lat.push(performance.now() - t);
  });
  lat.sort((a, b) => a - b);
  return { opsPerSec: run.opsPerSec, p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

/** Runs the raw client suite and prints its table. */
export async function runRawBench(durationMs = 1500): Promise<void> {
  const cluster = await startStandaloneCluster();
  const raw = await RawClient.connect({ pdEndpoints: [cluster.pdEndpoint] });
  const bare = await unaryRawGet(cluster, keyOf(1));
  try {
    await raw.batchPut(
      Array.from({ length: KEYS }, (_, i) => ({ key: keyOf(i), value: new Uint8Array(64) })),
    );
    const value = new Uint8Array(64);
    const ops: [string, (i: number) => Promise<unknown>][] = [
      ['bare grpc-js unary RawGet (baseline)', () => bare.call()],
      ['raw.get', (i) => raw.get(keyOf(i))],
      ['raw.put (64 B)', (i) => raw.put(keyOf(i), value)],
      [
        'raw.batchGet (16 keys)',
        (i) => raw.batchGet(Array.from({ length: 16 }, (_, j) => keyOf(i * 16 + j))),
      ],
    ];
    const rows: string[][] = [];
    for (const c of [1, 64, 512]) {
      let base = 0;
      for (const [name, op] of ops) {
        const r = await measureOp(c, durationMs, op);
        if (base === 0) base = r.opsPerSec;
        rows.push([
          String(c),
          name,
          formatRate(r.opsPerSec),
          `${(r.opsPerSec / base).toFixed(2)}x`,
          r.p50.toFixed(2),
          r.p99.toFixed(2),
        ]);
      }
    }
    printRows(
      `@tikv/raw against the standalone mock cluster (1 store, ${durationMs} ms per row)`,
      ['conc', 'operation', 'ops/s', 'vs baseline', 'p50 ms', 'p99 ms'],
      rows,
    );
  } finally {
    bare.close();
    await raw.close();
    await cluster.stop();
  }
}
