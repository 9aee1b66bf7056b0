import { type BackoffKind, BackoffKinds, type RandomSource } from '@tikv/common';
import type { CachedRegion, RegionVerId, RpcContext, SourcePeer } from '@tikv/region-cache';
import { SyncFlag } from '@tikv/region-cache';
import type { RegionLocator } from './region-locator.js';
import {
  calculateScore,
  isLeaderCandidate,
  type MixedStrategy,
  READ_TIMEOUT_SHORT_MS,
  Replica,
  ReplicaFlag,
} from './replica.js';
import type { ReplicaReadType, StoreLabelMatch } from './request-options.js';

/** ServerIsBusy(0) answers from the cached leader after which a follower is probed. */
const LEADER_BUSY_PROBE_THRESHOLD = 2;

/** What the selector needs besides the region. */
export interface ReplicaSelectorDeps {
  readonly locator: RegionLocator;
  /**
   * Route leader requests through a reachable follower (`tikv-forwarded-host`) while the
   * leader's store is unreachable (client-go `EnableForwarding`). @defaultValue false
   */
  readonly enableForwarding?: boolean;
  readonly random?: RandomSource;
  readonly nowMs?: () => number;
}

/** The read settings of one request (client-go's request fields the selector reads). */
export interface ReplicaSelectorRequest {
  readonly replicaRead: ReplicaReadType;
  readonly staleRead: boolean;
  /** Get, BatchGet, Scan, Coprocessor: reads that a follower may serve. */
  readonly readOnly: boolean;
  readonly busyThresholdMs: number;
  readonly labels?: readonly StoreLabelMatch[] | undefined;
  readonly storeIds?: readonly bigint[] | undefined;
  readonly leaderOnly?: boolean;
}

/** A backoff kept for a store's next attempt. */
export interface PendingBackoff {
  readonly kind: BackoffKind;
  readonly error: unknown;
}

/**
 * Chooses the replica for each attempt of one request to one region and remembers what each
 * replica answered (client-go `replicaSelector`, the v2 selector). One instance per request.
 */
export class ReplicaSelector {
  /** The region's TiKV peers, in access order. */
  readonly replicas: Replica[];
  /** The replica of the current attempt. */
  target: Replica | undefined;
  /** The replica the current attempt is forwarded through, when the leader is unreachable. */
  proxy: Replica | undefined;
  /** Attempts chosen so far. */
  attempts = 0;
  /** The replica read kind; NotLeader and RegionNotFound may turn it into `leader`. */
  replicaReadType: ReplicaReadType;
  /** `Context.staleRead` of the current attempt. */
  staleRead: boolean;
  /** `Context.replicaRead` of the current attempt. */
  replicaRead = false;
  /** `Context.busyThresholdMs` of the current attempt. */
  busyThresholdMs: number;
  private readonly isStaleRead: boolean;
  private readonly readOnly: boolean;
  private readonly preferLeader: boolean;
  private readonly request: ReplicaSelectorRequest;
  private regionInvalidatedForRetry = false;
  private leaderBusyCount = 0;
  private leaderBusyPeerId: bigint | undefined;
  private leaderBusyProbed = false;
  /** Backoffs kept for a store's next attempt; made on the first ServerIsBusy fast retry. */
  private pendingBackoffs: Map<bigint, PendingBackoff> | undefined;
  private readonly random: RandomSource;
  private readonly nowMs: () => number;

  /**
   * @param region - the cached region (its current version)
   * @param request - the request's read settings
   * @param deps - the locator, randomness and clock
   */
  constructor(
    readonly region: CachedRegion,
    request: ReplicaSelectorRequest,
    private readonly deps: ReplicaSelectorDeps,
  ) {
    this.replicas = [];
    for (let i = 0; i < region.tikvPeerCount; i++) {
      const [storeIdx, store] = region.accessStore('tikv', i);
      const peer = region.meta.peers[storeIdx] as SourcePeer;
      this.replicas.push(new Replica(store, peer, region.rs.storeEpochs[storeIdx] ?? store.epoch));
    }
    this.request = request;
    this.replicaReadType = request.replicaRead;
    this.isStaleRead = request.staleRead;
    this.staleRead = request.staleRead;
    this.readOnly = request.readOnly;
    this.busyThresholdMs = request.busyThresholdMs;
    this.preferLeader = request.replicaRead === 'preferLeader';
    this.random = deps.random ?? Math.random;
    this.nowMs = deps.nowMs ?? Date.now;
  }

