import { compareKeys, keyToLatin1 } from '@tikv/common';
import { publishInvalidate } from './diagnostics.js';
import { InvalidReason } from './invalid-reason.js';
import type { KeyLocation } from './key-location.js';
import type { SourceBuckets, SourcePeer, SourceRegionEpoch } from './region-source.js';
import type { RegionVerId } from './region-ver-id.js';
import { type LabelMatch, Liveness, type Store } from './store.js';

/** A cached region's metadata; `peers` holds only the peers requests may go to. */
export interface RegionMeta {
  readonly id: bigint;
  readonly startKey: Uint8Array;
  readonly endKey: Uint8Array;
  readonly epoch: SourceRegionEpoch;
  readonly peers: readonly SourcePeer[];
}

/** Bits of {@link CachedRegion.syncFlags}. @internal */
export const SyncFlag = Object.freeze({
  /** Reload the region on its next access. */
  NEED_RELOAD_ON_ACCESS: 1,
  /** Let the region expire after its TTL even when it keeps being accessed. */
  NEED_EXPIRE_AFTER_TTL: 2,
  /** Reload later: the next sweep turns this into NEED_DELAYED_RELOAD_READY. */
  NEED_DELAYED_RELOAD_PENDING: 4,
  /** Reload on the next access (set by the sweep). */
  NEED_DELAYED_RELOAD_READY: 8,
} as const);

/** Which peers a selection considers: TiKV or TiFlash ones. */
export type AccessMode = 'tikv' | 'tiflash';

/** Filters for follower and mixed reads (client-go `storeSelectorOp`). */
export interface StoreSelector {
  /** Only stores carrying all these labels. */
  readonly labels?: LabelMatch;
  /** Only these stores. */
  readonly storeIds?: readonly bigint[];
  /** Always the work (leader) peer. */
  readonly leaderOnly?: boolean;
  /** Prefer the leader unless its store is slow. */
  readonly preferLeader?: boolean;
}

/** Region TTL rules. @internal */
export interface TtlPolicy {
  readonly ttlMs: number;
  nextTtl(nowMs: number): number;
}

/**
 * The per-region routing state: the stores of the available peers (in peer
 * order), the store epochs seen when the region was built, which peers are
 * TiKV and TiFlash, and the current work (leader) peer.
 * @internal
 */
export interface RegionStores {
  readonly stores: readonly Store[];
  readonly storeEpochs: number[];
  /** Indexes into `stores` of the TiKV peers. An access index indexes this array. */
  readonly tikv: readonly number[];
  /** Indexes into `stores` of the TiFlash peers. */
  readonly tiflash: readonly number[];
  workTiKVIdx: number;
  proxyTiKVIdx: number;
  workTiFlashIdx: number;
  buckets: SourceBuckets | undefined;
  readonly pendingPeers: readonly SourcePeer[];
  readonly downPeers: readonly SourcePeer[];
}

/** Whether two peers are the same peer (same id and store). */
export function isSamePeer(a: SourcePeer | undefined, b: SourcePeer | undefined): boolean {
  return a !== undefined && b !== undefined && a.id === b.id && a.storeId === b.storeId;
}

const EXPIRED_TTL = Number.NEGATIVE_INFINITY;

/**
 * A region in the cache (client-go `Region`): immutable metadata plus the
 * routing state, the TTL, the reload flags and the reason it was invalidated.
 */
export class CachedRegion {
  /** The region's metadata (available peers only). */
  readonly meta: RegionMeta;
  /** The region version this object describes. */
  readonly verId: RegionVerId;
  /** @internal routing state */
  readonly rs: RegionStores;
  /** @internal clock milliseconds after which the region is expired */
  ttlMs: number;
  /** @internal {@link SyncFlag} bits */
  syncFlags = 0;
  /** Why the region was invalidated (`ok` while valid). */
  invalidReason: InvalidReason = InvalidReason.OK;
  /** @internal the start key as a Latin-1 string (index key) */
  readonly startStr: string;
  /** @internal the end key as a Latin-1 string ('' = +infinity) */
  readonly endStr: string;
  private loc: KeyLocation | undefined;

  /** @internal */
  constructor(meta: RegionMeta, rs: RegionStores, ttlMs: number) {
    this.meta = meta;
    this.rs = rs;
    this.ttlMs = ttlMs;
    this.verId = { id: meta.id, confVer: meta.epoch.confVer, version: meta.epoch.version };
    this.startStr = keyToLatin1(meta.startKey);
    this.endStr = keyToLatin1(meta.endKey);
  }

  /** The region id. */
  get id(): bigint {
    return this.meta.id;
  }

  /** Inclusive start key. */
  get startKey(): Uint8Array {
    return this.meta.startKey;
  }

  /** Exclusive end key (empty: +infinity). */
  get endKey(): Uint8Array {
    return this.meta.endKey;
  }

