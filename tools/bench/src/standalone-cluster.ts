/**
 * Starts `@tikv/mock-cluster`'s standalone process, so benchmarks measure a client and a
 * server that do not share one event loop.
 */
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** A running standalone mock cluster. */
export interface StandaloneCluster {
  /** The PD endpoint, `host:port`. */
  readonly pdEndpoint: string;
  /** Store addresses by store id. */
  readonly stores: ReadonlyMap<bigint, string>;
  readonly clusterId: bigint;
  /** Stops the process and waits for it to exit. */
  stop(): Promise<void>;
}

const require = createRequire(import.meta.url);

/** Spawns the mock cluster's bin on free loopback ports and waits for its endpoints. */
export async function startStandaloneCluster(stores = 1): Promise<StandaloneCluster> {
  const bin = join(dirname(require.resolve('@tikv/mock-cluster/package.json')), 'dist', 'esm', 'bin.js');
  const child = spawn(process.execPath, [bin, '--pd-port', '0', '--stores', String(stores)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
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
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
