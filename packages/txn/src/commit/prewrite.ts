import {
  type AlreadyExistsError,
  type Backoffer,
  BackoffKinds,
  extractPhysical,
  isTiKVError,
  KeyIsLockedError,
  keyErrorFromWire,
  keyToLatin1,
  type LockInfo,
  lockInfoFromWire,
  regionErrorFromWire,
  TiKVError,
  U64_MAX,
  UndeterminedError,
  type WireKeyError,
  WriteConflictError,
} from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import { type BatchOutcome, groupByRegion, type RegionBatch } from '@tikv/rpc';
import { KeyFlags } from '../membuffer/key-flags.js';
import type { AssertionLevel } from './commit-options.js';
import { type CommitState, regionVersionKey } from './commit-state.js';
import { WriteAccess } from './min-commit-ts.js';
import type { TxnMutation } from './mutations.js';
import { backOffRegionError, mayHaveBeenApplied, rpcFailureCount, sendToRegion } from './send-outcome.js';

const ASSERTION_LEVELS: Readonly<Record<AssertionLevel, kvrpcpb.AssertionLevel>> = Object.freeze({
  off: kvrpcpb.AssertionLevel.Off,
  fast: kvrpcpb.AssertionLevel.Fast,
  strict: kvrpcpb.AssertionLevel.Strict,
});

const keyOf = (m: TxnMutation): Uint8Array => m.key;
const keyValueSize = (m: TxnMutation): number => m.key.length + m.value.length;

/** The state of one prewrite of a set of mutations. */
interface PrewriteRun {
  /** How many mutations the prewrite covers: a batch holding all of them may commit in 1PC. */
  readonly total: number;
  /** Mutations re-sent after a region error: their `txn_size` is unknown (client-go `action.retry`). */
  readonly retried: Set<TxnMutation>;
  /** Mutations whose earlier attempt met a failed RPC (client-go's sender keeps `rpcError`). */
  readonly rpcTainted: Set<TxnMutation>;
  /**
   * Mutations sent before, after a region error or a lock they had to wait for: their next
   * request is a retry (client-go `attempts > 1 || action.retry`), whatever region it goes to.
   */
  readonly resent: Set<TxnMutation>;
  /** The first error a batch failed with; the rest of the batches are cancelled by it. */
  firstError: unknown;
  /** The first assertion failure, thrown only when nothing else failed (client-go `batchExecutor`). */
  assertionError: unknown;
}

/**
 * How many batches `appendBatches` cuts the items of one region into (client-go
 * `appendBatchMutationsBySize`): a batch closes once its size reaches the limit.
 */
function countBatches(items: readonly TxnMutation[], maxBytes: number): number {
  let batches = 0;
  let size = 0;
  for (const m of items) {
    size += keyValueSize(m);
    if (size >= maxBytes) {
      batches++;
      size = 0;
    }
  }
  return size > 0 ? batches + 1 : batches;
}

/**
 * Prewrites mutations (client-go `prewriteMutations`): grouped by region, cut at the commit batch
 * size, every batch sent concurrently. A batch that meets locks has them resolved through the lock
 * resolver, backs off `txnLock` while they live, and is sent again; one that meets a region error
 * is grouped again. 1PC is given up before sending when the mutations need more than one batch.
 *
 * @param s - the commit
 * @param bo - prewrite's backoffer
 * @param items - mutations in key order
 * @throws the first batch's error (typed `KeyError`s: `WriteConflictError`, `AlreadyExistsError`,
 *   ...); an `AssertionFailedError` only when no batch failed otherwise
 * @internal
 */
