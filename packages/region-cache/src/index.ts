/**
 * `@tikv/region-cache`: the region and store cache of the TiKV client.
 *
 * @packageDocumentation
 */

export { MAX_RANGES_PER_BATCH_SCAN } from './batch-locate.js';
export type { AccessMode, RegionMeta, RegionStores, StoreSelector } from './cached-region.js';
export { CachedRegion, isSamePeer, SyncFlag } from './cached-region.js';
export {
  type MissReason,
  REGION_CACHE_INVALIDATE_CHANNEL,
  REGION_CACHE_MISS_CHANNEL,
  REGION_CACHE_STORE_CHANNEL,
  type RegionCacheMissEvent,
  type RegionInvalidateEvent,
  type StoreEvent,
} from './diagnostics.js';
export { InvalidReason } from './invalid-reason.js';
export {
  type Bucket,
  bucketVersion,
  type KeyLocation,
  locateBucket,
  locationContains,
} from './key-location.js';
export { type BatchLocateOptions, REGIONS_PER_BATCH, RegionCache } from './region-cache.js';
export {
  DEFAULT_REGION_CACHE_OPTIONS,
  type RegionCacheOptions,
  type RegionCacheTuning,
} from './region-cache-options.js';
export { LAST_REGION_PROBE_KEY } from './region-loader.js';
export type {
  BatchScanCallOptions,
  RegionSource,
  RegionSourceCallOptions,
  SourceBuckets,
  SourceKeyRange,
  SourcePeer,
  SourcePeerRole,
  SourceRegion,
  SourceRegionEpoch,
  SourceRegionMeta,
  SourceStore,
  SourceStoreLabel,
  SourceStoreState,
} from './region-source.js';
export { formatRegionVerId, type RegionVerId, regionVerIdKey, sameRegionVerId } from './region-ver-id.js';
export {
  type EpochNotMatchOptions,
  ReplicaRead,
  type RpcContext,
  type RpcContextOptions,
  type SendFailOptions,
} from './rpc-context.js';
export {
  type HealthStatusDetail,
  SLOW_SCORE_MAX,
  SLOW_SCORE_THRESHOLD,
  SlowScore,
  StoreHealthStatus,
  TIKV_SLOW_SCORE_THRESHOLD,
} from './slow-score.js';
export { type LabelMatch, Liveness, ResolveState, Store, StoreType, storeTypeFromLabels } from './store.js';
export { type LivenessProbe, StoreCache } from './store-cache.js';
export { peerFromPb, regionMetaFromPb } from './wire.js';
