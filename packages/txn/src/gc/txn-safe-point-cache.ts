import {
  type Clock,
  type Logger,
  mustBePositive,
  noopLogger,
  type RequestOptions,
  type Resolved,
  resolveOptions,
  systemClock,
  TiKVError,
} from '@tikv/common';
import type { GcStatesApi } from './gc-deps.js';
import { TxnAbortedByGcError } from './txn-aborted-by-gc-error.js';

/** Tuning of a {@link TxnSafePointCache}. */
export interface TxnSafePointCacheTuning {
  /** Between two loads (client-go `pollTxnSafePointInterval`). @defaultValue 10000 */
  readonly pollIntervalMs?: number | undefined;
  /** After a failed load (client-go `pollTxnSafePointQuickRepeatInterval`). @defaultValue 1000 */
  readonly retryIntervalMs?: number | undefined;
  /**
   * A cached value older than this is not trusted: `checkVisibility` refuses every ts (client-go
   * `GcStateCacheInterval - gcCPUTimeInaccuracyBound`). @defaultValue 90000
   */
  readonly maxStalenessMs?: number | undefined;
  /** Time source of the loop and of staleness. @defaultValue the system clock */
  readonly clock?: Clock | undefined;
  /** @defaultValue silent */
  readonly logger?: Logger | undefined;
}

/** Options of a {@link TxnSafePointCache}. */
export interface TxnSafePointCacheOptions extends TxnSafePointCacheTuning {
  /** Where the txn safe point is read (`pd.gcStates(keyspaceId)`). */
  readonly gcStates: Pick<GcStatesApi, 'getGcState'>;
  /** Stops the background loader when it aborts (the client's close). @defaultValue none */
  readonly lifetimeSignal?: AbortSignal | undefined;
}

/** Defaults of {@link TxnSafePointCacheTuning}. */
export const DEFAULT_TXN_SAFE_POINT_CACHE_OPTIONS: Resolved<TxnSafePointCacheTuning> = Object.freeze({
  pollIntervalMs: 10_000,
  retryIntervalMs: 1_000,
  maxStalenessMs: 90_000,
  clock: systemClock,
  logger: noopLogger,
});

/**
 * The txn safe point as last loaded from PD's GC states, and the visibility check every read
 * makes against it (client-go `KVStore.CheckVisibility` and its txn safe point updater). The
 * background loader's timers do not keep the process alive; it stops with the lifetime signal
 * or {@link TxnSafePointCache.close}.
 *
 * @example
 * ```ts
 * const cache = new TxnSafePointCache({ gcStates: pd.gcStates(), lifetimeSignal });
 * await cache.start();
 * cache.checkVisibility(startTs); // throws TxnAbortedByGcError below the txn safe point
 * ```
 */
export class TxnSafePointCache {
  readonly #gcStates: Pick<GcStatesApi, 'getGcState'>;
  readonly #t: Resolved<TxnSafePointCacheTuning>;
  readonly #stop = new AbortController();
  readonly #lifetime: AbortSignal;
  #txnSafePoint = 0n;
  #loadedAtMs: number | undefined;
  #loop: Promise<void> | undefined;

  /**
   * @param options - the GC states API, the lifetime signal, the tuning
   * @throws InvalidArgumentError for a bad tuning value
   */
  constructor(options: TxnSafePointCacheOptions) {
    this.#gcStates = options.gcStates;
    this.#t = resolveOptions<TxnSafePointCacheTuning>(
      DEFAULT_TXN_SAFE_POINT_CACHE_OPTIONS,
      {
        pollIntervalMs: options.pollIntervalMs,
        retryIntervalMs: options.retryIntervalMs,
        maxStalenessMs: options.maxStalenessMs,
        clock: options.clock,
        logger: options.logger,
      },
      { pollIntervalMs: mustBePositive, retryIntervalMs: mustBePositive, maxStalenessMs: mustBePositive },
    );
    this.#lifetime =
      options.lifetimeSignal === undefined
        ? this.#stop.signal
        : AbortSignal.any([options.lifetimeSignal, this.#stop.signal]);
  }

  /** The cached txn safe point (0 before the first load). */
  get txnSafePoint(): bigint {
    return this.#txnSafePoint;
  }

  /**
   * Loads the txn safe point once, then keeps it fresh in the background. Idempotent.
   *
   * @param options - signal and deadline of the first load
   * @throws what the first load throws (the loop is not started then)
   */
  async start(options?: RequestOptions): Promise<void> {
    if (this.#loop !== undefined) return;
    await this.refresh(options);
    if (this.#loop !== undefined || this.#lifetime.aborted) return;
    this.#loop = this.#run().catch(() => {});
  }

  /**
   * Loads the txn safe point now.
   *
   * @returns the loaded value
   */
  async refresh(options?: RequestOptions): Promise<bigint> {
    const now = this.#t.clock.now();
    const state = await this.#gcStates.getGcState(options);
    this.update(state.txnSafePoint, now);
    return state.txnSafePoint;
  }

  /**
   * Records a txn safe point known by other means (the GC worker that just advanced it); a
   * smaller value than the cached one is ignored.
   *
   * @param txnSafePoint - the value
   * @param atMs - the clock's time when it was read @defaultValue now
   */
  update(txnSafePoint: bigint, atMs: number = this.#t.clock.now()): void {
    if (txnSafePoint > this.#txnSafePoint) this.#txnSafePoint = txnSafePoint;
    if (this.#loadedAtMs === undefined || atMs > this.#loadedAtMs) this.#loadedAtMs = atMs;
  }

  /**
   * Refuses a read or transaction at `startTs` below the txn safe point (client-go
   * `CheckVisibility`).
   *
   * @throws TxnAbortedByGcError when `startTs` is below the cached txn safe point
   * @throws TiKVError `PD_ERROR` (retryable) when the cached value is missing or older than
   *   `maxStalenessMs`: the ts may be behind the safe point
   */
  checkVisibility(startTs: bigint): void {
    const at = this.#loadedAtMs;
    if (at === undefined || this.#t.clock.now() - at > this.#t.maxStalenessMs) {
      throw new TiKVError(
        'PD_ERROR',
        'start timestamp may fall behind safe point: the txn safe point is stale',
        true,
      );
    }
    if (startTs < this.#txnSafePoint) throw new TxnAbortedByGcError(startTs, this.#txnSafePoint);
  }

  /** Stops the background loader. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const signal = this.#lifetime;
    let wait = this.#t.pollIntervalMs;
    while (!signal.aborted) {
      await this.#t.clock.sleep(wait, signal, { background: true });
      try {
        await this.refresh({ signal });
        wait = this.#t.pollIntervalMs;
      } catch (e) {
        if (signal.aborted) return;
        this.#t.logger.warn('failed to load the txn safe point', { error: String(e) });
        wait = this.#t.retryIntervalMs;
      }
    }
  }
}