export async function prewriteMutations(
  s: CommitState,
  bo: Backoffer,
  items: readonly TxnMutation[],
): Promise<void> {
  if (items.length === 0) return;
  const { exec } = s.deps;
  const maxBytes = s.options.commitBatchSizeBytes;
  const groups = await groupByRegion(exec.locator, items, {
    keyOf,
    sorted: true,
    ...(bo.signal === undefined ? {} : { signal: bo.signal }),
  });
  let batches = 0;
  for (const g of groups) {
    s.regionTxnSize.set(regionVersionKey(g.location.region), g.items.length);
    batches += countBatches(g.items, maxBytes);
  }
  // client-go `checkOnePCFallBack`: 1PC needs the whole transaction in one request.
  if (batches > 1) s.onePc = false;
  const run: PrewriteRun = {
    total: items.length,
    retried: new Set(),
    rpcTainted: new Set(),
    resent: new Set(),
    firstError: undefined,
    assertionError: undefined,
  };
  await exec.runBatches(bo, {
    items,
    keyOf,
    sorted: true,
    limit: { maxBytes, sizeOf: keyValueSize },
    concurrency: s.options.concurrency,
    send: async (batch, child) => {
      try {
        return await prewriteBatch(s, run, batch, child);
      } catch (e) {
        run.firstError ??= e;
        throw e;
      }
    },
  });
  if (run.assertionError !== undefined) throw run.assertionError;
}

/** One batch (client-go `prewrite1BatchReqHandler`). */
async function prewriteBatch(
  s: CommitState,
  run: PrewriteRun,
  batch: RegionBatch<TxnMutation>,
  bo: Backoffer,
): Promise<BatchOutcome<TxnMutation>> {
  const items = batch.items;
  // The grouping changed since the count above: 1PC only for a batch of everything.
  if (s.onePc && items.length !== run.total) s.onePc = false;
  const isPrimary = s.primary !== undefined && items.includes(s.primary);
  const retried = run.retried.size > 0 && run.retried.has(items[0] as TxnMutation);
  // After a region error the region's key count is unknown: the largest value keeps TiKV from
  // resolving this transaction's locks "lite" (client-go).
  const count = retried ? undefined : s.regionTxnSize.get(regionVersionKey(batch.region));
  const txnSize = count === undefined ? U64_MAX : BigInt(count);
  // An earlier attempt of these keys may have been applied (a lost response, then a split):
  // TiKV checks a retried prewrite against the transaction's commit or rollback record.
  const isRetry = run.resent.size > 0 && items.some((m) => run.resent.has(m));
  const request = prewriteRequest(s, items, isPrimary, txnSize, isRetry);
  const rpcBefore = rpcFailureCount(bo);
  const tainted = run.rpcTainted.size > 0 && items.some((m) => run.rpcTainted.has(m));
  let rpcSeen = tainted;
  try {
    let answer: Awaited<ReturnType<typeof sendToRegion<typeof request>>>;
    try {
      answer = await sendToRegion(s.deps.exec, bo, batch.region, request, s.writeOptions);
    } finally {
      rpcSeen ||= rpcFailureCount(bo) > rpcBefore;
    }
    if (answer.regionError !== undefined) {
      if (answer.regionError.undeterminedResult !== undefined && (s.asyncCommit || s.onePc)) {
        // With async commit or 1PC a prewrite may be the commit: TiKV cannot tell whether it was.
        const cause = regionErrorFromWire(answer.regionError, { regionId: batch.region.id });
        s.undetermined ??= cause;
        throw new UndeterminedError(
          'the prewrite of an async-commit or 1PC transaction has an unknown outcome',
          {
            startTs: s.startTs,
            cause,
          },
        );
      }
      await backOffRegionError(bo, batch.region, answer.regionError);
      for (const m of items) {
        run.retried.add(m);
        run.resent.add(m);
      }
      if (rpcSeen) for (const m of items) run.rpcTainted.add(m);
      return 'regionError';
    }
    const response = answer.response.value;
    if (response.errors.length === 0) {
      prewriteSucceeded(s, isPrimary, response);
      return 'done';
    }
    const locks = locksOf(s, response.errors);
    const resolved = await s.deps.resolver.resolveLocks(bo, {
      callerStartTs: s.startTs,
      locks,
      pessimisticRegionResolve: true,
    });
    if (resolved.msBeforeTxnExpired > 0) {
      await bo.backoff(BackoffKinds.txnLock, new KeyIsLockedError(locks[0] as LockInfo), {
        maxSleepMs: resolved.msBeforeTxnExpired,
      });
    }
    if (rpcSeen) for (const m of items) run.rpcTainted.add(m);
    for (const m of items) run.resent.add(m);
    return 'retry';
  } catch (e) {
    if (isTiKVError(e, 'ASSERTION_FAILED')) {
      // Held back: another batch's error, if any, is the real cause (a false positive assertion
      // after a lost pessimistic lock, tikv#12113).
      run.assertionError ??= e;
      return 'done';
    }
    // With async commit or 1PC, a prewrite whose RPC failed after it may have reached TiKV leaves
    // the outcome unknown, unless it failed only because another batch's failure cancelled it.
    if ((s.asyncCommit || s.onePc) && run.firstError === undefined && (rpcSeen || mayHaveBeenApplied(e))) {
      s.undetermined ??= e;
    }
    throw e;
  }
}

