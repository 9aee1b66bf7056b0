import type { Logger, RandomSource } from '@tikv/common';
import type { AccessMode, CachedRegion, RegionMeta, StoreSelector } from './cached-region.js';
import { InvalidReason } from './invalid-reason.js';
import type { SourcePeer } from './region-source.js';
import type { RegionVerId } from './region-ver-id.js';
import { Liveness, ResolveState, type Store } from './store.js';
import type { StoreCache } from './store-cache.js';

/** Which replica serves a read (client-go `kv.ReplicaReadType`). */
export const ReplicaRead = Object.freeze({
  /** The leader. */
  LEADER: 'leader',
  /** A follower, chosen by the seed; the leader when none qualifies. */
  FOLLOWER: 'follower',
  /** Any peer, leader included, chosen by the seed. */
  MIXED: 'mixed',
  /** The leader unless its store is slow, then any other peer. */
  PREFER_LEADER: 'preferLeader',
} as const);
/** One of the {@link ReplicaRead} values. */
export type ReplicaRead = (typeof ReplicaRead)[keyof typeof ReplicaRead];

/** Options of {@link RegionCache.getRpcContext}. */
export interface RpcContextOptions extends StoreSelector {
  /** Which replica to pick. @defaultValue 'leader' */
  readonly replicaRead?: ReplicaRead | undefined;
  /** Spreads follower and mixed reads over peers (any 32-bit number). @defaultValue 0 */
  readonly seed?: number | undefined;
}

/**
 * Everything needed to send one request to a region (client-go `RPCContext`).
 * Hand it back to {@link RegionCache.onSendFail} when sending fails.
 */
export interface RpcContext {
  /** The region version the request is for. */
  readonly region: RegionVerId;
  /** The region's metadata at routing time. */
  readonly meta: RegionMeta;
  /** The peer to send to. */
  readonly peer: SourcePeer;
  /** The peer's access index among the region's TiKV (or TiFlash) peers. */
  readonly accessIdx: number;
  /** The peer's store. */
  readonly store: Store;
  /** The store's address. */
  readonly addr: string;
  /** Whether the peer was picked among TiKV or TiFlash peers. */
  readonly accessMode: AccessMode;
  /** A store to forward through when the leader's store is unreachable (forwarding on). */
  readonly proxyStore: Store | undefined;
  /** The proxy store's address. */
  readonly proxyAddr: string | undefined;
  /** How many TiKV peers the region has for requests. */
  readonly tikvPeerCount: number;
}

/** Options of {@link RegionCache.onSendFail}. */
export interface SendFailOptions {
  /** Reload the region on its next access (every known peer was tried). @defaultValue false */
  readonly scheduleReload?: boolean;
}

/** Options of {@link RegionCache.onRegionEpochNotMatch}. */
export interface EpochNotMatchOptions {
  /** The store that returned the error; its peer becomes the work peer of the new regions. */
  readonly storeId?: bigint;
  /** Whether that store runs TiFlash (then the first electable peer is used instead). */
  readonly fromTiFlash?: boolean;
}

/** What routing needs from the cache. @internal */
export interface RoutingDeps {
  readonly storeCache: StoreCache;
  readonly enableForwarding: boolean;
  readonly random: RandomSource;
  readonly logger: Logger;
}

/**
 * A store's address for routing: resolves a store never resolved, `''` for a tombstone. A
 * resolved store answers synchronously, so the common route costs no extra promise.
 */
function storeAddress(store: Store, storeCache: StoreCache): string | Promise<string> {
  switch (store.resolveState) {
    case ResolveState.RESOLVED:
    case ResolveState.NEED_CHECK:
      return store.address;
    case ResolveState.UNRESOLVED:
      return storeCache.initResolve(store);
    default:
      return '';
  }
}

/** Picks a reachable peer other than the work peer to forward through (client-go `getProxyStore`). */
function proxyStoreOf(
  r: CachedRegion,
  store: Store,
  workIdx: number,
  random: RandomSource,
): Store | undefined {
  if (store.isTiFlash || store.liveness === Liveness.REACHABLE) return undefined;
  const rs = r.rs;
  if (rs.proxyTiKVIdx >= 0) return r.accessStore('tikv', rs.proxyTiKVIdx)[1];
  const n = rs.tikv.length;
  if (n <= 1) return undefined;
  let first = Math.floor(random() * (n - 1));
  if (first >= workIdx) first = (first + 1) % n;
  for (let i = 0; i < n; i++) {
    const idx = (i + first) % n;
    if (idx === workIdx) continue;
    const [, candidate] = r.accessStore('tikv', idx);
    if (candidate.liveness === Liveness.UNREACHABLE) continue;
    rs.proxyTiKVIdx = idx;
    return candidate;
  }
  return undefined;
}

/**
 * Picks the peer for a request to a valid cached region (client-go
 * `GetTiKVRPCContext`). Invalidates the region and answers undefined when its
 * store is gone or failed since the region was built.
 *
 * @internal
 */
export async function routeToPeer(
  r: CachedRegion,
  verId: RegionVerId,
  options: RpcContextOptions,
  deps: RoutingDeps,
): Promise<RpcContext | undefined> {
  if (r.tikvPeerCount === 0) {
    r.invalidate(InvalidReason.STORE_NOT_FOUND);
    return undefined;
  }
  const seed = options.seed ?? 0;
  const replicaRead = options.replicaRead ?? ReplicaRead.LEADER;
  let accessIdx: number;
  switch (replicaRead) {
    case ReplicaRead.FOLLOWER:
      accessIdx = r.followerAccessIndex(seed, options);
      break;
    case ReplicaRead.MIXED:
      accessIdx = r.anyAccessIndex(seed, options);
      break;
    case ReplicaRead.PREFER_LEADER:
      accessIdx = r.anyAccessIndex(seed, { ...options, preferLeader: true });
      break;
    default:
      accessIdx = r.workAccessIndex;
  }
  const [storeIdx, store] = r.accessStore('tikv', accessIdx);
  const resolving = storeAddress(store, deps.storeCache);
  const addr = typeof resolving === 'string' ? resolving : await resolving;
  if (addr === '') {
    r.invalidate(InvalidReason.STORE_NOT_FOUND);
    return undefined;
  }
  if (store.epoch !== r.rs.storeEpochs[storeIdx]) {
    r.invalidate(InvalidReason.OTHER);
    deps.logger.info('invalidate region: another request failed on its store', {
      regionId: verId.id,
      address: store.address,
    });
    return undefined;
  }
  let proxyStore: Store | undefined;
  let proxyAddr: string | undefined;
  if (deps.enableForwarding && replicaRead === ReplicaRead.LEADER) {
    if (store.liveness === Liveness.REACHABLE) {
      r.rs.proxyTiKVIdx = -1;
    } else {
      proxyStore = proxyStoreOf(r, store, accessIdx, deps.random);
      if (proxyStore !== undefined) proxyAddr = await storeAddress(proxyStore, deps.storeCache);
    }
  }
  return {
    region: verId,
    meta: r.meta,
    peer: r.meta.peers[storeIdx] as SourcePeer,
    accessIdx,
    store,
    addr,
    accessMode: 'tikv',
    proxyStore,
    proxyAddr,
    tikvPeerCount: r.tikvPeerCount,
  };
}
