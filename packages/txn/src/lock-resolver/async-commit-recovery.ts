import { type Backoffer, keyErrorFromWire, type LockInfo, lockInfoFromWire, TiKVError } from '@tikv/common';
import { type ResolveRequestContext, UNCUT } from './resolve-requests.js';
import type { TxnStatus } from './txn-status.js';

const identity = (k: Uint8Array): Uint8Array => k;

/**
 * `CheckSecondaryLocks` met a lock that is not an async-commit lock: the transaction fell back
 * to 2PC, and its status must be decided by `CheckTxnStatus` with `force_sync_commit`.
 *
 * @internal
 */
export class NonAsyncCommitLockError extends TiKVError {
  override name = 'NonAsyncCommitLockError';

  constructor() {
    super('INTERNAL', 'CheckSecondaryLocks receives a non-async-commit lock');
  }
}

/**
 * What the secondaries of an async-commit transaction say (client-go `asyncResolveData`): when a
 * lock is missing, the transaction is already committed (at `commitTs`) or rolled back (`commitTs`
 * 0); when every lock is there, it commits at the largest min commit ts, and `keys` lists the
 * locks to resolve.
 *
 * @internal
 */
export class AsyncResolveData {
  /** The commit ts decided so far (0: rolled back, once `missingLock`). */
  commitTs: bigint;
  /** The secondaries still locked. */
  readonly keys: Uint8Array[] = [];
  /** Whether some secondary was no longer locked. */
  missingLock = false;

  /** @param minCommitTs - the primary lock's min commit ts */
  constructor(minCommitTs: bigint) {
    this.commitTs = minCommitTs;
  }

  /**
   * Takes one region's answer (client-go `addKeys`).
   *
   * @param locks - the locks found
   * @param expected - how many keys were asked about
   * @param startTs - the transaction's start ts
   * @param commitTs - the commit ts TiKV found for a missing lock (0: rolled back)
   * @throws NonAsyncCommitLockError for a lock that is not async commit; TiKVError INTERNAL for
   *   an answer that contradicts an earlier one
   */
  addKeys(locks: readonly LockInfo[], expected: number, startTs: bigint, commitTs: bigint): void {
    if (locks.length < expected) {
      // A lock is gone: the transaction committed or rolled back, and TiKV has already resolved
      // the locks that remain as appropriate.
      if (!this.missingLock) {
        if (commitTs !== 0n && commitTs < this.commitTs) {
          throw new TiKVError(
            'INTERNAL',
            `commit ts must be >= the min commit ts: commit ts ${commitTs}, min commit ts ${this.commitTs}`,
          );
        }
        this.commitTs = commitTs;
      }
      this.missingLock = true;
      if (this.commitTs !== commitTs) {
        throw new TiKVError(
          'INTERNAL',
          `commit ts mismatch in async commit recovery: ${this.commitTs} and ${commitTs}`,
        );
      }
      return;
    }
    for (const lock of locks) {
      if (lock.lockVersion !== startTs) {
        throw new TiKVError(
          'INTERNAL',
          `unexpected timestamp, expected: ${startTs}, found: ${lock.lockVersion}`,
        );
      }
      if (!lock.useAsyncCommit) throw new NonAsyncCommitLockError();
      if (!this.missingLock && lock.minCommitTs > this.commitTs) this.commitTs = lock.minCommitTs;
      this.keys.push(lock.key);
    }
  }
}

/**
 * Asks every region holding the secondaries of an async-commit transaction about their locks
 * (client-go `checkAllSecondaries`), concurrently; a region that changed is grouped again.
 *
 * @param status - the primary's status: its lock lists the secondaries
 * @internal
 */
export async function checkAllSecondaries(
  ctx: ResolveRequestContext,
  bo: Backoffer,
  lock: LockInfo,
  status: TxnStatus,
): Promise<AsyncResolveData> {
  const primary = status.primaryLock;
  const data = new AsyncResolveData(primary?.minCommitTs ?? 0n);
  const secondaries = primary?.secondaries ?? [];
  if (secondaries.length === 0) return data;
  await ctx.exec.runBatches(bo, {
    items: secondaries,
    keyOf: identity,
    limit: UNCUT,
    send: async (batch, child) => {
      ctx.count('query_check_secondary_locks');
      const resp = await ctx.exec.sendToRegion(
        child,
        batch.region,
        {
          $case: 'CheckSecondaryLocks',
          value: { context: undefined, keys: batch.items as Uint8Array[], startVersion: lock.lockVersion },
        },
        ctx.request,
      );
      if (resp === undefined) return 'regionError';
      if (resp.value.error !== undefined) throw keyErrorFromWire(resp.value.error);
      data.addKeys(
        resp.value.locks.map(lockInfoFromWire),
        batch.items.length,
        lock.lockVersion,
        resp.value.commitTs,
      );
      return 'done';
    },
  });
  return data;
}