/**
 * The lock TTL a prewrite asks for (client-go `buildPrewriteRequest`, tidb#33641). A pessimistic
 * async-commit transaction's locks outlive its max commit ts: a reader can then find one expired
 * (and roll the transaction back) only at a current ts past the max commit ts, which TiKV keeps
 * as its max ts, so a prewrite of the transaction still to come computes a min commit ts past the
 * max commit ts and falls back to 2PC instead of committing what the reader rolled back.
 */
function prewriteLockTtlMs(s: CommitState): number {
  if (!(s.asyncCommit && s.pessimistic)) return s.lockTtlMs;
  const safeTtlMs = extractPhysical(s.maxCommitTs) - extractPhysical(s.startTs) + 1;
  return safeTtlMs > s.lockTtlMs ? safeTtlMs : s.lockTtlMs;
}

/** The request of one batch (client-go `buildPrewriteRequest`). */
function prewriteRequest(
  s: CommitState,
  items: readonly TxnMutation[],
  isPrimary: boolean,
  txnSize: bigint,
  isRetry: boolean,
): { readonly $case: 'Prewrite'; readonly value: kvrpcpb.PrewriteRequest } {
  let minCommitTs = s.minCommitTs.get();
  if (s.forUpdateTs > 0n && s.forUpdateTs >= minCommitTs) minCommitTs = s.forUpdateTs + 1n;
  else if (s.startTs >= minCommitTs) minCommitTs = s.startTs + 1n;
  return {
    $case: 'Prewrite',
    value: {
      // The sender fills in the rest; it keeps a retry flag set here (and sets it for its own retries).
      context: isRetry ? kvrpcpb.Context.fromPartial({ isRetryRequest: true }) : undefined,
      // A TxnMutation is a kvrpcpb.Mutation: the items go in as they are.
      mutations: items as TxnMutation[],
      primaryLock: s.primaryKey,
      startVersion: s.startTs,
      lockTtl: BigInt(prewriteLockTtlMs(s)),
      skipConstraintCheck: false,
      // Read by TiKV's pessimistic prewrite only (for_update_ts > 0); an optimistic one ignores it.
      pessimisticActions: s.forUpdateTs > 0n ? items.map((m) => m.pessimisticAction) : [],
      txnSize,
      forUpdateTs: s.forUpdateTs,
      minCommitTs,
      useAsyncCommit: s.asyncCommit,
      secondaries: s.asyncCommit && isPrimary ? s.secondaries() : [],
      tryOnePc: s.onePc,
      maxCommitTs: s.maxCommitTs,
      assertionLevel: ASSERTION_LEVELS[s.options.assertionLevel],
      forUpdateTsConstraints: forUpdateTsConstraintsOf(s, items),
      txnFileChunks: [],
    },
  };
}

