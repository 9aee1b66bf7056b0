import {
  AssertionFailedError,
  type Backoffer,
  type CommitDetailsOptions,
  checkRequestOptions,
  composeTs,
  type ExecDetailsOptions,
  InvalidArgumentError,
  isTiKVError,
  noopLogger,
  type OperationScope,
  type RequestOptions,
  systemClock,
  TiKVError,
  U64_MAX,
  UndeterminedError,
} from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import type { BatchRun } from '@tikv/rpc';
import type { MemBuffer } from '../membuffer/mem-buffer.js';
import type { LockResolving, TxnParts } from '../txn-deps.js';
import { cleanupMutations } from './cleanup.js';
import { commitMutations } from './commit-action.js';
import { publishCommit } from './commit-diagnostics.js';
import {
  type CommitOptions,
  checkStartTimeMs,
  type ResolvedCommitOptions,
  resolveCommitOptions,
} from './commit-options.js';
import { CommitProtocol, type CommitResult } from './commit-result.js';
import { CommitState } from './commit-state.js';
import { type CommitTiming, commitTimingFor } from './commit-timing.js';
import { txnLockTtlMs } from './lock-ttl.js';
import { WriteAccess } from './min-commit-ts.js';
import { buildMutations, type MutationCounts } from './mutations.js';
import { prewriteMutations } from './prewrite.js';
import { TtlManager, TtlManagerState } from './ttl-manager.js';

const EMPTY = new Uint8Array(0);
const DONE: Promise<void> = Promise.resolve();

/** Options of a {@link TwoPhaseCommitter}: the transaction, its lock resolver, how it commits. */
export interface TwoPhaseCommitterOptions extends CommitOptions {
  /** The transaction's start ts. */
  readonly startTs: bigint;
  /** Resolves the locks prewrite meets (the client's `LockResolver`). */
  readonly lockResolver: LockResolving;
  /**
   * A pessimistic transaction: keys locked in the buffer hold pessimistic locks, which prewrite
   * checks and turns into its locks (`DoPessimisticCheck`). @defaultValue false
   */
  readonly pessimistic?: boolean | undefined;
  /** The largest for-update ts its pessimistic locks were taken at. @defaultValue 0n */
  readonly forUpdateTs?: bigint | undefined;
  /**
   * Keys (as `keyToLatin1` strings) whose pessimistic lock prewrite checks still has this for-update
   * ts: the locks of an aggressive locking stage (client-go `forUpdateTSConstraints`). @defaultValue none
   */
  readonly forUpdateTsConstraints?: ReadonlyMap<string, bigint> | undefined;
}

/**
 * Commits a transaction's buffer (client-go `twoPhaseCommitter`): two-phase commit, async commit
 * and one-phase commit, the TTL manager of large transactions, rollback of what a failed commit
 * left behind.
 *
 * {@link TwoPhaseCommitter.execute} runs the whole commit; {@link TwoPhaseCommitter.prewrite},
 * {@link TwoPhaseCommitter.commit} and {@link TwoPhaseCommitter.rollback} run one phase each, for
 * tools and tests (client-go's `CommitterProbe`). A committer commits once.
 *
 * The buffer must not be written while the commit runs: mutations are views into it. The commit
 * phase of 2PC discards the buffer's values (client-go `DiscardValues`): only keys are needed from
 * there on.
 *
 * @example
 * ```ts
 * const committer = new TwoPhaseCommitter(parts, buffer, { startTs, lockResolver, asyncCommit: true });
 * const { commitTs, protocol } = await committer.execute({ timeoutMs: 10_000 });
 * ```
 */
export class TwoPhaseCommitter {
  readonly #s: CommitState;
  readonly #counts: MutationCounts;
  readonly #hasSharedLocks: boolean;
  /** An assertion the pessimistic locks' answers contradict: reported after a successful prewrite. */
  readonly #assertionFromLocks:
    | { readonly key: Uint8Array; readonly assertion: 'Exist' | 'NotExist' }
    | undefined;
  readonly #hasNoNeedCommitKeys: boolean;
  readonly #needConstraintCheck: boolean;
  readonly #buffer: MemBuffer;
  #started = false;
  /** The phases of the commit under way, when its caller asked for details. */
  #timing: CommitTiming | undefined;

