/**
 * `pnpm bench peer`: our `RawClient` next to client-go's `rawkv`, against ONE standalone mock
 * cluster (1 store, fixed free ports, its own process), in the same run. Each client runs in its
 * own worker process (`peer-worker.ts`, `tools/bench/peer-go`); for every operation and
 * concurrency the two take turns (the order alternates), for `rounds` rounds, and the table
 * shows the medians: throughput, and the client's own CPU per operation (the worker process's
 * user + system time over the measured window; the mock's CPU is not in it) next to the mock's
 * CPU per operation over the same window (what each client's requests cost the shared server).
 * A priming pass runs every cell once, unmeasured, before the first round, so neither the
 * clients' JIT warm-up nor the server's lands in a measured round (a fresh Node process needs a
 * few thousand operations before V8 has optimised its hot path).
 *
 * client-go is built from a local checkout (tools/scripts/client-go-program.mjs, shared with
 * `pnpm interop:go`); the run is skipped with a message where Go, the checkout or the Go modules
 * are missing.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildClientGoProgram } from '../../scripts/client-go-program.mjs';
import { formatRate, printRows } from './harness.js';
import { PEER_OPS } from './peer-ops.js';
import type { PeerAnswer } from './peer-protocol.js';
import { PeerWorkerProcess } from './peer-worker-process.js';
import { startStandaloneCluster } from './standalone-cluster.js';

/** Options of {@link runPeerBench}; each is also a `--kebab-case` flag of `pnpm bench peer`. */
export interface PeerBenchOptions {
  /** Measured time of each client at each operation and concurrency, per round. @defaultValue 2000 */
  readonly durationMs?: number | undefined;
  /** Unmeasured warm-up before each measurement, at the same concurrency. @defaultValue 500 */
  readonly warmupMs?: number | undefined;
  /**
   * Unmeasured run of each client at each operation and concurrency before the first round: the
   * JIT and connection warm-up of both clients and of the server, and every operation's setup,
   * land outside the rounds; 0 skips it. @defaultValue 2000
   */
  readonly primeMs?: number | undefined;
  /** Alternating rounds; the table shows medians. @defaultValue 3 */
  readonly rounds?: number | undefined;
  /** @defaultValue [1, 64, 512] */
  readonly concurrency?: readonly number[] | undefined;
  /** Operations by name ({@link PEER_OPS}). @defaultValue all of them */
  readonly ops?: readonly string[] | undefined;
  /** Size of the key set the operations cycle through. @defaultValue 4096 */
  readonly keys?: number | undefined;
  /** Bytes per value written. @defaultValue 64 */
  readonly valueSize?: number | undefined;
}

/** The flags `pnpm bench peer` takes. */
export const PEER_FLAGS = Object.freeze([
  'duration-ms',
  'warmup-ms',
  'prime-ms',
  'rounds',
  'concurrency',
  'ops',
  'keys',
  'value-size',
]);

/** A command line the benchmark cannot run: the message says why. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * Reads {@link PeerBenchOptions} from command-line flags (names in {@link PEER_FLAGS}).
 *
 * @throws UsageError for a bad value
 */
export function peerOptionsFromFlags(flags: ReadonlyMap<string, string>): PeerBenchOptions {
  const int = (name: string): number | undefined => {
    const v = flags.get(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1)
      throw new UsageError(`--${name} must be a positive integer, got '${v}'`);
    return n;
  };
  const list = (name: string): string[] | undefined =>
    flags
      .get(name)
      ?.split(',')
      .filter((s) => s !== '');
  const ops = list('ops');
  for (const op of ops ?? []) {
    if (!(op in PEER_OPS))
      throw new UsageError(`--ops: unknown op '${op}' (known: ${Object.keys(PEER_OPS).join(', ')})`);
  }
  const concurrency = list('concurrency')?.map((c) => {
    const n = Number(c);
    if (!Number.isInteger(n) || n < 1)
      throw new UsageError(`--concurrency takes positive integers, got '${c}'`);
    return n;
  });
  const prime = flags.get('prime-ms');
  if (prime !== undefined && !(Number.isInteger(Number(prime)) && Number(prime) >= 0))
    throw new UsageError(`--prime-ms must be a non-negative integer, got '${prime}'`);
  return {
    durationMs: int('duration-ms'),
    warmupMs: int('warmup-ms'),
    primeMs: prime === undefined ? undefined : Number(prime),
    rounds: int('rounds'),
    concurrency,
    ops,
    keys: int('keys'),
    valueSize: int('value-size'),
  };
}

