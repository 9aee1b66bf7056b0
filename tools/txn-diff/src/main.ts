/**
 * `pnpm txn:diff`: replays the scenarios against the embedded mock cluster and a real TiKV + PD
 * (started from binaries, one cluster per API version) and prints, per scenario, PASS or DIFF with
 * every differing field. See README.md.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { ApiVersion, MockCluster } from '@tikv/mock-cluster';
import { formatReport, verdictOf } from './report.js';
import { type Outcome, runScenario } from './scenario.js';
import { SCENARIOS } from './scenarios/index.js';
import { type Mode, Target } from './target.js';

interface RealCluster {
  readonly pdEndpoint: string;
  readonly tikvPid: number;
  readonly dir: string;
  stop(): Promise<void>;
}
interface RealClusterModule {
  binariesFromEnv(env?: NodeJS.ProcessEnv): { pd: string; tikv: string } | { reason: string };
  startRealCluster(options: {
    mode: Mode;
    pdBin: string;
    tikvBin: string;
    keepData?: boolean;
    tikvConfigExtra?: string;
    log?: (s: string) => void;
  }): Promise<RealCluster>;
}

const USAGE = `usage: pnpm txn:diff [--only v1|v2] [--scenario SUBSTRING]... [--real-pd HOST:PORT] [--json FILE] [--verbose] [--dump]

  Binaries from TIKV_REAL_PD_BIN and TIKV_REAL_TIKV_BIN (or --pd-bin / --tikv-bin).
  --real-pd     compare against an already running cluster (needs --only; see README.md)
  --scenario    run only the scenarios whose name contains SUBSTRING (repeatable)
  --json FILE   also write every outcome as JSON
  --verbose     also list the fields of documented differences
  --dump        print every normalized answer of both targets
  --keep-data   keep the real cluster's data and logs`;

interface Args {
  modes: Mode[];
  filters: string[];
  realPd?: string;
  json?: string;
  verbose: boolean;
  dump: boolean;
  keepData: boolean;
  pdBin?: string;
  tikvBin?: string;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { modes: ['v1', 'v2'], filters: [], verbose: false, dump: false, keepData: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    switch (arg) {
      case '--':
        break;
      case '--only': {
        const m = next();
        if (m !== 'v1' && m !== 'v2') throw new Error(`--only takes v1 or v2, got ${m}`);
        a.modes = [m];
        break;
      }
      case '--scenario':
        a.filters.push(next());
        break;
      case '--real-pd':
        a.realPd = next();
        break;
      case '--json':
        a.json = next();
        break;
      case '--pd-bin':
        a.pdBin = next();
        break;
      case '--tikv-bin':
        a.tikvBin = next();
        break;
      case '--verbose':
        a.verbose = true;
        break;
      case '--dump':
        a.dump = true;
        break;
      case '--keep-data':
        a.keepData = true;
        break;
      case '--help':
        console.log(USAGE);
        process.exit(0);
        break;
      default:
        throw new Error(`unknown argument ${arg}`);
    }
  }
  if (a.realPd !== undefined && a.modes.length !== 1) throw new Error('--real-pd needs --only v1|v2');
  return a;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function loadRealCluster(): Promise<RealClusterModule> {
  const url = new URL('../../real-cluster/real-cluster.mjs', import.meta.url);
  return (await import(url.href)) as RealClusterModule;
}

/** What to stop when the run ends, or when it is interrupted (Ctrl-C stops the clusters too). */
const pendingCleanups = new Set<() => Promise<void>>();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`txn-diff: ${signal}, stopping the clusters ...`);
    // allSettled never rejects; the process exits once every cleanup has run.
    void Promise.allSettled([...pendingCleanups].reverse().map((c) => c())).then(() => process.exit(130));
  });
}

