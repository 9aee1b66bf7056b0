import {
  checkRequestOptions,
  noopLogger,
  PdError,
  type PdErrorType,
  systemClock,
  withOperationScope,
} from '@tikv/common';
import type { keyspacepb, pdpb } from '@tikv/proto';
import type { CallOptions } from './call-options.js';
import { GcStatesClient, NULL_KEYSPACE_ID } from './gc-states-client.js';
import { createLegacyTsoDiscovery } from './legacy-tso-discovery.js';
import {
  type GetMinResolvedTsOptions,
  type MinResolvedTs,
  minResolvedTsFromJson,
  minResolvedTsPath,
} from './min-resolved-ts.js';
import {
  type BatchScanRegionsOptions,
  type GetAllStoresOptions,
  type PdClientOptions,
  type RegionCallOptions,
  type RegionsOpOptions,
  resolvePdClientOptions,
} from './pd-client-options.js';
import { PdConnections, type PdRpcClient } from './pd-connections.js';
import {
  type GlobalConfigChange,
  type GlobalConfigLoadResult,
  type GlobalConfigWatchOptions,
  type GlobalConfigWatchResponse,
  PdGlobalConfig,
} from './pd-global-config.js';
import { PdHttp } from './pd-http.js';
import { type GetAllKeyspacesOptions, PdKeyspaces } from './pd-keyspaces.js';
import { PdMetaStorage } from './pd-meta-storage.js';
import { PdRegions } from './pd-regions.js';
import { PdResourceManager } from './pd-resource-manager.js';
import { type PdResponse, PdRpcCaller } from './pd-rpc-caller.js';
import { type PdDynamicOptions, PdTimestamps } from './pd-timestamps.js';
import type {
  KeyRange,
  OperatorInfo,
  PdMember,
  PdMembers,
  ScatterRegionsResult,
  SplitAndScatterRegionsResult,
  SplitRegionsResult,
} from './pd-types.js';
import type { RegionInfo, StoreInfo } from './region-info.js';
import { IDENTITY_REGION_KEY_CODEC } from './region-key-codec.js';
import type { RegionSource } from './region-source.js';
import { DEFAULT_SERVICE_DISCOVERY_OPTIONS, ServiceDiscovery } from './service-discovery.js';
import { ServiceMode, ServiceModeWatcher } from './service-mode-watcher.js';
import type { OracleTimestampSource } from './timestamp-source.js';
import type { TsoDispatcherStats } from './tso-dispatcher.js';

/**
 * The PD client (PD's Go `pd.Client` as client-go uses it): member discovery and leader
 * following, and its parts, which share one connection per member and one retry policy:
 *
 * - {@link PdClient.timestamps}: the batched TSO stream and the cluster's timestamps;
 * - {@link PdClient.regions}: region lookups and scans, stores, split and scatter;
 * - {@link PdClient.keyspaces}: keyspace metadata;
 * - {@link PdClient.gcStates}: the GC states API of a keyspace;
 * - {@link PdClient.metaStorage}: PD's etcd key-value store (get, put, delete, watch);
 * - {@link PdClient.globalConfig}: the global config items under `/global/config/`;
 * - {@link PdClient.resourceManager}: resource groups and their RU token buckets.
 *
 * Every call of a part but the meta storage's and the resource manager's is also a method of the client
 * (`client.getTimestamp()` is `client.timestamps.getTimestamp()`). The client is a `RegionSource` (region cache) and an
 * {@link OracleTimestampSource} (oracle); a consumer that needs only fresh timestamps declares
 * a `TimestampSource` and takes the client, its `timestamps`, or an oracle.
 *
 * @example
 * ```ts
 * const pd = await PdClient.connect({ endpoints: ['127.0.0.1:2379'] });
 * const ts = await pd.getTimestamp();
 * const region = await pd.regions.getRegion(new TextEncoder().encode('k'));
 * await pd.close();
 * ```
 */
