import type { CommitOptions } from '../commit/commit-options.js';
import type { MemBuffer } from '../membuffer/mem-buffer.js';
import type { PipelinedTxn } from '../pipelined/pipelined-txn.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import type { SnapshotReadOptions } from '../snapshot/snapshot-options.js';
import type { LockResolving, TxnParts } from '../txn-deps.js';
import type { LocalLatches } from './local-latches.js';
import type { CommitOutcome } from './transaction-options.js';

/**
 * Options of {@link Transaction.scan} and {@link Transaction.scanIter}; `onDetails` receives the
 * execution details of the snapshot scan under the buffer once the scan ends.
 */
export interface TransactionScanOptions extends SnapshotReadOptions {
  /** The most pairs to return. @defaultValue no limit */
  readonly limit?: number | undefined;
  /** Walk `[start, end)` from the largest key down. @defaultValue false */
  readonly reverse?: boolean | undefined;
  /** Leave the values out: every pair's value is zero-length. @defaultValue false */
  readonly keyOnly?: boolean | undefined;
}

/** Where a transaction is in its life. */
export const TransactionState = Object.freeze({
  /** Reads and writes are accepted. */
  ACTIVE: 'active',
  /** `commit()` is running. */
  COMMITTING: 'committing',
  /** `commit()` succeeded. */
  COMMITTED: 'committed',
  /** `rollback()` was called, or `commit()` failed. */
  FINISHED: 'finished',
} as const);
/** One of the {@link TransactionState} values. */
export type TransactionState = (typeof TransactionState)[keyof typeof TransactionState];

/** What a {@link Transaction} runs on; `TransactionClient.begin` builds it. @internal */
export interface TransactionParts {
  readonly parts: TxnParts;
  readonly lockResolver: LockResolving;
  readonly snapshot: Snapshot;
  readonly buffer: MemBuffer;
  readonly commit: CommitOptions;
  readonly latches: LocalLatches | undefined;
  /** A pessimistic transaction (`lockKeys` takes locks in TiKV). */
  readonly pessimistic: boolean;
  /** Told the commit's outcome. */
  readonly onCommitted: ((outcome: CommitOutcome) => void) | undefined;
  /** Throws when the client is closed. */
  readonly checkOpen: () => void;
  /** A pipelined transaction's buffer, committer and reads. */
  readonly pipelined?: PipelinedTxn | undefined;
}
