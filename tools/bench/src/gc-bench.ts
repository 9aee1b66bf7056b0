/**
 * `pnpm bench gc`: GC lock resolution and DeleteRange over 100k keys in 64 regions against the
 * standalone mock cluster (a separate process). 100k keys are committed, then 1,000 abandoned
 * transactions leave a lock on every key; `GcWorker.resolveLocks` clears them (ScanLock pages,
 * transaction status checks, batch ResolveLock per region), then a `DeleteRangeTask` deletes the
 * range. Baseline in the same run: a bare ScanLock walk over the same 64 regions (one request per
 * region, nothing resolved). A progress line follows each task.
 */
import { connectCluster } from '@tikv/cluster';
import { Backoffer } from '@tikv/common';
import { KeyMode } from '@tikv/keyspace';
import { PdOracle } from '@tikv/pd';
import { kvrpcpb } from '@tikv/proto';
import { RegionExecutor } from '@tikv/rpc';
import {
  ClusterAdmin,
  DeleteRangeTask,
  GcWorker,
  gcKeyspaceIdOf,
  LockResolver,
  type RangeTaskProgress,
} from '@tikv/txn';
import { formatRate, printRows } from './harness.js';
import { startStandaloneCluster } from './standalone-cluster.js';

const KEYS = 100_000;
const REGIONS = 64;
const TXNS = 1_000;
const keyOf = (i: number): Uint8Array => Buffer.from(`gc-bench-${String(i).padStart(6, '0')}`);
const START = Buffer.from('gc-bench-');
const END = Buffer.from('gc-bench.');

/** Writes `keys` as one transaction (prewrite then commit, or prewrite only: abandoned locks). */
async function writeTxn(
  exec: RegionExecutor,
  keys: readonly Uint8Array[],
  startTs: bigint,
  commitTs: bigint | undefined,
): Promise<void> {
  const bo = new Backoffer({ maxBackoffMs: 60_000 });
  const primary = keys[0] as Uint8Array;
  const value = new Uint8Array(32);
  await exec.runBatches(bo, {
    items: keys,
    keyOf: (k) => k,
    sorted: true,
    limit: { maxCount: 4096 },
    send: async (batch, b) => {
      const resp = await exec.sendToRegion(b, batch.region, {
        $case: 'Prewrite',
        value: kvrpcpb.PrewriteRequest.fromPartial({
          mutations: batch.items.map((key) => ({ op: kvrpcpb.Op.Put, key, value })),
          primaryLock: primary,
          startVersion: startTs,
          lockTtl: 3_600_000n,
          txnSize: BigInt(keys.length),
          minCommitTs: startTs + 1n,
        }),
      });
      return resp === undefined ? 'regionError' : 'done';
    },
  });
  if (commitTs === undefined) return;
  await exec.runBatches(bo, {
    items: keys,
    keyOf: (k) => k,
    sorted: true,
    limit: { maxCount: 4096 },
    primary: { key: primary },
    send: async (batch, b) => {
      const resp = await exec.sendToRegion(b, batch.region, {
        $case: 'Commit',
        value: kvrpcpb.CommitRequest.fromPartial({
          startVersion: startTs,
          keys: [...batch.items],
          commitVersion: commitTs,
        }),
      });
      return resp === undefined ? 'regionError' : 'done';
    },
  });
}

function progressLine(label: string): (p: RangeTaskProgress & { resolvedLocks?: number }) => void {
  return (p) => {
    const locks = p.resolvedLocks === undefined ? '' : `, ${p.resolvedLocks} locks`;
    process.stdout.write(`\r  ${label}: ${p.completedRegions}/${REGIONS} regions${locks}   `);
  };
}