export class PdClient implements RegionSource, OracleTimestampSource {
  /** Fresh timestamps (the batched TSO stream) and the cluster's minimum and external timestamps. */
  readonly timestamps: PdTimestamps;
  /** Region lookups and scans, stores, and the split/scatter/operator calls. */
  readonly regions: PdRegions;
  /** Keyspace metadata (a `KeyspaceSource` of `@tikv/keyspace`). */
  readonly keyspaces: PdKeyspaces;
  /** PD's meta storage: its etcd key-value store, read, written and watched. */
  readonly metaStorage: PdMetaStorage;
  /** Global config items (load, store, watch). */
  readonly globalConfig: PdGlobalConfig;
  /** PD's resource manager: resource groups and their token buckets. */
  readonly resourceManager: PdResourceManager;
  readonly #discovery: ServiceDiscovery;
  readonly #connections: PdConnections;
  readonly #caller: PdRpcCaller;
  readonly #http: PdHttp;
  readonly #serviceMode: ServiceModeWatcher;
  readonly #tsoConnections: PdConnections;
  readonly #initRetry: { readonly maxInitRetries: number; readonly initRetryIntervalMs: number };
  readonly #connectTimeoutMs: number;

  private constructor(options: PdClientOptions) {
    const o = resolvePdClientOptions(options);
    const logger = options.logger ?? noopLogger;
    const clock = systemClock;
    const connections = new PdConnections(options.tls);
    this.#connections = connections;
    this.#http = new PdHttp(options.tls);
    const discovery = new ServiceDiscovery(
      o.urls,
      (url, signal) => connections.get(url).getMembers({ header: this.#caller.header() }, { signal }),
      {
        ...options.discovery,
        timeoutMs: o.timeoutMs,
        initTimeoutMs: o.connectTimeoutMs,
        logger,
      },
    );
    this.#discovery = discovery;
    const caller = new PdRpcCaller({
      discovery,
      connections,
      timeoutMs: o.timeoutMs,
      maxBackoffMs: o.maxBackoffMs,
      callerId: o.callerId,
      logger,
      clock,
    });
    this.#caller = caller;
    this.#connectTimeoutMs = o.connectTimeoutMs;
    this.#initRetry = {
      maxInitRetries: options.discovery?.maxInitRetries ?? DEFAULT_SERVICE_DISCOVERY_OPTIONS.maxInitRetries,
      initRetryIntervalMs:
        options.discovery?.initRetryIntervalMs ?? DEFAULT_SERVICE_DISCOVERY_OPTIONS.initRetryIntervalMs,
    };
    const serviceMode = new ServiceModeWatcher(
      (signal) =>
        connections.get(discovery.leaderUrl).getClusterInfo({ header: caller.header() }, { signal }),
      {
        intervalMs: o.serviceModeUpdateIntervalMs,
        timeoutMs: o.timeoutMs,
        clock,
        logger,
        onCheckFailed: () => discovery.scheduleCheckMemberChanged(),
      },
    );
    this.#serviceMode = serviceMode;
    const tsoConnections = new PdConnections(options.tls);
    this.#tsoConnections = tsoConnections;
    const keyspaceId = o.keyspaceId;
    const hasKeyspace = keyspaceId !== NULL_KEYSPACE_ID;
    this.timestamps = new PdTimestamps({
      caller,
      discovery,
      connections,
      tso: options.tso,
      timeoutMs: o.timeoutMs,
      maxTsoRetries: o.maxTsoRetries,
      tsoRetryIntervalMs: o.tsoRetryIntervalMs,
      logger,
      clock,
      serviceMode,
      tsoService: {
        clusterId: () => discovery.clusterId,
        keyspaceId,
        connections: tsoConnections,
        tsoServerUrls: (signal) => serviceMode.tsoServerUrls(signal),
        legacy: createLegacyTsoDiscovery({
          clusterId: () => discovery.clusterId,
          keyspaceId: hasKeyspace ? keyspaceId : undefined,
          isApiServiceMode: async (signal) => {
            await serviceMode.check(signal);
            return serviceMode.mode === ServiceMode.API;
          },
          keyspaceConfig: async (id, signal) => {
            try {
              return (await this.keyspaces.loadKeyspaceById(id, { signal })).config;
            } catch (e) {
              // A keyspace PD does not know has no group assignment (PD's client: no meta, no config).
              if (e instanceof PdError && e.pdErrorType === 'ENTRY_NOT_FOUND') return {};
              throw e;
            }
          },
          metaGet: async (key, signal) =>
            (await this.metaStorage.get(key, { signal })).kvs.map((kv) => kv.value),
        }),
        random: Math.random,
        discovery: options.tsoServiceDiscovery,
      },
    });
    this.regions = new PdRegions({
      caller,
      discovery,
      connections,
      codec: options.codec ?? IDENTITY_REGION_KEY_CODEC,
      tls: options.tls !== undefined,
      enableRouterClient: o.enableRouterClient,
      maxQueryRegionBatchSize: o.maxQueryRegionBatchSize,
      timeoutMs: o.timeoutMs,
      logger,
      clock,
    });
    this.keyspaces = new PdKeyspaces(caller);
    this.metaStorage = new PdMetaStorage(caller);
    this.globalConfig = new PdGlobalConfig(caller);
    this.resourceManager = new PdResourceManager(caller, this.metaStorage, () => discovery.leaderUrl);
    discovery.onMembersChange((u) => connections.retain(u));
  }

  /**
   * Connects to a PD cluster: learns the cluster id and the leader from any endpoint,
   * retrying as PD's client does (every `discovery.initRetryIntervalMs`) for up to
   * `connectTimeoutMs`, and starts following the leader.
   *
   * @throws InvalidArgumentError for a malformed endpoint or option (before any network call)
   * @throws PdUnreachableError (`PD_UNREACHABLE`) when no endpoint answered within
   *   `connectTimeoutMs`, with the endpoints tried and the last failure as `cause`
   * @throws DeadlineExceededError when `call.timeoutMs` ended it first; its `cause` is that
   *   `PdUnreachableError`
   */
  static async connect(options: PdClientOptions, call?: CallOptions): Promise<PdClient> {
    checkRequestOptions(call, 'call');
    const client = new PdClient(options);
    try {
      await client.#discovery.init(call);
      await client.#initServiceMode(call);
    } catch (e) {
      await client.close();
      throw e;
    }
    return client;
  }

  /**
   * Learns PD's service mode before the first timestamp, retrying as PD's client does
   * (`initRetry`), then follows it every `serviceModeUpdateIntervalMs`.
   */
  async #initServiceMode(call: CallOptions | undefined): Promise<void> {
    const budget = { signal: call?.signal, timeoutMs: call?.timeoutMs ?? this.#connectTimeoutMs };
    await withOperationScope(budget, {}, async (scope) => {
      const signal = scope.signal as AbortSignal;
      for (let attempt = 1; ; attempt++) {
        try {
          await this.#serviceMode.check(signal);
          break;
        } catch (e) {
          if (signal.aborted || attempt >= this.#initRetry.maxInitRetries) throw e;
        }
        await systemClock.sleep(this.#initRetry.initRetryIntervalMs, signal);
      }
    });
    this.#serviceMode.start();
  }

  /** PD's service mode: `PD` (PD serves TSO) or `API` (PD's TSO microservice does). */
  get serviceMode(): ServiceMode {
    return this.#serviceMode.mode;
  }

  /** The cluster id. */
  get clusterId(): bigint {
    return this.#discovery.clusterId;
  }

  /** The current PD leader URL. */
  get leaderUrl(): string {
    return this.#discovery.leaderUrl;
  }

  /** TSO batching counters: `timestamps / rpcs` is the batching ratio. */
  get tsoStats(): TsoDispatcherStats {
    return this.timestamps.stats;
  }

  /** `QueryRegion` requests sent so far (0 when the router client is off). */
  get queryRegionRequests(): number {
    return this.regions.queryRegionRequests;
  }

  /** Registers a listener for leader switches; returns the function that unregisters it. */
  onLeaderChange(listener: (url: string) => void): () => void {
    return this.#discovery.onLeaderChange(listener);
  }

  /**
   * Changes options while the client runs (PD's `UpdateOption`): the TSO options of
   * {@link PdTimestamps.updateOptions}, and `enableFollowerHandle` for unary region lookups
   * ({@link PdRegions.setFollowerHandle}).
   *
   * @throws InvalidArgumentError for a TSO concurrency below 1 or a batch wait outside [0, 10] ms
   */
  updateOptions(options: PdDynamicOptions): void {
    this.timestamps.updateOptions(options);
    if (options.enableFollowerHandle !== undefined)
      this.regions.setFollowerHandle(options.enableFollowerHandle);
  }

  /** Every PD member and the leader (PD's `GetAllMembers`), asked of the leader. */
  async getAllMembers(options?: CallOptions): Promise<PdMembers> {
    const resp = await this.#caller.call('GetMembers', options, (rpc, signal) =>
      rpc.getMembers({ header: this.#caller.header() }, { signal }),
    );
    const member = (m: pdpb.Member | undefined): PdMember | undefined =>
      m === undefined
        ? undefined
        : { name: m.name, memberId: m.memberId, clientUrls: m.clientUrls, peerUrls: m.peerUrls };
    return {
      members: resp.members.map((m) => member(m) as PdMember),
      leader: member(resp.leader),
      etcdLeader: member(resp.etcdLeader),
    };
  }

  /** {@inheritDoc PdTimestamps.getTimestamp} */
  getTimestamp(options?: CallOptions): Promise<bigint> {
    return this.timestamps.getTimestamp(options);
  }

  /** {@inheritDoc PdTimestamps.getMinTimestamp} */
  getMinTimestamp(options?: CallOptions): Promise<bigint> {
    return this.timestamps.getMinTimestamp(options);
  }

  /** {@inheritDoc PdTimestamps.getExternalTimestamp} */
  getExternalTimestamp(options?: CallOptions): Promise<bigint> {
    return this.timestamps.getExternalTimestamp(options);
  }

  /** {@inheritDoc PdTimestamps.setExternalTimestamp} */
  setExternalTimestamp(ts: bigint, options?: CallOptions): Promise<void> {
    return this.timestamps.setExternalTimestamp(ts, options);
  }

  /** {@inheritDoc PdRegions.getRegion} */
  getRegion(key: Uint8Array, options?: RegionCallOptions): Promise<RegionInfo | undefined> {
    return this.regions.getRegion(key, options);
  }

  /** {@inheritDoc PdRegions.getPrevRegion} */
  getPrevRegion(key: Uint8Array, options?: RegionCallOptions): Promise<RegionInfo | undefined> {
    return this.regions.getPrevRegion(key, options);
  }

  /** {@inheritDoc PdRegions.getRegionById} */
  getRegionById(regionId: bigint, options?: RegionCallOptions): Promise<RegionInfo | undefined> {
    return this.regions.getRegionById(regionId, options);
  }

  /** {@inheritDoc PdRegions.scanRegions} */
  scanRegions(
    startKey: Uint8Array,
    endKey: Uint8Array,
    limit: number,
    options?: CallOptions,
  ): Promise<RegionInfo[]> {
    return this.regions.scanRegions(startKey, endKey, limit, options);
  }

  /** {@inheritDoc PdRegions.batchScanRegions} */
  batchScanRegions(
    ranges: readonly KeyRange[],
    limit: number,
    options?: BatchScanRegionsOptions,
  ): Promise<RegionInfo[]> {
    return this.regions.batchScanRegions(ranges, limit, options);
  }

  /** {@inheritDoc PdRegions.getStore} */
  getStore(storeId: bigint, options?: CallOptions): Promise<StoreInfo | undefined> {
    return this.regions.getStore(storeId, options);
  }

  /** {@inheritDoc PdRegions.getAllStores} */
  getAllStores(options?: GetAllStoresOptions): Promise<StoreInfo[]> {
    return this.regions.getAllStores(options);
  }

  /** {@inheritDoc PdRegions.splitRegions} */
  splitRegions(splitKeys: readonly Uint8Array[], options?: RegionsOpOptions): Promise<SplitRegionsResult> {
    return this.regions.splitRegions(splitKeys, options);
  }

  /** {@inheritDoc PdRegions.scatterRegion} */
  scatterRegion(regionId: bigint, options?: RegionsOpOptions): Promise<ScatterRegionsResult> {
    return this.regions.scatterRegion(regionId, options);
  }

  /** {@inheritDoc PdRegions.scatterRegions} */
  scatterRegions(regionIds: readonly bigint[], options?: RegionsOpOptions): Promise<ScatterRegionsResult> {
    return this.regions.scatterRegions(regionIds, options);
  }

  /** {@inheritDoc PdRegions.splitAndScatterRegions} */
  splitAndScatterRegions(
    splitKeys: readonly Uint8Array[],
    options?: RegionsOpOptions,
  ): Promise<SplitAndScatterRegionsResult> {
    return this.regions.splitAndScatterRegions(splitKeys, options);
  }

  /** {@inheritDoc PdRegions.getRegionFromMember} */
  getRegionFromMember(
    key: Uint8Array,
    memberUrls: readonly string[],
    options?: CallOptions,
  ): Promise<RegionInfo | undefined> {
    return this.regions.getRegionFromMember(key, memberUrls, options);
  }

  /** {@inheritDoc PdRegions.getOperator} */
  getOperator(regionId: bigint, options?: CallOptions): Promise<OperatorInfo> {
    return this.regions.getOperator(regionId, options);
  }

  /** {@inheritDoc PdKeyspaces.loadKeyspace} */
  loadKeyspace(name: string, options?: CallOptions): Promise<keyspacepb.KeyspaceMeta> {
    return this.keyspaces.loadKeyspace(name, options);
  }

  /** {@inheritDoc PdKeyspaces.updateKeyspaceState} */
  updateKeyspaceState(
    id: number,
    state: keyspacepb.KeyspaceState,
    options?: CallOptions,
  ): Promise<keyspacepb.KeyspaceMeta> {
    return this.keyspaces.updateKeyspaceState(id, state, options);
  }

  /** {@inheritDoc PdKeyspaces.getAllKeyspaces} */
  getAllKeyspaces(options?: GetAllKeyspacesOptions): Promise<keyspacepb.KeyspaceMeta[]> {
    return this.keyspaces.getAllKeyspaces(options);
  }

  /** {@inheritDoc PdKeyspaces.watchKeyspaces} */
  watchKeyspaces(options?: CallOptions): AsyncGenerator<keyspacepb.KeyspaceMeta[], void, undefined> {
    return this.keyspaces.watchKeyspaces(options);
  }

  /** {@inheritDoc PdKeyspaces.loadKeyspaceById} */
  loadKeyspaceById(id: number, options?: CallOptions): Promise<keyspacepb.KeyspaceMeta> {
    return this.keyspaces.loadKeyspaceById(id, options);
  }

  /**
   * The min resolved ts from PD's HTTP API (`/pd/api/v1/min-resolved-ts` on the leader's client
   * URL; PD has no gRPC call for it), as PD's Go HTTP client `GetMinResolvedTSByStoresIDs`
   * reads it: the cluster's, or with `storeIds` each store's and their minimum. Retried like
   * other PD calls on transport failures and 5xx answers.
   *
   * @throws PdError `UNKNOWN` "min resolved ts is not enabled" when PD does not keep it
   * @throws RpcError for an HTTP refusal (4xx) or when PD stays unreachable
   */
  async getMinResolvedTs(options?: GetMinResolvedTsOptions): Promise<MinResolvedTs> {
    const path = minResolvedTsPath(options?.storeIds);
    const body = await this.#caller.retry('GetMinResolvedTS', options, (signal) =>
      this.#http.get(this.#discovery.leaderUrl, path, signal),
    );
    return minResolvedTsFromJson(body);
  }

  /** {@inheritDoc PdGlobalConfig.load} */
  loadGlobalConfig(
    names: readonly string[],
    configPath: string,
    options?: CallOptions,
  ): Promise<GlobalConfigLoadResult> {
    return this.globalConfig.load(names, configPath, options);
  }

  /** {@inheritDoc PdGlobalConfig.store} */
  storeGlobalConfig(
    configPath: string,
    changes: readonly GlobalConfigChange[],
    options?: CallOptions,
  ): Promise<void> {
    return this.globalConfig.store(configPath, changes, options);
  }

  /** {@inheritDoc PdGlobalConfig.watch} */
  watchGlobalConfig(
    configPath: string,
    options?: GlobalConfigWatchOptions,
  ): AsyncGenerator<GlobalConfigWatchResponse, void, undefined> {
    return this.globalConfig.watch(configPath, options);
  }

  /**
   * The GC states API bound to one keyspace (PD's `GCStatesClient` and `InternalController`):
   * txn and GC safe points, GC barriers and global GC barriers.
   *
   * @param keyspaceId - the keyspace; {@link NULL_KEYSPACE_ID} (the default) for unified GC.
   *   A keyspace without keyspace-level GC is served from the unified state by the user calls,
   *   and refused by the advance calls.
   */
  gcStates(keyspaceId: number = NULL_KEYSPACE_ID): GcStatesClient {
    return new GcStatesClient(this.#caller, keyspaceId);
  }

  /** Closes the client: pending calls reject with `CLIENT_CLOSED`. */
  async close(): Promise<void> {
    if (this.#caller.closed) return;
    this.#caller.close();
    await this.timestamps.close();
    await this.#serviceMode.close();
    this.#tsoConnections.close();
    this.regions.close();
    this.resourceManager.close();
    await this.#discovery.close();
    this.#connections.close();
    this.#http.close();
  }

  /** The request header of this client. @internal */
  header(): pdpb.RequestHeader {
    return this.#caller.header();
  }

  /**
   * One PD unary call on the leader with the client's retry policy (see {@link PdRpcCaller.call}).
   *
   * @internal
   */
  call<T extends PdResponse>(
    what: string,
    options: CallOptions | undefined,
    fn: (rpc: PdRpcClient, signal: AbortSignal) => Promise<T>,
    retryableHeaderTypes?: ReadonlySet<PdErrorType>,
  ): Promise<T> {
    return this.#caller.call(what, options, fn, retryableHeaderTypes);
  }
}