/** Runs every selected scenario in one mode; the clusters live only inside. */
async function runMode(
  mode: Mode,
  args: Args,
  bins: { pd: string; tikv: string } | undefined,
  mod: RealClusterModule,
  runPrefix: string,
): Promise<Outcome[]> {
  const cleanups: (() => Promise<void>)[] = [];
  const register = (c: () => Promise<void>) => {
    cleanups.push(c);
    pendingCleanups.add(c);
  };
  const log = (s: string) => console.error(`[${mode}] ${s}`);
  try {
    let pdEndpoint = args.realPd;
    let tikvPid: number | undefined;
    if (pdEndpoint === undefined) {
      if (bins === undefined) throw new Error('no binaries');
      log('starting the real PD and TiKV ...');
      const real = await mod.startRealCluster({
        mode,
        pdBin: bins.pd,
        tikvBin: bins.tikv,
        keepData: args.keepData,
        tikvConfigExtra: readFileSync(new URL('../conf/tikv-extra.toml', import.meta.url), 'utf8'),
        log,
      });
      register(() => real.stop());
      pdEndpoint = real.pdEndpoint;
      tikvPid = real.tikvPid;
      if (args.keepData) log(`data and logs in ${real.dir}`);
    }
    const mock = await MockCluster.start({
      stores: 1,
      apiVersion: mode === 'v2' ? ApiVersion.V2 : ApiVersion.V1,
      regionKeyEncoding: 'memcomparable',
    });
    register(() => mock.close());
    const mockTarget = await Target.connect('mock', mode, mock.pdEndpoints[0] ?? '');
    register(() => mockTarget.close());
    const realTarget = await Target.connect('real', mode, pdEndpoint);
    register(() => realTarget.close());

    const selected = SCENARIOS.filter(
      (s) =>
        (s.modes ?? ['v1']).includes(mode) &&
        (args.filters.length === 0 || args.filters.some((f) => s.name.includes(f))),
    );
    const outcomes: Outcome[] = [];
    for (const scenario of selected) {
      const o = await runScenario(scenario, mode, { mock: mockTarget, real: realTarget }, runPrefix);
      log(`${verdictOf(o)} ${scenario.name} (${Math.round(o.ms)} ms)`);
      outcomes.push(o);
      if (tikvPid !== undefined && !isAlive(tikvPid)) {
        // A panic of TiKV (it has a few on malformed requests) makes every later answer moot.
        log(`TiKV exited during ${scenario.name}: see its log (rerun with --keep-data); stopping ${mode}`);
        process.exitCode = 1;
        break;
      }
    }
    return outcomes;
  } finally {
    for (const c of cleanups.reverse()) {
      pendingCleanups.delete(c);
      await c().catch((e: unknown) => log(`cleanup failed: ${String(e)}`));
    }
  }
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  const mod = await loadRealCluster();
  let bins: { pd: string; tikv: string } | undefined;
  if (args.realPd === undefined) {
    const found = mod.binariesFromEnv({
      ...process.env,
      ...(args.pdBin === undefined ? {} : { TIKV_REAL_PD_BIN: args.pdBin }),
      ...(args.tikvBin === undefined ? {} : { TIKV_REAL_TIKV_BIN: args.tikvBin }),
    });
    if ('reason' in found) {
      console.log(`txn-diff: nothing to compare against: ${found.reason} (see tools/txn-diff/README.md)`);
      return 0;
    }
    bins = found;
  }
  const runPrefix = `txd${Date.now().toString(36)}`;
  console.error(`keys of this run start with ${runPrefix}/<scenario>/`);
  const outcomes: Outcome[] = [];
  for (const mode of args.modes) outcomes.push(...(await runMode(mode, args, bins, mod, runPrefix)));
  console.log(formatReport(outcomes, { verbose: args.verbose, dump: args.dump }));
  if (args.json !== undefined) writeFileSync(args.json, `${JSON.stringify(outcomes, null, 2)}\n`);
  // Exit 1 on a difference nobody wrote down (or a TiKV that died): something to look at.
  return outcomes.some((o) => verdictOf(o) === 'DIFF') || process.exitCode === 1 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
