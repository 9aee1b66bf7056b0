import type { Clock, Logger, TlsOptions } from '@tikv/common';
import type { ApiVersion, KeyMode } from '@tikv/keyspace';
import type { PdClientOptions } from '@tikv/pd';
import type { RegionCacheOptions } from '@tikv/region-cache';
import type { RegionRequestSenderOptions, TransportOptions } from '@tikv/rpc';

/**
 * How to reach a TiKV cluster: what `RawClient.connect` and `TransactionClient.connect` take
 * besides their own tuning.
 */
export interface ClusterOptions {
  /** PD endpoints, `host:port` or URLs; any one member is enough to find the others. */
  readonly pdEndpoints: readonly string[];
  /** The cluster's API version (TiKV's `storage.api-version`). @defaultValue 'V1' */
  readonly apiVersion?: ApiVersion | undefined;
  /** Keyspace name (API V2 only). @defaultValue '' (the `DEFAULT` keyspace in V2) */
  readonly keyspace?: string | undefined;
  /** TLS for PD and TiKV alike. @defaultValue plaintext */
  readonly tls?: TlsOptions | undefined;
  /** More PD client options. */
  readonly pd?: Omit<PdClientOptions, 'endpoints' | 'codec' | 'tls' | 'logger'> | undefined;
  /** More region cache options. */
  readonly regionCache?: Omit<RegionCacheOptions, 'clock' | 'logger'> | undefined;
  /** More transport (gRPC and `BatchCommands`) options. */
  readonly transport?: Omit<TransportOptions, 'tls' | 'clock' | 'logger'> | undefined;
  /** More region request sender options: the attempt timeout, interceptors, randomness. */
  readonly sender?: Pick<RegionRequestSenderOptions, 'rpcTimeoutMs' | 'interceptors' | 'random'> | undefined;
  /** Time source of the region cache, the transport and the sender. @defaultValue the system clock */
  readonly clock?: Clock | undefined;
  /** Receives debug lines of every piece; never keys, values or TLS material. @defaultValue silent */
  readonly logger?: Logger | undefined;
}

/** Options of {@link connectCluster}: the cluster and the key mode of the client. */
export interface ConnectClusterOptions extends ClusterOptions {
  /**
   * Which key space the client speaks (`KeyMode.RAW` or `KeyMode.TXN`): in API V2 it picks the
   * keyspace prefix (`r` or `x`) of every key and region boundary.
   */
  readonly keyMode: KeyMode;
}
