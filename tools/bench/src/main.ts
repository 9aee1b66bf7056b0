/**
 * `pnpm bench [suite...] [--flag value...]`: runs the benchmark suites (all the default ones when
 * none is named). Each suite prints its figures next to a baseline measured in the same run, so
 * ratios hold on a noisy machine.
 */
import { runBatchPolicyBench } from './batch-policy-bench.js';
import { runCodecBench } from './codec-bench.js';
import { runExecDetailsBench } from './exec-details-bench.js';
import { runGcBench } from './gc-bench.js';
import { runMembufferBench } from './membuffer-bench.js';
import { runMockClusterBench } from './mock-cluster-bench.js';
import { PEER_FLAGS, peerOptionsFromFlags, runPeerBench, UsageError } from './peer-bench.js';
import { PIPELINED_FLAGS, pipelinedKeysFromFlags, runPipelinedBench } from './pipelined-bench.js';
import { runRawBench } from './raw-bench.js';
import { runRegionCacheBench } from './region-cache-bench.js';
import { runTransportBench } from './transport-bench.js';
import { runTsoBench } from './tso-bench.js';
import { runTxnBench } from './txn-bench.js';
import { runTxnCeilingBench } from './txn-ceiling-bench.js';

interface Suite {
  /** Reads the suite's flags (throwing a {@link UsageError} for a bad one) and returns its run. */
  prepare(flags: ReadonlyMap<string, string>): () => unknown;
  /** The flags the suite takes. */
  readonly flags?: readonly string[];
  /** Run only when named (it needs more than this repository, or takes minutes). */
  readonly onRequest?: boolean;
}

const suites: Record<string, Suite> = {
  'batch-policy': { prepare: () => () => runBatchPolicyBench() },
  codec: { prepare: () => runCodecBench },
  'exec-details': {
    prepare: (flags) => {
      const durationMs = positiveIntFlag(flags, 'duration-ms', 1000);
      const rounds = positiveIntFlag(flags, 'rounds', 2);
      return () => runExecDetailsBench(durationMs, rounds);
    },
    flags: ['duration-ms', 'rounds'],
  },
  gc: { prepare: () => () => runGcBench() },
  membuffer: { prepare: () => () => runMembufferBench() },
  'mock-cluster': { prepare: () => () => runMockClusterBench() },
  'region-cache': { prepare: () => () => runRegionCacheBench() },
  raw: { prepare: () => () => runRawBench() },
  tso: { prepare: () => () => runTsoBench() },
  transport: { prepare: () => () => runTransportBench() },
  txn: { prepare: () => () => runTxnBench() },
  'txn-ceiling': { prepare: () => () => runTxnCeilingBench() },
  pipelined: {
    prepare: (flags) => {
      const keys = pipelinedKeysFromFlags(flags);
      return () => runPipelinedBench(keys);
    },
    flags: PIPELINED_FLAGS,
  },
  peer: {
    prepare: (flags) => {
      const options = peerOptionsFromFlags(flags);
      return () => runPeerBench(options);
    },
    flags: PEER_FLAGS,
    onRequest: true,
  },
};

/** A `--name n` flag that must be an integer >= 1. */
function positiveIntFlag(flags: ReadonlyMap<string, string>, name: string, fallback: number): number {
  const raw = flags.get(name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!(Number.isSafeInteger(n) && n >= 1))
    throw new UsageError(`--${name} must be an integer >= 1, got ${raw}`);
  return n;
}

const byDefault = Object.keys(suites).filter((name) => suites[name]?.onRequest !== true);
const USAGE = `Usage: pnpm bench [suite...] [--flag value...]

Runs the benchmark suites (${byDefault.join(', ')} when none is named), each printing its figures
next to a baseline measured in the same run. The mock cluster runs in a separate process.

pipelined: a bulk load of --keys keys (default 100000) in one transaction, optimistic 2PC next
to pipelined DML.

exec-details: raw.get and a 2-key commit without and with the details callbacks.
  --duration-ms 1000   measured time per variant and round
  --rounds 2           alternating rounds; each variant keeps its best

peer (only when named): @tikv/raw next to client-go's rawkv (built from a local checkout:
CLIENT_GO_GIT, default the fetched mirror) against one standalone mock, in the same run.
  --duration-ms 2000   measured time per client, operation, concurrency and round
  --warmup-ms 500      unmeasured warm-up before each measurement
  --prime-ms 2000      unmeasured run of every cell before the first round (0: none)
  --rounds 3           alternating rounds; the table shows medians
  --concurrency 1,64,512
  --ops get,put,batchGet
  --keys 4096          size of the key set (16-byte keys)
  --value-size 64      bytes per value written`;

/** Splits argv into suite names and `--name value` / `--name=value` flags. */
function parseArgv(argv: readonly string[]): { names: string[]; flags: Map<string, string> } {
  const names: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (!a.startsWith('--')) {
      names.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq > 0) flags.set(a.slice(2, eq), a.slice(eq + 1));
    else flags.set(a.slice(2), argv[++i] ?? '');
  }
  return { names, flags };
}

const argv = process.argv.slice(2).filter((a) => a !== '--');
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(USAGE);
  process.exit(0);
}
const { names, flags } = parseArgv(argv);
const unknown = names.filter((w) => !(w in suites));
if (unknown.length > 0) {
  console.error(`unknown suite(s): ${unknown.join(', ')}\n\n${USAGE}`);
  process.exit(2);
}
const wanted = names.length > 0 ? names : byDefault;
const accepted = new Set(wanted.flatMap((name) => suites[name]?.flags ?? []));
const stray = [...flags.keys()].filter((f) => !accepted.has(f));
if (stray.length > 0) {
  console.error(`flag(s) no chosen suite takes: ${stray.map((f) => `--${f}`).join(', ')}\n\n${USAGE}`);
  process.exit(2);
}
let runs: (() => unknown)[];
try {
  runs = wanted.map((name) => (suites[name] as Suite).prepare(flags));
} catch (e) {
  if (!(e instanceof UsageError)) throw e;
  console.error(`${e.message}\n\n${USAGE}`);
  process.exit(2);
}
for (const run of runs) await run();