type Side = 'ours' | 'go';

/** One client's measurements of one operation at one concurrency, a round each. */
interface Samples {
  readonly opsPerSec: number[];
  readonly cpuUsPerOp: number[];
  /** The mock server's CPU per operation over the same window. */
  readonly serverCpuUsPerOp: number[];
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? 0) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}

function record(into: Samples, a: PeerAnswer, serverCpuUs: number): void {
  into.opsPerSec.push((a.ops * 1000) / a.ms);
  into.cpuUsPerOp.push(a.cpuUs / Math.max(1, a.ops));
  into.serverCpuUsPerOp.push(serverCpuUs / Math.max(1, a.ops));
}

/** Runs the peer comparison and prints its tables; prints why and returns when it cannot run. */
export async function runPeerBench(options: PeerBenchOptions = {}): Promise<void> {
  const durationMs = options.durationMs ?? 2000;
  const warmupMs = options.warmupMs ?? 500;
  const primeMs = options.primeMs ?? 2000;
  const rounds = options.rounds ?? 3;
  const concurrency = options.concurrency ?? [1, 64, 512];
  const ops = options.ops ?? Object.keys(PEER_OPS);
  const keys = Math.ceil((options.keys ?? 4096) / 16) * 16;
  const valueSize = options.valueSize ?? 64;

  const program = buildClientGoProgram({
    name: 'peer-go',
    sourceDir: fileURLToPath(new URL('../peer-go', import.meta.url)),
  });
  if (!program.built) {
    console.log(`peer skipped: ${program.reason}`);
    return;
  }
  const cells = ops.length * concurrency.length;
  console.log(
    `peer: ${cells} cells x 2 clients x ${primeMs} ms of priming, then ${rounds} rounds x ${cells} cells` +
      ` x 2 clients x ${warmupMs + durationMs} ms` +
      ` = ${Math.ceil((cells * 2 * primeMs + rounds * cells * 2 * (warmupMs + durationMs)) / 1000)} s`,
  );

  const cluster = await startStandaloneCluster({ stores: 1, fixedPorts: true });
  const workerArgs = ['--pd', cluster.pdEndpoint, '--keys', String(keys), '--value-size', String(valueSize)];
  const workers = new Map<Side, PeerWorkerProcess>();
  try {
    workers.set(
      'ours',
      await PeerWorkerProcess.start(
        '@tikv/raw worker',
        process.execPath,
        [fileURLToPath(new URL('./peer-worker.js', import.meta.url)), ...workerArgs],
        join(program.workDir, 'peer-ours.log'),
      ),
    );
    workers.set(
      'go',
      await PeerWorkerProcess.start(
        'client-go worker',
        program.bin,
        workerArgs, // Go's flag package takes `--name` as well as `-name`
        join(program.workDir, 'peer-client-go.log'),
      ),
    );

    if (primeMs > 0) {
      for (const op of ops) {
        for (const c of concurrency) {
          for (const worker of workers.values()) {
            await worker.measure({ op, concurrency: c, durationMs: 1, warmupMs: primeMs });
          }
        }
      }
    }
    const samples = new Map<string, Record<Side, Samples>>();
    for (let round = 0; round < rounds; round++) {
      let cell = 0;
      for (const op of ops) {
        for (const c of concurrency) {
          const key = `${op}/${c}`;
          const s = samples.get(key) ?? {
            ours: { opsPerSec: [], cpuUsPerOp: [], serverCpuUsPerOp: [] },
            go: { opsPerSec: [], cpuUsPerOp: [], serverCpuUsPerOp: [] },
          };
          samples.set(key, s);
          // The order alternates per cell and per round, so neither client always runs first.
          const order: Side[] = (round + cell++) % 2 === 0 ? ['ours', 'go'] : ['go', 'ours'];
          const progress: string[] = [];
          for (const side of order) {
            const worker = workers.get(side) as PeerWorkerProcess;
            let serverCpu = Number.NaN;
            const a = await worker.measure({ op, concurrency: c, durationMs, warmupMs }, () => {
              serverCpu = cluster.cpuUs();
            });
            record(s[side], a, cluster.cpuUs() - serverCpu);
            const label = side === 'ours' ? 'ours' : 'client-go';
            progress.push(
              `${label} ${formatRate((a.ops * 1000) / a.ms)} ops/s ${(a.cpuUs / Math.max(1, a.ops)).toFixed(1)} us/op`,
            );
          }
          console.log(`round ${round + 1}/${rounds}  ${op} x${c}: ${progress.join(' | ')}`);
        }
      }
    }
    printPeerTables(samples, { ops, concurrency, rounds, durationMs, commit: program.commit });
  } finally {
    for (const w of workers.values()) await w.close();
    await cluster.stop();
  }
}

