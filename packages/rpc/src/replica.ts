import type { SourcePeer, Store } from '@tikv/region-cache';
import type { StoreLabelMatch } from './request-options.js';

/** Marks a replica collects while one request is retried (client-go replica flags). */
export const ReplicaFlag = Object.freeze({
  /** Timed out with a configurable (short) read timeout. */
  DEADLINE_ERR_USING_CONF_TIMEOUT: 1,
  /** Answered DataIsNotReady to a stale read. */
  DATA_IS_NOT_READY: 2,
  /** Answered NotLeader. */
  NOT_LEADER: 4,
  /** Answered ServerIsBusy. */
  SERVER_IS_BUSY: 8,
  /** Keeps rejecting leader reads with ServerIsBusy; probably not the leader any more. */
  SUSPECT_NOT_LEADER: 16,
} as const);

/** How often one replica may be tried for one request. */
export const MAX_REPLICA_ATTEMPT = 10;
/** How long, in milliseconds, one replica may be tried for one request. */
export const MAX_REPLICA_ATTEMPT_TIME_MS = 50_000;
/** Reads whose execution limit is below this (milliseconds) fail over on timeout (client-go `ReadTimeoutShort`). */
export const READ_TIMEOUT_SHORT_MS = 30_000;

/** Bits of a replica's selection score, most significant first. */
export const SelectionScore = Object.freeze({
  NOT_SLOW: 16,
  LABEL_MATCHES: 8,
  PREFER_LEADER: 4,
  NORMAL_PEER: 2,
  NOT_ATTEMPTED: 1,
} as const);

/** One peer of the region as the selector tracks it during one request. */
export class Replica {
  /** Attempts sent to it. */
  attempts = 0;
  /** Milliseconds spent on those attempts. */
  attemptedTimeMs = 0;
  /** {@link ReplicaFlag} bits. */
  flags = 0;

  /**
   * @param store - the peer's store
   * @param peer - the peer
   * @param epoch - the store's failure epoch when the region was built
   */
  constructor(
    readonly store: Store,
    readonly peer: SourcePeer,
    readonly epoch: number,
  ) {}

  /** Whether the store failed since the region was built. */
  get isEpochStale(): boolean {
    return this.epoch !== this.store.epoch;
  }

  /** Whether it was tried `maxAttempt` times or for `maxTimeMs` (0: no time limit). */
  isExhausted(maxAttempt: number, maxTimeMs: number): boolean {
    return this.attempts >= maxAttempt || (maxTimeMs > 0 && this.attemptedTimeMs >= maxTimeMs);
  }

  /** Whether a flag is set. */
  has(flag: number): boolean {
    return (this.flags & flag) !== 0;
  }

  /** A NotLeader hint named this replica: give it another chance. */
  onUpdateLeader(): void {
    if (this.isExhausted(MAX_REPLICA_ATTEMPT, MAX_REPLICA_ATTEMPT_TIME_MS)) {
      this.attempts = MAX_REPLICA_ATTEMPT - 1;
      this.attemptedTimeMs = 0;
    }
    this.flags &= ~(ReplicaFlag.NOT_LEADER | ReplicaFlag.SUSPECT_NOT_LEADER);
  }
}

/** Whether the leader replica may be tried (client-go `isLeaderCandidate`). */
export function isLeaderCandidate(leader: Replica): boolean {
  return !(
    leader.store.liveness !== 'reachable' ||
    leader.isExhausted(MAX_REPLICA_ATTEMPT, MAX_REPLICA_ATTEMPT_TIME_MS) ||
    leader.has(ReplicaFlag.DEADLINE_ERR_USING_CONF_TIMEOUT) ||
    leader.has(ReplicaFlag.NOT_LEADER) ||
    leader.isEpochStale
  );
}

/** Options of the score-based strategy (client-go `ReplicaSelectMixedStrategy`). */
export interface MixedStrategy {
  readonly leaderIdx: number;
  readonly tryLeader?: boolean;
  readonly preferLeader?: boolean;
  readonly leaderOnly?: boolean;
  readonly learnerOnly?: boolean;
  readonly labels?: readonly StoreLabelMatch[] | undefined;
  readonly storeIds?: readonly bigint[] | undefined;
  readonly busyThresholdMs?: number;
}

/**
 * A replica's selection score (client-go `calculateScore`): label match, preferred leader,
 * normal peer, not slow, not attempted yet, as bits.
 */
export function calculateScore(s: MixedStrategy, r: Replica, isLeader: boolean): number {
  let score = 0;
  if (r.store.isStoreMatch(s.storeIds) && r.store.isLabelsMatch(s.labels))
    score |= SelectionScore.LABEL_MATCHES;
  if (isLeader) {
    if (s.preferLeader === true) {
      score |= r.store.health.isSlow ? SelectionScore.NORMAL_PEER : SelectionScore.PREFER_LEADER;
    } else if (s.tryLeader === true) {
      score |= (s.labels?.length ?? 0) > 0 ? SelectionScore.PREFER_LEADER : SelectionScore.NORMAL_PEER;
    }
  } else if (s.learnerOnly !== true || r.peer.role === 'learner') {
    score |= SelectionScore.NORMAL_PEER;
  }
  if (!r.store.health.isSlow) score |= SelectionScore.NOT_SLOW;
  if (r.attempts === 0) score |= SelectionScore.NOT_ATTEMPTED;
  return score;
}