  /** The region's buckets, if known. */
  get buckets(): SourceBuckets | undefined {
    return this.rs.buckets;
  }

  /** The region's location (one object, reused until the buckets change). */
  location(): KeyLocation {
    if (this.loc === undefined) {
      this.loc = Object.freeze({
        region: this.verId,
        startKey: this.meta.startKey,
        endKey: this.meta.endKey,
        buckets: this.rs.buckets,
      });
    }
    return this.loc;
  }

  /** @internal replaces the buckets */
  setBuckets(buckets: SourceBuckets | undefined): void {
    this.rs.buckets = buckets;
    this.loc = undefined;
  }

  /** The stores of the available peers, in peer order. */
  get stores(): readonly Store[] {
    return this.rs.stores;
  }

  /** Index into `meta.peers` of the current work (leader) TiKV peer. */
  get workPeerIndex(): number {
    return this.rs.tikv[this.rs.workTiKVIdx] ?? 0;
  }

  /** The access index (among TiKV peers) of the current work peer. */
  get workAccessIndex(): number {
    return this.rs.workTiKVIdx;
  }

  /** The current work (leader) peer. */
  get leaderPeer(): SourcePeer | undefined {
    return this.meta.peers[this.workPeerIndex];
  }

  /** The store of the current work peer. */
  get leaderStore(): Store | undefined {
    return this.rs.stores[this.workPeerIndex];
  }

  /** How many TiKV peers requests may go to. */
  get tikvPeerCount(): number {
    return this.rs.tikv.length;
  }

  /** Peers the source reported down (already left out of `meta.peers`). */
  get downPeers(): readonly SourcePeer[] {
    return this.rs.downPeers;
  }

  /** Peers the source reported pending. */
  get pendingPeers(): readonly SourcePeer[] {
    return this.rs.pendingPeers;
  }

  /**
   * Whether `startKey <= key < endKey` (an empty end is +infinity).
   *
   * @param key - the key
   * @returns true when the region holds the key
   */
  contains(key: Uint8Array): boolean {
    return (
      compareKeys(key, this.meta.startKey) >= 0 &&
      (this.meta.endKey.length === 0 || compareKeys(key, this.meta.endKey) < 0)
    );
  }

  /**
   * Whether the region holds the greatest key below `key`: `startKey < key <= endKey`.
   * An empty `key` means +infinity and only the last region holds it.
   *
   * @param key - an exclusive end key
   * @returns true when the region ends the range that ends at `key`
   */
  containsByEnd(key: Uint8Array): boolean {
    if (key.length === 0) return this.meta.endKey.length === 0;
    return (
      compareKeys(this.meta.startKey, key) < 0 &&
      (this.meta.endKey.length === 0 || compareKeys(key, this.meta.endKey) <= 0)
    );
  }

  /** @internal */
  isCacheTtlExpired(nowMs: number): boolean {
    return nowMs > this.ttlMs;
  }

  /**
   * Checks the TTL and, on access, extends it.
   * @returns false when the region has expired
   * @internal
   */
  checkRegionCacheTtl(nowMs: number, policy: TtlPolicy): boolean {
    if (nowMs > this.ttlMs) return false;
    if (this.checkSyncFlags(SyncFlag.NEED_EXPIRE_AFTER_TTL) || this.ttlMs > nowMs + policy.ttlMs) return true;
    this.ttlMs = policy.nextTtl(nowMs);
    return true;
  }

  /**
   * Whether the region may serve requests: not marked for reload and not expired.
   * @internal
   */
  isValid(nowMs: number, policy: TtlPolicy): boolean {
    return !this.checkSyncFlags(SyncFlag.NEED_RELOAD_ON_ACCESS) && this.checkRegionCacheTtl(nowMs, policy);
  }

  /**
   * Invalidates the region: the next lookup reloads it. Only the first reason sticks.
   *
   * @param reason - why
   * @returns true when this call invalidated it
   */
  invalidate(reason: InvalidReason): boolean {
    if (this.invalidReason !== InvalidReason.OK) return false;
    this.invalidReason = reason;
    this.ttlMs = EXPIRED_TTL;
    publishInvalidate(() => ({
      regionId: this.meta.id,
      confVer: this.verId.confVer,
      version: this.verId.version,
      reason,
    }));
    return true;
  }

  /** @internal */
  checkSyncFlags(flags: number): boolean {
    return (this.syncFlags & flags) !== 0;
  }

  /** @internal */
  setSyncFlags(flags: number): void {
    this.syncFlags |= flags;
  }

  /**
   * Clears flags.
   * @returns the flags that were set among those cleared
   * @internal
   */
  resetSyncFlags(flags: number): number {
    const was = this.syncFlags & flags;
    this.syncFlags &= ~flags;
    return was;
  }

  /** @internal the store index and store behind an access index */
  accessStore(mode: AccessMode, accessIdx: number): [number, Store] {
    const list = mode === 'tikv' ? this.rs.tikv : this.rs.tiflash;
    const storeIdx = list[accessIdx] ?? 0;
    return [storeIdx, this.rs.stores[storeIdx] as Store];
  }

