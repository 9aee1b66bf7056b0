import {
  Backoffer,
  InvalidArgumentError,
  type Logger,
  mustBePositiveInteger,
  type RequestOptions,
  TiKVError,
} from '@tikv/common';
import type { RegionExecutor } from '@tikv/rpc';
import {
  type RangeTaskProgress,
  type RangeTaskResult,
  RangeTaskRunner,
} from '../range-task/range-task-runner.js';
import type { BatchLockResolving, GcBarrier, GcStatesApi } from './gc-deps.js';
import {
  BaseRegionLockResolver,
  GC_RESOLVE_LOCK_MAX_BACKOFF_MS,
  GC_SCAN_LOCK_LIMIT,
  type RegionLockResolver,
  resolveLocksForRange,
} from './region-lock-resolver.js';
import type { TxnSafePointCache } from './txn-safe-point-cache.js';

/** What a {@link GcWorker} runs on. */
export interface GcWorkerParts {
  /** Sends ScanLock and ResolveLock, locates regions (`@tikv/rpc`'s `RegionExecutor`). */
  readonly executor: RegionExecutor;
  /** Resolves a region's locks whatever their TTL (the package's `LockResolver`). */
  readonly lockResolver: BatchLockResolving;
  /** The GC states API of the client's GC scope: `pd.gcStates(gcKeyspaceIdOf(codec.keyspaceMeta))`. */
  readonly gcStates: GcStatesApi;
  /** Scans and resolves one region's locks. @defaultValue a `BaseRegionLockResolver` on the parts */
  readonly regionLockResolver?: RegionLockResolver | undefined;
  /** Told the new txn safe point as soon as GC advanced it, so reads below it are refused at once. */
  readonly safePointCache?: Pick<TxnSafePointCache, 'update'> | undefined;
  /** @defaultValue the executor's logger */
  readonly logger?: Logger | undefined;
}

/** Options of {@link GcWorker.gc} and {@link GcWorker.resolveLocks}. */
export interface GcOptions extends RequestOptions {
  /** Task ranges resolved at once (client-go `WithConcurrency`). @defaultValue 8 */
  readonly concurrency?: number | undefined;
  /** Locks per ScanLock. @defaultValue 1024 (client-go `GCScanLockLimit`) */
  readonly scanLockLimit?: number | undefined;
  /** Regions per task range. @defaultValue 128 */
  readonly regionsPerTask?: number | undefined;
  /** Told after each task range of the lock resolution. @defaultValue none */
  readonly onProgress?: ((progress: GcProgress) => void) | undefined;
}

/** Progress of GC's lock resolution. */
export interface GcProgress extends RangeTaskProgress {
  /** Locks resolved so far. */
  readonly resolvedLocks: number;
}

/** What {@link GcWorker.resolveLocks} did. */
export interface ResolveLocksStats extends RangeTaskResult {
  /** Locks resolved. */
  readonly resolvedLocks: number;
}

/** What {@link GcWorker.gcWithStats} did. */
export interface GcResult extends ResolveLocksStats {
  /** The GC safe point now (may be below the expected one: a GC barrier blocked the txn safe point). */
  readonly newSafePoint: bigint;
  /** What blocked the txn safe point below the expected value; empty when nothing did. */
  readonly blockerDescription: string;
}

/**
 * Garbage collection of the client's GC scope (client-go `KVStore.GC`): advance the txn safe
 * point towards the expected safe point (GC barriers may hold it lower), resolve every lock at
 * or below it over the whole keyspace, then advance the GC safe point to it; TiKV then drops
 * the versions below it. It also wraps the GC barriers of the GC states API.
 *
 * @example
 * ```ts
 * const worker = new GcWorker({ executor, lockResolver, gcStates: pd.gcStates() });
 * const safePoint = await worker.gc(await oracle.getTimestamp(), { concurrency: 8 });
 * ```
 */
export class GcWorker {
  readonly #p: GcWorkerParts;
  readonly #regionResolver: RegionLockResolver;
  readonly #logger: Logger;

  /** @param parts - the executor, the lock resolver, the GC states API */
  constructor(parts: GcWorkerParts) {
    this.#p = parts;
    this.#regionResolver =
      parts.regionLockResolver ??
      new BaseRegionLockResolver({ executor: parts.executor, lockResolver: parts.lockResolver });
    this.#logger = parts.logger ?? parts.executor.tuning.logger;
  }

  /**
   * Runs GC up to `expectedSafePoint`.
   *
   * @param expectedSafePoint - every transaction started before it must be finished
   * @param options - concurrency, page size, progress, signal and deadline
   * @returns the new GC safe point
   * @throws PdError when PD refuses (a safe point moving backwards)
   */
  async gc(expectedSafePoint: bigint, options?: GcOptions): Promise<bigint> {
    return (await this.gcWithStats(expectedSafePoint, options)).newSafePoint;
  }

