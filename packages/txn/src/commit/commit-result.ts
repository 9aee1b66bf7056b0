/** How a transaction committed. */
export const CommitProtocol = Object.freeze({
  /** Two-phase commit: prewrite, then the primary's commit at a fresh ts, then the secondaries. */
  TWO_PC: '2pc',
  /** Async commit: committed once every prewrite succeeded, at the largest `min_commit_ts` answered. */
  ASYNC_COMMIT: 'async-commit',
  /** One-phase commit: the one prewrite request committed the whole transaction. */
  ONE_PC: '1pc',
  /**
   * Pipelined DML: the writes were flushed as locks while the transaction ran; the primary's commit
   * committed it, and the other locks are resolved over their range in the background.
   */
  PIPELINED: 'pipelined',
  /** Nothing to commit (the buffer held no mutation): nothing was sent. */
  NONE: 'none',
} as const);
/** One of the {@link CommitProtocol} values. */
export type CommitProtocol = (typeof CommitProtocol)[keyof typeof CommitProtocol];

/** What a successful commit resolves with. */
export interface CommitResult {
  /** The commit ts; 0n when there was nothing to commit. */
  readonly commitTs: bigint;
  /** How the transaction committed. */
  readonly protocol: CommitProtocol;
  /**
   * Settles once the work left in the background is done: the commit of the secondaries (2PC) or
   * of every key (async commit). The transaction is committed whatever happens to it; it never
   * rejects (failures are logged: readers resolve the locks left behind).
   */
  readonly background: Promise<void>;
}