  /** @internal the access index of a store, or -1 */
  accessIndexOf(mode: AccessMode, store: Store): number {
    const list = mode === 'tikv' ? this.rs.tikv : this.rs.tiflash;
    return list.findIndex((storeIdx) => this.rs.stores[storeIdx]?.id === store.id);
  }

  /** @internal */
  isStoreEpochCurrent(storeIdx: number): boolean {
    return this.rs.storeEpochs[storeIdx] === this.rs.stores[storeIdx]?.epoch;
  }

  private isCandidate(accessIdx: number, op: StoreSelector): boolean {
    const [, s] = this.accessStore('tikv', accessIdx);
    return (
      s.isLabelsMatch(op.labels) &&
      s.isStoreMatch(op.storeIds) &&
      (op.preferLeader !== true || (accessIdx === this.rs.workTiKVIdx && !s.health.isSlow))
    );
  }

  /**
   * The access index of a follower for a follower read, chosen by `seed` among
   * the peers other than the work peer whose store epoch is current and that
   * pass the selector; the work peer when none does.
   * @internal
   */
  followerAccessIndex(seed: number, op: StoreSelector): number {
    const n = this.rs.tikv.length;
    if (n <= 1) return this.rs.workTiKVIdx;
    let s = seed >>> 0;
    for (let attempt = n - 1; attempt > 0; attempt--) {
      let idx = s % (n - 1);
      if (idx >= this.rs.workTiKVIdx) idx++;
      const [storeIdx] = this.accessStore('tikv', idx);
      if (this.isStoreEpochCurrent(storeIdx) && this.isCandidate(idx, op)) return idx;
      s = (s + 1) >>> 0;
    }
    return this.rs.workTiKVIdx;
  }

  /**
   * The access index of any peer (leader or follower) for a mixed read,
   * chosen by `seed` among the candidates; the work peer when there are none.
   * @internal
   */
  anyAccessIndex(seed: number, op: StoreSelector): number {
    if (op.leaderOnly === true) return this.rs.workTiKVIdx;
    const candidates: number[] = [];
    for (let i = 0; i < this.rs.tikv.length; i++) {
      const [storeIdx] = this.accessStore('tikv', i);
      if (this.isStoreEpochCurrent(storeIdx) && this.isCandidate(i, op)) candidates.push(i);
    }
    if (candidates.length === 0) return this.rs.workTiKVIdx;
    return candidates[(seed >>> 0) % candidates.length] as number;
  }

  /** @internal index into meta.peers of a peer, or -1 */
  peerIndex(peer: SourcePeer | undefined): number {
    if (peer === undefined) return -1;
    return this.meta.peers.findIndex((p) => isSamePeer(p, peer));
  }

  /**
   * Makes `peer` the work peer.
   * @returns false when the region has no such peer
   * @internal
   */
  switchWorkLeaderToPeer(peer: SourcePeer | undefined): boolean {
    const storeIdx = this.peerIndex(peer);
    if (storeIdx < 0) return false;
    const accessIdx = this.rs.tikv.indexOf(storeIdx);
    if (accessIdx < 0 || accessIdx === this.rs.workTiKVIdx) return true;
    this.rs.workTiKVIdx = accessIdx;
    const store = this.rs.stores[storeIdx];
    if (store !== undefined) this.rs.storeEpochs[storeIdx] = store.epoch;
    return true;
  }

  /**
   * Moves the work peer to the next TiKV peer, unless another caller already moved it.
   * @internal
   */
  switchNextTiKVPeer(currentAccessIdx: number): void {
    if (this.rs.workTiKVIdx !== currentAccessIdx || this.rs.tikv.length === 0) return;
    this.rs.workTiKVIdx = (currentAccessIdx + 1) % this.rs.tikv.length;
  }

  /** @internal */
  switchNextTiFlashPeer(currentAccessIdx: number): void {
    if (this.rs.tiflash.length === 0) return;
    this.rs.workTiFlashIdx = (currentAccessIdx + 1) % this.rs.tiflash.length;
  }

  /** The store id of the first peer that may become leader (not a learner), or undefined. */
  findElectableStoreId(): bigint | undefined {
    return this.meta.peers.find((p) => p.role !== 'learner')?.storeId;
  }

  /**
   * @param storeId - a store id
   * @returns the region's peer on that store, if any
   */
  peerOnStore(storeId: bigint): SourcePeer | undefined {
    return this.meta.peers.find((p) => p.storeId === storeId);
  }

  /** @internal whether any store of the region failed since it was built or is not reachable */
  hasStaleOrUnreachableStore(): boolean {
    return this.rs.stores.some(
      (s, i) => s.epoch !== this.rs.storeEpochs[i] || s.liveness !== Liveness.REACHABLE,
    );
  }
}
