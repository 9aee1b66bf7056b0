// What the transactional suites share: the API modes they run in, a target and a connected
// TransactionClient per mode, keys under a per-suite prefix (so a suite can run against an
// existing cluster and clean up after itself), and region splits on the embedded target.
import { keyspacePrefix } from '@tikv/mock-cluster';
import { PdClient } from '@tikv/pd';
import {
  type Snapshot,
  TransactionClient,
  type TransactionClientOptions,
  type TransactionClientTuning,
} from '@tikv/txn';
import {
  type ApiMode,
  apiModesFrom,
  type ClusterTarget,
  startTarget,
  TargetKind,
  targetKindFrom,
} from '../../src/cluster-target.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** UTF-8 bytes of a string. */
export const bytes = (s: string): Uint8Array => encoder.encode(s);
/** UTF-8 text of bytes (undefined stays undefined). */
export const text = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : decoder.decode(b);
/** client-go's `s08d(prefix, i)`: `prefix` then `i` zero-padded to 8 digits. */
export const s08d = (prefix: string, i: number): string => `${prefix}${String(i).padStart(8, '0')}`;
/** client-go's `valueBytes(i)`. */
export const valueBytes = (i: number): string => `value${i}`;
/** Hex of bytes, to compare keys by value. */
export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A gate a paused request waits at until the test opens it. */
export function gate(): { wait: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

/** Timeout of the cases that write and read hundreds of keys (a debug build of TiKV is slow). */
export const SLOW_TEST_MS = 180_000;

/** Whether the suites run on the embedded mock cluster (topology and fault cases run only there). */
export const embedded = targetKindFrom(process.env) === TargetKind.Embedded;
/** `test` on the embedded target, `test.skip` elsewhere (the case shows as skipped, by name). */
export const embeddedTest: typeof test = embedded ? test : test.skip;

/** The API modes, named for `describe.each`. */
export function txnModes(): [string, ApiMode][] {
  return apiModesFrom(process.env).map((m) => [
    m.apiVersion === 'V1' ? 'API V1' : `API V2, keyspace '${m.keyspace === '' ? 'DEFAULT' : m.keyspace}'`,
    m,
  ]);
}

/** One mode's target, client and key prefix. */
export interface TxnEnv {
  readonly target: ClusterTarget;
  readonly client: TransactionClient;
  readonly mode: ApiMode;
  /** The suite's key prefix. */
  readonly prefix: string;
  /** `prefix + name` as bytes. */
  key(name: string): Uint8Array;
  /** The first key after every key of the prefix (an exclusive scan bound). */
  readonly end: Uint8Array;
  /** Splits the embedded cluster's regions at user keys (V2: inside the keyspace). */
  split(keys: readonly Uint8Array[]): void;
  /** A user key in the mock's key domain (V2: with the `x` + keyspace id prefix). */
  storageKey(key: Uint8Array): Uint8Array;
  /** A snapshot at a fresh timestamp. */
  freshSnapshot(): Promise<Snapshot>;
  /** Deletes every key of the prefix, then closes the client and the target. */
  close(): Promise<void>;
}

/** Options of {@link startTxnEnv}. */
export interface TxnEnvOptions {
  /** Stores of the embedded cluster. @defaultValue 3 */
  readonly stores?: number;
  /** The client's tuning. */
  readonly tuning?: TransactionClientTuning;
  /** Labels of the embedded cluster's stores, by position. @defaultValue none */
  readonly storeLabels?: readonly (Readonly<Record<string, string>> | undefined)[];
  /** The embedded cluster's clock in ms (TSO, TTL, resolved ts). @defaultValue Date.now */
  readonly nowMs?: () => number;
}

/**
 * Starts the target of a mode (embedded: API V1 with memcomparable region keys, or API V2 with
 * the mode's keyspace) and connects a TransactionClient.
 *
 * @param mode - the API mode
 * @param suite - names the key prefix (a timestamp is added, as client-go's suites do)
 */
export async function startTxnEnv(
  mode: ApiMode,
  suite: string,
  options: TxnEnvOptions = {},
): Promise<TxnEnv> {
  const target = await startTarget({
    stores: options.stores ?? 3,
    apiVersion: mode.apiVersion,
    keyspaces: mode.keyspace === '' ? [] : [mode.keyspace],
    regionKeyEncoding: 'memcomparable',
    ...(options.storeLabels === undefined ? {} : { storeLabels: options.storeLabels }),
    ...(options.nowMs === undefined ? {} : { nowMs: options.nowMs }),
  });
  let client: TransactionClient;
  try {
    client = await TransactionClient.connect({
      pdEndpoints: target.pdEndpoints,
      apiVersion: mode.apiVersion,
      keyspace: mode.keyspace,
      ...options.tuning,
    });
  } catch (e) {
    await target.close();
    throw e;
  }
  const prefix = `~${suite}_${Date.now()}/`;
  const prefixBytes = bytes(prefix);
  const end = bytes(`${prefix.slice(0, -1)}0`);
  // The keyspace's id: from the mock, or from PD on another target.
  let keyspaceId: number | undefined;
  if (mode.apiVersion !== 'V1') {
    const name = mode.keyspace === '' ? 'DEFAULT' : mode.keyspace;
    keyspaceId = target.mock?.keyspaces().find((k) => k.name === name)?.id;
    if (keyspaceId === undefined && target.mock === undefined) {
      const pd = await PdClient.connect({ endpoints: [...target.pdEndpoints] });
      try {
        const meta = await pd.loadKeyspace(name);
        keyspaceId = meta.keyspace?.$case === 'id' ? meta.keyspace.value : undefined;
      } finally {
        await pd.close();
      }
    }
  }
  const storagePrefix = (): Uint8Array => {
    if (mode.apiVersion === 'V1') return new Uint8Array(0);
    if (keyspaceId === undefined) throw new Error(`keyspace '${mode.keyspace}' is unknown`);
    return keyspacePrefix('txn', keyspaceId);
  };
  const storageKey = (key: Uint8Array): Uint8Array => Buffer.concat([storagePrefix(), key]);
  return {
    target,
    client,
    mode,
    prefix,
    end,
    key: (name) => Buffer.concat([prefixBytes, bytes(name)]),
    storageKey,
    split: (keys) => {
      if (target.mock === undefined) throw new Error('splits need the embedded cluster');
      target.mock.split(keys.map(storageKey));
    },
    freshSnapshot: async () => client.snapshot(await client.currentTimestamp()),
    close: async () => {
      try {
        target.mock?.clearFaults();
        await deleteRange(client, prefixBytes, end);
      } finally {
        await client.close();
        await target.close();
      }
    },
  };
}

/** Deletes every key in `[start, end)`, in transactions of at most 2048 keys. */
export async function deleteRange(
  client: TransactionClient,
  start: Uint8Array,
  end: Uint8Array,
): Promise<void> {
  for (;;) {
    const done = await client.run(async (txn) => {
      const page = await txn.scan(start, end, { limit: 2048, keyOnly: true });
      for (const p of page) txn.delete(p.key);
      return page.length < 2048;
    });
    if (done) return;
  }
}

/** Commits `pairs` in one transaction; returns its start and commit ts. */
export async function putAll(
  client: TransactionClient,
  pairs: Iterable<readonly [Uint8Array, string]>,
): Promise<{ startTs: bigint; commitTs: bigint }> {
  const txn = await client.begin();
  for (const [k, v] of pairs) txn.put(k, v);
  const commitTs = await txn.commit();
  return { startTs: txn.startTs, commitTs };
}

/** An interceptor of the client's requests (`@tikv/rpc`'s `RpcInterceptor`). */
type Interceptor = NonNullable<NonNullable<TransactionClientOptions['sender']>['interceptors']>[number];
/** One step of a request's path (`@tikv/rpc`'s `RpcCall`). */
type RpcCall = ReturnType<Interceptor['wrap']>;
/** A request as the interceptors see it (keys encoded for the wire, context filled). */
export type SentRequest = Parameters<RpcCall>[1];
/** A response as the interceptors see it. */
export type SentResponse = Awaited<ReturnType<RpcCall>>;

/** A second client of a suite's target whose requests a test watches and steers. */
export interface SpyClient {
  readonly client: TransactionClient;
  /** Copies of every request sent so far, in order. */
  readonly requests: SentRequest[];
  /** The requests of one command sent so far. */
  sent<C extends SentRequest['$case']>(cmd: C): Extract<SentRequest, { $case: C }>[];
  /** Closes the client (not the target). */
  close(): Promise<void>;
}

/** Options of {@link connectSpy}. */
export interface SpyOptions {
  /** The client's tuning. */
  readonly tuning?: TransactionClientTuning | undefined;
  /**
   * Runs around each request: `send` forwards it (call it at most once); the hook may wait
   * before or after, or answer without sending. @defaultValue forwards at once
   */
  readonly around?:
    | ((request: SentRequest, send: () => Promise<SentResponse>) => Promise<SentResponse>)
    | undefined;
}

/**
 * Connects another TransactionClient to the env's target, with an interceptor that records every
 * request (client-go's `SetRPCInterceptor` / `sendReqToRegionHook` in the integration tests).
 */
export async function connectSpy(env: TxnEnv, options: SpyOptions = {}): Promise<SpyClient> {
  const requests: SentRequest[] = [];
  const around = options.around;
  const spy: Interceptor = {
    name: 'e2e-spy',
    wrap: (next) => async (address, request, o) => {
      // A copy: the client may reuse the buffers a request's values are views of once it is sent.
      requests.push(structuredClone(request));
      return around === undefined
        ? next(address, request, o)
        : around(request, () => next(address, request, o));
    },
  };
  const client = await TransactionClient.connect({
    pdEndpoints: env.target.pdEndpoints,
    apiVersion: env.mode.apiVersion,
    keyspace: env.mode.keyspace,
    sender: { interceptors: [spy] },
    ...options.tuning,
  });
  return {
    client,
    requests,
    sent: <C extends SentRequest['$case']>(cmd: C) =>
      requests.filter((r): r is Extract<SentRequest, { $case: C }> => r.$case === cmd),
    close: () => client.close(),
  };
}
