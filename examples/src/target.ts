/**
 * Where the examples run: an embedded cluster (API V2 with a keyspace named `examples`, started
 * here and closed at the end), or the cluster `TIKV_PD_ENDPOINTS=host:port,...` names
 * (`TIKV_API_VERSION=1|2`, default 1, and `TIKV_KEYSPACE` for V2).
 */
import { MockCluster } from '@tikv/mock-cluster';

/** A cluster to run an example against. */
export interface ExampleTarget {
  readonly pdEndpoints: string[];
  readonly apiVersion: 'V1' | 'V2';
  readonly keyspace?: string;
  /** Whether the cluster is the example's own (safe to run GC on). */
  readonly embedded: boolean;
  /** Stops the embedded cluster (nothing for an external one). */
  close(): Promise<void>;
}

/** The embedded cluster, or the one the environment names. */
export async function exampleTarget(): Promise<ExampleTarget> {
  const external = process.env.TIKV_PD_ENDPOINTS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (external !== undefined && external.length > 0) {
    const apiVersion = process.env.TIKV_API_VERSION === '2' ? 'V2' : 'V1';
    const keyspace = process.env.TIKV_KEYSPACE;
    console.log(
      `cluster: PD ${external.join(', ')}, API ${apiVersion}${keyspace ? `, keyspace ${keyspace}` : ''}`,
    );
    return {
      pdEndpoints: external,
      apiVersion,
      ...(keyspace ? { keyspace } : {}),
      embedded: false,
      close: async () => {},
    };
  }
  const cluster = await MockCluster.start({ stores: 3, apiVersion: 'V2', keyspaces: [{ name: 'examples' }] });
  console.log(`cluster: embedded, PD ${cluster.pdEndpoints.join(', ')}, API V2, keyspace examples`);
  return {
    pdEndpoints: [...cluster.pdEndpoints],
    apiVersion: 'V2',
    keyspace: 'examples',
    embedded: true,
    close: () => cluster.close(),
  };
}

/** Runs an example's main: prints a failure and sets a non-zero exit status. */
export function runExample(main: () => Promise<void>): void {
  main().then(
    () => console.log('done'),
    (e: unknown) => {
      console.error(e instanceof Error ? `${e.name}: ${e.message}` : e);
      process.exitCode = 1;
    },
  );
}

const decoder = new TextDecoder();

/** A value as text (`(none)` when absent). */
export function text(v: Uint8Array | undefined): string {
  return v === undefined ? '(none)' : decoder.decode(v);
}
