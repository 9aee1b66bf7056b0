import {
  Backoffer,
  BackoffKinds,
  type Clock,
  ExecDetailsCollector,
  type ExecDetailsOptions,
  invalidArgument,
  type Logger,
  mustBeNonNegative,
  mustBePositiveInteger,
  noopLogger,
  type OperationScope,
  type OperationScopeOptions,
  openOperationScope,
  type RequestOptions,
  type Resolved,
  regionErrorFromWire,
  resolveOptions,
  systemClock,
  type WireRegionError,
} from '@tikv/common';
import type { KeyLocation, RegionVerId } from '@tikv/region-cache';
import { runBatches } from './batch-runner.js';
import { DetailsScope } from './details-scope.js';
import type { KeyLocator } from './key-locator.js';
import {
  type RangeStep,
  type RangeWalkBounds,
  type RegionSpan,
  sendRangeStep,
  type WalkRangeOptions,
  walkRange,
} from './range-walker.js';
import type { BatchLimit, RegionBatch } from './region-batches.js';
import type { RegionSender } from './region-sender.js';
import type { RegionRequestOptions } from './request-options.js';
import { concurrencyArg, runRound } from './retry-round.js';
import type { ResponseFor, TikvRequest } from './tikv-commands.js';

/** Tuning of a {@link RegionExecutor}. */
export interface RegionExecutorTuning {
  /**
   * Backoff budget of one operation, in milliseconds of sleep before the backoff weight of 2
   * (client-go `rawkvMaxBackoff`); 0 is unlimited. {@link RegionExecutor.begin} may give another.
   * @defaultValue 20000
   */
  readonly maxBackoffMs?: number | undefined;
  /** Most batches (or regions of a range walk) in flight per operation. @defaultValue 16 */
  readonly maxConcurrency?: number | undefined;
  /** Time source of backoffers and deadlines. @defaultValue the system clock */
  readonly clock?: Clock | undefined;
  /** Receives the backoffers' debug lines. @defaultValue silent */
  readonly logger?: Logger | undefined;
}

/** Options of a {@link RegionExecutor}. */
export interface RegionExecutorOptions extends RegionExecutorTuning {
  /** Sends requests to regions (`RegionRequestSender`, or any {@link RegionSender}). */
  readonly sender: RegionSender;
  /** Locates keys (`@tikv/region-cache`'s `RegionCache`, or any {@link KeyLocator}). */
  readonly locator: KeyLocator;
}

/** Defaults of {@link RegionExecutorTuning}. */
export const DEFAULT_REGION_EXECUTOR_OPTIONS: Resolved<RegionExecutorTuning> = Object.freeze({
  maxBackoffMs: 20_000,
  maxConcurrency: 16,
  clock: systemClock,
  logger: noopLogger,
});

/** The budget of one operation or step, when it is not the executor's. */
export interface BudgetOptions {
  /** Backoff budget in milliseconds before the weight. @defaultValue the executor's `maxBackoffMs` */
  readonly maxBackoffMs?: number;
}

/** One operation: its backoffer, and the scope to dispose when it settles. */
export interface Operation {
  /** The operation's retry budget, bound to its signal and deadline. */
  readonly bo: Backoffer;
  /**
   * The operation's signal and deadline. Dispose it when the operation settles: that clears
   * the deadline timer and stops following the caller's signal.
   */
  readonly scope: OperationScope;
}

/** A response and where its request went. */
export interface Located<R extends TikvRequest> {
  /** The response arm. */
  readonly response: ResponseFor<R>;
  /** The region the request was sent to. */
  readonly location: KeyLocation;
}

/** Options of {@link RegionExecutor.sendToKey}. */
export interface SendToKeyOptions {
  /**
   * Send to the region whose range ends at the key (`startKey < key <= endKey`, an empty key
   * meaning the last region) instead of the region holding it: reverse scans. @defaultValue false
   */
  readonly reverse?: boolean | undefined;
  /** The sender's per-request options (replica read, priority, execution duration...). */
  readonly request?: RegionRequestOptions | undefined;
}