  /**
   * Reads the buffer's mutations and chooses the primary (client-go `initKeysAndMutations`).
   *
   * @param parts - the executor, the oracle, the clock and logger, the client's lifetime signal
   * @param buffer - the transaction's buffer
   * @param options - start ts, lock resolver, commit options
   * @param resolved - the commit options already resolved (`resolveCommitOptions`, a client's
   *   memo): `options` then only gives the start ts, the start time and the lock resolver
   *   @internal
   * @throws InvalidArgumentError for a bad option or start ts
   * @throws TiKVError `NOT_SUPPORTED` when the primary would be a shared lock
   */
  constructor(
    parts: TxnParts,
    buffer: MemBuffer,
    options: TwoPhaseCommitterOptions,
    resolved?: ResolvedCommitOptions,
  ) {
    const startTs = options?.startTs;
    if (typeof startTs !== 'bigint' || startTs <= 0n || startTs >= U64_MAX) {
      throw new InvalidArgumentError(
        `options.startTs must be a timestamp in (0, 2^64 - 1), got ${String(startTs)}`,
      );
    }
    const resolver = options.lockResolver;
    if (resolver === undefined || typeof resolver.resolveLocks !== 'function') {
      throw new InvalidArgumentError('options.lockResolver must be a LockResolving');
    }
    let startTimeMsOption: number | undefined;
    if (resolved === undefined) {
      resolved = resolveCommitOptions(options);
      startTimeMsOption = resolved.startTimeMs;
    } else {
      checkStartTimeMs(options.startTimeMs);
      startTimeMsOption = options.startTimeMs;
    }
    const clock = parts.clock ?? systemClock;
    const logger = parts.logger ?? noopLogger;
    const set = buildMutations(buffer, {
      pessimistic: options.pessimistic === true,
      assertionLevel: resolved.assertionLevel,
      filter: resolved.filter,
      primaryKey: resolved.primaryKey,
    });
    const startTimeMs = startTimeMsOption ?? clock.now();
    this.#buffer = buffer;
    this.#counts = set.counts;
    this.#hasSharedLocks = set.hasSharedLocks;
    this.#assertionFromLocks = set.assertionFromLocks;
    this.#hasNoNeedCommitKeys = set.hasNoNeedCommitKeys;
    this.#needConstraintCheck = set.needConstraintCheckInPrewrite;
    const s = new CommitState(
      {
        buffer,
        exec: parts.executor,
        oracle: parts.oracle,
        resolver,
        clock,
        logger,
        lifetimeSignal: parts.lifetimeSignal,
      },
      resolved,
      { startTs, startTimeMs, mutations: set.mutations, primary: set.primary, txnSizeBytes: set.sizeBytes },
    );
    s.lockTtlMs = txnLockTtlMs(set.sizeBytes, s.elapsedMs(), resolved);
    s.pessimistic = options.pessimistic === true;
    s.forUpdateTs = options.forUpdateTs ?? 0n;
    s.forUpdateTsConstraints = options.forUpdateTsConstraints;
    if (set.primary !== undefined) {
      s.ttl = new TtlManager({
        exec: parts.executor,
        oracle: parts.oracle,
        clock,
        logger,
        startTs,
        primaryKey: set.primary.key,
        managedLockTtlMs: resolved.managedLockTtlMs,
        intervalMs: resolved.heartbeatIntervalMs,
        maxTxnTtlMs: resolved.maxTxnTtlMs,
        maxBackoffMs: resolved.keepAliveMaxBackoffMs,
        minCommitTs: () => s.minCommitTs.get(),
        signal: parts.lifetimeSignal,
      });
    }
    this.#s = s;
    if (set.mutations.length > 10_000 || set.sizeBytes > 4 * 1024 * 1024) {
      logger.info('2pc: big transaction', {
        startTs,
        keys: set.mutations.length,
        sizeBytes: set.sizeBytes,
        ...set.counts,
      });
    }
  }

  /** The transaction's start ts. */
  get startTs(): bigint {
    return this.#s.startTs;
  }

  /** The primary key (empty when there is nothing to commit). */
  get primaryKey(): Uint8Array {
    return this.#s.primaryKey;
  }

  /** The keys the commit writes, in key order. */
  keys(): Uint8Array[] {
    return this.#s.mutations.map((m) => m.key);
  }

