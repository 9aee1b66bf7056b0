import { InvalidArgumentError, type Logger, type Resolved, type TlsOptions } from '@tikv/common';
import { normalizeUrl } from './pd-endpoint.js';
import type { RegionKeyCodec } from './region-key-codec.js';
import type { ServiceDiscoveryOptions } from './service-discovery.js';
import type { TsoDispatcherOptions } from './tso-dispatcher.js';
import type { TsoServiceDiscoveryOptions } from './tso-service-discovery.js';

/**
 * TLS material for the PD connections: `@tikv/common`'s `TlsOptions`.
 *
 * @deprecated use `TlsOptions` from `@tikv/common`
 */
export type PdTlsOptions = TlsOptions;

/** Options of {@link PdClient.connect}. */
export interface PdClientOptions {
  /** PD endpoints, `host:port` or URLs; any one member is enough to discover the rest. */
  readonly endpoints: readonly string[];
  /** TLS for every PD connection; endpoints then default to `https://`. @defaultValue plaintext */
  readonly tls?: TlsOptions | undefined;
  /**
   * Deadline of each PD RPC attempt (and of each TSO request on the stream), in ms (PD's
   * client `Timeout`).
   * @defaultValue 3_000
   */
  readonly timeoutMs?: number | undefined;
  /**
   * How long {@link PdClient.connect} keeps trying to reach a PD member before it rejects with
   * a `PdUnreachableError`, in ms. PD's Go client bounds only the attempts (100, 1 s apart);
   * this bounds the time, as long as one call's default PD-RPC backoff (`maxBackoffMs` 10 s,
   * doubled by the backoff weight), which rides out a PD leader election.
   * @defaultValue 20_000
   */
  readonly connectTimeoutMs?: number | undefined;
  /**
   * Sleep budget of the PD-RPC backoff of one call (region, store and admin calls), in ms;
   * the shared `Backoffer` doubles it (client-go's backoff weight).
   * @defaultValue 10_000
   */
  readonly maxBackoffMs?: number | undefined;
  /** Key codec of the caller's key space. @defaultValue {@link IDENTITY_REGION_KEY_CODEC} */
  readonly codec?: RegionKeyCodec | undefined;
  /**
   * Region lookups go over the batched `QueryRegion` stream (PD's router client), falling
   * back to unary calls when the server lacks it.
   * @defaultValue true
   */
  readonly enableRouterClient?: boolean | undefined;
  /** Most lookups in one `QueryRegion` request. @defaultValue 10_000 */
  readonly maxQueryRegionBatchSize?: number | undefined;
  /** TSO batching: `maxBatchSize` (10_000) and `maxInFlight` (1). */
  readonly tso?: Omit<TsoDispatcherOptions, 'rpcTimeoutMs'> | undefined;
  /** Attempts of `getTimestamp` on retryable failures (PD's `maxTSORetryTimes`). @defaultValue 20 */
  readonly maxTsoRetries?: number | undefined;
  /** Pause between `getTimestamp` attempts after the first retry, in ms. @defaultValue 100 */
  readonly tsoRetryIntervalMs?: number | undefined;
  /** Member discovery intervals and retries. */
  readonly discovery?: Omit<ServiceDiscoveryOptions, 'timeoutMs' | 'initTimeoutMs' | 'logger'> | undefined;
  /**
   * The API V2 keyspace whose timestamps the client asks for (PD's `NewClientWithKeyspace`):
   * when PD runs the TSO microservice (its API service mode), timestamps come from the primary
   * of the keyspace's keyspace group, and every TSO request names the keyspace and the group.
   * `NULL_KEYSPACE_ID` (`0xffffffff`) is no keyspace (the default group serves it).
   * @defaultValue NULL_KEYSPACE_ID
   */
  readonly keyspaceId?: number | undefined;
  /**
   * How often PD's service mode (PD serving TSO, or the TSO microservice) is checked, in ms
   * (PD's `serviceModeUpdateInterval`).
   * @defaultValue 3_000
   */
  readonly serviceModeUpdateIntervalMs?: number | undefined;
  /** Keyspace group discovery on the TSO microservice: retries and refresh interval. */
  readonly tsoServiceDiscovery?: TsoServiceDiscoveryOptions | undefined;
  /** Identifies this client in request headers. @defaultValue 'tikv-client-ts' */
  readonly callerId?: string | undefined;
  /** Receives leader changes and failures. @defaultValue silent */
  readonly logger?: Logger | undefined;
}

/** The largest keyspace id (24 bits, PD's `MaxKeyspaceID`). */
export const MAX_KEYSPACE_ID = 0xffffff;

/** Defaults of {@link PdClientOptions}. */
export const DEFAULT_PD_CLIENT_OPTIONS = Object.freeze({
  timeoutMs: 3_000,
  connectTimeoutMs: 20_000,
  maxBackoffMs: 10_000,
  enableRouterClient: true,
  maxQueryRegionBatchSize: 10_000,
  maxTsoRetries: 20,
  tsoRetryIntervalMs: 100,
  callerId: 'tikv-client-ts',
  keyspaceId: 0xffffffff,
  serviceModeUpdateIntervalMs: 3_000,
});

