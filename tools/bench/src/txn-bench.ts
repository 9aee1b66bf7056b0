/**
 * `pnpm bench txn`: `@tikv/txn` against the standalone mock cluster (a separate process): 2-key
 * transactions committed with 2PC, async commit and 1PC, a pessimistic one that locks its 2 keys
 * first (one `lockKeys` call, then a 2PC commit), and snapshot get / batchGet (16 keys),
 * at concurrency 1, 64 and 512, with client CPU per operation, next to `@tikv/raw` put of the
 * same run as the baseline.
 */
import { RawClient } from '@tikv/raw';
import { type BeginOptions, TransactionClient } from '@tikv/txn';
import { formatRate, printRows, runConcurrent } from './harness.js';
import { startStandaloneCluster } from './standalone-cluster.js';

const READ_KEYS = 1024;
const readKey = (i: number): Uint8Array =>
  Buffer.from(`bench-txn-r-${String(i % READ_KEYS).padStart(6, '0')}`);

/** Runs the transactional client suite and prints its table. */
export async function runTxnBench(durationMs = 1500): Promise<void> {
  const cluster = await startStandaloneCluster();
  const raw = await RawClient.connect({ pdEndpoints: [cluster.pdEndpoint] });
  const txn = await TransactionClient.connect({ pdEndpoints: [cluster.pdEndpoint] });
  try {
    const value = new Uint8Array(64);
    await txn.run(async (t) => {
      for (let i = 0; i < READ_KEYS; i++) t.put(readKey(i), value);
    });
    const readTs = await txn.currentTimestamp();
    const snapshot = txn.snapshot(readTs, { maxCacheBytes: 0 });
    let seq = 0;
    const commit = (options: BeginOptions) => async (): Promise<void> => {
      const t = await txn.begin(options);
      const n = seq++;
      t.put(`bench-txn-w-${n}-a`, value);
      t.put(`bench-txn-w-${n}-b`, value);
      await t.commit();
    };
    let r = 0;
    const ops: [string, () => Promise<unknown>][] = [
      ['raw.put 64 B (baseline)', () => raw.put(`bench-raw-${seq++}`, value)],
      ['2-key commit, 2PC', commit({})],
      ['2-key commit, async commit', commit({ asyncCommit: true })],
      ['2-key commit, 1PC', commit({ onePc: true })],
      [
        '2-key pessimistic lock + commit',
        async (): Promise<void> => {
          const t = await txn.begin({ pessimistic: true });
          const n = seq++;
          const keys = [`bench-txn-p-${n}-a`, `bench-txn-p-${n}-b`];
          await t.lockKeys(keys);
          for (const k of keys) t.put(k, value);
          await t.commit();
        },
      ],
      ['snapshot.get', () => snapshot.get(readKey(r++))],
      [
        'snapshot.batchGet (16 keys)',
        () => snapshot.batchGet(Array.from({ length: 16 }, () => readKey(r++))),
      ],
    ];
    const rows: string[][] = [];
    for (const c of [1, 64, 512]) {
      let base = 0;
      for (const [name, op] of ops) {
        await runConcurrent(c, Math.min(300, durationMs), op);
        const m = await runConcurrent(c, durationMs, op);
        if (base === 0) base = m.opsPerSec;
        rows.push([
          String(c),
          name,
          formatRate(m.opsPerSec),
          `${(m.opsPerSec / base).toFixed(2)}x`,
          m.cpuUsPerOp.toFixed(1),
        ]);
      }
    }
    printRows(
      `@tikv/txn against the standalone mock cluster (1 store, ${durationMs} ms per row; baseline raw.put)`,
      ['conc', 'operation', 'ops/s', 'vs raw.put', 'client CPU us/op'],
      rows,
    );
  } finally {
    await txn.close();
    await raw.close();
    await cluster.stop();
  }
}