function printPeerTables(
  samples: ReadonlyMap<string, Record<Side, Samples>>,
  run: {
    ops: readonly string[];
    concurrency: readonly number[];
    rounds: number;
    durationMs: number;
    commit: string;
  },
): void {
  const med = (op: string, c: number, side: Side, what: keyof Samples): number => {
    const s = samples.get(`${op}/${c}`);
    return s === undefined ? Number.NaN : median(s[side][what]);
  };
  const label = (op: string): string => PEER_OPS[op]?.label ?? op;
  const ratios = (op: string, what: keyof Samples): string =>
    run.concurrency.map((c) => (med(op, c, 'ours', what) / med(op, c, 'go', what)).toFixed(2)).join(' / ');

  console.log(
    `\n@tikv/raw RawClient vs client-go ${run.commit.slice(0, 12)} rawkv, one standalone mock (1 store),` +
      ` ${run.rounds} alternating rounds of ${run.durationMs} ms, medians`,
  );
  console.log(
    '\n| op | conc | ops/s ours / client-go | client CPU per op ours / client-go | server CPU per op ours / client-go |',
  );
  console.log('|---|---|---|---|---|');
  for (const op of run.ops) {
    console.log(
      `| ${label(op)} | ${run.concurrency.join(' / ')} | ${ratios(op, 'opsPerSec')} | ${ratios(op, 'cpuUsPerOp')} | ${ratios(op, 'serverCpuUsPerOp')} |`,
    );
  }

  const rows: string[][] = [];
  for (const op of run.ops) {
    for (const c of run.concurrency) {
      const range = (side: Side): string => {
        const xs = samples.get(`${op}/${c}`)?.[side].opsPerSec ?? [];
        return `${formatRate(Math.min(...xs))}-${formatRate(Math.max(...xs))}`;
      };
      rows.push([
        label(op),
        String(c),
        formatRate(med(op, c, 'ours', 'opsPerSec')),
        formatRate(med(op, c, 'go', 'opsPerSec')),
        med(op, c, 'ours', 'cpuUsPerOp').toFixed(1),
        med(op, c, 'go', 'cpuUsPerOp').toFixed(1),
        med(op, c, 'ours', 'serverCpuUsPerOp').toFixed(1),
        med(op, c, 'go', 'serverCpuUsPerOp').toFixed(1),
        range('ours'),
        range('go'),
      ]);
    }
  }
  printRows(
    'Absolute figures (medians; CPU in microseconds per operation of the client process and of the mock serving it; ops/s range over rounds)',
    [
      'op',
      'conc',
      'ours ops/s',
      'client-go ops/s',
      'ours CPU us/op',
      'client-go CPU us/op',
      'server CPU us/op (ours)',
      'server CPU us/op (client-go)',
      'ours range',
      'client-go range',
    ],
    rows,
  );
}