/** Options of {@link RegionExecutor.runBatches}. */
export interface RunBatchesOptions<T> {
  /** The work: keys, pairs or mutations. Repeats are the caller's business. */
  readonly items: readonly T[];
  /** An item's key: it decides the item's region. */
  readonly keyOf: (item: T) => Uint8Array;
  /** How a region's items are cut into batches: `{ maxCount }` or `{ maxBytes, sizeOf }`. */
  readonly limit: BatchLimit<T>;
  /**
   * The items are in ascending key order (as `sortKeys` leaves keys, or a transaction's
   * sorted mutations): grouping checks only the last key against the first one's region and
   * finds region boundaries by binary search, and every batch is a run of the items.
   * Unsorted items given as sorted are grouped wrongly (TiKV answers KeyNotInRegion until the
   * budget runs out). @defaultValue false
   */
  readonly sorted?: boolean | undefined;
  /**
   * Sends one batch, typically with {@link RegionExecutor.sendToRegion}, and says how it went
   * (see {@link BatchOutcome}). Throwing fails the run: the batches in flight are cancelled
   * (their backoffer's signal aborts) and the error is thrown once they settle.
   *
   * @param batch - the batch
   * @param bo - the batch's backoffer: back off on it before returning `'retry'`
   */
  readonly send: (batch: RegionBatch<T>, bo: Backoffer) => Promise<BatchOutcome<T>>;
  /** Most batches in flight. @defaultValue the executor's `maxConcurrency` */
  readonly concurrency?: number | undefined;
  /**
   * Primary first (client-go 2PC's `doActionOnGroupMutations` for commit and pessimistic
   * lock): the batch holding this key is sent alone, and only once it is done are the other
   * batches sent. The key must be one of the items'.
   */
  readonly primary?: PrimaryFirstOptions | undefined;
}

/** The primary-first mode of {@link RegionExecutor.runBatches}. */
export interface PrimaryFirstOptions {
  /** The primary key: its batch goes first, alone. */
  readonly key: Uint8Array;
  /**
   * Send the other batches in the background on this backoffer (its own budget, signal and
   * deadline: client-go commits secondaries on a fresh one): `runBatches` then resolves once
   * the primary batch is done, with the rest's promise in {@link BatchRun.background}.
   * @defaultValue the rest is awaited, on the operation's backoffer
   */
  readonly background?: Backoffer | undefined;
}

/**
 * What became of one batch:
 *
 * - `'done'`: finished.
 * - `'regionError'`: the batch's region is stale (the caller already backed off, as
 *   {@link RegionExecutor.sendToRegion} does): its items are grouped again and re-sent.
 * - `'retry'`: send the same batch again, to the same region, with the same backoffer (after
 *   resolving a lock; back off first where client-go does).
 * - `{ retry: items }`: send these items of the batch again, to the same region, with the same
 *   backoffer (client-go's snapshot batch get retries only the keys that were locked).
 */
export type BatchOutcome<T> = 'done' | 'regionError' | 'retry' | { readonly retry: readonly T[] };

/** What {@link RegionExecutor.runBatches} resolves with. */
export interface BatchRun {
  /**
   * With {@link PrimaryFirstOptions.background}: the batches after the primary's, still being
   * sent; it rejects with the first failure. Undefined otherwise. Whoever gets it must handle it.
   */
  readonly background: Promise<void> | undefined;
}

/** Options of {@link RegionExecutor.mapConcurrently}. */
export interface MapConcurrentlyOptions {
  /** Most calls in flight. @defaultValue the executor's `maxConcurrency` */
  readonly concurrency?: number | undefined;
}

/** A response carries an optional region error whatever its type. */
type WithRegionError = { readonly regionError?: WireRegionError | undefined };

/**
 * The region executor shared by the raw and transactional clients: the loops of client-go's
 * `rawkv.Client` and `twoPhaseCommitter` on top of a {@link RegionSender} and a
 * {@link KeyLocator}.
 *
 * - {@link RegionExecutor.sendToKey}: locate a key's region (or the region ending at a key),
 *   send, and on a region error back off (`regionMiss`) and locate again (client-go `sendReq`).
 * - {@link RegionExecutor.sendRangeStep} and {@link RegionExecutor.walkRange}: a range region
 *   by region, forward or reverse, one request per region, optionally several regions at once
 *   (delete range, checksum, scan lock, range tasks).
 * - {@link RegionExecutor.runBatches}: items grouped by region, cut by count or size, sent with
 *   bounded concurrency; a batch that meets a region error is grouped again on its own; a
 *   batch may ask to be re-sent as is (after resolving a lock); primary batch first, with the
 *   rest awaited or in the background (2PC).
 *
 * One backoffer carries an operation's budget through every round: a round's batches back off
 * on clones of a fork of it, and the longest sleeper flows back into it with its exponential
 * sequences (`keepSequences`), so each round sleeps longer than the one before, as one retry
 * loop would.
 *
 * @example
 * ```ts
 * const exec = new RegionExecutor({ sender, locator: regionCache });
 * const { bo, scope } = exec.begin({ timeoutMs: 5_000 });
 * try {
 *   const { response } = await exec.sendToKey(bo, key, () => ({
 *     $case: 'RawGet' as const,
 *     value: { context: undefined, key, cf: '' },
 *   }));
 *   return response.value.value;
 * } finally {
 *   scope.dispose();
 * }
 * ```
 */
