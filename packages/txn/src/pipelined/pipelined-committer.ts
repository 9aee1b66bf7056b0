import {
  anySignal,
  Backoffer,
  type Clock,
  type CommitDetailsOptions,
  ExecDetailsCollector,
  isTiKVError,
  type Logger,
  MAX_WRITE_EXECUTION_MS,
  noopLogger,
  type RequestOptions,
  type Resolved,
  systemClock,
  TiKVError,
  UndeterminedError,
} from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import type { RegionRequestOptions } from '@tikv/rpc';
import { commitMutations } from '../commit/commit-action.js';
import { publishCommit } from '../commit/commit-diagnostics.js';
import type { ResolvedCommitOptions } from '../commit/commit-options.js';
import { CommitProtocol, type CommitResult } from '../commit/commit-result.js';
import { CommitState } from '../commit/commit-state.js';
import { type CommitTiming, commitTimingFor } from '../commit/commit-timing.js';
import { MinCommitTsManager, WriteAccess } from '../commit/min-commit-ts.js';
import { buildMutations, type TxnMutation } from '../commit/mutations.js';
import { TtlManager, TtlManagerState } from '../commit/ttl-manager.js';
import type { MemBuffer } from '../membuffer/mem-buffer.js';
import type { LockResolving, TxnParts } from '../txn-deps.js';
import { ASSERTION_LEVEL_WIRE, FLUSH_LOCK_TTL_FLOOR_MS, flushMutations } from './flush-action.js';
import type { PipelinedMemBuffer } from './pipelined-mem-buffer.js';
import type { PipelinedOptions } from './pipelined-options.js';
import { resolveFlushedLocks } from './resolve-flushed-locks.js';
import { FlushDurationAverage } from './throttle.js';
import { type BroadcastContext, broadcastTxnStatus, type TxnStatusReport } from './txn-status-broadcast.js';

const DONE: Promise<void> = Promise.resolve();
const EMPTY = new Uint8Array(0);

/** `Context.request_source` of a pipelined transaction's flushes and resolves (client-go `PipelinedRequestSource`). */
export const PIPELINED_REQUEST_SOURCE = 'external_pdml';
/** Backoff budget of one generation's flush (client-go's 20 s flush backoffer). */
export const FLUSH_MAX_BACKOFF_MS = 20_000;

/** What a {@link PipelinedCommitter} runs on. @internal */
export interface PipelinedCommitterOptions {
  readonly parts: TxnParts;
  readonly lockResolver: LockResolving;
  readonly startTs: bigint;
  readonly startTimeMs: number;
  readonly commit: ResolvedCommitOptions;
  readonly pipelined: Resolved<PipelinedOptions>;
}

/**
 * The commit side of a pipelined transaction (client-go's `twoPhaseCommitter` in pipelined mode):
 * flushes each generation of the buffer as locks (choosing the primary, the first key of the
 * first generation, and keeping it alive with heartbeats from its flush on), commits by flushing
 * the rest and committing the primary alone, then commits (or, after a rollback or a failure,
 * rolls back) every flushed lock by resolving the flushed keys' range in the background.
 *
 * @internal
 */
export class PipelinedCommitter {
  readonly #o: PipelinedCommitterOptions;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #request: RegionRequestOptions;
  readonly #flushStop = new AbortController();
  readonly #average = new FlushDurationAverage();
  /** Raised by the heartbeats until commit starts (client-go `minCommitTSMgr`). */
  readonly #minCommitTs = new MinCommitTsManager();
  readonly #broadcast: BroadcastContext | undefined;
  #primary: TxnMutation | undefined;
  #ttl: TtlManager | undefined;
  #commitTs = 0n;
  #committed = false;
  #background: Promise<void> = DONE;
  /** Where the flushes of a commit that reports its details record their requests and sleeps. */
  #flushDetails: ExecDetailsCollector | undefined;
  /** Mutations handed to the flushes so far, and their bytes (client-go's flushed keys and size). */
  #writeKeys = 0;
  #writeSizeBytes = 0;

