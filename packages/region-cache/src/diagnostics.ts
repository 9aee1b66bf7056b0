import { channel } from 'node:diagnostics_channel';
import type { InvalidReason } from './invalid-reason.js';

/** Channel of {@link RegionCacheMissEvent}: a lookup went to the region source. */
export const REGION_CACHE_MISS_CHANNEL = 'tikv:region-cache:miss';
/** Channel of {@link RegionInvalidateEvent}: a cached region was invalidated. */
export const REGION_CACHE_INVALIDATE_CHANNEL = 'tikv:region-cache:invalidate';
/** Channel of {@link StoreEvent}: a store's epoch, address, state or liveness changed. */
export const REGION_CACHE_STORE_CHANNEL = 'tikv:region-cache:store';

/** Why a lookup missed the cache. */
export type MissReason = 'absent' | 'expired' | 'needReload' | 'bucketsStale';

/** Published on `tikv:region-cache:miss`. Keys are never included. */
export interface RegionCacheMissEvent {
  /** What was looked up. */
  readonly lookup: 'key' | 'endKey' | 'id' | 'range';
  /** Why the cache could not answer. */
  readonly reason: MissReason;
  /** The region id, for lookups by id or reloads of a known region. */
  readonly regionId?: bigint;
}

/** Published on `tikv:region-cache:invalidate`. */
export interface RegionInvalidateEvent {
  readonly regionId: bigint;
  readonly confVer: bigint;
  readonly version: bigint;
  readonly reason: InvalidReason;
}

/** Published on `tikv:region-cache:store`. */
export interface StoreEvent {
  readonly storeId: bigint;
  /**
   * `epoch`: a send failure bumped the store's epoch (its regions reload lazily);
   * `tombstone`: the store was removed; `addressChanged`: address or labels changed;
   * `liveness`: reachability changed (see `liveness`).
   */
  readonly event: 'epoch' | 'tombstone' | 'addressChanged' | 'liveness';
  readonly address: string;
  readonly liveness?: string;
}

const missChannel = channel(REGION_CACHE_MISS_CHANNEL);
const invalidateChannel = channel(REGION_CACHE_INVALIDATE_CHANNEL);
const storeChannel = channel(REGION_CACHE_STORE_CHANNEL);

/** @internal */
export function publishMiss(event: () => RegionCacheMissEvent): void {
  if (missChannel.hasSubscribers) missChannel.publish(event());
}

/** @internal */
export function publishInvalidate(event: () => RegionInvalidateEvent): void {
  if (invalidateChannel.hasSubscribers) invalidateChannel.publish(event());
}

/** @internal */
export function publishStore(event: () => StoreEvent): void {
  if (storeChannel.hasSubscribers) storeChannel.publish(event());
}