export class RegionExecutor {
  readonly #sender: RegionSender;
  readonly #locator: KeyLocator;
  readonly #tuning: Resolved<RegionExecutorTuning>;
  /** Made once: an operation without signal or timeout then allocates no scope at all. */
  readonly #scopeOptions: OperationScopeOptions | undefined;

  /**
   * @param options - the sender, the locator and the tuning
   * @throws InvalidArgumentError for a bad tuning value
   */
  constructor(options: RegionExecutorOptions) {
    this.#sender = options.sender;
    this.#locator = options.locator;
    this.#tuning = resolveOptions<RegionExecutorTuning>(
      DEFAULT_REGION_EXECUTOR_OPTIONS,
      {
        maxBackoffMs: options.maxBackoffMs,
        maxConcurrency: options.maxConcurrency,
        clock: options.clock,
        logger: options.logger,
      },
      { maxBackoffMs: mustBeNonNegative, maxConcurrency: mustBePositiveInteger },
    );
    this.#scopeOptions = this.#tuning.clock === systemClock ? undefined : { clock: this.#tuning.clock };
  }

  /** The sender requests go through. */
  get sender(): RegionSender {
    return this.#sender;
  }

  /** The locator keys are located with. */
  get locator(): KeyLocator {
    return this.#locator;
  }

  /** The executor's tuning, defaults applied. */
  get tuning(): Resolved<RegionExecutorTuning> {
    return this.#tuning;
  }

  /**
   * Starts one operation: a scope for the call's signal and `timeoutMs` (nothing is allocated
   * without them) and a backoffer bound to it. With `onDetails`, the backoffer carries an
   * {@link ExecDetailsCollector} (its sleeps and the sender's attempts are recorded there) and
   * disposing the scope hands the details to `onDetails`.
   *
   * @param opts - the caller's `signal`, `timeoutMs` and `onDetails`
   * @param budget - another budget than the executor's
   * @returns the backoffer and the scope; dispose the scope when the operation settles
   * @throws the signal's reason when it has already aborted
   */
  begin(opts: (RequestOptions & ExecDetailsOptions) | undefined, budget?: BudgetOptions): Operation {
    const inner = openOperationScope(opts, this.#scopeOptions);
    if (inner.signal?.aborted) {
      inner.dispose();
      throw inner.signal.reason;
    }
    const onDetails = opts?.onDetails;
    if (onDetails !== undefined && typeof onDetails !== 'function') {
      inner.dispose();
      throw invalidArgument('options.onDetails', 'a function or undefined', onDetails);
    }
    const scope =
      onDetails === undefined ? inner : new DetailsScope(inner, new ExecDetailsCollector(), onDetails);
    return { bo: this.backofferIn(scope, budget), scope };
  }

  /**
   * A fresh backoffer (a whole budget) for one step of an operation already under way, sharing
   * its signal and deadline: a page of a scan iterator, a phase of a commit.
   *
   * @param scope - the operation's scope
   * @param budget - another budget than the executor's
   * @returns the backoffer
   */
  backofferIn(scope: OperationScope, budget?: BudgetOptions): Backoffer {
    return new Backoffer({
      maxBackoffMs: budget?.maxBackoffMs ?? this.#tuning.maxBackoffMs,
      signal: scope.signal,
      deadlineAtMs: scope.deadlineAtMs,
      clock: this.#tuning.clock,
      logger: this.#tuning.logger,
      execDetails: scope instanceof DetailsScope ? scope.collector : undefined,
    });
  }

  /**
   * Sends one request to the region of `key` (or, with `reverse`, the region ending at `key`),
   * locating again after each region error the sender hands back (client-go `sendReq`).
   *
   * @param bo - the operation's backoffer
   * @param key - the key
   * @param build - makes the request for the region found (called again after a region error)
   * @param options - `reverse`, the sender's request options
   * @returns the response and the region it came from
   */
  async sendToKey<R extends TikvRequest>(
    bo: Backoffer,
    key: Uint8Array,
    build: (location: KeyLocation) => R,
    options?: SendToKeyOptions,
  ): Promise<Located<R>> {
    const reverse = options?.reverse === true;
    const request = options?.request;
    for (;;) {
      const signal = bo.signal;
      const locateOptions = signal === undefined ? undefined : { signal };
      const location = reverse
        ? await this.#locator.locateEndKey(key, locateOptions)
        : await this.#locator.locateKey(key, locateOptions);
      // `sendToRegion` inlined: one async frame per attempt on the hottest path.
      const response = await this.#sender.sendRequest(bo, build(location), location.region, request);
      const wire = (response.value as WithRegionError).regionError;
      if (wire === undefined || wire === null) return { response, location };
      await bo.backoff(BackoffKinds.regionMiss, regionErrorFromWire(wire, { regionId: location.region.id }));
    }
  }

  /**
   * Sends one request to a region version once. After a region error handed back by the
   * sender it backs off (`regionMiss`, client-go `onRegionError`) and resolves undefined: the
   * caller locates the keys again (a {@link RunBatchesOptions.send} returns `'regionError'`).
   *
   * @param bo - the backoffer
   * @param region - the region version the request's keys were located in
   * @param request - the request
   * @param options - the sender's request options
   * @returns the response, or undefined after a region error
   */
  async sendToRegion<R extends TikvRequest>(
    bo: Backoffer,
    region: RegionVerId,
    request: R,
    options?: RegionRequestOptions,
  ): Promise<ResponseFor<R> | undefined> {
    const response = await this.#sender.sendRequest(bo, request, region, options);
    const wire = (response.value as WithRegionError).regionError;
    if (wire === undefined || wire === null) return response;
    await bo.backoff(BackoffKinds.regionMiss, regionErrorFromWire(wire, { regionId: region.id }));
    return undefined;
  }

  /**
   * One step of a range walk: sends one request to the region where the walk stands, for the
   * part of the range inside it, and says where the walk goes next.
   *
   * @param bo - the backoffer
   * @param walk - the walk's position and bound, and its direction
   * @param build - makes the request for the part of the range in one region
   * @param options - the sender's request options
   * @returns the response, the part sent, and the next position (undefined at the end)
   */
  sendRangeStep<R extends TikvRequest>(
    bo: Backoffer,
    walk: RangeWalkBounds,
    build: (span: RegionSpan) => R,
    options?: RegionRequestOptions,
  ): Promise<RangeStep<R>> {
    return sendRangeStep(this, bo, walk, build, options);
  }

  /**
   * Walks a range region by region, one request per region (client-go's `DeleteRange`,
   * `Checksum`, range tasks), forward or reverse, one region at a time or several at once.
   *
   * @param bo - the operation's backoffer
   * @param options - the range, the direction, the concurrency, the request and its handler
   */
  walkRange<R extends TikvRequest>(bo: Backoffer, options: WalkRangeOptions<R>): Promise<void> {
    return walkRange(this, bo, options);
  }

  /**
   * Groups items by region, cuts each group into batches, sends them with bounded concurrency,
   * and groups again the items of the batches that met a region error until every item is
   * done (client-go `sendBatchReq` / `doActionOnMutations`).
   *
   * @param bo - the operation's backoffer
   * @param options - the items, the cut, the send callback, the concurrency, primary first
   * @returns the background promise of a primary-first run with its rest in the background
   * @throws the first error a batch throws, once the batches in flight have settled
   */
  runBatches<T>(bo: Backoffer, options: RunBatchesOptions<T>): Promise<BatchRun> {
    return runBatches(this, bo, options);
  }

  /**
   * Runs `fn` on every item with bounded concurrency, each call with its own backoffer cloned
   * from one fork of `bo`: the first failure cancels the others (their backoffers' signal
   * aborts) and is thrown once they settle; the longest sleep flows back into `bo`.
   *
   * @param bo - the operation's backoffer
   * @param items - the inputs
   * @param fn - the work
   * @param options - the concurrency
   * @returns the results, aligned with `items`
   */
  async mapConcurrently<T, U>(
    bo: Backoffer,
    items: readonly T[],
    fn: (item: T, bo: Backoffer, index: number) => Promise<U>,
    options?: MapConcurrentlyOptions,
  ): Promise<U[]> {
    const concurrency = concurrencyArg(
      options?.concurrency,
      this.#tuning.maxConcurrency,
      'options.concurrency',
    );
    return runRound(bo, items, concurrency, fn);
  }
}
