/**
 * `pnpm bench pipelined [--keys 100000]`: a bulk load of `keys` keys (64-byte values) in one
 * transaction against the standalone mock cluster (a separate process): an optimistic 2PC commit
 * (the baseline) and a pipelined transaction flushing a generation every 10000 keys (client-go's
 * key threshold; its 16 MiB size threshold is lowered to 1 MiB, which 100000 small keys would
 * otherwise never reach before commit), each on fresh keys, in the same run. The table gives the
 * time of the writes (buffering, and for pipelined the flushes they start), of `commit()`, and
 * until every lock is committed (the pipelined resolve runs after `commit()` returns).
 */
import { type BeginOptions, TransactionClient } from '@tikv/txn';
import { formatRate, printRows } from './harness.js';
import { UsageError } from './peer-bench.js';
import { startStandaloneCluster } from './standalone-cluster.js';

/** The flags `pnpm bench pipelined` takes. */
export const PIPELINED_FLAGS: readonly string[] = ['keys'];

/** Reads `--keys`. */
export function pipelinedKeysFromFlags(flags: ReadonlyMap<string, string>): number {
  const raw = flags.get('keys');
  if (raw === undefined) return 100_000;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--keys must be an integer >= 1, got ${raw}`);
  return n;
}

/** Runs the bulk-load comparison and prints its table. */
export async function runPipelinedBench(keys = 100_000): Promise<void> {
  const cluster = await startStandaloneCluster();
  const client = await TransactionClient.connect({ pdEndpoints: [cluster.pdEndpoint] });
  try {
    const value = new Uint8Array(64).fill(7);
    const variants: [string, BeginOptions][] = [
      ['optimistic 2PC (baseline)', {}],
      [
        'pipelined, a flush per 10000 keys',
        { pipelined: { minFlushKeys: 10_000, minFlushSizeBytes: 1 << 20 } },
      ],
    ];
    const rows: string[][] = [];
    let base = 0;
    let round = 0;
    for (const [name, options] of variants) {
      const prefix = `bench-bulk-${round++}-`;
      const t0 = performance.now();
      const txn = await client.begin(options);
      for (let i = 0; i < keys; i++) {
        txn.put(`${prefix}${String(i).padStart(8, '0')}`, value);
        // Between batches of writes, as TiDB does between statements: backpressure when behind.
        if (txn.pipelined && i % 1000 === 999) await txn.flush();
      }
      const t1 = performance.now();
      await txn.commit({ timeoutMs: 600_000 });
      const t2 = performance.now();
      await txn.whenCommitSettled();
      const t3 = performance.now();
      const total = t3 - t0;
      const rate = (keys * 1000) / total;
      if (base === 0) base = rate;
      rows.push([
        name,
        (t1 - t0).toFixed(0),
        (t2 - t1).toFixed(0),
        total.toFixed(0),
        formatRate(rate),
        `${(rate / base).toFixed(2)}x`,
      ]);
    }
    printRows(
      `bulk load of ${keys} keys (64 B values) in one transaction, standalone mock cluster (1 store)`,
      ['transaction', 'writes ms', 'commit() ms', 'until resolved ms', 'keys/s', 'vs 2PC'],
      rows,
    );
  } finally {
    await client.close();
    await cluster.stop();
  }
}
