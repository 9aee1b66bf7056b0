/**
 * Where an end-to-end suite runs, chosen from the environment:
 *
 * | environment | target |
 * |---|---|
 * | (nothing) | an embedded `MockCluster` started for the suite on 127.0.0.1 |
 * | `TIKV_PD_ENDPOINTS=host:port,...` | an existing cluster; the suite only reads and writes keys under its own prefix |
 * | `TIKV_E2E_TESTCONTAINERS=1` | PD and TiKV containers started with testcontainers (see container-specs.ts; the embedded cluster, with a warning, when no Docker engine answers; a clear error when an image is missing) |
 *
 * The embedded cluster starts in the API version a suite asks for (with its keyspaces created);
 * any other cluster is in the API version it was deployed with, which `TIKV_E2E_API_VERSION`
 * (`1` or `2`, default `1`) and `TIKV_E2E_KEYSPACE` (API V2 only) describe.
 */
import { MockCluster, type RegionKeyEncoding } from '@tikv/mock-cluster';
import { type ContainerRuntime, startContainerCluster } from './container-cluster.js';

/** The kinds of target a suite can run against. */
export const TargetKind = Object.freeze({
  Embedded: 'embedded',
  External: 'external',
  Testcontainers: 'testcontainers',
} as const);
/** One of {@link TargetKind}. */
export type TargetKind = (typeof TargetKind)[keyof typeof TargetKind];

/** The API version a target's TiKV runs (`storage.api-version`). */
export type E2eApiVersion = 'V1' | 'V2';

/** How a suite talks to a target: the API version, and in API V2 the keyspace (empty: DEFAULT). */
export interface ApiMode {
  readonly apiVersion: E2eApiVersion;
  readonly keyspace: string;
}

/** A cluster a suite talks to through public APIs only. */
export interface ClusterTarget {
  readonly kind: TargetKind;
  /** The API version the target's TiKV runs. */
  readonly apiVersion: E2eApiVersion;
  /** PD endpoints, `host:port`. */
  readonly pdEndpoints: readonly string[];
  /** The embedded cluster, for suites that change topology or inject faults; undefined elsewhere. */
  readonly mock: MockCluster | undefined;
  /** Releases what the target started (nothing for an external cluster). */
  close(): Promise<void>;
}

/** Reads the target kind from an environment (process.env by default). */
export function targetKindFrom(env: Readonly<Record<string, string | undefined>>): TargetKind {
  if ((env.TIKV_PD_ENDPOINTS ?? '').trim() !== '') return TargetKind.External;
  if (env.TIKV_E2E_TESTCONTAINERS === '1' || env.TIKV_E2E_TESTCONTAINERS === 'true')
    return TargetKind.Testcontainers;
  return TargetKind.Embedded;
}

/** Splits `TIKV_PD_ENDPOINTS` into endpoints, dropping blanks and any `http://` scheme. */
export function parseEndpoints(value: string): string[] {
  return value
    .split(',')
    .map((s) => s.trim().replace(/^https?:\/\//, ''))
    .filter((s) => s !== '');
}

/**
 * Reads the API version of a cluster the suites did not start: `TIKV_E2E_API_VERSION`
 * (`1`/`V1` or `2`/`V2`, default 1).
 *
 * @throws RangeError for any other value
 */
export function apiVersionFrom(env: Readonly<Record<string, string | undefined>>): E2eApiVersion {
  const v = (env.TIKV_E2E_API_VERSION ?? '').trim().toUpperCase();
  if (v === '' || v === '1' || v === 'V1') return 'V1';
  if (v === '2' || v === 'V2') return 'V2';
  throw new RangeError(`TIKV_E2E_API_VERSION must be 1 or 2, got ${env.TIKV_E2E_API_VERSION}`);
}

/**
 * The API modes a suite runs in. The embedded cluster runs every mode it is given (by default
 * API V1, and API V2 in `keyspace`); any other target runs the one mode its environment
 * describes (`TIKV_E2E_API_VERSION`, `TIKV_E2E_KEYSPACE`).
 */
export function apiModesFrom(
  env: Readonly<Record<string, string | undefined>>,
  embeddedModes: readonly ApiMode[] = [
    { apiVersion: 'V1', keyspace: '' },
    { apiVersion: 'V2', keyspace: 'e2e_ks' },
  ],
): ApiMode[] {
  if (targetKindFrom(env) === TargetKind.Embedded) return [...embeddedModes];
  const apiVersion = apiVersionFrom(env);
  return [{ apiVersion, keyspace: apiVersion === 'V2' ? (env.TIKV_E2E_KEYSPACE ?? '').trim() : '' }];
}

/** Options of {@link startTarget}. */
export interface StartTargetOptions {
  /** Stores of an embedded cluster. @defaultValue 3 */
  readonly stores?: number;
  /**
   * API version of an embedded cluster; other targets take theirs from `TIKV_E2E_API_VERSION`.
   * @defaultValue 'V1'
   */
  readonly apiVersion?: E2eApiVersion;
  /** Keyspaces an embedded cluster creates (besides `DEFAULT`). @defaultValue [] */
  readonly keyspaces?: readonly string[];
  /**
   * How an embedded cluster sends region boundaries: transactional suites in API V1 need
   * `'memcomparable'` (TiKV's encoding of txn keys); other targets are what they are.
   * @defaultValue the mock's: 'memcomparable' in API V2, 'raw' in API V1
   */
  readonly regionKeyEncoding?: RegionKeyEncoding | undefined;
  /** Labels of an embedded cluster's stores, by position. @defaultValue none */
  readonly storeLabels?: readonly (Readonly<Record<string, string>> | undefined)[];
  /** Clock of an embedded cluster in ms (TSO and TTL). @defaultValue Date.now */
  readonly nowMs?: () => number;
  /** The environment to read. @defaultValue process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The container runtime of a testcontainers target. @defaultValue testcontainers */
  readonly containerRuntime?: ContainerRuntime;
}

/** Starts (or connects to) the target the environment asks for. Call `close()` in `afterAll`. */
export async function startTarget(options: StartTargetOptions = {}): Promise<ClusterTarget> {
  const env = options.env ?? process.env;
  const kind = targetKindFrom(env);
  if (kind === TargetKind.External) {
    return {
      kind,
      apiVersion: apiVersionFrom(env),
      pdEndpoints: parseEndpoints(env.TIKV_PD_ENDPOINTS ?? ''),
      mock: undefined,
      close: async () => {},
    };
  }
  if (kind === TargetKind.Testcontainers) {
    const apiVersion = apiVersionFrom(env);
    const containers = await startContainerCluster(
      env,
      options.containerRuntime === undefined ? {} : { runtime: options.containerRuntime },
    );
    return {
      kind,
      apiVersion,
      pdEndpoints: containers.pdEndpoints,
      mock: undefined,
      close: () => containers.stop(),
    };
  }
  const apiVersion = options.apiVersion ?? 'V1';
  const mock = await MockCluster.start({
    stores: options.stores ?? 3,
    apiVersion,
    keyspaces: (options.keyspaces ?? []).map((name) => ({ name })),
    ...(options.nowMs === undefined ? {} : { nowMs: options.nowMs }),
    ...(options.storeLabels === undefined ? {} : { storeLabels: options.storeLabels }),
    ...(options.regionKeyEncoding === undefined ? {} : { regionKeyEncoding: options.regionKeyEncoding }),
  });
  return { kind, apiVersion, pdEndpoints: mock.pdEndpoints, mock, close: () => mock.close() };
}