  /** How many keys the commit writes. */
  get mutationCount(): number {
    return this.#s.mutations.length;
  }

  /** The mutations by kind. */
  get counts(): MutationCounts {
    return this.#counts;
  }

  /** Bytes of keys and values the commit writes (client-go `txnSize`). */
  get txnSizeBytes(): number {
    return this.#s.txnSizeBytes;
  }

  /** The lock TTL prewrite writes, in milliseconds (client-go `lockTTL`). */
  get lockTtlMs(): number {
    return this.#s.lockTtlMs;
  }

  /** The commit ts once known; 0n before. */
  get commitTs(): bigint {
    return this.#s.commitTs;
  }

  /** The 1PC commit ts TiKV answered; 0n unless 1PC committed the transaction. */
  get onePcCommitTs(): bigint {
    return this.#s.onePcCommitTs;
  }

  /** The protocol the commit uses now (it may fall back to 2PC while it runs). */
  get protocol(): CommitProtocol {
    if (this.#s.mutations.length === 0) return CommitProtocol.NONE;
    if (this.#s.onePc) return CommitProtocol.ONE_PC;
    return this.#s.asyncCommit ? CommitProtocol.ASYNC_COMMIT : CommitProtocol.TWO_PC;
  }

  /** Where the TTL manager is. */
  get ttlManagerState(): TtlManagerState {
    return this.#s.ttl?.state ?? TtlManagerState.UNINITIALIZED;
  }

  /** Whether the primary is committed (the transaction is). */
  get committed(): boolean {
    return this.#s.committed;
  }

  /**
   * Whether async commit may be used (client-go `checkAsyncCommit`): asked for, no shared lock, at
   * most `asyncCommitKeysLimit` keys totalling at most `asyncCommitTotalKeySizeLimitBytes`.
   */
  checkAsyncCommit(): boolean {
    const s = this.#s;
    const o = s.options;
    if (this.#hasSharedLocks || this.#assertionFromLocks !== undefined) return false;
    if (!o.asyncCommit || s.mutations.length > o.asyncCommitKeysLimit) return false;
    // A vetoable commit ts is never calculated by TiKV (client-go: cached tables).
    if (o.commitTsUpperBoundCheck !== undefined) return false;
    let total = 0;
    for (const m of s.mutations) {
      total += m.key.length;
      if (total > o.asyncCommitTotalKeySizeLimitBytes) return false;
    }
    return true;
  }

  /** Whether 1PC may be tried (client-go `checkOnePC`): asked for, no shared lock, no commit ts veto. */
  checkOnePc(): boolean {
    const o = this.#s.options;
    return (
      !this.#hasSharedLocks &&
      this.#assertionFromLocks === undefined &&
      o.onePc &&
      o.commitTsUpperBoundCheck === undefined
    );
  }

  /**
   * Commits the transaction (client-go `execute`): chooses async commit or 1PC when allowed (and
   * for linearizability first raises the min commit ts past a fresh timestamp), prewrites every
   * key, then commits at a fresh timestamp (2PC: the primary, then the secondaries in the
   * background), at the largest `min_commit_ts` answered (async commit: every key in the
   * background), or not at all (1PC: TiKV committed at the prewrite). On failure what was
   * prewritten is rolled back in the background, unless the outcome is unknown.
   *
   * @param options - `signal` and `timeoutMs` bound prewrite and the primary's commit
   * @param localLatchWaitMs - how long the caller waited for local latches before, for
   *   `onCommitDetails` (internal: `Transaction.commit` passes it)
   * @returns the commit ts and protocol, and the background work
   * @throws UndeterminedError when the outcome is unknown (the primary's commit, or an async
   *   commit / 1PC prewrite, failed after it may have reached TiKV): never retry it blindly
   * @throws WriteConflictError, AlreadyExistsError, AssertionFailedError, ... (typed key errors)
   * @throws BackoffBudgetExceededError when a phase's budget runs out; the signal's reason on abort
   */
  async execute(
    options?: RequestOptions & CommitDetailsOptions,
    localLatchWaitMs = 0,
  ): Promise<CommitResult> {
    checkRequestOptions(options);
    const s = this.#s;
    // Made only when the caller asked: the commit's collector rides on its backoffers.
    const timing = commitTimingFor(options, s.deps.clock);
    this.#start();
    if (timing !== undefined) timing.localLatchWaitMs = localLatchWaitMs;
    if (s.mutations.length === 0) {
      timing?.deliver();
      return { commitTs: 0n, protocol: CommitProtocol.NONE, background: DONE };
    }
    s.minCommitTs.elevateWriteAccess(WriteAccess.TWO_PC);
    let beginOptions: (RequestOptions & ExecDetailsOptions) | undefined = options;
    if (timing !== undefined) {
      timing.setWrites(s.mutations.length, s.txnSizeBytes);
      beginOptions = timing.operationOptions(options);
    }
    this.#timing = timing;
    const { bo, scope } = s.deps.exec.begin(beginOptions, { maxBackoffMs: s.options.prewriteMaxBackoffMs });
    let error: unknown;
    try {
      return await this.#execute(bo, scope);
    } catch (e) {
      error = e;
      this.#afterFailure();
      throw e;
    } finally {
      scope.dispose();
      if (timing !== undefined) {
        this.#timing = undefined;
        timing.deliver();
      }
      s.ttl?.close();
      publishCommit(() => ({
        startTs: s.startTs,
        commitTs: error === undefined ? s.commitTs : 0n,
        protocol: this.protocol,
        keys: s.mutations.length,
        error,
      }));
    }
  }

  async #execute(bo: Backoffer, scope: OperationScope): Promise<CommitResult> {
    const s = this.#s;
    const { oracle } = s.deps;
    const call = scope.signal === undefined ? undefined : { signal: scope.signal };
    let commitTsMayBeCalculated = false;
    if (!this.#hasSharedLocks) {
      if (this.checkAsyncCommit()) {
        s.asyncCommit = true;
        commitTsMayBeCalculated = true;
      }
      if (this.checkOnePc()) {
        s.onePc = true;
        commitTsMayBeCalculated = true;
      }
    }
    // A postponed conflict check needs TiKV's pessimistic prewrite: for_update_ts = start_ts.
    if (s.forUpdateTs === 0n && this.#needConstraintCheck) s.forUpdateTs = s.startTs;
    if (commitTsMayBeCalculated) {
      if (!s.options.causalConsistency) {
        // Linearizability: the commit ts must exceed every snapshot already taken anywhere.
        const t = this.#timing;
        const started = t?.now() ?? 0;
        const latest = await oracle.getTimestamp(call);
        if (t !== undefined) t.getLatestTsMs = t.now() - started;
        s.minCommitTs.tryUpdate(latest + 1n, WriteAccess.TWO_PC);
      }
      // client-go `calculateMaxCommitTS`: now (by the start ts and the clock) plus the safe window.
      const currentTs = composeTs(s.elapsedMs(), 0) + s.startTs;
      s.maxCommitTs = composeTs(s.options.asyncCommitSafeWindowMs, 0) + currentTs;
    }

    const timing = this.#timing;
    const prewriteStarted = timing?.now() ?? 0;
    await this.#prewrite(bo);
    timing?.endPrewrite(prewriteStarted, bo.execDetails);
    const contradicted = this.#assertionFromLocks;
    if (contradicted !== undefined) {
      // client-go's stashed assertion error: prewrite's own errors (a lost lock...) come first.
      throw new AssertionFailedError({
        startTs: s.startTs,
        key: contradicted.key,
        assertion: contradicted.assertion,
        existingStartTs: 0n,
        existingCommitTs: 0n,
      });
    }
    // The keys checked for absence (CheckNotExists) hold no lock: nothing to commit for them.
    if (this.#hasNoNeedCommitKeys) s.mutations = s.mutations.filter((m) => !m.prewriteOnly);

    if (s.onePc) {
      if (s.onePcCommitTs === 0n)
        throw new TiKVError('INTERNAL', '1PC prewrite succeeded without a commit ts');
      s.commitTs = s.onePcCommitTs;
      s.committed = true;
      return { commitTs: s.commitTs, protocol: CommitProtocol.ONE_PC, background: DONE };
    }
    let commitTs: bigint;
    if (s.asyncCommit) {
      commitTs = s.minCommitTs.get();
      if (commitTs === 0n)
        throw new TiKVError('INTERNAL', 'async commit prewrite succeeded without a min commit ts');
    } else {
      const tsStarted = timing?.now() ?? 0;
      commitTs = await oracle.getTimestamp(call);
      if (timing !== undefined) timing.getCommitTsMs = timing.now() - tsStarted;
      await s.options.commitTsChecker?.(commitTs);
    }
    s.commitTs = commitTs;
    if (oracle.isExpired(s.startTs, s.options.maxTxnTimeUseMs)) {
      throw new TiKVError(
        'INVALID_TXN',
        `the transaction ran longer than maxTxnTimeUseMs (${s.options.maxTxnTimeUseMs} ms) { startTs: ${s.startTs}, commitTs: ${commitTs} }`,
      );
    }
    const upperBound = s.options.commitTsUpperBoundCheck;
    if (upperBound !== undefined && !upperBound(commitTs)) {
      throw new TiKVError(
        'INVALID_TXN',
        `the commit ts upper bound check refused the commit { startTs: ${s.startTs}, commitTs: ${commitTs} }`,
      );
    }
    if (s.asyncCommit) {
      // Every prewrite succeeded with async commit: the transaction is committed at commitTs.
      s.committed = true;
      const background = s.spawn('async commit of the keys', () =>
        commitMutations(s, s.backgroundBackoffer(s.options.commitSecondaryMaxBackoffMs), s.mutations),
      );
      return { commitTs, protocol: CommitProtocol.ASYNC_COMMIT, background };
    }
    return this.#commitTxn(scope);
  }

  /** Prewrite, with an unknown outcome reported as such. */
  async #prewrite(bo: Backoffer): Promise<void> {
    const s = this.#s;
    try {
      await prewriteMutations(s, bo, s.mutations);
    } catch (e) {
      if (s.undetermined === undefined || isTiKVError(e, 'UNDETERMINED')) throw e;
      throw new UndeterminedError('an async-commit or 1PC prewrite failed after it may have reached TiKV', {
        startTs: s.startTs,
        cause: s.undetermined,
      });
    }
  }

  /** The commit phase of 2PC (client-go `commitTxn`). */
  async #commitTxn(scope: OperationScope): Promise<CommitResult> {
    const s = this.#s;
    this.#discardValues();
    const bo = s.deps.exec.backofferIn(scope, { maxBackoffMs: s.options.commitMaxBackoffMs });
    const background = s.backgroundBackoffer(s.options.commitSecondaryMaxBackoffMs);
    let run: BatchRun;
    const timing = this.#timing;
    const commitStarted = timing?.now() ?? 0;
    try {
      run = await commitMutations(s, bo, s.mutations, { background });
      timing?.endCommit(commitStarted, bo.execDetails);
    } catch (e) {
      timing?.endCommit(commitStarted, bo.execDetails);
      if (s.undetermined !== undefined && !isTiKVError(e, 'UNDETERMINED')) {
        throw new UndeterminedError('the commit of the primary failed after it may have reached TiKV', {
          startTs: s.startTs,
          cause: s.undetermined,
        });
      }
      if (!s.committed) throw e;
      s.deps.logger.debug('2pc: an error after the primary committed; the transaction is committed', {
        startTs: s.startTs,
        error: e,
      });
      return { commitTs: s.commitTs, protocol: CommitProtocol.TWO_PC, background: DONE };
    }
    const rest = run.background;
    return {
      commitTs: s.commitTs,
      protocol: CommitProtocol.TWO_PC,
      background: rest === undefined ? DONE : s.spawn('commit of the secondaries', () => rest),
    };
  }

  /** The values are not needed once prewrite is done (client-go `DiscardValues`). */
  #discardValues(): void {
    for (const m of this.#s.mutations) m.value = EMPTY;
    this.#buffer.discardValues();
  }

  /** After a failed commit: roll back what may have been written (client-go's deferred cleanup). */
  #afterFailure(): void {
    const s = this.#s;
    // An unknown outcome must stay unknown; a committed primary is the transaction's commit; a
    // 1PC attempt that did not fall back wrote nothing, but the pessimistic locks taken before it
    // are still there and are released as client-go releases them (else they block other
    // transactions until their TTL runs out).
    if (s.undetermined !== undefined || s.committed) return;
    if (
      s.onePc &&
      !s.mutations.some(
        (m) => m.pessimisticAction === kvrpcpb.PrewriteRequest_PessimisticAction.DO_PESSIMISTIC_CHECK,
      )
    )
      return;
    // Never rejects: spawn logs a failure.
    void s.spawn('rollback after a failed commit', () =>
      cleanupMutations(s, s.backgroundBackoffer(s.options.cleanupMaxBackoffMs), s.mutations),
    );
  }

  #start(): void {
    if (this.#started)
      throw new TiKVError('INVALID_TXN', 'this committer has already committed or rolled back');
    this.#started = true;
  }

  /**
   * Prewrites every mutation, as {@link TwoPhaseCommitter.execute} does but without choosing a
   * protocol first (client-go `PrewriteAllMutations`): 2PC unless a step before set one. Starts
   * the TTL manager of a large transaction. May be called again (a retry).
   *
   * @param options - `signal` and `timeoutMs`
   */
  async prewrite(options?: RequestOptions): Promise<void> {
    checkRequestOptions(options);
    this.#started = true;
    const s = this.#s;
    const { bo, scope } = s.deps.exec.begin(options, { maxBackoffMs: s.options.prewriteMaxBackoffMs });
    try {
      await this.#prewrite(bo);
    } finally {
      scope.dispose();
    }
  }

  /**
   * Commits every mutation at `commitTs` after {@link TwoPhaseCommitter.prewrite} (client-go
   * `SetCommitTS` + `CommitMutations`): the primary first, the secondaries in the background. A
   * commit ts TiKV refuses is replaced by a fresh one ({@link TwoPhaseCommitter.commitTs}).
   *
   * @param commitTs - the commit ts
   * @param options - `signal` and `timeoutMs` bound the primary's commit
   * @returns the commit ts used and the background work
   * @throws UndeterminedError when the primary's commit failed after it may have reached TiKV
   */
  async commit(commitTs: bigint, options?: RequestOptions): Promise<CommitResult> {
    checkRequestOptions(options);
    if (typeof commitTs !== 'bigint' || commitTs <= this.#s.startTs) {
      throw new InvalidArgumentError(`commitTs must be a bigint above the start ts, got ${String(commitTs)}`);
    }
    this.#started = true;
    const s = this.#s;
    s.commitTs = commitTs;
    const scope = s.deps.exec.begin(options).scope;
    try {
      return await this.#commitTxn(scope);
    } finally {
      scope.dispose();
      s.ttl?.close();
    }
  }

  /**
   * Rolls back every mutation with `KvBatchRollback`, the primary first (client-go `Cleanup` and
   * `WaitCleanup`), and stops the TTL manager. Safe to repeat.
   *
   * @param options - `signal` and `timeoutMs`
   */
  async rollback(options?: RequestOptions): Promise<void> {
    checkRequestOptions(options);
    this.#started = true;
    const s = this.#s;
    s.ttl?.close();
    const { bo, scope } = s.deps.exec.begin(options, { maxBackoffMs: s.options.cleanupMaxBackoffMs });
    try {
      await cleanupMutations(s, bo, s.mutations);
    } finally {
      scope.dispose();
    }
  }

  /** Stops the TTL manager (client-go `committer.close`); the commit itself is not affected. */
  close(): void {
    this.#s.ttl?.close();
  }

  /**
   * Settles once the committer's background work is done: the commit of secondaries, the rollback
   * after a failure, and the TTL manager's loop when it was closed (a running one is not waited
   * for). Never rejects.
   */
  async whenIdle(): Promise<void> {
    await this.#s.whenIdle();
    const ttl = this.#s.ttl;
    if (ttl !== undefined && ttl.state === TtlManagerState.CLOSED) await ttl.whenStopped();
  }
}

/**
 * Commits a transaction's buffer: `new TwoPhaseCommitter(parts, buffer, options).execute(call)`.
 *
 * @param parts - the executor, the oracle, the clock and logger
 * @param buffer - the transaction's buffer (not written while the commit runs)
 * @param options - start ts, lock resolver, commit options
 * @param call - `signal` and `timeoutMs`
 * @returns the commit ts and protocol, and the background work
 * @throws see {@link TwoPhaseCommitter.execute}
 */
export function commitBuffer(
  parts: TxnParts,
  buffer: MemBuffer,
  options: TwoPhaseCommitterOptions,
  call?: RequestOptions,
): Promise<CommitResult> {
  return new TwoPhaseCommitter(parts, buffer, options).execute(call);
}
