import {
  type Backoffer,
  BackoffKinds,
  keyErrorFromWire,
  type LockInfo,
  type Logger,
  lockInfoFromWire,
  PrimaryMismatchError,
  type RequestOptions,
  TxnNotFoundError,
  U64_MAX,
} from '@tikv/common';
import { LRUCache } from 'lru-cache';
import type { TxnOracle } from '../txn-deps.js';
import { checkAllSecondaries } from './async-commit-recovery.js';
import { isPessimisticLock, type ResolveRequestContext } from './resolve-requests.js';
import { TXN_ACTION_NAMES, TxnStatus } from './txn-status.js';

/** Backoff budget of {@link LockResolver.getTxnStatus}, in milliseconds (client-go `getTxnStatusMaxBackoff`). */
const GET_TXN_STATUS_MAX_BACKOFF_MS = 20_000;

/** Options of {@link LockResolver.checkTxnStatus}: the fields of a `CheckTxnStatus` request. */
export interface CheckTxnStatusOptions {
  /** The transaction's primary key. */
  readonly primaryKey: Uint8Array;
  /** The transaction's start ts. */
  readonly txnStartTs: bigint;
  /** The start ts of the caller; TiKV pushes the lock's min commit ts past it. 0: no push. @defaultValue 0n */
  readonly callerStartTs?: bigint | undefined;
  /** The ts the lock's expiry is judged at; `U64_MAX` treats every lock as expired. @defaultValue 0n */
  readonly currentTs?: bigint | undefined;
  /** Write a rollback record when the primary lock is missing (else TxnNotFoundError). @defaultValue false */
  readonly rollbackIfNotExist?: boolean | undefined;
  /** Treat an async-commit primary as a 2PC one (roll it back once expired). @defaultValue false */
  readonly forceSyncCommit?: boolean | undefined;
  /** The caller resolves a pessimistic lock (PrimaryMismatchError when the key is not the primary). @defaultValue false */
  readonly resolvingPessimisticLock?: boolean | undefined;
  /** Ask TiKV to check that the key holds the transaction's primary lock. @defaultValue true */
  readonly verifyIsPrimary?: boolean | undefined;
  /** The transaction is a file-based one. @defaultValue false */
  readonly isTxnFile?: boolean | undefined;
}

/** Options of {@link LockResolver.getTxnStatus}. */
export interface GetTxnStatusOptions extends RequestOptions {
  /** The start ts of the caller. @defaultValue 0n */
  readonly callerStartTs?: bigint | undefined;
}

/** What the secondaries of an async-commit transaction say (see {@link LockResolver.checkSecondaries}). */
export interface SecondaryLocksCheck {
  /** The commit ts the transaction has or must get; 0 when a secondary was rolled back. */
  readonly commitTs: bigint;
  /** Whether some secondary was no longer locked (the transaction is finished). */
  readonly missingLock: boolean;
  /** The secondaries still locked. */
  readonly keys: readonly Uint8Array[];
}

/**
 * The transaction-status half of the lock resolver: asks a lock's primary for its
 * transaction's status (`CheckTxnStatus`), asks an async-commit transaction's secondaries
 * (`CheckSecondaryLocks`), and caches the statuses of finished transactions. The
 * {@link LockResolver} delegates its status methods here and resolves locks from what it says.
 *
 * @internal
 */
export class TxnStatusChecker {
  readonly #ctx: ResolveRequestContext;
  readonly #oracle: TxnOracle;
  readonly #logger: Logger;
  readonly #resolved: LRUCache<bigint, TxnStatus>;

  /**
   * @param ctx - the executor, the request options and the metric of the resolver
   * @param oracle - timestamps and lock expiry
   * @param logger - receives protocol violations and unexpected errors
   * @param resolvedCacheSize - statuses of finished transactions kept
   */
  constructor(ctx: ResolveRequestContext, oracle: TxnOracle, logger: Logger, resolvedCacheSize: number) {
    this.#ctx = ctx;
    this.#oracle = oracle;
    this.#logger = logger;
    this.#resolved = new LRUCache({ max: resolvedCacheSize });
  }

  /**
   * The cached status of a finished transaction, if any.
   *
   * @param txnStartTs - the transaction's start ts
   */
  cachedStatus(txnStartTs: bigint): TxnStatus | undefined {
    return this.#resolved.get(txnStartTs);
  }

