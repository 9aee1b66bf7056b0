/**
 * Starts `@tikv/mock-cluster`'s standalone process, so benchmarks measure a client and a
 * server that do not share one event loop.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';

/** A running standalone mock cluster. */
export interface StandaloneCluster {
  /** The PD endpoint, `host:port`. */
  readonly pdEndpoint: string;
  /** Store addresses by store id. */
  readonly stores: ReadonlyMap<bigint, string>;
  readonly clusterId: bigint;
  /** The mock process's CPU time so far (user + system), in microseconds; NaN where /proc is missing. */
  cpuUs(): number;
  /** Stops the process and waits for it to exit. */
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);

/** Options of {@link startStandaloneCluster}. */
export interface StandaloneClusterOptions {
  /** @defaultValue 1 */
  readonly stores?: number;
  /**
   * Pick free ports here and pass them on the command line, rather than letting the mock bind
   * port 0: the endpoints are known before it starts, as a cluster a third-party client is
   * pointed at would be. @defaultValue false
   */
  readonly fixedPorts?: boolean;
  /** More command-line arguments of the mock's bin (`--region-key-encoding memcomparable`...). */
  readonly extraArgs?: readonly string[];
}

/** `n` distinct free loopback ports: all bound to port 0 at once, read, then released. */
async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer().listen(0, '127.0.0.1'));
  try {
    await Promise.all(servers.map((s) => once(s, 'listening')));
    return servers.map((s) => {
      const address = s.address();
      if (address === null || typeof address === 'string') throw new Error('no port bound');
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  }
}

/** Clock ticks per second of /proc's utime and stime (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** A process's CPU time (user + system) from /proc, in microseconds; NaN when unreadable. */
function processCpuUs(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1e6) / USER_HZ;
  } catch {
    return Number.NaN;
  }
}

/** Spawns the mock cluster's bin on free loopback ports and waits for its endpoints. */
export async function startStandaloneCluster(
  options: StandaloneClusterOptions = {},
): Promise<StandaloneCluster> {
  const stores = options.stores ?? 1;
  const bin = join(dirname(require.resolve('@tikv/mock-cluster/package.json')), 'dist', 'esm', 'bin.js');
  const args = ['--stores', String(stores), '--pd-port', '0'];
  if (options.fixedPorts === true) {
    const [pd, ...storePorts] = await freePorts(stores + 1);
    args.splice(2, 2, '--pd-port', String(pd), '--store-ports', storePorts.join(','));
  }
  args.push(...(options.extraArgs ?? []));
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const out = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      if (/cluster id: \d+/.test(text)) resolve(text);
    });
    child.once('exit', (code) => reject(new Error(`mock cluster exited with code ${code}:\n${text}`)));
  });
  const pdEndpoint = /^pd: (\S+)/m.exec(out)?.[1];
  if (pdEndpoint === undefined) throw new Error(`mock cluster printed no PD endpoint:\n${out}`);
  const storeMap = new Map<bigint, string>();
  for (const m of out.matchAll(/^store (\d+): (\S+)/gm)) storeMap.set(BigInt(m[1] ?? '0'), m[2] ?? '');
  return {
    pdEndpoint,
    stores: storeMap,
    clusterId: BigInt(/cluster id: (\d+)/.exec(out)?.[1] ?? '0'),
    cpuUs: () => processCpuUs(child.pid),
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