  private get verId(): RegionVerId {
    return this.region.verId;
  }

  private get leaderIdx(): number {
    return this.region.workAccessIndex;
  }

  private get leaderPeerId(): bigint | undefined {
    return this.region.leaderPeer?.id;
  }

  /**
   * Picks the replica for the next attempt and builds its context; undefined when no replica
   * can serve (the region was invalidated or every replica is exhausted).
   */
  next(): RpcContext | undefined {
    if (this.regionInvalidatedForRetry) this.regionInvalidatedForRetry = false;
    else if (this.region.invalidReason !== 'ok') return undefined;
    this.attempts++;
    this.target = undefined;
    this.proxy = undefined;
    if (this.replicaReadType === 'leader') this.nextForLeader();
    else this.nextForMixed();
    if (this.target === undefined) return undefined;
    return this.buildRpcContext(this.target, this.proxy);
  }

  private leaderStrategy(): Replica | undefined {
    const leader = this.replicas[this.leaderIdx];
    if (leader !== undefined && isLeaderCandidate(leader) && !leader.has(ReplicaFlag.SUSPECT_NOT_LEADER))
      return leader;
    return undefined;
  }

  /**
   * The leader and, while its store is unreachable, a follower to forward through (client-go
   * `ReplicaSelectLeaderWithProxyStrategy`): the region's last proxy if it is still a candidate,
   * else the first reachable follower not tried as a proxy yet. With none left the leader's store
   * is invalidated and the region reloaded on next access.
   * @returns `undefined` to fall through to plain leader selection, or the pick (both undefined:
   *   nothing to send to)
   */
  private leaderWithProxy(): { target: Replica | undefined; proxy: Replica | undefined } | undefined {
    const leaderIdx = this.leaderIdx;
    const leader = this.replicas[leaderIdx];
    if (leader === undefined) return undefined;
    const rs = this.region.rs;
    if (leader.store.liveness === 'reachable' || leader.has(ReplicaFlag.NOT_LEADER)) {
      rs.proxyTiKVIdx = -1;
      return { target: leader, proxy: undefined };
    }
    const isCandidate = (r: Replica, i: number): boolean =>
      i !== leaderIdx && !r.isExhausted(1, 0) && r.store.liveness === 'reachable' && !r.isEpochStale;
    const last = this.replicas[rs.proxyTiKVIdx];
    if (last !== undefined && isCandidate(last, rs.proxyTiKVIdx)) return { target: leader, proxy: last };
    const i = this.replicas.findIndex(isCandidate);
    if (i >= 0) return { target: leader, proxy: this.replicas[i] };
    // Every follower was tried as a proxy: give up on the leader's store and reload the region.
    if (leader.store.epoch === leader.epoch) this.deps.locator.invalidateStore(leader.store.id);
    this.region.setSyncFlags(SyncFlag.NEED_RELOAD_ON_ACCESS);
    return { target: undefined, proxy: undefined };
  }

  private nextForLeader(): void {
    const leaderIdx = this.leaderIdx;
    if (this.deps.enableForwarding === true) {
      const pick = this.leaderWithProxy();
      if (pick !== undefined && (pick.proxy !== undefined || pick.target === undefined)) {
        this.target = pick.target;
        this.proxy = pick.proxy;
        return;
      }
    }
    this.target = this.leaderStrategy();
    if (
      this.target !== undefined &&
      this.busyThresholdMs > 0 &&
      this.readOnly &&
      (this.target.store.estimatedWait(this.nowMs()) > this.busyThresholdMs ||
        this.target.has(ReplicaFlag.SERVER_IS_BUSY))
    ) {
      const idle = this.mixedNext({ leaderIdx, busyThresholdMs: this.busyThresholdMs });
      if (idle !== undefined) {
        this.target = idle;
        this.replicaRead = true;
      } else {
        this.busyThresholdMs = 0;
        this.replicaRead = false;
      }
    }
    if (this.target !== undefined) return;
    this.target = this.mixedNext({ leaderIdx, leaderOnly: this.request.leaderOnly === true });
    const leader = this.replicas[leaderIdx];
    if (
      this.target !== undefined &&
      this.readOnly &&
      leader?.has(ReplicaFlag.DEADLINE_ERR_USING_CONF_TIMEOUT)
    ) {
      this.replicaRead = true;
      this.staleRead = false;
    }
  }

