import { randomBytes } from 'node:crypto';
import { InvalidArgumentError } from '@tikv/common';
import type { Command } from 'commander';
import { positiveInt } from '../cli-parsers.js';
import type { ActionFactory, CommandContext } from '../command-context.js';
import { formatMicros, LatencyHistogram } from '../latency-histogram.js';
import { describeError } from '../verbose.js';

interface BenchFlags {
  readonly workload?: string;
  readonly ops: number;
  readonly duration?: number;
  readonly concurrency: number;
  readonly keys: number;
  readonly valueSize: number;
}

/** One benchmark operation, given its sequence number. */
type BenchOp = (seq: number) => Promise<void>;

/** What a benchmark run measured. */
interface BenchResult {
  readonly ops: number;
  readonly errors: number;
  readonly firstError: string | undefined;
  /** The first failure itself, rethrown when every operation failed. */
  readonly firstFailure: unknown;
  readonly elapsedMs: number;
  readonly histogram: LatencyHistogram;
}

const PROGRESS_INTERVAL_MS = 500;

function benchKey(i: number): string {
  return `bench/${String(i).padStart(10, '0')}`;
}

/**
 * Runs `op` from `concurrency` workers until `ops` operations were issued, `durationMs` passed
 * or the user interrupts, recording each latency and drawing a progress line on stderr.
 */
async function runWorkers(
  ctx: CommandContext,
  label: string,
  flags: BenchFlags,
  op: BenchOp,
): Promise<BenchResult> {
  const histogram = new LatencyHistogram();
  const started = performance.now();
  const deadline = flags.duration === undefined ? Number.POSITIVE_INFINITY : started + flags.duration * 1000;
  const maxOps =
    flags.duration !== undefined && flags.ops === DEFAULT_BENCH_OPS ? Number.POSITIVE_INFINITY : flags.ops;
  let issued = 0;
  let done = 0;
  let errors = 0;
  let firstError: string | undefined;
  let firstFailure: unknown;
  const stop = ctx.io.stopSignal;
  const tty = ctx.io.stderrIsTty;
  const progress = (): void => {
    const secs = (performance.now() - started) / 1000;
    const line = `${label}: ${done} ops, ${Math.round(done / Math.max(secs, 1e-3))} ops/s, p99 ${formatMicros(histogram.percentile(99))}, ${errors} errors`;
    ctx.io.stderr(tty ? `\r\x1b[2K${line}` : `${line}\n`);
  };
  const timer = setInterval(progress, tty ? PROGRESS_INTERVAL_MS : PROGRESS_INTERVAL_MS * 2);
  timer.unref();
  const worker = async (): Promise<void> => {
    while (issued < maxOps && performance.now() < deadline && !stop.aborted) {
      const seq = issued++;
      const t0 = performance.now();
      try {
        await op(seq);
        histogram.record((performance.now() - t0) * 1000);
      } catch (e) {
        errors++;
        if (firstError === undefined) {
          firstError = describeError(e);
          firstFailure = e;
        }
      }
      done++;
    }
  };
  try {
    await Promise.all(Array.from({ length: flags.concurrency }, worker));
  } finally {
    clearInterval(timer);
    if (tty) ctx.io.stderr('\r\x1b[2K');
  }
  return { ops: done, errors, firstError, firstFailure, elapsedMs: performance.now() - started, histogram };
}

function printResult(ctx: CommandContext, label: string, flags: BenchFlags, r: BenchResult): void {
  const s = r.histogram.summary();
  const opsPerSec = Math.round(r.ops / Math.max(r.elapsedMs / 1000, 1e-3));
  ctx.out.result(
    {
      benchmark: label,
      concurrency: flags.concurrency,
      ops: r.ops,
      errors: r.errors,
      firstError: r.firstError ?? null,
      elapsedMs: Math.round(r.elapsedMs),
      opsPerSec,
      latencyUs: { ...s },
    },
    () => [
      `${label}: ${r.ops} ops in ${(r.elapsedMs / 1000).toFixed(2)}s, ${opsPerSec} ops/s, ${r.errors} errors (concurrency ${flags.concurrency})`,
      `latency: min ${formatMicros(s.minUs)}  mean ${formatMicros(s.meanUs)}  p50 ${formatMicros(s.p50Us)}  p90 ${formatMicros(s.p90Us)}  p99 ${formatMicros(s.p99Us)}  p99.9 ${formatMicros(s.p999Us)}  max ${formatMicros(s.maxUs)}`,
      ...(r.firstError === undefined ? [] : [`first error: ${r.firstError}`]),
    ],
  );
  // Nothing went through: the command failed (its error line and status say so).
  if (r.ops > 0 && r.errors === r.ops) throw r.firstFailure;
}

