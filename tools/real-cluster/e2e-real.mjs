// `pnpm e2e:real`: the end-to-end suites, and the PD client's real-PD suite, against a real PD
// and a real TiKV started from given binaries (TIKV_REAL_PD_BIN, TIKV_REAL_TIKV_BIN). One fresh
// cluster per API version:
//
//   API V1: the e2e suites
//   API V2: the e2e suites in the DEFAULT keyspace and in keyspace ks1, then the PD client's
//           real-PD suite (with the PD's pid, so its stall cases pause PD)
//
// Skipped, with the reason, when the binaries are not given. Prints a table and exits non-zero
// when any run failed. `--only v1|v2` runs one cluster.
import { spawnSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { binariesFromEnv, startRealCluster } from './real-cluster.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

if (process.argv.includes('--help')) {
  console.log('usage: TIKV_REAL_PD_BIN=... TIKV_REAL_TIKV_BIN=... pnpm e2e:real [--only v1|v2]');
  process.exit(0);
}
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? process.argv[onlyAt + 1] : undefined;

const bins = binariesFromEnv();
if (bins.reason !== undefined) {
  console.log(`e2e:real skipped: ${bins.reason}.`);
  console.log(
    'Point TIKV_REAL_PD_BIN at a pd-server and TIKV_REAL_TIKV_BIN at a tikv-server (see tools/real-cluster/README.md).',
  );
  process.exit(0);
}

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
    runs: (c) => [
      runSuite('API V1: e2e suites', '@tikv/e2e', [], {
        TIKV_PD_ENDPOINTS: c.pdEndpoint,
        TIKV_E2E_API_VERSION: '1',
      }),
    ],
  },
  {
    mode: 'v2',
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
].filter((c) => only === undefined || c.mode === only);

for (const { mode, runs } of clusters) {
  let cluster;
  try {
    cluster = await startRealCluster({
      mode,
      pdBin: bins.pd,
      tikvBin: bins.tikv,
      log: (s) => console.log(s),
    });
  } catch (e) {
    results.push({ label: `start the API ${mode.toUpperCase()} cluster`, ok: false, summary: e.message });
    continue;
  }
  try {
    results.push(...runs(cluster));
  } finally {
    await cluster.stop();
  }
}

console.log('\n| run | result |\n|---|---|');
for (const r of results) console.log(`| ${r.label} | ${r.ok ? 'pass' : 'FAIL'}: ${r.summary} |`);
process.exit(results.every((r) => r.ok) ? 0 : 1);
