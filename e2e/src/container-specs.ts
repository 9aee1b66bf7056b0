/**
 * What the container target runs: one PD and one TiKV container, read from the environment.
 * The containers publish fixed host ports on 127.0.0.1 and advertise those addresses, so the
 * client on the host reaches both PD and the store directly.
 *
 * | variable | default |
 * |---|---|
 * | `TIKV_E2E_PD_IMAGE` | `pingcap/pd:latest` |
 * | `TIKV_E2E_TIKV_IMAGE` | `pingcap/tikv:latest` |
 * | `TIKV_E2E_PD_PORT` | 12379 |
 * | `TIKV_E2E_TIKV_PORT` | 20160 |
 * | `TIKV_E2E_STARTUP_TIMEOUT_MS` | 120000 |
 */

/** The role of a container in the e2e cluster. */
export type ContainerRole = 'pd' | 'tikv';

/** How to start one container. */
export interface ContainerSpec {
  readonly role: ContainerRole;
  readonly image: string;
  /** The container's name on the cluster's network (TiKV finds PD as `pd`). */
  readonly networkAlias: string;
  /** The port the server listens on in the container, published on the same host port. */
  readonly port: number;
  /** The server's arguments (the image's entrypoint is the server). */
  readonly command: readonly string[];
  /** A log line that says the server is ready. */
  readonly readyLog: RegExp;
  /** How long to wait for the ready line, in milliseconds. */
  readonly startupTimeoutMs: number;
  /** Labels every container of one run carries. */
  readonly labels: Readonly<Record<string, string>>;
}

/** The whole container cluster: PD first, then TiKV, on one network. */
export interface ContainerClusterSpec {
  /** Names the run: the network is `tikv-e2e-<runId>`, containers carry `tikv-e2e.run=<runId>`. */
  readonly runId: string;
  readonly networkName: string;
  readonly pd: ContainerSpec;
  readonly tikv: ContainerSpec;
  /** Where the client finds PD once the cluster runs. */
  readonly pdEndpoints: readonly string[];
}

/** The image PD runs from unless `TIKV_E2E_PD_IMAGE` names another. */
export const DEFAULT_PD_IMAGE = 'pingcap/pd:latest';
/** The image TiKV runs from unless `TIKV_E2E_TIKV_IMAGE` names another. */
export const DEFAULT_TIKV_IMAGE = 'pingcap/tikv:latest';
/** The label naming a run on every container it starts. */
export const RUN_LABEL = 'tikv-e2e.run';

function portFrom(env: Readonly<Record<string, string | undefined>>, name: string, fallback: number): number {
  const raw = (env[name] ?? '').trim();
  if (raw === '') return fallback;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new RangeError(`${name} must be a port number (1..65535), got ${env[name]}`);
  }
  return port;
}

function imageFrom(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: string,
): string {
  const raw = (env[name] ?? '').trim();
  return raw === '' ? fallback : raw;
}

/**
 * Reads the container cluster from an environment.
 *
 * @param env - the environment (process.env by default)
 * @param runId - names the run (a random id by default)
 * @throws RangeError for a port or timeout that is not a number in range
 */
export function containerClusterSpec(
  env: Readonly<Record<string, string | undefined>> = process.env,
  runId: string = Math.random().toString(36).slice(2, 10),
): ContainerClusterSpec {
  const pdPort = portFrom(env, 'TIKV_E2E_PD_PORT', 12379);
  const tikvPort = portFrom(env, 'TIKV_E2E_TIKV_PORT', 20160);
  const rawTimeout = (env.TIKV_E2E_STARTUP_TIMEOUT_MS ?? '').trim();
  const startupTimeoutMs = rawTimeout === '' ? 120_000 : Number(rawTimeout);
  if (!(Number.isInteger(startupTimeoutMs) && startupTimeoutMs > 0)) {
    throw new RangeError(
      `TIKV_E2E_STARTUP_TIMEOUT_MS must be a positive integer, got ${env.TIKV_E2E_STARTUP_TIMEOUT_MS}`,
    );
  }
  const labels = Object.freeze({ [RUN_LABEL]: runId });
  return {
    runId,
    networkName: `tikv-e2e-${runId}`,
    pd: {
      role: 'pd',
      image: imageFrom(env, 'TIKV_E2E_PD_IMAGE', DEFAULT_PD_IMAGE),
      networkAlias: 'pd',
      port: pdPort,
      command: [
        '--name=pd',
        `--client-urls=http://0.0.0.0:${pdPort}`,
        `--advertise-client-urls=http://127.0.0.1:${pdPort}`,
        '--peer-urls=http://0.0.0.0:2380',
        '--advertise-peer-urls=http://pd:2380',
        '--initial-cluster=pd=http://pd:2380',
      ],
      readyLog: /PD leader|campaign leader ok|server is ready/i,
      startupTimeoutMs,
      labels,
    },
    tikv: {
      role: 'tikv',
      image: imageFrom(env, 'TIKV_E2E_TIKV_IMAGE', DEFAULT_TIKV_IMAGE),
      networkAlias: 'tikv',
      port: tikvPort,
      command: [
        `--addr=0.0.0.0:${tikvPort}`,
        `--advertise-addr=127.0.0.1:${tikvPort}`,
        `--pd=pd:${pdPort}`,
        '--data-dir=/tmp/tikv',
      ],
      readyLog: /TiKV is ready to serve|tikv-server is ready/i,
      startupTimeoutMs,
      labels,
    },
    pdEndpoints: [`127.0.0.1:${pdPort}`],
  };
}
