// `pnpm e2e:real`: the end-to-end suites, and the PD client's real-PD suite, against a real PD
// and a real TiKV started from given binaries (TIKV_REAL_PD_BIN, TIKV_REAL_TIKV_BIN). One fresh
// cluster per API version:
//
//   API V1: the e2e suites
//   API V2: the e2e suites in the DEFAULT keyspace and in keyspace ks1, then the PD client's
//           real-PD suite (with the PD's pid, so its stall cases pause PD)
//   TSO:    PD's TSO microservice (PD in API service mode, the fake store of /work/shared/real-pd
//           bootstrapping it, two TSO servers; TIKV_REAL_PD_BIN and TIKV_REAL_BOOTSTRAP_BIN):
//           the PD client's real TSO suite
//
// A cluster whose binaries are not given is skipped, with the reason. Prints a table and exits
// non-zero when any run failed. `--only v1|v2|tso` runs one cluster.
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { binariesFromEnv, startRealCluster } from './real-cluster.mjs';
import { startRealTsoCluster, tsoSuiteEnv } from './real-tso-cluster.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

if (process.argv.includes('--help')) {
  console.log(
    'usage: TIKV_REAL_PD_BIN=... TIKV_REAL_TIKV_BIN=... [TIKV_REAL_BOOTSTRAP_BIN=...] pnpm e2e:real [--only v1|v2|tso]',
  );
  process.exit(0);
}
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;

/** Runs one jest invocation of a package; returns pass/fail and the jest summary line. */
function runSuite(label, filter, args, env) {
  console.log(`\n=== ${label}`);
  const r = spawnSync('pnpm', ['--filter', filter, 'exec', 'jest', '--coverage=false', ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = `${r.stdout}${r.stderr}`;
  process.stdout.write(out);
  const summary = out.match(/^Tests:.*$/m)?.[0] ?? `exit ${r.status}`;
  return { label, ok: r.status === 0, summary };
}

const results = [];
const clusters = [
  {
    mode: 'v1',
    needs: ['pd', 'tikv'],
    runs: (c) => [
      runSuite('API V1: e2e suites', '@tikv/e2e', [], {
        TIKV_PD_ENDPOINTS: c.pdEndpoint,
        TIKV_E2E_API_VERSION: '1',
      }),
    ],
  },
  {
    mode: 'v2',
    needs: ['pd', 'tikv'],
    runs: (c) => [
      runSuite('API V2, keyspace DEFAULT: e2e suites', '@tikv/e2e', [], {
        TIKV_PD_ENDPOINTS: c.pdEndpoint,
        TIKV_E2E_API_VERSION: '2',
      }),
      runSuite('API V2, keyspace ks1: e2e suites', '@tikv/e2e', [], {
        TIKV_PD_ENDPOINTS: c.pdEndpoint,
        TIKV_E2E_API_VERSION: '2',
        TIKV_E2E_KEYSPACE: 'ks1',
      }),
      runSuite('PD client: real-PD suite', '@tikv/pd', ['--verbose', 'test/real-pd'], {
        TIKV_PD_REAL_ENDPOINTS: c.pdEndpoint,
        TIKV_PD_REAL_PID: String(c.pdPid),
      }),
    ],
  },
  {
    mode: 'tso',
    needs: ['pd', 'bootstrap'],
    start: (bins) =>
      startRealTsoCluster({ pdBin: bins.pd, bootstrapBin: bins.bootstrap, log: (s) => console.log(s) }),
    runs: (c) => [
      // Last: the suite stops a TSO server's process.
      runSuite(
        'PD client: real TSO microservice suite',
        '@tikv/pd',
        ['--verbose', 'test/real-tso'],
        tsoSuiteEnv(c),
      ),
    ],
  },
].filter((c) => only === undefined || c.mode === only);

let ran = 0;
for (const { mode, needs, start, runs } of clusters) {
  const bins = binariesFromEnv(process.env, needs);
  if (bins.reason !== undefined) {
    console.log(`e2e:real: the ${mode} cluster skipped: ${bins.reason}.`);
    continue;
  }
  ran++;
  let cluster;
  try {
    cluster =
      start === undefined
        ? await startRealCluster({ mode, pdBin: bins.pd, tikvBin: bins.tikv, log: (s) => console.log(s) })
        : await start(bins);
  } catch (e) {
    results.push({ label: `start the ${mode} cluster`, ok: false, summary: e.message });
    continue;
  }
  try {
    results.push(...runs(cluster));
  } finally {
    await cluster.stop();
  }
}

if (ran === 0) {
  console.log(
    'e2e:real skipped: point TIKV_REAL_PD_BIN at a pd-server and TIKV_REAL_TIKV_BIN at a tikv-server, or TIKV_REAL_BOOTSTRAP_BIN at the fake store (see tools/real-cluster/README.md).',
  );
  process.exit(0);
}
console.log('\n| run | result |\n|---|---|');
for (const r of results) console.log(`| ${r.label} | ${r.ok ? 'pass' : 'FAIL'}: ${r.summary} |`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