  private nextForMixed(): void {
    const leaderIdx = this.leaderIdx;
    if (this.isStaleRead && this.attempts === 2) {
      const leader = this.leaderStrategy();
      if (leader !== undefined && !leader.isExhausted(1, 0)) {
        this.target = leader;
        this.staleRead = false;
        this.replicaRead = false;
        return;
      }
    }
    const strategy: MixedStrategy = {
      leaderIdx,
      tryLeader: this.replicaReadType === 'mixed' || this.replicaReadType === 'preferLeader',
      preferLeader: this.preferLeader,
      leaderOnly: this.request.leaderOnly === true,
      learnerOnly: this.replicaReadType === 'learner',
      labels: this.request.labels,
      storeIds: this.request.storeIds,
    };
    const target = this.mixedNext(strategy);
    this.target = target;
    if (target === undefined) return;
    const isLeader = target.peer.id === this.leaderPeerId;
    if (this.isStaleRead) {
      let stale = true;
      if (this.attempts !== 1 || (!target.store.isLabelsMatch(this.request.labels) && !isLeader)) {
        if (this.canSendReplicaRead(leaderIdx)) stale = false;
      }
      this.staleRead = stale;
      this.replicaRead = !stale;
    } else {
      this.staleRead = false;
      this.replicaRead = this.readOnly && !isLeader;
    }
  }

  private canSendReplicaRead(leaderIdx: number): boolean {
    const leader = this.replicas[leaderIdx];
    return !(
      leader === undefined ||
      leader.attempts === 0 ||
      leader.has(ReplicaFlag.DEADLINE_ERR_USING_CONF_TIMEOUT) ||
      leader.has(ReplicaFlag.SERVER_IS_BUSY)
    );
  }

  private isMixedCandidate(s: MixedStrategy, r: Replica, isLeader: boolean): boolean {
    if (r.isEpochStale || r.store.liveness === 'unreachable') return false;
    const maxAttempt = r.has(ReplicaFlag.DATA_IS_NOT_READY) && !isLeader ? 2 : 1;
    if (r.isExhausted(maxAttempt, 0)) return false;
    if (s.leaderOnly === true && !isLeader) return false;
    const busy = s.busyThresholdMs ?? 0;
    if (
      busy > 0 &&
      (r.store.estimatedWait(this.nowMs()) > busy || r.has(ReplicaFlag.SERVER_IS_BUSY) || isLeader)
    )
      return false;
    if (s.preferLeader === true && r.store.health.isSlow && !isLeader) return false;
    return true;
  }

  /** The best-scoring candidate (client-go `ReplicaSelectMixedStrategy.next`). */
  mixedNext(s: MixedStrategy): Replica | undefined {
    let maxScore = -1;
    let best: number[] = [];
    this.replicas.forEach((r, i) => {
      const isLeader = i === s.leaderIdx;
      if (!this.isMixedCandidate(s, r, isLeader)) return;
      const score = calculateScore(s, r, isLeader);
      if (score > maxScore) {
        maxScore = score;
        best = [i];
      } else if (score === maxScore) {
        best.push(i);
      }
    });
    if (best.length > 0) {
      const pick = best.length === 1 ? best[0] : best[Math.floor(this.random() * best.length)];
      return this.replicas[pick as number];
    }
    if ((s.busyThresholdMs ?? 0) > 0) return undefined;
    const leader = this.replicas[s.leaderIdx];
    if (leader?.has(ReplicaFlag.SUSPECT_NOT_LEADER)) {
      leader.flags &= ~ReplicaFlag.SUSPECT_NOT_LEADER;
      if (isLeaderCandidate(leader)) return leader;
    }
    if (!this.replicas.some((r) => r.has(ReplicaFlag.DEADLINE_ERR_USING_CONF_TIMEOUT)))
      this.invalidateRegion();
    return undefined;
  }

