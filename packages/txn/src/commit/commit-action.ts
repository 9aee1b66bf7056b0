import {
  type Backoffer,
  keyErrorFromWire,
  keysEqual,
  regionErrorFromWire,
  TiKVError,
  UndeterminedError,
  type WireKeyError,
} from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import type { BatchOutcome, BatchRun, RegionBatch } from '@tikv/rpc';
import type { CommitState } from './commit-state.js';
import type { TxnMutation } from './mutations.js';
import {
  backOffRegionError,
  latestRpcFailure,
  mayHaveBeenApplied,
  rpcFailureCount,
  sendToRegion,
} from './send-outcome.js';

const keyOf = (m: TxnMutation): Uint8Array => m.key;
const keySize = (m: TxnMutation): number => m.key.length;

/**
 * A min commit ts this far past the attempted commit ts (an hour of physical time) is not chased
 * with a newer timestamp (client-go: `3600000 << 18`).
 */
const MAX_COMMIT_TS_LAG = 943_718_400_000n;

/** Options of {@link commitMutations}. @internal */
export interface CommitMutationsOptions {
  /**
   * Commit the primary's batch first, then the rest in the background on this backoffer
   * (client-go's 2PC commit). Undefined: every batch is awaited, none first (async commit).
   */
  readonly background?: Backoffer | undefined;
}

/**
 * Commits mutations at `s.commitTs` (client-go `commitMutations`): grouped by region, cut at the
 * commit batch size (by key bytes). In 2PC the primary's batch goes first, alone; once it is done
 * the transaction is committed (`s.committed`) and the rest may go in the background. A commit ts
 * TiKV refuses as below the primary lock's min commit ts is replaced by a fresh one and the batch
 * sent again.
 *
 * @param s - the commit
 * @param bo - the backoffer of the awaited part
 * @param items - mutations in key order
 * @param options - primary first with the rest in the background
 * @returns the background run, when there is one
 * @internal
 */
export function commitMutations(
  s: CommitState,
  bo: Backoffer,
  items: readonly TxnMutation[],
  options: CommitMutationsOptions = {},
): Promise<BatchRun> {
  const primaryFirst = !s.asyncCommit && s.primary !== undefined && items.includes(s.primary);
  return s.deps.exec.runBatches(bo, {
    items,
    keyOf,
    sorted: true,
    limit: { maxBytes: s.options.commitBatchSizeBytes, sizeOf: keySize },
    concurrency: s.options.concurrency,
    ...(primaryFirst
      ? {
          primary: {
            key: s.primaryKey,
            ...(options.background === undefined ? {} : { background: options.background }),
          },
        }
      : {}),
    send: (batch, child) => commitBatch(s, batch, child),
  });
}

/** One batch (client-go `actionCommit.handleSingleBatch`). */
async function commitBatch(
  s: CommitState,
  batch: RegionBatch<TxnMutation>,
  bo: Backoffer,
): Promise<BatchOutcome<TxnMutation>> {
  const isPrimary = batch.primary || (s.primary !== undefined && batch.items.includes(s.primary));
  // Whether TiKV's answer decides the transaction's fate: the primary's commit in 2PC.
  const decisive = isPrimary && !s.asyncCommit;
  const request = {
    $case: 'Commit' as const,
    value: {
      context: undefined,
      startVersion: s.startTs,
      keys: batch.items.map(keyOf),
      commitVersion: s.commitTs,
      commitRole: isPrimary ? kvrpcpb.CommitRole.Primary : kvrpcpb.CommitRole.Secondary,
      primaryKey: s.primaryKey,
      useAsyncCommit: s.asyncCommit,
      isTxnFile: false,
    },
  };
  const rpcBefore = rpcFailureCount(bo);
  let answer: Awaited<ReturnType<typeof sendToRegion<typeof request>>>;
  try {
    answer = await sendToRegion(s.deps.exec, bo, batch.region, request, s.writeOptions);
  } catch (e) {
    // The primary's commit may have been applied: neither success nor failure can be reported.
    if (decisive && (rpcFailureCount(bo) > rpcBefore || mayHaveBeenApplied(e))) s.undetermined = e;
    throw e;
  }
  if (decisive && rpcFailureCount(bo) > rpcBefore) s.undetermined = latestRpcFailure(bo);

  if (answer.regionError !== undefined) {
    if (decisive && answer.regionError.undeterminedResult !== undefined) {
      const cause = regionErrorFromWire(answer.regionError, { regionId: batch.region.id });
      s.undetermined = cause;
      throw new UndeterminedError('the commit of the primary has an unknown outcome', {
        startTs: s.startTs,
        cause,
      });
    }
    await backOffRegionError(bo, batch.region, answer.regionError);
    return 'regionError';
  }
  // TiKV processed the primary's commit: its answer is the outcome.
  if (decisive) s.undetermined = undefined;

  const keyError = answer.response.value.error;
  if (keyError !== undefined && keyError !== null) {
    const expired = keyError.commitTsExpired;
    if (expired !== undefined) {
      if (!isPrimary || !keysEqual(expired.key, s.primaryKey)) {
        throw new TiKVError('INTERNAL', 'TiKV refused the commit ts of a key that is not the primary', {
          cause: keyErrorFromWire(keyError as WireKeyError),
        });
      }
      if (expired.minCommitTs - expired.attemptedCommitTs > MAX_COMMIT_TS_LAG) {
        throw keyErrorFromWire(keyError as WireKeyError);
      }
      // client-go: commit again with a newer commit ts.
      s.deps.logger.info('2pc: TiKV refused the commit ts, retrying with a newer one', {
        startTs: s.startTs,
        attemptedCommitTs: expired.attemptedCommitTs,
        minCommitTs: expired.minCommitTs,
      });
      s.commitTs = await s.deps.oracle.getTimestamp(
        bo.signal === undefined ? undefined : { signal: bo.signal },
      );
      return 'retry';
    }
    const error = keyErrorFromWire(keyError as WireKeyError);
    if (s.committed) {
      // A secondary failed after the primary committed: a bug somewhere, never a rollback.
      s.deps.logger.error('2pc: a key failed to commit after the primary was committed', {
        startTs: s.startTs,
        commitTs: s.commitTs,
        error,
      });
    }
    throw error;
  }
  // The first success is the primary's (it goes first): the transaction is committed.
  s.committed = true;
  return 'done';
}
