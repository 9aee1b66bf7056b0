// Starts a real PD and one real TiKV from given binaries on 127.0.0.1 (free ports, a fresh data
// directory), waits until the store is Up and the first region has a leader, and stops both by
// pid. Used by `e2e-real.mjs`; also a command for trying things by hand:
//
//   node tools/real-cluster/real-cluster.mjs start --mode v2   # prints the endpoints, runs until Ctrl-C
//
// Binaries come from TIKV_REAL_PD_BIN and TIKV_REAL_TIKV_BIN (see README.md).
import { spawn } from 'node:child_process';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The variable that names each binary. */
const BINARY_VARS = {
  pd: 'TIKV_REAL_PD_BIN',
  tikv: 'TIKV_REAL_TIKV_BIN',
  bootstrap: 'TIKV_REAL_BOOTSTRAP_BIN',
};

/**
 * The binaries `which` (keys of `pd`, `tikv`, `bootstrap`; PD and TiKV by default) from the
 * environment, or the reason they cannot be used.
 */
export function binariesFromEnv(env = process.env, which = ['pd', 'tikv']) {
  const out = {};
  const missing = [];
  for (const key of which) {
    const name = BINARY_VARS[key];
    const path = env[name] ?? '';
    out[key] = path;
    if (path === '') {
      missing.push(`${name} is not set`);
      continue;
    }
    try {
      accessSync(path, constants.X_OK);
    } catch {
      missing.push(`${name}=${path} is not an executable file`);
    }
  }
  return missing.length === 0 ? out : { reason: missing.join('; ') };
}

/** A free TCP port on 127.0.0.1. */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** GETs `url` and parses JSON (2 s deadline); rejects on a non-2xx answer. */
export async function getJson(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res.json();
}

/** Polls `check` every 250 ms until it returns a truthy value, the process dies, or time runs out. */
export async function waitFor(what, check, { timeoutMs, alive }) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    if (!alive()) throw new Error(`${what}: the process exited`);
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what}: not ready after ${timeoutMs} ms${last ? ` (${last.message})` : ''}`);
}

/** Starts `bin` detached (its own process group); `stop()` sends SIGTERM, then SIGKILL after 30 s. */
export function launch(bin, args, logDir, name) {
  // TiKV checks its open-files limit at start: raise the soft limit to the hard one first.
  const child = spawn(
    '/bin/sh',
    ['-c', 'ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$0" "$@"', bin, ...args],
    {
      stdio: ['ignore', 'ignore', 'ignore'],
      detached: true,
    },
  );
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  return {
    child,
    name,
    logDir,
    alive: () => !exited,
    async stop() {
      if (exited) return;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await gone;
      clearTimeout(timer);
    },
  };
}

/**
 * Keeps the process up until SIGINT or SIGTERM, then runs `stop` and exits. Signals that come
 * while it stops are ignored, so that a second one (Ctrl-C twice, `timeout` forwarding its own)
 * does not leave the servers running.
 */
export function keepUntilSignal(stop) {
  let stopping = false;
  const shutdown = () => {
    if (stopping) return;
    stopping = true;
    stop().then(
      () => process.exit(0),
      (e) => {
        console.error(`stopping failed: ${e.message}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
  setInterval(() => {}, 1 << 30);
}

/**
 * Starts PD and one TiKV.
 *
 * `tikvConfigExtra` is TOML appended to TiKV's config for the mode (sections the base config
 * does not have), for a caller that needs a setting the suites do not.
 *
 * @param {{ mode: 'v1' | 'v2', pdBin: string, tikvBin: string, keepData?: boolean, tikvConfigExtra?: string, log?: (s: string) => void }} options
 * @returns the PD endpoint, the two pids, the data directory and `stop()`
 */