/** A batch was prewritten (client-go `handleSingleBatchSucceed`). */
function prewriteSucceeded(s: CommitState, isPrimary: boolean, response: kvrpcpb.PrewriteResponse): void {
  // A large transaction keeps its primary lock alive from the moment it is written.
  if (isPrimary && s.txnSizeBytes > s.options.ttlRefreshedTxnSizeBytes && response.onePcCommitTs === 0n) {
    s.ttl?.run();
  }
  if (s.onePc) {
    if (response.onePcCommitTs === 0n) {
      if (response.minCommitTs !== 0n) {
        throw new TiKVError('INTERNAL', 'TiKV declined 1PC but answered a min commit ts');
      }
      s.deps.logger.warn('2pc: TiKV declined 1PC, falling back to 2PC', { startTs: s.startTs });
      s.onePc = false;
      s.asyncCommit = false;
    } else {
      if (s.onePcCommitTs !== 0n)
        throw new TiKVError('INTERNAL', 'TiKV committed one transaction twice in 1PC');
      s.onePcCommitTs = response.onePcCommitTs;
    }
    return;
  }
  if (response.onePcCommitTs !== 0n) {
    throw new TiKVError('INTERNAL', 'TiKV committed in 1PC a transaction that did not ask for it');
  }
  if (s.asyncCommit) {
    if (response.minCommitTs === 0n) {
      // TiKV cannot commit it asynchronously (its min commit ts would pass max_commit_ts): the
      // rest goes the 2PC way once every prewrite is done.
      s.deps.logger.warn('2pc: TiKV declined async commit, falling back to 2PC', { startTs: s.startTs });
      s.asyncCommit = false;
    } else {
      s.minCommitTs.tryUpdate(response.minCommitTs, WriteAccess.TWO_PC);
    }
  }
}

/**
 * The locks in a prewrite's key errors (client-go `extractKeyErrs`). Any other key error is thrown,
 * typed; a lock of a newer transaction is a write conflict for an optimistic transaction (it cannot
 * commit after it anyway), thrown at once instead of resolving it.
 */
function locksOf(s: CommitState, errors: readonly kvrpcpb.KeyError[]): LockInfo[] {
  const locks: LockInfo[] = [];
  for (const keyError of errors) {
    if (keyError.alreadyExist !== undefined) throw keyExists(s, keyError);
    const locked = keyError.locked;
    if (locked === undefined) throw keyErrorFromWire(keyError as WireKeyError);
    const found =
      locked.sharedLockInfos.length > 0
        ? locked.sharedLockInfos.map(lockInfoFromWire)
        : [lockInfoFromWire(locked)];
    for (const lock of found) {
      if (lock.lockVersion > s.startTs && s.forUpdateTs === 0n) {
        throw new WriteConflictError({
          startTs: s.startTs,
          conflictStartTs: lock.lockVersion,
          conflictCommitTs: 0n,
          key: lock.key,
          primary: s.primaryKey,
          reason: 'Optimistic',
        });
      }
      locks.push(lock);
    }
  }
  return locks;
}

/**
 * An `already_exist` answer (client-go `extractKeyExistsErr`): only an `Insert` or a
 * `CheckNotExists` can get one, and only a key presumed not to exist becomes one.
 */
function keyExists(s: CommitState, keyError: kvrpcpb.KeyError): TiKVError {
  const error = keyErrorFromWire(keyError as WireKeyError) as AlreadyExistsError;
  const flags = s.deps.buffer.getFlags(error.key);
  if (flags === undefined || !KeyFlags.hasPresumeKeyNotExists(flags)) {
    return new TiKVError('INTERNAL', 'TiKV answered already-exists for a key not presumed absent', {
      cause: error,
    });
  }
  return error;
}

/** The for-update ts checks of a batch's keys (client-go `ForUpdateTsConstraints`). */
function forUpdateTsConstraintsOf(
  s: CommitState,
  items: readonly TxnMutation[],
): kvrpcpb.PrewriteRequest_ForUpdateTSConstraint[] {
  const checks = s.forUpdateTsConstraints;
  if (checks === undefined || checks.size === 0) return [];
  const out: kvrpcpb.PrewriteRequest_ForUpdateTSConstraint[] = [];
  items.forEach((m, index) => {
    const expected = checks.get(keyToLatin1(m.key));
    if (expected !== undefined) out.push({ index, expectedForUpdateTs: expected });
  });
  return out;
}