  /**
   * Caches the status of a finished transaction; a cached one stays (a different one is logged:
   * a transaction cannot finish twice).
   *
   * @param txnStartTs - the transaction's start ts
   * @param status - its determined status
   */
  saveResolved(txnStartTs: bigint, status: TxnStatus): void {
    const saved = this.#resolved.get(txnStartTs);
    if (saved !== undefined) {
      if (!saved.hasSameDeterminedStatus(status)) {
        // A finished transaction cannot finish twice: this is a protocol violation, not a race.
        this.#logger.error('txn status differs from the cached one', {
          txnStartTs,
          cached: saved.toString(),
          status: status.toString(),
        });
      }
      return;
    }
    this.#resolved.set(txnStartTs, status);
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
  async checkTxnStatus(bo: Backoffer, options: CheckTxnStatusOptions): Promise<TxnStatus> {
    const cached = this.#resolved.get(options.txnStartTs);
    if (cached !== undefined) return cached;
    this.#ctx.count('query_txn_status');
    const resolvingPessimisticLock = options.resolvingPessimisticLock === true;
    const { response } = await this.#ctx.exec.sendToKey(
      bo,
      options.primaryKey,
      () => ({
        $case: 'CheckTxnStatus' as const,
        value: {
          context: undefined,
          primaryKey: options.primaryKey,
          lockTs: options.txnStartTs,
          callerStartTs: options.callerStartTs ?? 0n,
          currentTs: options.currentTs ?? 0n,
          rollbackIfNotExist: options.rollbackIfNotExist === true,
          forceSyncCommit: options.forceSyncCommit === true,
          resolvingPessimisticLock,
          verifyIsPrimary: options.verifyIsPrimary ?? true,
          isTxnFile: options.isTxnFile === true,
        },
      }),
      { request: this.#ctx.request },
    );
    const resp = response.value;
    if (resp.error !== undefined) {
      const err = keyErrorFromWire(resp.error);
      if (
        err instanceof TxnNotFoundError ||
        (err instanceof PrimaryMismatchError && resolvingPessimisticLock)
      ) {
        throw err;
      }
      this.#logger.error('unexpected CheckTxnStatus error', {
        txnStartTs: options.txnStartTs,
        error: err,
      });
      throw err;
    }
    const primaryLock = resp.lockInfo === undefined ? undefined : lockInfoFromWire(resp.lockInfo);
    const action = TXN_ACTION_NAMES[resp.action] ?? 'NoAction';
    if (resp.lockTtl !== 0n) return new TxnStatus({ ttlMs: resp.lockTtl, action, primaryLock });
    this.#ctx.count(
      resp.commitVersion === 0n ? 'query_txn_status_rolled_back' : 'query_txn_status_committed',
    );
    const status = new TxnStatus({ commitTs: resp.commitVersion, action, primaryLock });
    if (status.isStatusDetermined) this.saveResolved(options.txnStartTs, status);
    return status;
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
  async getTxnStatus(
    txnStartTs: bigint,
    primaryKey: Uint8Array,
    options?: GetTxnStatusOptions,
  ): Promise<TxnStatus> {
    const { bo, scope } = this.#ctx.exec.begin(options, { maxBackoffMs: GET_TXN_STATUS_MAX_BACKOFF_MS });
    try {
      const currentTs = await this.#oracle.getLowResolutionTimestamp(
        bo.signal === undefined ? undefined : { signal: bo.signal },
      );
      return await this.checkTxnStatus(bo, {
        primaryKey,
        txnStartTs,
        callerStartTs: options?.callerStartTs ?? 0n,
        currentTs,
        rollbackIfNotExist: true,
      });
    } finally {
      scope.dispose();
    }
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
  async getTxnStatusFromLock(
    bo: Backoffer,
    lock: LockInfo,
    callerStartTs: bigint,
    forceSyncCommit = false,
  ): Promise<TxnStatus> {
    const currentTs =
      lock.lockTtlMs === 0n
        ? U64_MAX
        : await this.#oracle.getLowResolutionTimestamp(
            bo.signal === undefined ? undefined : { signal: bo.signal },
          );
    let rollbackIfNotExist = false;
    for (;;) {
      try {
        return await this.checkTxnStatus(bo, {
          primaryKey: lock.primary,
          txnStartTs: lock.lockVersion,
          callerStartTs,
          currentTs,
          rollbackIfNotExist,
          forceSyncCommit,
          resolvingPessimisticLock: isPessimisticLock(lock),
          isTxnFile: lock.isTxnFile,
        });
      } catch (e) {
        if (!(e instanceof TxnNotFoundError)) throw e;
        if (this.#oracle.untilExpired(lock.lockVersion, Number(lock.lockTtlMs)) <= 0) {
          // Expired: roll the missing primary back (or, for a pessimistic lock, TiKV does nothing).
          rollbackIfNotExist = true;
          continue;
        }
        // A transaction rolled back by its owner leaves nothing at the primary: let the caller
        // wait for the pessimistic lock's TTL instead of spinning on it.
        if (isPessimisticLock(lock)) return new TxnStatus({ ttlMs: lock.lockTtlMs });
        await bo.backoff(BackoffKinds.txnNotFound, e);
      }
    }
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
  async checkSecondaries(bo: Backoffer, lock: LockInfo, status: TxnStatus): Promise<SecondaryLocksCheck> {
    const data = await checkAllSecondaries(this.#ctx, bo, lock, status);
    return { commitTs: data.commitTs, missingLock: data.missingLock, keys: data.keys };
  }
}