export async function startRealCluster({
  mode,
  pdBin,
  tikvBin,
  keepData = false,
  tikvConfigExtra = '',
  log = () => {},
}) {
  if (mode !== 'v1' && mode !== 'v2') throw new Error(`mode must be v1 or v2, got ${mode}`);
  const dir = mkdtempSync(join(tmpdir(), `tikv-real-${mode}-`));
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  let tikvConfig = join(here, 'conf', `tikv-${mode}.toml`);
  if (tikvConfigExtra !== '') {
    const merged = join(dir, 'tikv.toml');
    writeFileSync(merged, `${readFileSync(tikvConfig, 'utf8')}\n${tikvConfigExtra}\n`);
    tikvConfig = merged;
  }
  const [pdPort, pdPeerPort, tikvPort, tikvStatusPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const pdUrl = `http://127.0.0.1:${pdPort}`;
  const started = [];
  const stop = async () => {
    // TiKV first (it leaves the cluster cleanly), then PD.
    for (const p of started.reverse()) await p.stop();
    if (!keepData) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const pd = launch(
      pdBin,
      [
        '--name=pd1',
        `--data-dir=${join(dir, 'pd')}`,
        `--config=${join(here, 'conf', `pd-${mode}.toml`)}`,
        `--client-urls=${pdUrl}`,
        `--peer-urls=http://127.0.0.1:${pdPeerPort}`,
        `--log-file=${join(logs, 'pd.log')}`,
      ],
      logs,
      'pd-server',
    );
    started.push(pd);
    await waitFor('PD', () => getJson(`${pdUrl}/pd/api/v1/members`), { timeoutMs: 60_000, alive: pd.alive });
    log(`PD up at ${pdUrl} (pid ${pd.child.pid})`);
    const tikv = launch(
      tikvBin,
      [
        `--pd-endpoints=127.0.0.1:${pdPort}`,
        `--addr=127.0.0.1:${tikvPort}`,
        `--status-addr=127.0.0.1:${tikvStatusPort}`,
        `--data-dir=${join(dir, 'tikv')}`,
        `--config=${tikvConfig}`,
        `--log-file=${join(logs, 'tikv.log')}`,
      ],
      logs,
      'tikv-server',
    );
    started.push(tikv);
    const t0 = Date.now();
    await waitFor(
      'TiKV store Up',
      async () => {
        const { stores } = await getJson(`${pdUrl}/pd/api/v1/stores`);
        return (stores ?? []).some((s) => s.store?.state_name === 'Up');
      },
      { timeoutMs: 180_000, alive: tikv.alive },
    );
    await waitFor(
      'a region leader',
      async () => {
        const { regions } = await getJson(`${pdUrl}/pd/api/v1/regions`);
        return (regions ?? []).length > 0 && regions.every((r) => r.leader !== undefined);
      },
      { timeoutMs: 60_000, alive: tikv.alive },
    );
    log(`TiKV Up at 127.0.0.1:${tikvPort} after ${Date.now() - t0} ms (pid ${tikv.child.pid})`);
    return {
      mode,
      pdEndpoint: `127.0.0.1:${pdPort}`,
      pdPid: pd.child.pid,
      tikvPid: tikv.child.pid,
      dir,
      stop,
    };
  } catch (e) {
    await stop().catch(() => {});
    throw new Error(`${e.message} (logs were in ${logs})`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [cmd, ...rest] = process.argv.slice(2);
  const modeAt = rest.indexOf('--mode');
  const mode = modeAt >= 0 ? rest[modeAt + 1] : 'v1';
  const extraAt = rest.indexOf('--tikv-config-extra');
  const tikvConfigExtra = extraAt >= 0 ? readFileSync(rest[extraAt + 1], 'utf8') : '';
  if (cmd !== 'start') {
    console.log(
      'usage: node tools/real-cluster/real-cluster.mjs start [--mode v1|v2] [--tikv-config-extra FILE]',
    );
    process.exit(cmd === undefined || cmd === '--help' ? 0 : 2);
  }
  const bins = binariesFromEnv();
  if (bins.reason !== undefined) {
    console.error(`cannot start a real cluster: ${bins.reason}`);
    process.exit(2);
  }
  const cluster = await startRealCluster({
    mode,
    pdBin: bins.pd,
    tikvBin: bins.tikv,
    keepData: true,
    tikvConfigExtra,
    log: console.log,
  });
  console.log(`TIKV_PD_ENDPOINTS=${cluster.pdEndpoint}  (data and logs: ${cluster.dir}; Ctrl-C stops)`);
  keepUntilSignal(cluster.stop);
}
