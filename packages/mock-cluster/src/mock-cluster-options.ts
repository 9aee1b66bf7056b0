import {
  checkArray,
  checkBytes,
  checkObject,
  checkOptionalBoolean,
  checkOptionalString,
  checkOptionsObject,
  InvalidArgumentError,
  invalidArgument,
  type Resolved,
} from '@tikv/common';
import { ApiVersion, RegionKeyEncoding } from './api-version.js';
import {
  type ActionOnInvalidMaxTs,
  DEFAULT_ACTION_ON_INVALID_MAX_TS,
  DEFAULT_MAX_TS_DRIFT_MS,
} from './mvcc/max-ts-limit.js';
import type { KeyspaceSpec } from './pd/keyspace-service.js';
import type { TsoServiceSpec } from './tso/keyspace-groups.js';

/** A key given to the mock's API: bytes, or a string taken as UTF-8. */
export type KeyInput = Uint8Array | string;

/** An id given to the mock's API. */
export type IdInput = bigint | number;

/**
 * TLS of every server of a mock cluster (PD members and stores), PEM encoded: the server side of
 * `@tikv/common`'s `TlsOptions`, with the same field names (strings or bytes).
 */
export interface MockTlsOptions {
  /** The servers' certificate chain. */
  readonly certPem: Uint8Array | string;
  /** The servers' private key. */
  readonly keyPem: Uint8Array | string;
  /** CA certificate(s) that client certificates must chain to (required with `requireClientCert`). */
  readonly caPem?: Uint8Array | string | undefined;
  /** Mutual TLS: refuse clients that present no certificate signed by `caPem`. @defaultValue false */
  readonly requireClientCert?: boolean | undefined;
}

/** Options of {@link MockCluster.start}. */
export interface MockClusterOptions {
  /** Number of TiKV stores. @defaultValue 3 */
  readonly stores?: number | undefined;
  /** Peers per region (placed on the first stores). @defaultValue min(stores, 3) */
  readonly replicas?: number | undefined;
  /**
   * Number of initial regions: the key space is cut at evenly spaced one-byte keys (after the
   * `r` + keyspace 0 prefix in API V2). Combined with `splitKeys`. @defaultValue 1
   */
  readonly regions?: number | undefined;
  /** Initial split keys, in the TiKV key domain (API V2 keys include their `r`/`x` prefix). */
  readonly splitKeys?: readonly KeyInput[] | undefined;
  /** The storage's API version. @defaultValue 'V1' */
  readonly apiVersion?: ApiVersion | undefined;
  /**
   * How region boundaries appear on the wire. @defaultValue 'memcomparable' in V2, 'raw' in V1
   * (use 'memcomparable' in V1 for a transactional client)
   */
  readonly regionKeyEncoding?: RegionKeyEncoding | undefined;
  /** Address every server listens on. Loopback only in tests. @defaultValue '127.0.0.1' */
  readonly host?: string | undefined;
  /** The first PD member's port; 0 picks a free one (other members always take free ports). @defaultValue 0 */
  readonly pdPort?: number | undefined;
  /** Number of PD members; the first leads at start. @defaultValue 1 */
  readonly pdMembers?: number | undefined;
  /** Serve PD and TiKV over TLS (mutual TLS with `requireClientCert`). @defaultValue plaintext */
  readonly tls?: MockTlsOptions | undefined;
  /** Ports of the stores, by position; missing entries pick a free one. @defaultValue [] */
  readonly storePorts?: readonly number[] | undefined;
  /**
   * Labels PD reports for the stores, by position (`{ zone: 'z1' }`); missing entries have none.
   * @defaultValue []
   */
  readonly storeLabels?: readonly (Readonly<Record<string, string>> | undefined)[] | undefined;
  /** The cluster id PD reports and checks. @defaultValue 7000000000000000001n */
  readonly clusterId?: bigint | undefined;
  /** TiKV's `max-key-size`. @defaultValue 8192 */
  readonly maxKeySizeBytes?: number | undefined;
  /** TiKV's `raft-entry-max-size`: larger writes get RaftEntryTooLarge. @defaultValue 8 MiB */
  readonly raftEntryMaxSizeBytes?: number | undefined;
  /** Most commands per BatchCommands message before the stream fails. @defaultValue 10000 */
  readonly maxBatchCommands?: number | undefined;
  /**
   * Largest gRPC message the mock's servers accept; a larger one is refused with
   * `RESOURCE_EXHAUSTED` (on a `BatchCommands` stream that ends the stream). Unset, each server
   * takes what the real one does: a store any size (TiKV's KV service sets
   * `max_receive_message_len(-1)`), PD up to its `max-request-bytes` (150 MiB). Set it to test
   * a client against a tighter limit (a proxy, a gateway).
   * @defaultValue as TiKV and PD
   */
  readonly maxReceiveMessageBytes?: number | undefined;
  /**
   * Let the process exit while the cluster is still open (sockets are unref'd), so a test that
   * forgets `close()` cannot hang jest. The standalone process sets it to false. @defaultValue true
   */
  readonly unref?: boolean | undefined;
  /** Wall clock in ms, for TSO and TTL (tests may inject one). @defaultValue Date.now */
  readonly nowMs?: (() => number) | undefined;
  /**
   * Keyspaces PD's `keyspacepb.Keyspace` service knows besides `DEFAULT` (id 0, always there).
   * @defaultValue []
   */
  readonly keyspaces?: readonly KeyspaceSpec[] | undefined;
  /**
   * Run PD's TSO microservice next to PD (PD's API service mode): TSO servers serving
   * `tsopb.TSO` with keyspaces assigned to keyspace groups, and PD's `GetClusterInfo` reporting
   * `API_SVC_MODE` and the servers' URLs. @defaultValue none (PD serves TSO itself)
   */
  readonly tsoService?: TsoServiceSpec | undefined;
  /**
   * What a store does with a request whose timestamp would push TiKV's `max_ts` past what PD's TSO
   * could have issued (TiKV's `storage.max-ts.action-on-invalid-update`): `'error'` answers a
   * region error "invalid max_ts update: <ts> exceeds the limit <limit>", `'log'` serves it and
   * records it in {@link MockCluster.invalidMaxTsUpdates}. TiKV's own default, `panic`, stops the
   * TiKV process; the mock fails the request instead. @defaultValue 'error'
   */
  readonly actionOnInvalidMaxTs?: ActionOnInvalidMaxTs | undefined;
  /**
   * How far (ms) past PD's latest TSO a read, an insert's prewrite or a pessimistic lock that
   * reads may take `max_ts` (TiKV's `storage.max-ts.max-drift`). @defaultValue 60000
   */
  readonly maxTsDriftMs?: number | undefined;
}