  private buildRpcContext(target: Replica, proxy: Replica | undefined): RpcContext | undefined {
    if (target.isEpochStale) {
      this.invalidateRegion();
      return undefined;
    }
    const store = target.store;
    const addr = store.resolveState === 'resolved' || store.resolveState === 'needCheck' ? store.address : '';
    if (addr === '') return undefined;
    let proxyAddr: string | undefined;
    if (proxy !== undefined) {
      const ps = proxy.store;
      proxyAddr = ps.resolveState === 'resolved' || ps.resolveState === 'needCheck' ? ps.address : '';
      if (proxyAddr === '') return undefined;
      proxy.attempts++;
    }
    target.attempts++;
    return {
      region: this.verId,
      meta: this.region.meta,
      peer: target.peer,
      accessIdx: this.replicas.indexOf(target),
      store,
      addr,
      accessMode: 'tikv',
      proxyStore: proxy?.store,
      proxyAddr,
      tikvPeerCount: this.replicas.length,
    };
  }

  /** Invalidates the region in the cache. */
  invalidateRegion(): void {
    this.deps.locator.invalidateRegion(this.verId);
  }

  /** Adds the time an attempt took to its replica. */
  recordAttemptedTime(ms: number): void {
    if (this.target !== undefined) this.target.attemptedTimeMs += ms;
  }

  /**
   * Moves the cached leader to `leader` (client-go `updateLeader`).
   * @returns the leader's index among the replicas, or -1
   */
  updateLeader(leader: SourcePeer | undefined): number {
    if (leader === undefined) return -1;
    const i = this.replicas.findIndex((r) => r.peer.id === leader.id && r.peer.storeId === leader.storeId);
    if (i < 0) {
      this.deps.locator.invalidateRegion(this.verId, 'storeNotFound');
      return -1;
    }
    const replica = this.replicas[i] as Replica;
    if (replica.store.liveness !== 'reachable') return -1;
    replica.onUpdateLeader();
    this.deps.locator.updateLeader(this.verId, leader, this.leaderIdx);
    return i;
  }

  /**
   * NotLeader (client-go `onNotLeader`).
   * @returns true to retry at once, false to back off with `regionScheduling` and retry
   */
  onNotLeader(leader: SourcePeer | undefined): boolean {
    if (this.target !== undefined) this.target.flags |= ReplicaFlag.NOT_LEADER;
    if (leader === undefined) return false;
    const idx = this.updateLeader(leader);
    if (idx >= 0 && isLeaderCandidate(this.replicas[idx] as Replica)) this.replicaReadType = 'leader';
    return true;
  }

  /** FlashbackInProgress: a replica read may be retried on the leader. @returns whether to retry */
  onFlashbackInProgress(): boolean {
    if (this.replicaRead && this.target !== undefined && this.target.peer.id !== this.leaderPeerId) {
      this.busyThresholdMs = 0;
      this.replicaReadType = 'leader';
      this.replicaRead = false;
      return true;
    }
    return false;
  }

  /** DataIsNotReady: the replica may still serve a plain replica read. */
  onDataIsNotReady(): void {
    if (this.target !== undefined) this.target.flags |= ReplicaFlag.DATA_IS_NOT_READY;
  }

  /**
   * RegionNotFound (client-go `onRegionNotFound`): invalidates the region; retries once on the
   * leader when the leader was not tried yet.
   * @returns whether to retry
   */
  onRegionNotFound(): boolean {
    const leader = this.replicas[this.leaderIdx];
    this.deps.locator.invalidateRegion(this.verId);
    if (leader !== undefined && !leader.isExhausted(1, 0)) {
      this.replicaReadType = 'leader';
      this.replicaRead = false;
      this.regionInvalidatedForRetry = true;
      return true;
    }
    return false;
  }

