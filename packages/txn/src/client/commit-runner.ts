import { type Clock, type RequestOptions, systemClock, WriteConflictError } from '@tikv/common';
import { alreadyResolved } from '../commit/commit-options.js';
import type { CommitResult } from '../commit/commit-result.js';
import { CommitTiming } from '../commit/commit-timing.js';
import { TwoPhaseCommitter } from '../commit/two-phase-committer.js';
import type { PessimisticState } from '../pessimistic/pessimistic-state.js';
import type { LatchLock } from './local-latches.js';
import type { CommitCallOptions } from './transaction-options.js';
import type { TransactionParts } from './transaction-types.js';

/**
 * Hands the transaction the work its commit or rollback left in the background (`whenCommitSettled`): one
 * shared function with the transaction as its argument, not a closure per commit.
 *
 * @internal
 */
export type KeepBackground<T> = (owner: T, background: Promise<void>) => void;

/**
 * Runs a transaction's commit (client-go `KVTxn.Commit` past its checks): a pipelined
 * transaction's own committer; else a two-phase committer, which commits with 2PC, async commit
 * or 1PC as its options allow. A pessimistic transaction's committer takes the primary, the
 * for-update ts and the for-update ts constraints its locks set, and its heartbeats stop when the
 * commit ends; an optimistic one waits for the local latches of its keys, when they are on.
 *
 * @param p - the transaction's parts
 * @param pess - the pessimistic side of a pessimistic transaction
 * @param startTimeMs - when the transaction began, by its clock
 * @param options - the commit call's options
 * @param owner - the transaction, told the work left in the background by `keep`
 * @param keep - records that work: always for a pipelined commit, after a failure for a two-phase one
 * @returns what the committer returned
 * @internal
 */
export async function runCommit<T>(
  p: TransactionParts,
  pess: PessimisticState | undefined,
  startTimeMs: number,
  options: CommitCallOptions | undefined,
  owner: T,
  keep: KeepBackground<T>,
): Promise<CommitResult> {
  const pipe = p.pipelined;
  if (pipe !== undefined) {
    try {
      return await pipe.committer.commit(pipe.buffer, options);
    } finally {
      keep(owner, pipe.committer.background);
    }
  }
  const startTs = p.snapshot.ts;
  if (pess !== undefined) {
    try {
      const committer = new TwoPhaseCommitter(p.parts, p.buffer, {
        ...p.commit,
        startTs,
        startTimeMs,
        lockResolver: p.lockResolver,
        pessimistic: true,
        forUpdateTs: pess.forUpdateTs,
        ...(pess.forUpdateTsChecks.size === 0 ? {} : { forUpdateTsConstraints: pess.forUpdateTsChecks }),
        ...(pess.primaryKey === undefined ? {} : { primaryKey: pess.primaryKey }),
      });
      return await execute(committer, options, 0, owner, keep);
    } finally {
      pess.close();
    }
  }
  const resolved = alreadyResolved(p.commit);
  const committer =
    resolved === undefined
      ? new TwoPhaseCommitter(p.parts, p.buffer, {
          ...p.commit,
          startTs,
          startTimeMs,
          lockResolver: p.lockResolver,
        })
      : new TwoPhaseCommitter(
          p.parts,
          p.buffer,
          { startTs, startTimeMs, lockResolver: p.lockResolver },
          resolved,
        );
  const latches = p.latches;
  if (latches === undefined || committer.mutationCount === 0)
    return execute(committer, options, 0, owner, keep);
  // client-go `LocalLatchTime`: the wait for this client's latches of the keys.
  const clock = p.parts.clock ?? systemClock;
  const latchStarted = clock.now();
  let lock: LatchLock;
  try {
    lock = await latches.acquire(startTs, committer.keys(), options?.signal);
  } catch (e) {
    reportUnexecuted(committer, options, clock.now() - latchStarted, clock);
    throw e;
  }
  const latchWaitMs = clock.now() - latchStarted;
  try {
    if (lock.stale) {
      reportUnexecuted(committer, options, latchWaitMs, clock);
      const key = lock.keys[0] ?? new Uint8Array(0);
      throw new WriteConflictError({
        startTs,
        conflictStartTs: 0n,
        conflictCommitTs: 0n,
        key,
        primary: committer.primaryKey,
        reason: 'Optimistic',
      });
    }
    const result = await execute(committer, options, latchWaitMs, owner, keep);
    lock.commitTs = result.commitTs;
    return result;
  } finally {
    latches.release(lock);
  }
}

/** Runs the two-phase commit; after a failure, the owner keeps the rollback it leaves. */
async function execute<T>(
  committer: TwoPhaseCommitter,
  options: CommitCallOptions | undefined,
  localLatchWaitMs: number,
  owner: T,
  keep: KeepBackground<T>,
): Promise<CommitResult> {
  try {
    return await committer.execute(options, localLatchWaitMs);
  } catch (e) {
    keep(owner, committer.whenIdle());
    throw e;
  }
}

/**
 * The `onCommitDetails` of a commit that ended at the local latches, before the committer ran
 * (client-go delivers its `CommitDetails` then too): the keys and bytes, and the latch wait.
 */
function reportUnexecuted(
  committer: TwoPhaseCommitter,
  options: CommitCallOptions | undefined,
  localLatchWaitMs: number,
  clock: Clock,
): void {
  const onCommitDetails = options?.onCommitDetails;
  if (typeof onCommitDetails !== 'function') return;
  const timing = new CommitTiming(clock, onCommitDetails);
  timing.localLatchWaitMs = localLatchWaitMs;
  timing.setWrites(committer.mutationCount, committer.txnSizeBytes);
  timing.deliver();
}

/**
 * Runs a transaction's rollback (client-go `KVTxn.Rollback` past its checks): a pipelined
 * transaction's flushed locks are rolled back in the background; a pessimistic one ends its
 * aggressive locking stage, releases its locks (a failure is logged: readers resolve them once
 * they expire) and stops its heartbeats; the buffer is discarded.
 *
 * @param p - the transaction's parts
 * @param pess - the pessimistic side of a pessimistic transaction
 * @param options - the rollback call's options
 * @param owner - the transaction, told the work left in the background by `keep`
 * @param keep - records a pipelined rollback's background work
 * @internal
 */
export async function runRollback<T>(
  p: TransactionParts,
  pess: PessimisticState | undefined,
  options: RequestOptions | undefined,
  owner: T,
  keep: KeepBackground<T>,
): Promise<void> {
  const pipe = p.pipelined;
  if (pipe !== undefined) {
    // The flushed locks are rolled back in the background (whenCommitSettled waits for it).
    await pipe.committer.rollback(pipe.buffer);
    keep(owner, pipe.committer.background);
    return;
  }
  if (pess?.inAggressiveLocking === true) pess.cancelAggressiveLocking();
  if (pess !== undefined && pess.lockedCount > 0) {
    await pess.rollbackAll(options).catch((e: unknown) => {
      p.parts.logger?.info('txn: releasing pessimistic locks failed', {
        startTs: p.snapshot.ts,
        error: String(e),
      });
    });
  }
  pess?.close();
  p.buffer.reset();
}