/** Runs the GC suite and prints its table. */
export async function runGcBench(): Promise<void> {
  // A V1 transactional client needs memcomparable region keys.
  const cluster = await startStandaloneCluster({ extraArgs: ['--region-key-encoding', 'memcomparable'] });
  const conn = await connectCluster({ pdEndpoints: [cluster.pdEndpoint], keyMode: KeyMode.TXN });
  const oracle = await PdOracle.create(conn.pd);
  const exec = new RegionExecutor({ sender: conn.sender, locator: conn.regionCache });
  const resolver = new LockResolver({ executor: exec, oracle });
  try {
    const admin = new ClusterAdmin({ executor: exec, pd: conn.pd, transport: conn.transport, oracle });
    const splitKeys = Array.from({ length: REGIONS - 1 }, (_, i) =>
      keyOf(Math.floor(((i + 1) * KEYS) / REGIONS)),
    );
    await admin.splitRegions(splitKeys);
    const all = Array.from({ length: KEYS }, (_, i) => keyOf(i));
    process.stdout.write(`  writing ${KEYS} keys, then ${TXNS} abandoned transactions...`);
    const startTs = await oracle.getTimestamp();
    await writeTxn(exec, all, startTs, await oracle.getTimestamp());
    const perTxn = KEYS / TXNS;
    for (let t = 0; t < TXNS; t += 50) {
      const ts = await Promise.all(Array.from({ length: 50 }, () => oracle.getTimestamp()));
      await Promise.all(
        ts.map((s, j) => writeTxn(exec, all.slice((t + j) * perTxn, (t + j + 1) * perTxn), s, undefined)),
      );
    }
    process.stdout.write(' done\n');
    const safePoint = await oracle.getTimestamp();

    // Baseline: one ScanLock per region over the same range, nothing resolved.
    const walkLocks = async (): Promise<number> => {
      let seen = 0;
      await exec.walkRange(new Backoffer({ maxBackoffMs: 60_000 }), {
        start: START,
        end: END,
        concurrency: 8,
        build: (span) => ({
          $case: 'ScanLock' as const,
          value: {
            context: undefined,
            maxVersion: safePoint,
            startKey: span.startKey,
            endKey: span.endKey,
            limit: 1,
          },
        }),
        onResponse: (r) => {
          seen += r.value.locks.length;
          return 'next';
        },
      });
      return seen;
    };
    const b0 = performance.now();
    const seen = await walkLocks();
    const baselineMs = performance.now() - b0;

    const worker = new GcWorker({
      executor: exec,
      lockResolver: resolver,
      gcStates: conn.pd.gcStates(gcKeyspaceIdOf(conn.codec.keyspaceMeta)),
    });
    const r0 = performance.now();
    const stats = await worker.resolveLocks(safePoint, {
      concurrency: 8,
      regionsPerTask: 4,
      onProgress: progressLine('resolve locks'),
    });
    const resolveMs = performance.now() - r0;
    process.stdout.write('\n');
    const left = await walkLocks();

    const d0 = performance.now();
    const deleted = await new DeleteRangeTask(
      { executor: exec },
      {
        startKey: START,
        endKey: END,
        concurrency: 8,
        regionsPerTask: 4,
        onProgress: progressLine('delete range'),
      },
    ).execute();
    const deleteMs = performance.now() - d0;
    process.stdout.write('\n');

    printRows(
      `GC over ${KEYS} keys in ${REGIONS} regions (${TXNS} abandoned transactions, 1 store, concurrency 8)`,
      ['task', 'regions', 'ms', 'keys/s', 'x baseline time'],
      [
        ['ScanLock walk, limit 1 (baseline)', String(REGIONS), baselineMs.toFixed(0), '-', '1.00'],
        [
          `GcWorker.resolveLocks (${stats.resolvedLocks} locks scanned, ${left} left)`,
          String(stats.completedRegions),
          resolveMs.toFixed(0),
          formatRate((KEYS * 1000) / resolveMs),
          (resolveMs / baselineMs).toFixed(2),
        ],
        [
          'DeleteRangeTask',
          String(deleted.completedRegions),
          deleteMs.toFixed(0),
          formatRate((KEYS * 1000) / deleteMs),
          (deleteMs / baselineMs).toFixed(2),
        ],
      ],
    );
    if (seen === 0) console.log('  (baseline saw no lock: the abandoned transactions were not written)');
  } finally {
    await resolver.close();
    oracle.close();
    await conn.close();
    await cluster.stop();
  }
}