  /**
   * ServerIsBusy (client-go `onServerIsBusy`).
   * @returns `fast` to retry another replica now (the backoff is kept pending for the store),
   *   `backoff` to back off with `tikvServerBusy` first, `stop` to hand the error back
   */
  onServerIsBusy(ctx: RpcContext, estimatedWaitMs: number, error: unknown): 'fast' | 'backoff' | 'stop' {
    const store = ctx.store;
    if (estimatedWaitMs !== 0) {
      store.updateServerLoad(estimatedWaitMs, this.nowMs());
      if (this.busyThresholdMs !== 0 && this.readOnly && this.target !== undefined)
        this.target.flags |= ReplicaFlag.SERVER_IS_BUSY;
    } else {
      store.health.markAlreadySlow();
      const leaderPeerId = this.leaderPeerId;
      if (
        this.replicaReadType === 'leader' &&
        !this.isStaleRead &&
        this.request.leaderOnly !== true &&
        this.target !== undefined &&
        this.target.peer.id === leaderPeerId &&
        !this.leaderBusyProbed
      ) {
        if (this.leaderBusyPeerId !== leaderPeerId) {
          this.leaderBusyPeerId = leaderPeerId;
          this.leaderBusyCount = 0;
        }
        this.leaderBusyCount++;
        if (this.leaderBusyCount >= LEADER_BUSY_PROBE_THRESHOLD) {
          this.target.flags |= ReplicaFlag.SUSPECT_NOT_LEADER;
          this.leaderBusyProbed = true;
        }
      }
    }
    if (this.canFastRetry()) {
      this.addPendingBackoff(store.id, { kind: BackoffKinds.tikvServerBusy, error });
      if (this.target !== undefined) this.target.flags |= ReplicaFlag.SERVER_IS_BUSY;
      return 'fast';
    }
    return 'backoff';
  }

  /** Whether a ServerIsBusy may be retried on another replica without sleeping first. */
  canFastRetry(): boolean {
    if (this.replicaReadType === 'leader') {
      const leader = this.replicas[this.leaderIdx];
      if (leader !== undefined && isLeaderCandidate(leader) && !leader.has(ReplicaFlag.SERVER_IS_BUSY))
        return false;
    }
    return true;
  }

  /**
   * A read timed out with a short configurable timeout: mark the replica and retry another at once.
   * @returns whether the rule applied
   */
  onReadReqConfigurableTimeout(readOnly: boolean, maxExecutionDurationMs: number): boolean {
    if (maxExecutionDurationMs >= READ_TIMEOUT_SHORT_MS || !readOnly) return false;
    if (this.target !== undefined) this.target.flags |= ReplicaFlag.DEADLINE_ERR_USING_CONF_TIMEOUT;
    return true;
  }

  /**
   * The store could not be reached (client-go `onSendFailure` with an unreachable store):
   * every region on it reloads lazily and this request skips it.
   */
  onSendFailure(storeUnreachable: boolean): void {
    const target = this.proxy ?? this.target;
    if (target === undefined || !storeUnreachable) return;
    if (
      this.deps.enableForwarding === true &&
      this.replicaReadType === 'leader' &&
      this.proxy === undefined &&
      target.peer.id === this.leaderPeerId &&
      this.replicas.length > 1
    ) {
      // The leader cannot be reached: keep its regions and forward through a follower next.
      return;
    }
    if (target.store.epoch === target.epoch) {
      this.deps.locator.invalidateStore(target.store.id);
      target.store.health.markAlreadySlow();
    }
  }

  /** The attempt succeeded: a plain leader read answered by another peer makes it the leader. */
  onSendSuccess(): void {
    if (this.proxy !== undefined) this.region.rs.proxyTiKVIdx = this.replicas.indexOf(this.proxy);
    const t = this.target;
    if (t !== undefined && t.peer.id !== this.leaderPeerId && !this.staleRead && !this.replicaRead) {
      this.deps.locator.updateLeader(this.verId, t.peer, this.leaderIdx);
    }
  }

  /** `leader`, `follower` or `unknown`, for the request source. */
  replicaType(): string {
    if (this.target === undefined) return 'unknown';
    return this.target.peer.id === this.leaderPeerId ? 'leader' : 'follower';
  }

  /** Records a backoff to apply when the store is tried again (client-go `addPendingBackoff`). */
  addPendingBackoff(storeId: bigint, backoff: PendingBackoff): void {
    this.pendingBackoffs ??= new Map();
    this.pendingBackoffs.set(storeId, backoff);
  }

  /** The pending backoff of a store, removed (client-go `backoffOnRetry`). */
  takePendingBackoff(storeId: bigint): PendingBackoff | undefined {
    const b = this.pendingBackoffs?.get(storeId);
    if (b !== undefined) this.pendingBackoffs?.delete(storeId);
    return b;
  }

  /** The pending backoff with the largest base (client-go `backoffOnNoCandidate`). */
  largestPendingBackoff(): PendingBackoff | undefined {
    let best: PendingBackoff | undefined;
    if (this.pendingBackoffs === undefined) return undefined;
    for (const b of this.pendingBackoffs.values())
      if (best === undefined || best.kind.baseMs < b.kind.baseMs) best = b;
    return best;
  }
}
