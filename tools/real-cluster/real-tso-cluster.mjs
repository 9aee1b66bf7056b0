// Starts PD's TSO microservice on 127.0.0.1 from a real `pd-server`: PD in its API service mode
// (`pd-server services api`, keyspaces ks1 and ks2 pre-allocated), a fake store that bootstraps
// it (`bootstrap -serve`, /work/shared/real-pd), and TSO servers (`pd-server services tso
// --backend-endpoints <PD>`). Free ports, a fresh data directory, every process stopped by pid.
//
//   node tools/real-cluster/real-tso-cluster.mjs start [--tso-servers 2]   # prints the env, runs until Ctrl-C
//
// Binaries come from TIKV_REAL_PD_BIN and TIKV_REAL_BOOTSTRAP_BIN (see README.md).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { binariesFromEnv, freePort, getJson, keepUntilSignal, launch, waitFor } from './real-cluster.mjs';

const here = dirname(fileURLToPath(import.meta.url));

/** The TSO servers' primary of keyspace group `groupId`, as their HTTP API reports it ('' when none). */
export async function tsoPrimaryOf(tsoUrls, groupId = 0) {
  for (const url of tsoUrls) {
    try {
      const groups = await getJson(`${url}/tso/api/v1/keyspace-groups/members`);
      if (groups[String(groupId)]?.is_primary === true) return url;
    } catch {
      // a stopped or starting server
    }
  }
  return '';
}

/**
 * Starts PD in API service mode, the fake store and `tsoServers` TSO servers.
 *
 * @param {{ pdBin: string, bootstrapBin: string, tsoServers?: number, keepData?: boolean, log?: (s: string) => void }} options
 * @returns the PD endpoint, the TSO servers (`{ url, pid, stop() }`), the data directory and `stop()`
 */
export async function startRealTsoCluster({
  pdBin,
  bootstrapBin,
  tsoServers = 2,
  keepData = false,
  log = () => {},
}) {
  if (!(Number.isInteger(tsoServers) && tsoServers >= 1))
    throw new Error(`tsoServers must be >= 1, got ${tsoServers}`);
  const dir = mkdtempSync(join(tmpdir(), 'tikv-real-tso-'));
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  const pdPort = await freePort();
  const pdPeerPort = await freePort();
  const pdUrl = `http://127.0.0.1:${pdPort}`;
  const started = [];
  const stop = async () => {
    // TSO servers, the fake store, then PD.
    for (const p of started.reverse()) await p.stop();
    if (!keepData) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const pd = launch(
      pdBin,
      [
        'services',
        'api',
        '--name=pd1',
        `--data-dir=${join(dir, 'pd')}`,
        `--config=${join(here, 'conf', 'pd-v2.toml')}`,
        `--client-urls=${pdUrl}`,
        `--peer-urls=http://127.0.0.1:${pdPeerPort}`,
        `--log-file=${join(logs, 'pd.log')}`,
      ],
      logs,
      'pd-server (api)',
    );
    started.push(pd);
    await waitFor('PD', () => getJson(`${pdUrl}/pd/api/v1/members`), { timeoutMs: 60_000, alive: pd.alive });
    log(`PD (API service mode) up at ${pdUrl} (pid ${pd.child.pid})`);
    const store = launch(bootstrapBin, ['-pd', `127.0.0.1:${pdPort}`, '-serve'], logs, 'bootstrap');
    started.push(store);
    await waitFor(
      'the fake store and keyspace ks1',
      async () => {
        const { stores } = await getJson(`${pdUrl}/pd/api/v1/stores`);
        if (!(stores ?? []).some((s) => s.store?.state_name === 'Up')) return false;
        return (await getJson(`${pdUrl}/pd/api/v2/keyspaces/ks1`)).state === 'ENABLED';
      },
      { timeoutMs: 60_000, alive: store.alive },
    );
    log(`fake store up (pid ${store.child.pid})`);
    const servers = [];
    for (let i = 1; i <= tsoServers; i++) {
      const url = `http://127.0.0.1:${await freePort()}`;
      const p = launch(
        pdBin,
        [
          'services',
          'tso',
          `--name=tso${i}`,
          `--backend-endpoints=${pdUrl}`,
          `--listen-addr=${url}`,
          `--log-file=${join(logs, `tso${i}.log`)}`,
        ],
        logs,
        `tso${i}`,
      );
      started.push(p);
      servers.push({ url, pid: p.child.pid, alive: p.alive, stop: p.stop });
    }
    const urls = servers.map((s) => s.url);
    for (const s of servers)
      await waitFor(`TSO server ${s.url}`, async () => (await fetch(`${s.url}/tso/api/v1/health`)).ok, {
        timeoutMs: 60_000,
        alive: s.alive,
      });
    const primary = await waitFor('a primary of keyspace group 0', () => tsoPrimaryOf(urls, 0), {
      timeoutMs: 60_000,
      alive: () => servers.some((s) => s.alive()),
    });
    log(
      `TSO servers up: ${servers.map((s) => `${s.url} (pid ${s.pid})`).join(', ')}; group 0 primary ${primary}`,
    );
    return { pdEndpoint: `127.0.0.1:${pdPort}`, pdUrl, pdPid: pd.child.pid, tsoServers: servers, dir, stop };
  } catch (e) {
    await stop().catch(() => {});
    throw new Error(`${e.message} (logs were in ${logs})`);
  }
}

/** The environment of the PD client's real TSO suite (`packages/pd/test/real-tso.test.ts`). */
export function tsoSuiteEnv(cluster) {
  return {
    TIKV_PD_TSO_REAL_ENDPOINTS: cluster.pdEndpoint,
    TIKV_PD_TSO_REAL_SERVERS: cluster.tsoServers.map((s) => `${s.url}=${s.pid}`).join(','),
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [cmd, ...rest] = process.argv.slice(2);
  const countAt = rest.indexOf('--tso-servers');
  const tsoServers = countAt >= 0 ? Number(rest[countAt + 1]) : 2;
  if (cmd !== 'start') {
    console.log('usage: node tools/real-cluster/real-tso-cluster.mjs start [--tso-servers N]');
    process.exit(cmd === undefined || cmd === '--help' ? 0 : 2);
  }
  const bins = binariesFromEnv(process.env, ['pd', 'bootstrap']);
  if (bins.reason !== undefined) {
    console.error(`cannot start a TSO microservice cluster: ${bins.reason}`);
    process.exit(2);
  }
  const cluster = await startRealTsoCluster({
    pdBin: bins.pd,
    bootstrapBin: bins.bootstrap,
    tsoServers,
    keepData: true,
    log: console.log,
  });
  const env = Object.entries(tsoSuiteEnv(cluster))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  console.log(`${env}  (data and logs: ${cluster.dir}; Ctrl-C stops)`);
  keepUntilSignal(cluster.stop);
}