  /** {@link GcWorker.gc}, with what the lock resolution did. */
  async gcWithStats(expectedSafePoint: bigint, options?: GcOptions): Promise<GcResult> {
    const call = { signal: options?.signal, timeoutMs: options?.timeoutMs };
    const advanced = await this.#p.gcStates.advanceTxnSafePoint(expectedSafePoint, call);
    let txnSafePoint = expectedSafePoint;
    if (advanced.newTxnSafePoint < txnSafePoint) {
      this.#logger.info('GC: txn safe point is blocked', {
        expectedTxnSafePoint: String(expectedSafePoint),
        oldTxnSafePoint: String(advanced.oldTxnSafePoint),
        newTxnSafePoint: String(advanced.newTxnSafePoint),
        blocker: advanced.blockerDescription,
      });
      txnSafePoint = advanced.newTxnSafePoint;
    }
    this.#p.safePointCache?.update(advanced.newTxnSafePoint);
    const stats = await this.resolveLocks(txnSafePoint, options);
    const gcAdvanced = await this.#p.gcStates.advanceGcSafePoint(txnSafePoint, call);
    return {
      ...stats,
      newSafePoint: gcAdvanced.newGcSafePoint,
      blockerDescription: advanced.newTxnSafePoint < expectedSafePoint ? advanced.blockerDescription : '',
    };
  }

  /**
   * Resolves every lock with `ts <= safePoint` over the whole keyspace (client-go
   * `KVStore.resolveLocks`): a range task whose handler is `resolveLocksForRange`.
   *
   * @param safePoint - the txn safe point
   * @param options - concurrency, page size, progress, signal and deadline
   * @returns regions completed and locks resolved
   */
  async resolveLocks(safePoint: bigint, options?: GcOptions): Promise<ResolveLocksStats> {
    const scanLimit = options?.scanLockLimit ?? GC_SCAN_LOCK_LIMIT;
    const bad = mustBePositiveInteger(scanLimit);
    if (bad !== undefined) throw new InvalidArgumentError(`options.scanLockLimit ${bad}`);
    const clock = this.#p.executor.tuning.clock;
    let resolvedLocks = 0;
    const onProgress = options?.onProgress;
    const runner = new RangeTaskRunner({
      name: 'resolve-locks-runner',
      locator: this.#p.executor.locator,
      concurrency: options?.concurrency ?? 8,
      regionsPerTask: options?.regionsPerTask,
      logger: this.#logger,
      onProgress: onProgress === undefined ? undefined : (p) => onProgress({ ...p, resolvedLocks }),
      handler: (range, signal) =>
        resolveLocksForRange(this.#regionResolver, {
          maxVersion: safePoint,
          startKey: range.startKey,
          endKey: range.endKey,
          scanLimit,
          signal,
          newBackoffer: () => new Backoffer({ maxBackoffMs: GC_RESOLVE_LOCK_MAX_BACKOFF_MS, signal, clock }),
          onLocksResolved: (n) => {
            resolvedLocks += n;
          },
        }),
    });
    const empty = new Uint8Array(0);
    const result = await runner.runOnRange(empty, empty, options);
    return { ...result, resolvedLocks };
  }

  /**
   * Adds or renews a GC barrier of the client's GC scope: the txn safe point will not pass
   * `barrierTs` for `ttlMs` (`Infinity`: until deleted).
   *
   * @throws TiKVError `NOT_SUPPORTED` when the GC states API has no barriers
   */
  setGcBarrier(
    barrierId: string,
    barrierTs: bigint,
    ttlMs: number,
    options?: RequestOptions,
  ): Promise<GcBarrier> {
    return this.#api('setGcBarrier').call(this.#p.gcStates, barrierId, barrierTs, ttlMs, options);
  }

  /** Deletes a GC barrier of the client's GC scope; undefined when there was none. */
  deleteGcBarrier(barrierId: string, options?: RequestOptions): Promise<GcBarrier | undefined> {
    return this.#api('deleteGcBarrier').call(this.#p.gcStates, barrierId, options);
  }

  /** Adds or renews a cluster-wide GC barrier, which holds back every keyspace's txn safe point. */
  setGlobalGcBarrier(
    barrierId: string,
    barrierTs: bigint,
    ttlMs: number,
    options?: RequestOptions,
  ): Promise<GcBarrier> {
    return this.#api('setGlobalGcBarrier').call(this.#p.gcStates, barrierId, barrierTs, ttlMs, options);
  }

  /** Deletes a cluster-wide GC barrier; undefined when there was none. */
  deleteGlobalGcBarrier(barrierId: string, options?: RequestOptions): Promise<GcBarrier | undefined> {
    return this.#api('deleteGlobalGcBarrier').call(this.#p.gcStates, barrierId, options);
  }

  /** The txn and GC safe points of the client's GC scope. */
  getGcState(
    options?: RequestOptions,
  ): Promise<{ readonly txnSafePoint: bigint; readonly gcSafePoint: bigint }> {
    return this.#p.gcStates.getGcState(options);
  }

  #api<K extends 'setGcBarrier' | 'deleteGcBarrier' | 'setGlobalGcBarrier' | 'deleteGlobalGcBarrier'>(
    name: K,
  ): NonNullable<GcStatesApi[K]> {
    const fn = this.#p.gcStates[name];
    if (fn === undefined) throw new TiKVError('NOT_SUPPORTED', `the GC states API given has no ${name}`);
    return fn as NonNullable<GcStatesApi[K]>;
  }
}
