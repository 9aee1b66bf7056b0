import type {
  CachedRegion,
  EpochNotMatchOptions,
  InvalidReason,
  Liveness,
  RegionVerId,
  RpcContext,
  RpcContextOptions,
  SendFailOptions,
  SourcePeer,
  SourceRegionMeta,
} from '@tikv/region-cache';

/**
 * What the region request sender needs from the region cache (client-go's `RegionCache` as
 * `RegionRequestSender` uses it). `@tikv/region-cache`'s `RegionCache` satisfies it; a test may
 * pass any object of this shape.
 */
export interface RegionLocator {
  /**
   * Where to send a request for this region version; undefined when the region must be
   * reloaded (dropped, expired, its store gone).
   */
  getRpcContext(verId: RegionVerId, options?: RpcContextOptions): Promise<RpcContext | undefined>;
  /** The cached region of exactly this version, valid or not. */
  getCachedRegion(verId: RegionVerId): CachedRegion | undefined;
  /** Takes a NotLeader answer (moves the work peer, or invalidates the region). */
  updateLeader(verId: RegionVerId, leader: SourcePeer | undefined, currentPeerIdx: number): void;
  /**
   * Takes an EpochNotMatch answer; resolves true when the request's epoch is ahead of TiKV's
   * and it may be retried as is.
   */
  onRegionEpochNotMatch(
    verId: RegionVerId,
    currentRegions: readonly SourceRegionMeta[],
    options?: EpochNotMatchOptions,
  ): Promise<boolean>;
  /** Invalidates a cached region version. */
  invalidateRegion(verId: RegionVerId, reason?: InvalidReason): void;
  /** Takes a send failure: bumps the store's epoch (with an error) and moves to the next peer. */
  onSendFail(ctx: RpcContext, err?: unknown, options?: SendFailOptions): void;
  /** Takes a BucketVersionNotMatch answer. */
  onBucketVersionNotMatch(verId: RegionVerId, version: bigint, keys: readonly Uint8Array[]): void;
  /** Invalidates, lazily, every region routed to a store and re-resolves its address. */
  invalidateStore(storeId: bigint): void;
  /**
   * Probes a store a request failed on; one found unreachable is avoided until a background
   * health check finds it back. Optional: without it a failed store is always invalidated.
   */
  checkStoreLiveness?(storeId: bigint): Promise<Liveness>;
  /** Whether leader requests may be forwarded through a follower while the leader is unreachable. */
  readonly forwardingEnabled?: boolean;
}