/** Default of `--ops` (ignored when only `--duration` is given). */
export const DEFAULT_BENCH_OPS = 10_000;

function withBenchFlags(cmd: Command, workloads: readonly string[]): Command {
  return cmd
    .option('--workload <name>', workloads.join(' | '), workloads[0])
    .option('--ops <n>', 'operations to run', positiveInt, DEFAULT_BENCH_OPS)
    .option(
      '--duration <seconds>',
      'run for this long instead (with --ops: whichever ends first)',
      positiveInt,
    )
    .option('--concurrency <n>', 'operations in flight', positiveInt, 16)
    .option('--keys <n>', 'distinct keys', positiveInt, 10_000)
    .option('--value-size <bytes>', 'bytes per value', positiveInt, 64);
}

function checkWorkload(flags: BenchFlags, allowed: readonly string[]): string {
  const w = flags.workload ?? allowed[0]!;
  if (!allowed.includes(w)) {
    throw new InvalidArgumentError(`--workload must be one of ${allowed.join(', ')}, got '${w}'`);
  }
  return w;
}

const RAW_WORKLOADS = ['mixed', 'get', 'put'] as const;
const TXN_WORKLOADS = ['put', 'rmw'] as const;

/** Registers `tikv bench raw|txn`: a closed-loop benchmark with a latency summary. */
export function registerBenchCommand(program: Command, action: ActionFactory): void {
  const bench = program
    .command('bench')
    .description('a closed-loop benchmark: progress line, then a latency summary');

  withBenchFlags(
    bench.command('raw').description('RawKV: mixed (half gets, half puts), get (of preloaded keys) or put'),
    RAW_WORKLOADS,
  ).action(
    action<BenchFlags>(async (ctx, _args, flags) => {
      const workload = checkWorkload(flags, RAW_WORKLOADS);
      const value = randomBytes(flags.valueSize);
      const client = await ctx.session.raw();
      const call = ctx.session.call;
      if (workload !== 'put') {
        const batch = 256;
        for (let i = 0; i < flags.keys; i += batch) {
          const pairs = [];
          for (let j = i; j < Math.min(flags.keys, i + batch); j++) pairs.push({ key: benchKey(j), value });
          await client.batchPut(pairs, call);
        }
      }
      const label = `bench raw ${workload}`;
      const result = await runWorkers(ctx, label, flags, async (seq) => {
        const key = benchKey(Math.floor(Math.random() * flags.keys));
        const read = workload === 'get' || (workload === 'mixed' && seq % 2 === 0);
        if (read) await client.get(key, call);
        else await client.put(key, value, call);
      });
      printResult(ctx, label, flags, result);
    }),
  );

  withBenchFlags(
    bench
      .command('txn')
      .description(
        'transactions: put (write one key and commit) or rmw (read a counter, write it back; conflicts retried)',
      ),
    TXN_WORKLOADS,
  ).action(
    action<BenchFlags>(async (ctx, _args, flags) => {
      const workload = checkWorkload(flags, TXN_WORKLOADS);
      const value = randomBytes(flags.valueSize);
      const client = await ctx.session.txn();
      const call = ctx.session.call;
      const label = `bench txn ${workload}`;
      const result = await runWorkers(ctx, label, flags, async () => {
        const key = benchKey(Math.floor(Math.random() * flags.keys));
        await client.run(async (t) => {
          if (workload === 'rmw') {
            const old = await t.get(key, call);
            const n = old === undefined || old.length !== 8 ? 0n : Buffer.from(old).readBigUInt64BE();
            const next = Buffer.alloc(8);
            next.writeBigUInt64BE(n + 1n);
            t.put(key, next);
          } else {
            t.put(key, value);
          }
        });
      });
      printResult(ctx, label, flags, result);
    }),
  );
}
