/**
 * Where an end-to-end suite runs, chosen from the environment:
 *
 * | environment | target |
 * |---|---|
 * | (nothing) | an embedded `MockCluster` started for the suite on 127.0.0.1 |
 * | `TIKV_PD_ENDPOINTS=host:port,...` | an existing cluster; the suite only reads and writes keys under its own prefix |
 * | `TIKV_E2E_TESTCONTAINERS=1` | PD and TiKV containers started with testcontainers (skipped when no Docker engine answers) |
 */
import { MockCluster } from '@tikv/mock-cluster';
import { startContainerCluster } from './container-cluster.js';

/** The kinds of target a suite can run against. */
export const TargetKind = Object.freeze({
  Embedded: 'embedded',
  External: 'external',
  Testcontainers: 'testcontainers',
} as const);
/** One of {@link TargetKind}. */
export type TargetKind = (typeof TargetKind)[keyof typeof TargetKind];

/** A cluster a suite talks to through public APIs only. */
export interface ClusterTarget {
  readonly kind: TargetKind;
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

/** Options of {@link startTarget}. */
export interface StartTargetOptions {
  /** Stores of an embedded cluster. @defaultValue 3 */
  readonly stores?: number;
  /** The environment to read. @defaultValue process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** Starts (or connects to) the target the environment asks for. Call `close()` in `afterAll`. */
export async function startTarget(options: StartTargetOptions = {}): Promise<ClusterTarget> {
  const env = options.env ?? process.env;
  const kind = targetKindFrom(env);
  if (kind === TargetKind.External) {
    return {
      kind,
      pdEndpoints: parseEndpoints(env.TIKV_PD_ENDPOINTS ?? ''),
      mock: undefined,
      close: async () => {},
    };
  }
  if (kind === TargetKind.Testcontainers) {
    const containers = await startContainerCluster();
    return { kind, pdEndpoints: containers.pdEndpoints, mock: undefined, close: () => containers.stop() };
  }
  const mock = await MockCluster.start({ stores: options.stores ?? 3 });
  return { kind, pdEndpoints: mock.pdEndpoints, mock, close: () => mock.close() };
}
