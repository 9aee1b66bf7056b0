/** A small benchmark harness: warm up, then time a fixed number of operations. */

/** One measured figure. */
export interface Measurement {
  readonly name: string;
  readonly ops: number;
  readonly totalMs: number;
  /** Nanoseconds per operation. */
  readonly nsPerOp: number;
  /** Operations per second. */
  readonly opsPerSec: number;
}

/** Options of {@link measure}. */
export interface MeasureOptions {
  /** Operations timed after warm-up. @defaultValue 200_000 */
  readonly iterations?: number;
  /** Operations run before timing starts. @defaultValue a tenth of `iterations` */
  readonly warmup?: number;
  /** Timed rounds; the fastest is reported. @defaultValue 5 */
  readonly repeats?: number;
}

/**
 * Runs `fn` `warmup` times, then times `repeats` rounds of `iterations` calls and keeps the
 * fastest round: on a shared machine the slow rounds measure the neighbours, not the code.
 */
export function measure(name: string, fn: () => unknown, options: MeasureOptions = {}): Measurement {
  const { iterations, warmup, repeats } = roundsOf(options);
  let sink: unknown;
  for (let i = 0; i < warmup; i++) sink = fn();
  let bestNs = Number.POSITIVE_INFINITY;
  for (let r = 0; r < repeats; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) sink = fn();
    bestNs = Math.min(bestNs, Number(process.hrtime.bigint() - start));
  }
  keep(sink);
  return measurement(name, iterations, bestNs);
}

/** {@link measure} for an async `fn`, awaited one call at a time. */
export async function measureAsync(
  name: string,
  fn: () => Promise<unknown>,
  options: MeasureOptions = {},
): Promise<Measurement> {
  const { iterations, warmup, repeats } = roundsOf(options);
  for (let i = 0; i < warmup; i++) await fn();
  let bestNs = Number.POSITIVE_INFINITY;
  for (let r = 0; r < repeats; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) await fn();
    bestNs = Math.min(bestNs, Number(process.hrtime.bigint() - start));
  }
  return measurement(name, iterations, bestNs);
}

function roundsOf(options: MeasureOptions): { iterations: number; warmup: number; repeats: number } {
  const iterations = options.iterations ?? 200_000;
  return { iterations, warmup: options.warmup ?? Math.ceil(iterations / 10), repeats: options.repeats ?? 5 };
}

function measurement(name: string, ops: number, ns: number): Measurement {
  return { name, ops, totalMs: ns / 1e6, nsPerOp: ns / ops, opsPerSec: (ops * 1e9) / ns };
}

let kept: unknown;
/** Keeps a value reachable so the optimiser cannot drop the work that produced it. */
function keep(v: unknown): void {
  kept = v;
}
/** @internal */
export function lastKept(): unknown {
  return kept;
}

/** Prints measurements as a table, each with its ratio to the named baseline. */
export function printTable(title: string, rows: readonly Measurement[], baseline: Measurement): void {
  const header = ['benchmark', 'ns/op', 'ops/s', `x baseline (${baseline.name})`];
  const lines = rows.map((r) => [
    r.name,
    r.nsPerOp.toFixed(0),
    Math.round(r.opsPerSec).toLocaleString('en-US'),
    (baseline.nsPerOp / r.nsPerOp).toFixed(2),
  ]);
  printRows(title, header, lines);
}

/** Result of {@link runConcurrent}. */
export interface ConcurrentRun {
  readonly ops: number;
  readonly ms: number;
  readonly opsPerSec: number;
  /** Client CPU (user + system) over the run, in microseconds. */
  readonly cpuUs: number;
  /** Client CPU (user + system) per operation, in microseconds. */
  readonly cpuUsPerOp: number;
}

/** Keeps `concurrency` loops calling `op` until `durationMs` has passed; counts completions. */
export async function runConcurrent(
  concurrency: number,
  durationMs: number,
  op: () => Promise<unknown>,
): Promise<ConcurrentRun> {
  let ops = 0;
  const start = performance.now();
  const end = start + durationMs;
  const cpu = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await op();
        ops++;
      }
    }),
  );
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const cpuUs = used.user + used.system;
  return { ops, ms, opsPerSec: (ops * 1000) / ms, cpuUs, cpuUsPerOp: cpuUs / Math.max(1, ops) };
}

/** Prints rows of strings as an aligned table under a title. */
export function printRows(
  title: string,
  header: readonly string[],
  rows: readonly (readonly string[])[],
): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((l) => (l[i] ?? '').length)));
  const line = (cols: readonly string[]) => cols.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ');
  console.log(`\n${title}`);
  console.log(line(header));
  for (const r of rows) console.log(line(r));
}

/** Formats a rate with thousands separators. */
export function formatRate(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