/** {@link MockClusterOptions} with defaults applied. */
export type ResolvedMockClusterOptions = Readonly<
  Resolved<
    Omit<
      MockClusterOptions,
      'splitKeys' | 'storePorts' | 'storeLabels' | 'tls' | 'maxReceiveMessageBytes' | 'tsoService'
    >
  > & {
    tsoService: TsoServiceSpec | undefined;
    maxReceiveMessageBytes: number | undefined;
    splitKeys: readonly Uint8Array[];
    keyspaces: readonly KeyspaceSpec[];
    storePorts: readonly number[];
    storeLabels: readonly Readonly<Record<string, string>>[];
    tls: MockTlsOptions | undefined;
  }
>;

/** Frozen defaults of {@link MockClusterOptions}. */
export const DEFAULT_MOCK_CLUSTER_OPTIONS = Object.freeze({
  stores: 3,
  regions: 1,
  apiVersion: ApiVersion.V1,
  host: '127.0.0.1',
  pdPort: 0,
  pdMembers: 1,
  clusterId: 7000000000000000001n,
  maxKeySizeBytes: 8192,
  raftEntryMaxSizeBytes: 8 * 1024 * 1024,
  maxBatchCommands: 10_000,
  unref: true,
  actionOnInvalidMaxTs: DEFAULT_ACTION_ON_INVALID_MAX_TS,
  maxTsDriftMs: DEFAULT_MAX_TS_DRIFT_MS,
} as const);

/** Bytes of a key input. */
export function toKey(k: KeyInput): Uint8Array {
  return typeof k === 'string' ? new TextEncoder().encode(k) : k;
}

function positiveInt(name: string, v: unknown): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 1) return v;
  throw invalidArgument(`options.${name}`, 'an integer >= 1', v);
}

function nonNegativeInt(name: string, v: unknown): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return v;
  throw invalidArgument(`options.${name}`, 'an integer >= 0', v);
}

function port(name: string, v: unknown): number {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65_535) return v;
  throw invalidArgument(name, 'a port number in [0, 65535]', v);
}

/** One store's labels: string keys and values (undefined: none). */
function storeLabels(name: string, v: unknown): Readonly<Record<string, string>> {
  if (v === undefined) return {};
  const labels = checkObject(v, name) as Record<string, unknown>;
  for (const [key, value] of Object.entries(labels)) {
    if (key === '' || typeof value !== 'string') {
      throw invalidArgument(`${name}.${key}`, 'a string label value under a non-empty key', value);
    }
  }
  return Object.freeze({ ...(labels as Record<string, string>) });
}

/** A string option whose allowed values are few and not secret: the message shows it. */
function oneOf<T extends string>(name: string, v: unknown, allowed: readonly T[]): T {
  if (allowed.includes(v as T)) return v as T;
  const list = allowed.map((a) => `'${a}'`).join(', ');
  if (typeof v === 'string') throw new InvalidArgumentError(`${name} must be one of ${list}, got '${v}'`);
  throw invalidArgument(name, `one of ${list}`, v);
}

/**
 * Applies defaults and validates.
 *
 * @throws InvalidArgumentError naming the first bad option and what it held
 */
