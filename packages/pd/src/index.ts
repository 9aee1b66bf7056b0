/**
 * `@tikv/pd`: the PD client of the TiKV TypeScript client.
 *
 * @packageDocumentation
 */

export {
  ADAPTIVE_BLOCK_RECOVER_THRESHOLD_MS,
  ADAPTIVE_DELAY_BEFORE_RECOVERING_MS,
  ADAPTIVE_RECOVER_PER_SECOND_MS,
  ADAPTIVE_SHRINKING_PRESERVE_MS,
  AdaptiveIntervalState,
  MIN_ADAPTIVE_UPDATE_INTERVAL_MS,
} from './adaptive-update-interval.js';
export type { CallOptions } from './call-options.js';
export {
  type AdvanceGcSafePointResult,
  type AdvanceTxnSafePointResult,
  type ClusterGcStates,
  type GcBarrierInfo,
  type GcState,
  GcStatesClient,
  type GetAllKeyspacesGcStatesOptions,
  type GetGcStateOptions,
  type GlobalGcBarrierInfo,
  isGcBarrierExpired,
  NULL_KEYSPACE_ID,
} from './gc-states-client.js';
export { DEFAULT_KEYSPACE_GROUP_ID } from './keyspace-group-serving.js';
export { TSO_KEYSPACE_GROUP_ID_KEY } from './legacy-tso-discovery.js';
export { LocalOracle, type LocalOracleOptions } from './local-oracle.js';
export {
  type GetMinResolvedTsOptions,
  MIN_RESOLVED_TS_PATH,
  type MinResolvedTs,
} from './min-resolved-ts.js';
export { MAX_INT64, MAX_TS, type Oracle, type ReadTsValidator, type TimestampFuture } from './oracle.js';
export { PdClient } from './pd-client.js';
export {
  type BatchScanRegionsOptions,
  DEFAULT_PD_CLIENT_OPTIONS,
  type GetAllStoresOptions,
  MAX_KEYSPACE_ID,
  type PdClientOptions,
  type PdTlsOptions,
  type RegionCallOptions,
  type RegionsOpOptions,
} from './pd-client-options.js';
export { normalizeUrl } from './pd-endpoint.js';
export { cleanGrpcDetails, errorFromHeader, isRetryablePdError } from './pd-errors.js';
export {
  type GlobalConfigChange,
  GlobalConfigEventType,
  type GlobalConfigItem,
  type GlobalConfigLoadResult,
  type GlobalConfigWatchOptions,
  type GlobalConfigWatchResponse,
  PdGlobalConfig,
} from './pd-global-config.js';
export { type GetAllKeyspacesOptions, PdKeyspaces } from './pd-keyspaces.js';
export {
  type MetaDeleteOptions,
  type MetaEvent,
  MetaEventType,
  type MetaGetOptions,
  type MetaGetResult,
  type MetaKeyValue,
  type MetaPutOptions,
  type MetaPutResult,
  type MetaRangeOptions,
  type MetaWatchOptions,
  type MetaWatchResponse,
  metaPrefixEnd,
  PdMetaStorage,
} from './pd-meta-storage.js';
export { DEFAULT_PD_ORACLE_OPTIONS, PdOracle, type PdOracleOptions } from './pd-oracle.js';
export { PdRegions } from './pd-regions.js';
export {
  DEFAULT_RESOURCE_GROUP,
  type GetResourceGroupOptions,
  PdResourceManager,
  RESOURCE_CONTROLLER_CONFIG_PATH,
  RESOURCE_GROUP_SETTINGS_PREFIX,
  type ResourceGroup,
  type ResourceGroupEvent,
} from './pd-resource-manager.js';
export { type PdDynamicOptions, PdTimestamps, type TsoRoute } from './pd-timestamps.js';
export {
  type KeyRange,
  type OperatorInfo,
  OperatorStatus,
  type PdMember,
  type PdMembers,
  type ScatterRegionsResult,
  type SplitAndScatterRegionsResult,
  type SplitRegionsResult,
} from './pd-types.js';
export {
  NodeState,
  type PeerInfo,
  PeerRole,
  type RegionBuckets,
  type RegionEpoch,
  type RegionInfo,
  type RegionMeta,
  type StoreInfo,
  type StoreLabel,
  StoreState,
} from './region-info.js';
export { IDENTITY_REGION_KEY_CODEC, type RegionKeyCodec } from './region-key-codec.js';
export type { RegionSource } from './region-source.js';
export {
  type KvRequestLike,
  type KvResponseLike,
  kvRequestInfo,
  kvResponseInfo,
  resourceGroupOf,
} from './resource-control/kv-request-info.js';
export {
  LocalTokenBucket,
  type TokenBucketSettings,
  type TokenReservation,
} from './resource-control/local-token-bucket.js';
export {
  costAfterResponse,
  costBeforeRequest,
  DEFAULT_REQUEST_UNIT_CONFIG,
  type KvRequestInfo,
  type KvResponseInfo,
  type RequestUnitConfig,
  type RuConsumption,
} from './resource-control/request-unit-model.js';
export {
  type KvCall,
  type KvInterceptor,
  type ResourceControlInterceptorOptions,
  resourceControlInterceptor,
} from './resource-control/resource-control-interceptor.js';
export {
  DEFAULT_RESOURCE_GROUP_CONTROLLER_OPTIONS,
  ResourceGroupController,
  type ResourceGroupControllerOptions,
  type TokenBucketSource,
} from './resource-control/resource-group-controller.js';
export {
  DC_LABEL_KEY,
  DEFAULT_SAFE_TS_UPDATER_OPTIONS,
  GLOBAL_TXN_SCOPE,
  type SafeTsSource,
  type SafeTsStore,
  SafeTsUpdater,
  type SafeTsUpdaterOptions,
  type StoreSafeTsFetcher,
} from './safe-ts-updater.js';
export {
  DEFAULT_SERVICE_DISCOVERY_OPTIONS,
  type MemberFetcher,
  ServiceDiscovery,
  type ServiceDiscoveryOptions,
} from './service-discovery.js';
export { ServiceMode } from './service-mode-watcher.js';
export type { OracleTimestampSource, TimestampSource } from './timestamp-source.js';
export {
  DEFAULT_TSO_DISPATCHER_OPTIONS,
  MAX_TSO_BATCH_WAIT_MS,
  TsoDispatcher,
  type TsoDispatcherDynamicOptions,
  type TsoDispatcherOptions,
  type TsoDispatcherStats,
} from './tso-dispatcher.js';
export {
  DEFAULT_TSO_SERVICE_DISCOVERY_OPTIONS,
  type TsoServiceDiscoveryOptions,
} from './tso-service-discovery.js';
export type { TsoResult, TsoStream, TsoStreamProvider } from './tso-stream.js';
