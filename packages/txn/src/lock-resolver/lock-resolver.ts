import {
  type Backoffer,
  type LockInfo,
  MAX_WRITE_EXECUTION_MS,
  PrimaryMismatchError,
  type Resolved,
} from '@tikv/common';
import type { RegionVerId } from '@tikv/region-cache';
import type { RegionExecutor, RegionRequestOptions } from '@tikv/rpc';
import type { LockResolving, ResolveLocksOptions, ResolveLocksResult, TxnOracle } from '../txn-deps.js';
import {
  type AsyncResolveData,
  checkAllSecondaries,
  NonAsyncCommitLockError,
} from './async-commit-recovery.js';
import { BackgroundResolves } from './background-resolves.js';
import { batchResolveLocks } from './batch-resolve.js';
import { type LockResolveEvent, lockResolveChannel } from './lock-resolver-diagnostics.js';
import {
  LOCK_RESOLVER_METRIC,
  type LockResolverOptions,
  type LockResolverTuning,
  resolveLockResolverTuning,
} from './lock-resolver-options.js';
import {
  type CleanRegions,
  isPessimisticLock,
  mustNotBeSharedLock,
  type ResolveRequestContext,
  resolveKeys,
  resolveLockInRegion,
  rollbackPessimisticLock,
} from './resolve-requests.js';
import { TxnStatus } from './txn-status.js';
import {
  type CheckTxnStatusOptions,
  type GetTxnStatusOptions,
  type SecondaryLocksCheck,
  TxnStatusChecker,
} from './txn-status-checker.js';

export type {
  CheckTxnStatusOptions,
  GetTxnStatusOptions,
  SecondaryLocksCheck,
} from './txn-status-checker.js';

/** The earliest expiry among live locks (client-go `txnExpireTime`). */
class ExpireTime {
  #set = false;
  #ms = 0;

  update(lockExpireMs: number): void {
    const ms = lockExpireMs <= 0 ? 0 : lockExpireMs;
    if (!this.#set || ms < this.#ms) this.#ms = ms;
    this.#set = true;
  }

  get value(): number {
    return this.#set ? this.#ms : 0;
  }
}

/** Keys of one transaction gathered for a lite resolve (client-go `batchLiteResolveTxn`). */
interface LiteBatch {
  readonly status: TxnStatus;
  readonly first: LockInfo;
  readonly keys: Uint8Array[];
}

const EMPTY_RESULT: ResolveLocksResult = Object.freeze({
  msBeforeTxnExpired: 0,
  resolvedLocks: Object.freeze([]),
  committedLocks: Object.freeze([]),
});

/**
 * Resolves the locks of other transactions (client-go `txnlock.LockResolver`): finds out each
 * lock's transaction status from its primary (`CheckTxnStatus`, pushing the min commit ts of a
 * live lock past a reader instead of waiting where TiKV allows it), then commits or rolls back
 * the locks of finished or expired transactions region by region (`ResolveLock`, key by key for
 * small transactions), recovers async-commit transactions from their secondaries
 * (`CheckSecondaryLocks`), and rolls back stale pessimistic locks (`PessimisticRollback`).
 * Statuses of finished transactions are cached.
 *
 * Snapshots and the 2PC committer use it through {@link LockResolving}; tools (GC, lock
 * inspection) may use it directly. Every method takes the caller's `Backoffer`, which carries
 * the budget, the abort signal and the deadline. Call {@link LockResolver.close} when done: it
 * stops the cleanups still running in the background.
 */
export class LockResolver implements LockResolving {
  readonly #exec: RegionExecutor;
  readonly #oracle: TxnOracle;
  readonly #tuning: Resolved<LockResolverTuning>;
  readonly #background: BackgroundResolves;
  readonly #ctx: ResolveRequestContext;
  readonly #status: TxnStatusChecker;