/**
 * {@link PdClientOptions} with their defaults applied (those that configure a part, like
 * `tso` and `discovery`, go to that part as given), and the endpoints as URLs.
 */
export type ResolvedPdClientOptions = Readonly<
  Resolved<
    Omit<PdClientOptions, 'tls' | 'codec' | 'tso' | 'discovery' | 'logger' | 'tsoServiceDiscovery'>
  > & {
    /** The endpoints, normalised to URLs (`https://` by default with TLS). */
    readonly urls: readonly string[];
  }
>;

/**
 * Applies the defaults of {@link PdClientOptions} and checks the values.
 *
 * @param options - the caller's options
 * @returns the frozen options
 * @throws InvalidArgumentError for an empty endpoint list, a malformed endpoint or an
 *   out-of-range value
 */
export function resolvePdClientOptions(options: PdClientOptions): ResolvedPdClientOptions {
  const d = DEFAULT_PD_CLIENT_OPTIONS;
  if (!Array.isArray(options?.endpoints) || options.endpoints.length === 0) {
    throw new InvalidArgumentError(
      `endpoints must be a non-empty array of PD endpoints, got ${JSON.stringify(options?.endpoints)}`,
    );
  }
  const urls = options.endpoints.map((e) => normalizeUrl(e, options.tls !== undefined));
  const o = Object.freeze({
    endpoints: options.endpoints,
    urls,
    timeoutMs: options.timeoutMs ?? d.timeoutMs,
    connectTimeoutMs: options.connectTimeoutMs ?? d.connectTimeoutMs,
    maxBackoffMs: options.maxBackoffMs ?? d.maxBackoffMs,
    enableRouterClient: options.enableRouterClient ?? d.enableRouterClient,
    maxQueryRegionBatchSize: options.maxQueryRegionBatchSize ?? d.maxQueryRegionBatchSize,
    maxTsoRetries: options.maxTsoRetries ?? d.maxTsoRetries,
    tsoRetryIntervalMs: options.tsoRetryIntervalMs ?? d.tsoRetryIntervalMs,
    callerId: options.callerId ?? d.callerId,
    keyspaceId: options.keyspaceId ?? d.keyspaceId,
    serviceModeUpdateIntervalMs: options.serviceModeUpdateIntervalMs ?? d.serviceModeUpdateIntervalMs,
  });
  const k = o.keyspaceId;
  if (!(Number.isInteger(k) && ((k >= 0 && k <= MAX_KEYSPACE_ID) || k === d.keyspaceId))) {
    throw new InvalidArgumentError(
      `keyspaceId must be an integer in [0, ${MAX_KEYSPACE_ID}] or NULL_KEYSPACE_ID (${d.keyspaceId}), got ${k}`,
    );
  }
  if (!(o.serviceModeUpdateIntervalMs > 0)) {
    throw new InvalidArgumentError(
      `serviceModeUpdateIntervalMs must be > 0, got ${o.serviceModeUpdateIntervalMs}`,
    );
  }
  if (!(o.timeoutMs > 0)) throw new InvalidArgumentError(`timeoutMs must be > 0, got ${o.timeoutMs}`);
  if (!(o.connectTimeoutMs > 0)) {
    throw new InvalidArgumentError(`connectTimeoutMs must be > 0, got ${o.connectTimeoutMs}`);
  }
  if (!(o.maxTsoRetries >= 1)) {
    throw new InvalidArgumentError(`maxTsoRetries must be >= 1, got ${o.maxTsoRetries}`);
  }
  return o;
}

/** Options of region lookups. */
export interface RegionCallOptions {
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
  /** Ask PD for the region's buckets too. @defaultValue false */
  readonly needBuckets?: boolean | undefined;
}

/** Options of {@link PdClient.batchScanRegions}. */
export interface BatchScanRegionsOptions extends RegionCallOptions {
  /** PD fails the call unless the regions found cover every range without a hole. @defaultValue false */
  readonly containAllKeyRange?: boolean | undefined;
}

/** Options of {@link PdClient.getAllStores}. */
export interface GetAllStoresOptions {
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
  /** Leave tombstone stores out. @defaultValue false */
  readonly excludeTombstone?: boolean | undefined;
}

/** Options of split and scatter calls. */
export interface RegionsOpOptions {
  readonly signal?: AbortSignal | undefined;
  readonly timeoutMs?: number | undefined;
  /** Scatter group name (regions of a group are spread together). @defaultValue '' */
  readonly group?: string | undefined;
  /** How many times PD retries the operation internally. @defaultValue 0 */
  readonly retryLimit?: number | undefined;
  /** Scatter without the store limit. @defaultValue false */
  readonly skipStoreLimit?: boolean | undefined;
}
