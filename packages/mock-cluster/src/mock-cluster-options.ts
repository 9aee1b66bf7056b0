import { ApiVersion, RegionKeyEncoding } from './api-version.js';
import type { KeyspaceSpec } from './pd/keyspace-service.js';

/** A key given to the mock's API: bytes, or a string taken as UTF-8. */
export type KeyInput = Uint8Array | string;

/** An id given to the mock's API. */
export type IdInput = bigint | number;

/** Options of {@link MockCluster.start}. */
export interface MockClusterOptions {
  /** Number of TiKV stores. @defaultValue 3 */
  readonly stores?: number;
  /** Peers per region (placed on the first stores). @defaultValue min(stores, 3) */
  readonly replicas?: number;
  /**
   * Number of initial regions: the key space is cut at evenly spaced one-byte keys (after the
   * `r` + keyspace 0 prefix in API V2). Combined with `splitKeys`. @defaultValue 1
   */
  readonly regions?: number;
  /** Initial split keys, in the TiKV key domain (API V2 keys include their `r`/`x` prefix). */
  readonly splitKeys?: readonly KeyInput[];
  /** The storage's API version. @defaultValue 'V1' */
  readonly apiVersion?: ApiVersion;
  /**
   * How region boundaries appear on the wire. @defaultValue 'memcomparable' in V2, 'raw' in V1
   * (use 'memcomparable' in V1 for a transactional client)
   */
  readonly regionKeyEncoding?: RegionKeyEncoding;
  /** Address every server listens on. Loopback only in tests. @defaultValue '127.0.0.1' */
  readonly host?: string;
  /** PD's port; 0 picks a free one. @defaultValue 0 */
  readonly pdPort?: number;
  /** Ports of the stores, by position; missing entries pick a free one. @defaultValue [] */
  readonly storePorts?: readonly number[];
  /** The cluster id PD reports and checks. @defaultValue 7000000000000000001n */
  readonly clusterId?: bigint;
  /** TiKV's `max-key-size`. @defaultValue 8192 */
  readonly maxKeySizeBytes?: number;
  /** TiKV's `raft-entry-max-size`: larger writes get RaftEntryTooLarge. @defaultValue 8 MiB */
  readonly raftEntryMaxSizeBytes?: number;
  /** Most commands per BatchCommands message before the stream fails. @defaultValue 10000 */
  readonly maxBatchCommands?: number;
  /**
   * Largest gRPC message the mock's servers accept; a larger one is refused with
   * `RESOURCE_EXHAUSTED` (on a `BatchCommands` stream that ends the stream). Unset, each server
   * takes what the real one does: a store any size (TiKV's KV service sets
   * `max_receive_message_len(-1)`), PD up to its `max-request-bytes` (150 MiB). Set it to test
   * a client against a tighter limit (a proxy, a gateway).
   * @defaultValue as TiKV and PD
   */
  readonly maxReceiveMessageBytes?: number;
  /**
   * Let the process exit while the cluster is still open (sockets are unref'd), so a test that
   * forgets `close()` cannot hang jest. The standalone process sets it to false. @defaultValue true
   */
  readonly unref?: boolean;
  /** Wall clock in ms, for TSO and TTL (tests may inject one). @defaultValue Date.now */
  readonly nowMs?: () => number;
  /**
   * Keyspaces PD's `keyspacepb.Keyspace` service knows besides `DEFAULT` (id 0, always there).
   * @defaultValue []
   */
  readonly keyspaces?: readonly KeyspaceSpec[];
}

/** {@link MockClusterOptions} with defaults applied. */
export type ResolvedMockClusterOptions = Readonly<
  Required<Omit<MockClusterOptions, 'splitKeys' | 'storePorts' | 'maxReceiveMessageBytes'>> & {
    maxReceiveMessageBytes: number | undefined;
    splitKeys: readonly Uint8Array[];
    keyspaces: readonly KeyspaceSpec[];
    storePorts: readonly number[];
  }
>;

/** Frozen defaults of {@link MockClusterOptions}. */
export const DEFAULT_MOCK_CLUSTER_OPTIONS = Object.freeze({
  stores: 3,
  regions: 1,
  apiVersion: ApiVersion.V1,
  host: '127.0.0.1',
  pdPort: 0,
  clusterId: 7000000000000000001n,
  maxKeySizeBytes: 8192,
  raftEntryMaxSizeBytes: 8 * 1024 * 1024,
  maxBatchCommands: 10_000,
  unref: true,
} as const);

/** Bytes of a key input. */
export function toKey(k: KeyInput): Uint8Array {
  return typeof k === 'string' ? new TextEncoder().encode(k) : k;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

/** Applies defaults and validates. */
export function resolveMockClusterOptions(o: MockClusterOptions = {}): ResolvedMockClusterOptions {
  const d = DEFAULT_MOCK_CLUSTER_OPTIONS;
  const stores = positiveInt('stores', o.stores ?? d.stores);
  const apiVersion = o.apiVersion ?? d.apiVersion;
  if (apiVersion !== ApiVersion.V1 && apiVersion !== ApiVersion.V2) {
    throw new RangeError(`unsupported apiVersion ${String(apiVersion)}`);
  }
  const replicas = positiveInt('replicas', o.replicas ?? Math.min(stores, 3));
  if (replicas > stores) throw new RangeError(`replicas (${replicas}) exceed stores (${stores})`);
  return Object.freeze({
    stores,
    replicas,
    regions: positiveInt('regions', o.regions ?? d.regions),
    splitKeys: (o.splitKeys ?? []).map(toKey),
    apiVersion,
    regionKeyEncoding:
      o.regionKeyEncoding ??
      (apiVersion === ApiVersion.V2 ? RegionKeyEncoding.Memcomparable : RegionKeyEncoding.Raw),
    host: o.host ?? d.host,
    pdPort: o.pdPort ?? d.pdPort,
    storePorts: o.storePorts ?? [],
    clusterId: o.clusterId ?? d.clusterId,
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
    unref: o.unref ?? d.unref,
    nowMs: o.nowMs ?? Date.now,
    keyspaces: o.keyspaces ?? [],
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