  /**
   * @param options - the executor, the oracle and the tuning
   * @throws InvalidArgumentError for a bad tuning value
   */
  constructor(options: LockResolverOptions) {
    this.#exec = options.executor;
    this.#oracle = options.oracle;
    this.#tuning = resolveLockResolverTuning(options);
    this.#background = new BackgroundResolves(
      this.#exec,
      this.#tuning.maxBackgroundResolves,
      this.#tuning.backgroundMaxBackoffMs,
      this.#tuning.logger,
    );
    this.#ctx = this.#context(undefined);
    this.#status = new TxnStatusChecker(
      this.#ctx,
      this.#oracle,
      this.#tuning.logger,
      this.#tuning.resolvedCacheSize,
    );
  }

  /** The tuning, defaults applied. */
  get tuning(): Resolved<LockResolverTuning> {
    return this.#tuning;
  }

  /** How many lock cleanups are running in the background. */
  get backgroundResolves(): number {
    return this.#background.size;
  }

  /** Resolves once the cleanups running in the background now have settled. */
  whenIdle(): Promise<void> {
    return this.#background.idle();
  }

  /** Stops the background cleanups (they are aborted) and waits for them. Idempotent. */
  close(): Promise<void> {
    return this.#background.close();
  }

  /**
   * The cached status of a finished transaction, if any.
   *
   * @param txnStartTs - the transaction's start ts
   */
  cachedStatus(txnStartTs: bigint): TxnStatus | undefined {
    return this.#status.cachedStatus(txnStartTs);
  }

  #count(type: string): void {
    this.#tuning.metrics.incCounter(LOCK_RESOLVER_METRIC, { type });
  }

  #context(options: ResolveLocksOptions | undefined): ResolveRequestContext {
    const request: RegionRequestOptions = {
      maxExecutionDurationMs: MAX_WRITE_EXECUTION_MS,
      ...(options?.requestSource === undefined ? {} : { requestSource: options.requestSource }),
      ...(options?.resourceGroupName === undefined ? {} : { resourceGroupName: options.resourceGroupName }),
    };
    return { exec: this.#exec, request: Object.freeze(request), count: (t) => this.#count(t) };
  }

  /**
   * Sends one `CheckTxnStatus` to the primary's region (client-go `getTxnStatus`); a finished
   * transaction's status comes from the cache without a request.
   *
   * @param bo - the caller's backoffer
   * @param options - the request's fields
   * @returns the status (finished statuses are cached)
   * @throws TxnNotFoundError when the primary lock is missing and `rollbackIfNotExist` is off
   * @throws PrimaryMismatchError when `resolvingPessimisticLock` is on and the key is not the primary
   * @throws KeyError for any other key error
   */
  checkTxnStatus(bo: Backoffer, options: CheckTxnStatusOptions): Promise<TxnStatus> {
    return this.#status.checkTxnStatus(bo, options);
  }

  /**
   * A transaction's status, rolling back its primary when the lock is missing (client-go
   * `GetTxnStatus`): the lock's expiry is judged at the oracle's low-resolution ts. Its own
   * backoff budget (20 s) covers the call.
   *
   * @param txnStartTs - the transaction's start ts
   * @param primaryKey - its primary key
   * @param options - the caller's start ts, abort signal and timeout
   */
  getTxnStatus(
    txnStartTs: bigint,
    primaryKey: Uint8Array,
    options?: GetTxnStatusOptions,
  ): Promise<TxnStatus> {
    return this.#status.getTxnStatus(txnStartTs, primaryKey, options);
  }

  /**
   * The status of the transaction holding `lock` (client-go `getTxnStatusFromLock`). A lock with
   * TTL 0 is judged expired (TiKV asks for it to be resolved at once). When the primary lock is
   * missing (a concurrent prewrite may not have reached it yet) the check is retried after a
   * `txnNotFound` backoff until the lock expires, then the primary is rolled back; a pessimistic
   * lock whose primary is missing reports the lock's own TTL instead.
   *
   * @param bo - the caller's backoffer
   * @param lock - the lock met
   * @param callerStartTs - the start ts of the caller (0: no push)
   * @param forceSyncCommit - treat an async-commit lock as 2PC
   */
  getTxnStatusFromLock(
    bo: Backoffer,
    lock: LockInfo,
    callerStartTs: bigint,
    forceSyncCommit = false,
  ): Promise<TxnStatus> {
    return this.#status.getTxnStatusFromLock(bo, lock, callerStartTs, forceSyncCommit);
  }

  /**
   * Asks the regions of an async-commit transaction's secondaries about their locks (client-go
   * `checkAllSecondaries`).
   *
   * @param bo - the caller's backoffer
   * @param lock - a lock of the transaction
   * @param status - the primary's status (its lock lists the secondaries)
   * @throws NonAsyncCommitLockError when a secondary is not an async-commit lock (the
   *   transaction fell back to 2PC)
   */
  checkSecondaries(bo: Backoffer, lock: LockInfo, status: TxnStatus): Promise<SecondaryLocksCheck> {
    return this.#status.checkSecondaries(bo, lock, status);
  }

  /**
   * Resolves locks (client-go `ResolveLocksWithOpts`), in three steps for each lock: find its
   * transaction's status at the primary; a finished transaction (or an expired one, rolled back
   * by the check) gets its locks committed or rolled back; a live one is waited for, or for a
   * read pushed or bypassed. Reads do not wait for the cleanup: it runs in the background.
   *
   * @param bo - the caller's backoffer (its budget, signal and deadline)
   * @param options - the caller's start ts, the locks, read or write, lite
   * @returns how long to back off before retrying, and the transactions a read may ignore or
   *   read through
   */
  async resolveLocks(bo: Backoffer, options: ResolveLocksOptions): Promise<ResolveLocksResult> {
    if (options.locks.length === 0) return EMPTY_RESULT;
    const details = bo.execDetails;
    if (details !== undefined) {
      // The caller asked for execution details: the time spent here is the call's resolve time.
      const started = performance.now();
      try {
        return await this.#resolveLocksObserved(bo, options);
      } finally {
        details.recordResolveLock(performance.now() - started);
      }
    }
    return this.#resolveLocksObserved(bo, options);
  }

  async #resolveLocksObserved(bo: Backoffer, options: ResolveLocksOptions): Promise<ResolveLocksResult> {
    const ch = lockResolveChannel();
    if (!ch.hasSubscribers) return this.#resolveLocks(bo, options);
    const started = performance.now();
    const base = {
      callerStartTs: options.callerStartTs,
      lockCount: options.locks.length,
      lockTxns: options.locks.map((l) => l.lockVersion),
      forRead: options.forRead === true,
    };
    try {
      const result = await this.#resolveLocks(bo, options);
      const event: LockResolveEvent = { ...base, ...result, durationMs: performance.now() - started };
      ch.publish(event);
      return result;
    } catch (error) {
      const event: LockResolveEvent = {
        ...base,
        msBeforeTxnExpired: 0,
        resolvedLocks: [],
        committedLocks: [],
        durationMs: performance.now() - started,
        error,
      };
      ch.publish(event);
      throw error;
    }
  }

  /**
   * {@link resolveLocks} for a read (client-go `ResolveLocksForRead`).
   *
   * @param bo - the caller's backoffer
   * @param options - the reader's start ts, the locks, lite
   */
  resolveLocksForRead(
    bo: Backoffer,
    options: Omit<ResolveLocksOptions, 'forRead' | 'pessimisticRegionResolve'>,
  ): Promise<ResolveLocksResult> {
    return this.resolveLocks(bo, { ...options, forRead: true });
  }

  async #resolveLocks(bo: Backoffer, options: ResolveLocksOptions): Promise<ResolveLocksResult> {
    const { callerStartTs, locks } = options;
    const forRead = options.forRead === true;
    const lite = options.lite === true;
    const regionResolve = options.pessimisticRegionResolve === true;
    const ctx =
      options.requestSource === undefined && options.resourceGroupName === undefined
        ? this.#ctx
        : this.#context(options);
    this.#count('resolve');
    const expire = new ExpireTime();
    const cleanTxns = new Map<bigint, CleanRegions>();
    const pessimisticCleanTxns = new Map<bigint, CleanRegions>();
    let liteBatches: Map<bigint, LiteBatch> | undefined;

    const resolve = async (l: LockInfo, forceSyncCommit: boolean): Promise<[TxnStatus, boolean]> => {
      let status: TxnStatus;
      try {
        status = await this.getTxnStatusFromLock(bo, l, callerStartTs, forceSyncCommit);
      } catch (e) {
        if (!(e instanceof PrimaryMismatchError)) throw e;
        // A pessimistic lock pointing at a key that is not its primary: roll it back.
        if (!isPessimisticLock(l)) throw e;
        status = new TxnStatus();
      }
      const ttlExpired = this.#oracle.isExpired(l.lockVersion, Number(status.ttlMs));
      const expiredAsyncCommit =
        status.primaryLock?.useAsyncCommit === true && !forceSyncCommit && ttlExpired;
      if (status.ttlMs !== 0n && !expiredAsyncCommit) return [status, false];
      this.#count('expired');
      let cleanRegions = cleanTxns.get(l.lockVersion);
      const seen = cleanRegions !== undefined;
      if (cleanRegions === undefined) {
        cleanRegions = new Set();
        cleanTxns.set(l.lockVersion, cleanRegions);
      }
      if (expiredAsyncCommit) {
        // The recovery resolves every lock of the transaction: once is enough.
        if (seen) return [status, false];
        try {
          return [await this.#resolveAsyncCommitLock(ctx, bo, l, status, forRead), false];
        } catch (e) {
          if (e instanceof NonAsyncCommitLockError) return resolve(l, true);
          throw e;
        }
      }
      if (isPessimisticLock(l)) {
        let regions: CleanRegions | undefined;
        if (regionResolve) {
          regions = pessimisticCleanTxns.get(l.lockVersion);
          if (regions === undefined) {
            regions = new Set();
            pessimisticCleanTxns.set(l.lockVersion, regions);
          }
        }
        await rollbackPessimisticLock(ctx, bo, l, regionResolve, regions);
        return [status, false];
      }
      // Small transactions: gathered, so that one request per region cleans all their keys.
      if (lite || l.txnSize < BigInt(this.#tuning.liteThreshold)) return [status, true];
      const regions = cleanRegions;
      const started =
        forRead &&
        this.#background.tryRun('resolve lock', (abo) =>
          resolveLockInRegion(ctx, abo, l, status, false, new Set()),
        );
      if (!started) await resolveLockInRegion(ctx, bo, l, status, false, regions);
      return [status, false];
    };

    const resolvedLocks: bigint[] = [];
    const committedLocks: bigint[] = [];
    for (const l of locks) {
      mustNotBeSharedLock(l);
      const [status, lite] = await resolve(l, false);
      if (lite) {
        liteBatches ??= new Map();
        const batch = liteBatches.get(l.lockVersion);
        if (batch === undefined) liteBatches.set(l.lockVersion, { status, first: l, keys: [l.key] });
        else batch.keys.push(l.key);
      }
      if (!forRead && status.ttlMs !== 0n) {
        this.#count('not_expired');
        expire.update(this.#oracle.untilExpired(l.lockVersion, Number(status.ttlMs)));
        continue;
      }
      if (
        status.action === 'MinCommitTSPushed' ||
        status.isRolledBack ||
        (status.isCommitted && status.commitTs > callerStartTs)
      ) {
        resolvedLocks.push(l.lockVersion);
      } else if (status.isCommitted && status.commitTs <= callerStartTs) {
        committedLocks.push(l.lockVersion);
      } else {
        this.#count('not_expired');
        expire.update(this.#oracle.untilExpired(l.lockVersion, Number(status.ttlMs)));
      }
    }
    if (liteBatches !== undefined) {
      for (const batch of liteBatches.values()) await this.#resolveLite(ctx, bo, batch, forRead);
    }
    if (expire.value > 0) this.#count('wait_expired');
    return { msBeforeTxnExpired: expire.value, resolvedLocks, committedLocks };
  }

  /**
   * The keys of one small transaction, resolved key by key with one request per region
   * (client-go `batchLiteResolveLocks`). For a read the cleanup runs in the background, or in
   * place when the background is full; its failure then does not fail the read (the status is
   * known, the read can go on).
   */
  async #resolveLite(
    ctx: ResolveRequestContext,
    bo: Backoffer,
    batch: LiteBatch,
    forRead: boolean,
  ): Promise<void> {
    const { status, first, keys } = batch;
    const work =
      keys.length === 1
        ? (b: Backoffer) => resolveLockInRegion(ctx, b, first, status, true, undefined)
        : (b: Backoffer) => {
            for (let i = 0; i < keys.length; i++) ctx.count('resolve_lock_lite');
            return resolveKeys(ctx, b, first, keys, status);
          };
    if (forRead && this.#background.tryRun('lite resolve', work)) return;
    try {
      await work(bo);
    } catch (e) {
      if (!forRead || bo.signal?.aborted === true) throw e;
      this.#tuning.logger.info('lite resolve failed after the read went on', {
        txnStartTs: first.lockVersion,
        error: e,
      });
    }
  }

  /**
   * Recovers an expired async-commit transaction (client-go `resolveAsyncCommitLock`): unless
   * its status is known, the secondaries decide it; then every lock is committed or rolled back
   * (for a read, in the background).
   */
  async #resolveAsyncCommitLock(
    ctx: ResolveRequestContext,
    bo: Backoffer,
    l: LockInfo,
    status: TxnStatus,
    inBackground: boolean,
  ): Promise<TxnStatus> {
    this.#count('resolve_async_commit');
    let keys: Uint8Array[];
    let decided = status;
    if (status.isStatusDetermined) {
      keys = [...(status.primaryLock?.secondaries ?? []), l.primary];
    } else {
      const data: AsyncResolveData = await checkAllSecondaries(ctx, bo, l, status);
      keys = [...data.keys, l.primary];
      decided = status.withCommitTs(data.commitTs);
      if (decided.isStatusDetermined) this.#status.saveResolved(l.lockVersion, decided);
    }
    this.#tuning.logger.info('resolve async commit locks', {
      startTs: l.lockVersion,
      commitTs: decided.commitTs,
    });
    const work = (b: Backoffer) => resolveKeys(ctx, b, l, keys, decided);
    if (!(inBackground && this.#background.tryRun('async commit resolve', work))) await work(bo);
    return decided;
  }

  /**
   * Resolves locks of one region whatever their TTL, for GC (client-go `BatchResolveLocks`):
   * every transaction is checked with `currentTs` at the maximum (so live ones are rolled back),
   * pessimistic locks are rolled back one by one, and the rest is resolved by one `ResolveLock`
   * carrying every transaction's outcome (`txn_infos`).
   *
   * @param bo - the caller's backoffer
   * @param locks - locks of one region (from a lock scan)
   * @param region - the region they were scanned in
   * @returns false after a region error (the caller scans the region again), true when done
   */
  batchResolveLocks(bo: Backoffer, locks: readonly LockInfo[], region: RegionVerId): Promise<boolean> {
    return batchResolveLocks(this.#ctx, this.#status, bo, locks, region);
  }
}