export function resolveMockClusterOptions(options: MockClusterOptions = {}): ResolvedMockClusterOptions {
  const o = checkOptionsObject(options) ?? {};
  const d = DEFAULT_MOCK_CLUSTER_OPTIONS;
  const stores = positiveInt('stores', o.stores ?? d.stores);
  const apiVersion = oneOf('options.apiVersion', o.apiVersion ?? d.apiVersion, [
    ApiVersion.V1,
    ApiVersion.V2,
  ]);
  const replicas = positiveInt('replicas', o.replicas ?? Math.min(stores, 3));
  if (o.tls !== undefined && o.tls.requireClientCert === true && o.tls.caPem === undefined) {
    throw new InvalidArgumentError(
      'options.tls.requireClientCert needs options.tls.caPem to check client certificates against',
    );
  }
  if (replicas > stores) {
    throw new InvalidArgumentError(
      `options.replicas (${replicas}) must not exceed options.stores (${stores})`,
    );
  }
  const clusterId = o.clusterId ?? d.clusterId;
  if (typeof clusterId !== 'bigint' || clusterId <= 0n || clusterId >= 1n << 64n) {
    throw invalidArgument('options.clusterId', 'a bigint in [1, 2^64)', clusterId);
  }
  if (o.nowMs !== undefined && typeof o.nowMs !== 'function') {
    throw invalidArgument('options.nowMs', 'a function or undefined', o.nowMs);
  }
  return Object.freeze({
    stores,
    replicas,
    regions: positiveInt('regions', o.regions ?? d.regions),
    splitKeys: checkArray(o.splitKeys ?? [], 'options.splitKeys').map((k, i) =>
      checkBytes(k, `options.splitKeys[${i}]`),
    ),
    apiVersion,
    regionKeyEncoding: oneOf(
      'options.regionKeyEncoding',
      o.regionKeyEncoding ??
        (apiVersion === ApiVersion.V2 ? RegionKeyEncoding.Memcomparable : RegionKeyEncoding.Raw),
      [RegionKeyEncoding.Raw, RegionKeyEncoding.Memcomparable],
    ),
    host: checkOptionalString(o.host, 'options.host') ?? d.host,
    pdPort: port('options.pdPort', o.pdPort ?? d.pdPort),
    storePorts: checkArray(o.storePorts ?? [], 'options.storePorts').map((p, i) =>
      port(`options.storePorts[${i}]`, p),
    ),
    storeLabels: checkArray(o.storeLabels ?? [], 'options.storeLabels').map((l, i) =>
      storeLabels(`options.storeLabels[${i}]`, l),
    ),
    clusterId,
    pdMembers: positiveInt('pdMembers', o.pdMembers ?? d.pdMembers),
    tls: o.tls,
    maxKeySizeBytes: positiveInt('maxKeySizeBytes', o.maxKeySizeBytes ?? d.maxKeySizeBytes),
    raftEntryMaxSizeBytes: positiveInt(
      'raftEntryMaxSizeBytes',
      o.raftEntryMaxSizeBytes ?? d.raftEntryMaxSizeBytes,
    ),
    maxBatchCommands: positiveInt('maxBatchCommands', o.maxBatchCommands ?? d.maxBatchCommands),
    maxReceiveMessageBytes:
      o.maxReceiveMessageBytes === undefined
        ? undefined
        : positiveInt('maxReceiveMessageBytes', o.maxReceiveMessageBytes),
    unref: checkOptionalBoolean(o.unref, 'options.unref') ?? d.unref,
    actionOnInvalidMaxTs: oneOf<ActionOnInvalidMaxTs>(
      'options.actionOnInvalidMaxTs',
      o.actionOnInvalidMaxTs ?? d.actionOnInvalidMaxTs,
      ['error', 'log'],
    ),
    maxTsDriftMs: nonNegativeInt('maxTsDriftMs', o.maxTsDriftMs ?? d.maxTsDriftMs),
    tsoService:
      o.tsoService === undefined
        ? undefined
        : (checkObject(o.tsoService, 'options.tsoService') as TsoServiceSpec),
    nowMs: o.nowMs ?? Date.now,
    keyspaces: checkArray(o.keyspaces ?? [], 'options.keyspaces').map((k, i) => {
      const spec = checkObject(k, `options.keyspaces[${i}]`) as KeyspaceSpec;
      if (typeof spec.name !== 'string' || spec.name === '') {
        throw invalidArgument(`options.keyspaces[${i}].name`, 'a non-empty string', spec.name);
      }
      return spec;
    }),
  });
}

/** Split keys that cut the key space into `n` regions at evenly spaced one-byte keys. */
export function evenSplitKeys(n: number, apiVersion: ApiVersion): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 1; i < n; i++) {
    const b = Math.floor((256 * i) / n);
    out.push(apiVersion === ApiVersion.V2 ? Uint8Array.of(0x72, 0, 0, 0, b) : Uint8Array.of(b));
  }
  return out;
}
