import type { Logger } from '@tikv/common';
import { type CachedRegion, SyncFlag } from './cached-region.js';
import { InvalidReason } from './invalid-reason.js';
import type { SourcePeer } from './region-source.js';
import type { RpcContext, SendFailOptions } from './rpc-context.js';
import type { StoreCache } from './store-cache.js';

/**
 * Takes a NotLeader answer for a cached region (client-go `UpdateLeader`): with a leader hint
 * the work peer moves to it (the region is invalidated when it has no such peer); without one
 * the next peer is tried.
 *
 * @param r - the cached region the request was for
 * @param leader - the new leader from the error, if any
 * @param currentPeerIdx - the access index the request went to
 * @param logger - receives what was decided
 * @internal
 */
export function applyNotLeader(
  r: CachedRegion,
  leader: SourcePeer | undefined,
  currentPeerIdx: number,
  logger: Logger,
): void {
  if (leader === undefined) {
    r.switchNextTiKVPeer(currentPeerIdx);
    logger.info('NotLeader without a leader, trying the next peer', { regionId: r.id });
    return;
  }
  if (!r.switchWorkLeaderToPeer(leader)) {
    logger.info('NotLeader names a peer the cache does not know, invalidating', {
      regionId: r.id,
      leaderStoreId: leader.storeId,
    });
    r.invalidate(InvalidReason.STORE_NOT_FOUND);
  }
}

/**
 * Takes a failure to send to a cached region's peer (client-go `OnSendFail`). With an error,
 * the store's epoch is bumped (see {@link StoreCache.bumpEpoch}); either way the region moves
 * on to its next peer, unless its peers changed since the request was routed.
 *
 * @param r - the cached region the request was for
 * @param ctx - the context the request was sent with
 * @param err - the transport error (undefined: the peer answered but cannot serve)
 * @param options - `scheduleReload` to reload the region on its next access
 * @param storeCache - the stores
 * @param logger - receives what was decided
 * @internal
 */
export function applySendFail(
  r: CachedRegion,
  ctx: RpcContext,
  err: unknown,
  options: SendFailOptions,
  storeCache: StoreCache,
  logger: Logger,
): void {
  if (ctx.meta.peers.length !== r.meta.peers.length) {
    logger.info('peers changed since the request was routed; nothing to switch', {
      regionId: ctx.region.id,
    });
    return;
  }
  if (err !== undefined && err !== null) {
    const [storeIdx, store] = r.accessStore(ctx.accessMode, ctx.accessIdx);
    storeCache.bumpEpoch(store, r.rs.storeEpochs[storeIdx] ?? store.epoch);
  }
  if (ctx.accessMode === 'tikv') r.switchNextTiKVPeer(ctx.accessIdx);
  else r.switchNextTiFlashPeer(ctx.accessIdx);
  if (options.scheduleReload === true) r.setSyncFlags(SyncFlag.NEED_RELOAD_ON_ACCESS);
}