  constructor(options: PipelinedCommitterOptions) {
    this.#o = options;
    this.#clock = options.parts.clock ?? systemClock;
    this.#logger = options.parts.logger ?? noopLogger;
    const c = options.commit;
    this.#request = Object.freeze({
      maxExecutionDurationMs: MAX_WRITE_EXECUTION_MS,
      requestSource: PIPELINED_REQUEST_SOURCE,
      ...(c.priority === undefined ? {} : { priority: c.priority }),
      ...(c.resourceGroupName === undefined ? {} : { resourceGroupName: c.resourceGroupName }),
      ...(c.resourceGroupTag === undefined ? {} : { resourceGroupTag: c.resourceGroupTag }),
    });
    const stores = options.parts.stores;
    this.#broadcast =
      stores === undefined
        ? undefined
        : {
            stores,
            logger: this.#logger,
            clusterId: options.parts.clusterId ?? 0n,
            requestSource: c.requestSource ?? '',
            resourceGroupName: c.resourceGroupName,
            resourceGroupTag: c.resourceGroupTag,
            signal: options.parts.lifetimeSignal,
          };
  }

  /** The primary key, once the first generation chose it; empty before. */
  get primaryKey(): Uint8Array {
    return this.#primary?.key ?? EMPTY;
  }

  /** Whether the primary lock's heartbeats run (client-go `IsTTLRunning`). */
  get ttlRunning(): boolean {
    return this.#ttl?.state === TtlManagerState.RUNNING;
  }

  /**
   * The resolve of the flushed locks that a commit, a failed commit or a rollback left in the
   * background; never rejects.
   */
  get background(): Promise<void> {
    return this.#background;
  }

  /** The commit ts once committed; 0n before. */
  get commitTs(): bigint {
    return this.#commitTs;
  }

  /**
   * Flushes one generation (the transaction's `FlushFn`): its mutations, read as an optimistic
   * commit reads them; the primary chosen on the first one that has a lock to write; a sleep first
   * when throttled; `KvFlush` of every region's batches.
   *
   * @throws TiKVError `INVALID_TXN` once the heartbeats stopped (the primary lock was lost or the
   *   transaction outlived its TTL): nothing more may be written
   */
  readonly flush = async (generation: bigint, db: MemBuffer): Promise<void> => {
    if (this.#ttl !== undefined && this.#ttl.state === TtlManagerState.CLOSED) {
      throw new TiKVError(
        'INVALID_TXN',
        `pipelined flush of transaction ${this.#o.startTs}: the ttl manager is closed (the primary lock is gone or the transaction outlived its TTL)`,
      );
    }
    try {
      if (db.len === 0) return;
      const c = this.#o.commit;
      const set = buildMutations(db, {
        pessimistic: false,
        assertionLevel: c.assertionLevel,
        filter: undefined,
        primaryKey: undefined,
      });
      if (set.hasSharedLocks) {
        throw new TiKVError('NOT_SUPPORTED', 'a pipelined transaction cannot take shared locks');
      }
      if (set.mutations.length === 0) return;
      if (this.#primary === undefined) this.#choosePrimary(set.mutations);
      this.#writeKeys += set.mutations.length;
      this.#writeSizeBytes += set.sizeBytes;
      await this.#throttle();
      const started = this.#clock.now();
      const bo = new Backoffer({
        maxBackoffMs: FLUSH_MAX_BACKOFF_MS,
        signal: this.#flushSignal(),
        clock: this.#o.parts.executor.tuning.clock,
        logger: this.#logger,
        execDetails: this.#flushDetails,
      });
      await flushMutations(
        {
          exec: this.#o.parts.executor,
          resolver: this.#o.lockResolver,
          logger: this.#logger,
          startTs: this.#o.startTs,
          primaryKey: this.primaryKey,
          buffer: db,
          lockTtlMs: Math.max(FLUSH_LOCK_TTL_FLOOR_MS, c.managedLockTtlMs),
          assertionLevel: ASSERTION_LEVEL_WIRE[c.assertionLevel],
          batchSizeBytes: c.commitBatchSizeBytes,
          concurrency: this.#o.pipelined.flushConcurrency,
          request: this.#request,
          onPrimaryFlushed: () => this.#ttl?.run(),
        },
        bo,
        set.mutations,
        generation,
      );
      this.#average.add(Math.max(0, this.#clock.now() - started));
      this.#logger.debug('pipelined flush: generation flushed', {
        startTs: this.#o.startTs,
        generation,
        keys: set.mutations.length,
      });
    } catch (e) {
      // client-go closes the committer on a failed flush: no heartbeats for a doomed transaction.
      this.#ttl?.close();
      throw e;
    }
  };

  /** client-go: the first key whose op writes a lock (not a CheckNotExists) is the primary. */
  #choosePrimary(mutations: readonly TxnMutation[]): void {
    const m = mutations.find((x) => x.op !== kvrpcpb.Op.CheckNotExists);
    if (m === undefined) return;
    this.#primary = { ...m, key: m.key.slice(), value: EMPTY };
    const c = this.#o.commit;
    const parts = this.#o.parts;
    this.#ttl = new TtlManager({
      exec: parts.executor,
      oracle: parts.oracle,
      clock: this.#clock,
      logger: this.#logger,
      startTs: this.#o.startTs,
      primaryKey: this.#primary.key,
      managedLockTtlMs: c.managedLockTtlMs,
      intervalMs: c.heartbeatIntervalMs,
      maxTxnTtlMs: Math.max(c.maxTxnTtlMs, this.#o.pipelined.maxTxnTtlMs),
      maxBackoffMs: c.keepAliveMaxBackoffMs,
      minCommitTs: () => this.#minCommitTs.get(),
      // client-go keepAlive: until commit starts, each heartbeat's timestamp becomes the min
      // commit ts it pushes, and a successful heartbeat tells every store.
      beforeHeartbeat: (now) => this.#minCommitTs.tryUpdate(now, WriteAccess.TTL),
      afterHeartbeat: () => this.#broadcastStatus({ commitTs: 0n, rolledBack: false, isCompleted: false }),
      signal: parts.lifetimeSignal,
    });
  }

  /** Broadcasts the status in the background (client-go spawns it); it never rejects. */
  #broadcastStatus(
    status: Omit<TxnStatusReport, 'startTs' | 'minCommitTs'>,
    minCommitTs = this.#minCommitTs.get(),
  ): void {
    if (this.#broadcast === undefined) return;
    void broadcastTxnStatus(this.#broadcast, { startTs: this.#o.startTs, minCommitTs, ...status });
  }

  /** Sleeps so that sleeping takes `writeThrottleRatio` of the time (client-go `throttlePipelinedTxn`). */
  async #throttle(): Promise<void> {
    const ms = this.#average.sleepMs(this.#o.pipelined.writeThrottleRatio);
    if (ms <= 0) return;
    this.#logger.info('pipelined flush: throttled', { startTs: this.#o.startTs, sleepMs: ms });
    await this.#clock.sleep(ms, this.#flushSignal());
  }

  #flushSignal(): AbortSignal {
    const life = this.#o.parts.lifetimeSignal;
    return life === undefined ? this.#flushStop.signal : anySignal([life, this.#flushStop.signal]);
  }

  /**
   * Commits (client-go `execute` in pipelined mode and `commitFlushedMutations`): flushes what is
   * left and waits for it, commits the primary at a fresh ts, then resolves the flushed range as
   * committed in the background. On failure before the primary committed, the flushed locks are
   * rolled back in the background.
   *
   * `onCommitDetails` is called once when the commit settles; its prewrite phase is the flushing
   * the commit does (see `CommitDetails`). The flushes of a commit that reports its details
   * record into a collector of their own, merged with the primary commit's.
   *
   * @param options - `signal` and `timeoutMs` bound the primary's commit; `onCommitDetails`
   * @throws the flush's failure (typed key errors); UndeterminedError when the primary's commit
   *   may have been applied
   * @throws InvalidArgumentError when `onCommitDetails` is not a function: nothing is committed,
   *   and the transaction is rolled back as by {@link rollback}
   */
  async commit(
    buffer: PipelinedMemBuffer,
    options?: RequestOptions & CommitDetailsOptions,
  ): Promise<CommitResult> {
    let timing: CommitTiming | undefined;
    try {
      // Made only when the caller asked.
      timing = commitTimingFor(options, this.#clock, 'Flush');
    } catch (e) {
      // Refused before it began: what was flushed goes as after a rollback.
      await this.rollback(buffer);
      throw e;
    }
    let error: unknown;
    // From here on only the commit may move the min commit ts (client-go `execute`).
    this.#minCommitTs.elevateWriteAccess(WriteAccess.TWO_PC);
    try {
      await this.#flushRest(buffer, timing);
      this.#flushStop.abort();
      const range = buffer.flushedRange;
      const primary = this.#primary;
      if (range === undefined || primary === undefined) {
        return { commitTs: 0n, protocol: CommitProtocol.NONE, background: DONE };
      }
      const commitTs = await this.#commitPrimary(primary, buffer.current, options, timing);
      this.#broadcastStatus({ commitTs, rolledBack: false, isCompleted: false });
      this.#background = this.#resolve(range, commitTs);
      return { commitTs, protocol: CommitProtocol.PIPELINED, background: this.#background };
    } catch (e) {
      error = e;
      if (!this.#committed && !isTiKVError(e, 'UNDETERMINED')) {
        // client-go `cleanup`: the stores learn of the rollback before the locks are resolved.
        if (buffer.flushedRange !== undefined)
          this.#broadcastStatus({ commitTs: 0n, rolledBack: true, isCompleted: false });
        this.#background = this.#rollbackFlushed(buffer);
      }
      throw e;
    } finally {
      this.#flushStop.abort();
      this.#ttl?.close();
      if (timing !== undefined) {
        timing.setWrites(this.#writeKeys, this.#writeSizeBytes);
        timing.deliver();
      }
      publishCommit(() => ({
        startTs: this.#o.startTs,
        commitTs: this.#commitTs,
        protocol: this.#primary === undefined ? CommitProtocol.NONE : CommitProtocol.PIPELINED,
        keys: buffer.len,
        error,
      }));
    }
  }

  /**
   * The commit's prewrite phase: flushes what is left and waits for the flush in flight; with
   * `timing`, the flushes it sends record into a collector whose details join the commit's.
   */
  async #flushRest(buffer: PipelinedMemBuffer, timing: CommitTiming | undefined): Promise<void> {
    const details = timing === undefined ? undefined : new ExecDetailsCollector();
    this.#flushDetails = details;
    const started = timing?.now() ?? 0;
    try {
      await buffer.flush(true);
      await buffer.flushWait();
      timing?.endPrewrite(started, details);
    } finally {
      this.#flushDetails = undefined;
      if (details !== undefined) timing?.addExec(details.snapshot());
    }
  }

  /** Commits the primary at a fresh commit ts (client-go `commitFlushedMutations` up to the resolve). */
  async #commitPrimary(
    primary: TxnMutation,
    current: MemBuffer,
    options: RequestOptions | undefined,
    timing: CommitTiming | undefined,
  ): Promise<bigint> {
    const parts = this.#o.parts;
    const exec = parts.executor;
    const s = new CommitState(
      {
        buffer: current,
        exec,
        oracle: parts.oracle,
        resolver: this.#o.lockResolver,
        clock: this.#clock,
        logger: this.#logger,
        lifetimeSignal: parts.lifetimeSignal,
      },
      this.#o.commit,
      {
        startTs: this.#o.startTs,
        startTimeMs: this.#o.startTimeMs,
        mutations: [primary],
        primary,
        txnSizeBytes: 0,
      },
    );
    const { bo, scope } = exec.begin(timing === undefined ? options : timing.operationOptions(options), {
      maxBackoffMs: this.#o.commit.commitMaxBackoffMs,
    });
    try {
      const call = scope.signal === undefined ? undefined : { signal: scope.signal };
      const tsStarted = timing?.now() ?? 0;
      s.commitTs = await parts.oracle.getTimestamp(call);
      if (timing !== undefined) timing.getCommitTsMs = timing.now() - tsStarted;
      await this.#o.commit.commitTsChecker?.(s.commitTs);
      const commitStarted = timing?.now() ?? 0;
      try {
        await commitMutations(s, bo, [primary]);
      } catch (e) {
        if (s.undetermined !== undefined && !isTiKVError(e, 'UNDETERMINED')) {
          throw new UndeterminedError('the commit of the primary failed after it may have reached TiKV', {
            startTs: s.startTs,
            cause: s.undetermined,
          });
        }
        throw e;
      } finally {
        timing?.endCommit(commitStarted, bo.execDetails);
      }
      this.#committed = true;
      this.#commitTs = s.commitTs;
      return s.commitTs;
    } finally {
      scope.dispose();
    }
  }

  /**
   * Rolls back (client-go `Rollback` of a pipelined transaction): stops the flushes, waits for the
   * one in flight, stops the heartbeats, and rolls back the flushed range in the background.
   *
   * {@link background} is then the rollback's promise.
   */
  async rollback(buffer: PipelinedMemBuffer): Promise<void> {
    this.#flushStop.abort();
    await buffer.flushWait().catch(() => {});
    this.#ttl?.close();
    // client-go `Rollback`: broadcast even when nothing was flushed (then it is already complete).
    this.#broadcastStatus({
      commitTs: 0n,
      rolledBack: true,
      isCompleted: buffer.flushedRange === undefined,
    });
    this.#background = this.#rollbackFlushed(buffer);
  }

  #rollbackFlushed(buffer: PipelinedMemBuffer): Promise<void> {
    const range = buffer.flushedRange;
    if (range === undefined) return DONE;
    return this.#resolve(range, 0n);
  }

  /**
   * Once every lock is resolved: waits the grace period, so slow followers catch up, then tells
   * the stores the transaction is complete (client-go `resolveFlushedLocks`); not part of
   * {@link background}. A client that closes meanwhile sends nothing.
   */
  async #broadcastCompleted(commitTs: bigint): Promise<void> {
    if (this.#broadcast === undefined) return;
    try {
      await this.#clock.sleep(this.#o.pipelined.broadcastGracePeriodMs, this.#o.parts.lifetimeSignal, {
        background: true,
      });
    } catch {
      return;
    }
    this.#broadcastStatus({ commitTs, rolledBack: commitTs === 0n, isCompleted: true }, 0n);
  }

  /** Resolves the flushed range in the background; a failure is logged (readers resolve what is left). */
  #resolve(
    range: { readonly lower: Uint8Array; readonly upper: Uint8Array },
    commitTs: bigint,
  ): Promise<void> {
    const c = this.#o.commit;
    const parts = this.#o.parts;
    return resolveFlushedLocks(
      {
        exec: parts.executor,
        logger: this.#logger,
        startTs: this.#o.startTs,
        commitTs,
        lower: range.lower,
        upper: range.upper,
        concurrency: this.#o.pipelined.resolveLockConcurrency,
        maxBackoffMs: commitTs === 0n ? c.cleanupMaxBackoffMs : c.commitSecondaryMaxBackoffMs,
        request: this.#request,
      },
      parts.lifetimeSignal === undefined ? undefined : { signal: parts.lifetimeSignal },
    ).then(
      (r) => {
        this.#logger.info('pipelined: flushed locks resolved', {
          startTs: this.#o.startTs,
          commitTs,
          regions: r.completedRegions,
        });
        void this.#broadcastCompleted(commitTs);
      },
      (error: unknown) => {
        this.#logger.warn('pipelined: resolving flushed locks failed', {
          startTs: this.#o.startTs,
          commitTs,
          error,
        });
      },
    );
  }
}
