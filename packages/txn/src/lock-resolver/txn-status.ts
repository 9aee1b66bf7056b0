import type { LockInfo } from '@tikv/common';

/**
 * What a `CheckTxnStatus` did to the transaction (kvproto `kvrpcpb.Action`), by name. The wire
 * enum value of each name is its index in {@link TXN_ACTION_NAMES}.
 */
export const TxnAction = Object.freeze({
  /** Nothing: the transaction was already committed or rolled back, or its lock is alive. */
  NoAction: 'NoAction',
  /** The primary lock had expired and was rolled back. */
  TTLExpireRollback: 'TTLExpireRollback',
  /** The primary lock was missing and a rollback record was written. */
  LockNotExistRollback: 'LockNotExistRollback',
  /** The primary lock is alive; its min commit ts was pushed past the caller's start ts. */
  MinCommitTSPushed: 'MinCommitTSPushed',
  /** The primary pessimistic lock had expired and was rolled back. */
  TTLExpirePessimisticRollback: 'TTLExpirePessimisticRollback',
  /** The pessimistic primary lock was missing; nothing was written. */
  LockNotExistDoNothing: 'LockNotExistDoNothing',
} as const);
/** One of the {@link TxnAction} names. */
export type TxnAction = (typeof TxnAction)[keyof typeof TxnAction];

/** {@link TxnAction} names in wire-enum order: `TXN_ACTION_NAMES[n]` names enum value `n`. */
export const TXN_ACTION_NAMES: readonly TxnAction[] = Object.freeze([
  'NoAction',
  'TTLExpireRollback',
  'LockNotExistRollback',
  'MinCommitTSPushed',
  'TTLExpirePessimisticRollback',
  'LockNotExistDoNothing',
]);

/** Fields of a {@link TxnStatus}. */
export interface TxnStatusFields {
  /** The primary lock's TTL in milliseconds when the transaction is alive; 0 otherwise. @defaultValue 0n */
  readonly ttlMs?: bigint | undefined;
  /** The commit ts when the transaction committed; 0 otherwise. @defaultValue 0n */
  readonly commitTs?: bigint | undefined;
  /** What the status check did. @defaultValue 'NoAction' */
  readonly action?: TxnAction | undefined;
  /** The primary lock, when it exists (async-commit transactions carry their secondaries on it). */
  readonly primaryLock?: LockInfo | undefined;
}

/**
 * A transaction's status as `CheckTxnStatus` reports it (client-go `txnlock.TxnStatus`): alive
 * with a TTL, committed at a commit ts, or rolled back.
 */
export class TxnStatus {
  /** The primary lock's TTL in milliseconds when the transaction is alive; 0 otherwise. */
  readonly ttlMs: bigint;
  /** The commit ts when the transaction committed; 0 otherwise. */
  readonly commitTs: bigint;
  /** What the status check did. */
  readonly action: TxnAction;
  /** The primary lock, when it exists. */
  readonly primaryLock: LockInfo | undefined;

  /** @param fields - the status' fields */
  constructor(fields: TxnStatusFields = {}) {
    this.ttlMs = fields.ttlMs ?? 0n;
    this.commitTs = fields.commitTs ?? 0n;
    this.action = fields.action ?? 'NoAction';
    this.primaryLock = fields.primaryLock;
  }

  /** The transaction committed (its commit ts is known). */
  get isCommitted(): boolean {
    return this.commitTs > 0n;
  }

  /**
   * The transaction is rolled back: no TTL, no commit ts, and an action that says the lock is
   * gone (TiKV answers `NoAction` for a rollback record, or writes one).
   */
  get isRolledBack(): boolean {
    return (
      this.ttlMs === 0n &&
      this.commitTs === 0n &&
      (this.action === 'NoAction' ||
        this.action === 'LockNotExistRollback' ||
        this.action === 'TTLExpireRollback')
    );
  }

  /** Committed or rolled back: the status cannot change any more, so it may be cached. */
  get isStatusDetermined(): boolean {
    return this.isRolledBack || this.isCommitted;
  }

  /**
   * Whether both statuses are determined and the same (both rolled back, or both committed at
   * the same ts).
   *
   * @param other - the other status
   */
  hasSameDeterminedStatus(other: TxnStatus): boolean {
    return (
      (this.isCommitted && other.isCommitted && this.commitTs === other.commitTs) ||
      (this.isRolledBack && other.isRolledBack)
    );
  }

  /**
   * A copy with another commit ts (async-commit recovery decides it from the secondaries).
   *
   * @param commitTs - the commit ts, 0 for rolled back
   */
  withCommitTs(commitTs: bigint): TxnStatus {
    return new TxnStatus({ ttlMs: this.ttlMs, commitTs, action: this.action, primaryLock: this.primaryLock });
  }

  /** A one-line description (no keys). */
  toString(): string {
    return `ttl: ${this.ttlMs}, commitTs: ${this.commitTs}, action: ${this.action}`;
  }
}
