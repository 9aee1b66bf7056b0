/**
 * `pnpm bench exec-details`: what asking for execution details costs. `raw.get` and a 2-key 2PC
 * commit against the standalone mock cluster (a separate process), each without and with the
 * details callback (`onDetails` / `onCommitDetails`), at concurrency 1 and 64, in the same run.
 * The variants alternate over rounds and each keeps its best round, so drift on a shared machine
 * falls on both; the row without the callback is the baseline of the row with it.
 */
import type { CommitDetails, ExecDetails } from '@tikv/common';
import { RawClient } from '@tikv/raw';
import { TransactionClient } from '@tikv/txn';
import { type ConcurrentRun, formatRate, printRows, runConcurrent } from './harness.js';
import { startStandaloneCluster } from './standalone-cluster.js';

const KEYS = 1024;
const keyOf = (i: number): Uint8Array => Buffer.from(`bench-details-${String(i % KEYS).padStart(6, '0')}`);

/** Runs the suite and prints its table. */
export async function runExecDetailsBench(durationMs = 1000, rounds = 2): Promise<void> {
  const cluster = await startStandaloneCluster();
  const raw = await RawClient.connect({ pdEndpoints: [cluster.pdEndpoint] });
  const txn = await TransactionClient.connect({ pdEndpoints: [cluster.pdEndpoint] });
  try {
    const value = new Uint8Array(64);
    await raw.batchPut(Array.from({ length: KEYS }, (_, i) => ({ key: keyOf(i), value })));
    let sink = 0;
    const onDetails = (d: ExecDetails): void => {
      sink += d.rpcCount;
    };
    const onCommitDetails = (d: CommitDetails): void => {
      sink += d.writeKeys;
    };
    let n = 0;
    let seq = 0;
    const commit = (withDetails: boolean) => async (): Promise<void> => {
      const t = await txn.begin();
      const i = seq++;
      t.put(`bench-details-w-${i}-a`, value);
      t.put(`bench-details-w-${i}-b`, value);
      await t.commit(withDetails ? { onCommitDetails } : undefined);
    };
    const pairs: [string, () => Promise<unknown>, () => Promise<unknown>][] = [
      ['raw.get', () => raw.get(keyOf(n++)), () => raw.get(keyOf(n++), { onDetails })],
      ['2-key commit, 2PC', commit(false), commit(true)],
    ];
    const rows: string[][] = [];
    for (const c of [1, 64]) {
      for (const [name, plain, detailed] of pairs) {
        await runConcurrent(c, Math.min(300, durationMs), plain);
        await runConcurrent(c, Math.min(300, durationMs), detailed);
        let bestPlain: ConcurrentRun | undefined;
        let bestDetailed: ConcurrentRun | undefined;
        for (let r = 0; r < rounds; r++) {
          const p = await runConcurrent(c, durationMs, plain);
          const d = await runConcurrent(c, durationMs, detailed);
          if (bestPlain === undefined || p.opsPerSec > bestPlain.opsPerSec) bestPlain = p;
          if (bestDetailed === undefined || d.opsPerSec > bestDetailed.opsPerSec) bestDetailed = d;
        }
        if (bestPlain === undefined || bestDetailed === undefined) continue;
        for (const [label, m] of [
          ['without details (baseline)', bestPlain],
          ['with details', bestDetailed],
        ] as const) {
          rows.push([
            String(c),
            name,
            label,
            formatRate(m.opsPerSec),
            `${(m.opsPerSec / bestPlain.opsPerSec).toFixed(2)}x`,
            m.cpuUsPerOp.toFixed(1),
          ]);
        }
      }
    }
    printRows(
      `execution details against the standalone mock cluster (1 store, best of ${rounds} alternating rounds of ${durationMs} ms)`,
      ['conc', 'operation', 'variant', 'ops/s', 'vs without', 'client CPU us/op'],
      rows,
    );
    if (sink < 0) console.log(sink);
  } finally {
    await txn.close();
    await raw.close();
    await cluster.stop();
  }
}
