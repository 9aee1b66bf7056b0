import {
  Backoffer,
  BackoffKinds,
  type Clock,
  type Logger,
  type OperationScope,
  type OperationScopeOptions,
  openOperationScope,
  type RequestOptions,
  regionErrorFromWire,
  type WireRegionError,
} from '@tikv/common';
import { type KeyLocation, locationContains, type RegionVerId } from '@tikv/region-cache';
import type { ResponseFor, TikvRequest } from '@tikv/rpc';
import type { RegionBatch } from './batch-plan.js';
import { boundedMap } from './bounded-map.js';
import type { RawRegionLocator, RawRequestSender, RawSendOptions } from './raw-deps.js';

/** Tuning of a {@link RegionExecutor}. */
export interface RegionExecutorOptions {
  /** Backoff budget of one operation, in milliseconds. */
  readonly maxBackoffMs: number;
  /** Most region batches in flight per operation. */
  readonly maxBatchConcurrency: number;
  /** Time source of backoffers and deadlines. */
  readonly clock?: Clock | undefined;
  /** Receives backoff debug lines. */
  readonly logger?: Logger | undefined;
}

/** A response's value: every raw response carries an optional region error. */
type WithRegionError = { readonly regionError?: WireRegionError | undefined };

/** One raw operation: its backoffer, and the scope to dispose when it settles. */
export interface RawOperation {
  /** The operation's retry budget, bound to its signal and deadline. */
  readonly bo: Backoffer;
  /**
   * The operation's signal and deadline. Dispose it when the operation settles: that clears
   * the deadline timer and stops following the caller's signal.
   */
  readonly scope: OperationScope;
}

/** A located response. */
export interface Located<R extends TikvRequest> {
  /** The response arm. */
  readonly response: ResponseFor<R>;
  /** Where the request went. */
  readonly location: KeyLocation;
}

/**
 * The retry loops of client-go's `rawkv.Client` on top of a region request sender: locate,
 * send, and on a region error handed back by the sender, back off (`regionMiss`) and locate
 * again (`sendReq`); split batches by region, send them concurrently and re-split the failed
 * ones (`sendBatchReq` / `sendBatchPut`).
 *
 * @internal
 */
export class RegionExecutor {
  /** Made once: an operation without signal or timeout then allocates no scope at all. */
  readonly #scopeOptions: OperationScopeOptions | undefined;

  constructor(
    readonly sender: RawRequestSender,
    readonly locator: RawRegionLocator,
    readonly options: RegionExecutorOptions,
  ) {
    this.#scopeOptions = options.clock === undefined ? undefined : { clock: options.clock };
  }

  /**
   * Starts one operation: a scope for the call's signal and `timeoutMs` (nothing is allocated
   * without them) and a backoffer bound to it.
   *
   * @throws the signal's reason when it has already aborted
   */
  begin(opts: RequestOptions | undefined): RawOperation {
    const scope = openOperationScope(opts, this.#scopeOptions);
    if (scope.signal?.aborted) {
      scope.dispose();
      throw scope.signal.reason;
    }
    return { bo: this.backofferIn(scope), scope };
  }

  /**
   * A fresh backoffer (a whole budget) for one step of an operation that is already under way,
   * sharing its signal and deadline: a page of `scanIter`.
   */
  backofferIn(scope: OperationScope): Backoffer {
    return new Backoffer({
      maxBackoffMs: this.options.maxBackoffMs,
      signal: scope.signal,
      deadlineAtMs: scope.deadlineAtMs,
      clock: this.options.clock,
      logger: this.options.logger,
    });
  }

  /**
   * Sends one request to the region of `key` (or, reversed, the region ending at `key`),
   * retrying on region errors.
   */
  async sendToKey<R extends TikvRequest>(
    bo: Backoffer,
    key: Uint8Array,
    reverse: boolean,
    build: (location: KeyLocation) => R,
    sendOptions?: RawSendOptions,
  ): Promise<Located<R>> {
    for (;;) {
      const signal = bo.signal;
      const locateOptions = signal === undefined ? undefined : { signal };
      const location = reverse
        ? await this.locator.locateEndKey(key, locateOptions)
        : await this.locator.locateKey(key, locateOptions);
      // `sendOnce` inlined: one async frame per attempt on the hottest path.
      const response = await this.sender.sendRequest(bo, build(location), location.region, sendOptions);
      const wire = (response.value as WithRegionError).regionError;
      if (wire === undefined || wire === null) return { response, location };
      await bo.backoff(BackoffKinds.regionMiss, regionErrorFromWire(wire, { regionId: location.region.id }));
    }
  }

  /**
   * Sends once; resolves undefined after backing off for a region error the caller must
   * handle by locating again.
   */
  async sendOnce<R extends TikvRequest>(
    bo: Backoffer,
    request: R,
    region: RegionVerId,
    sendOptions?: RawSendOptions,
  ): Promise<ResponseFor<R> | undefined> {
    const resp = await this.sender.sendRequest(bo, request, region, sendOptions);
    const wire = (resp.value as WithRegionError).regionError;
    if (wire === undefined || wire === null) return resp;
    await bo.backoff(BackoffKinds.regionMiss, regionErrorFromWire(wire, { regionId: region.id }));
    return undefined;
  }

  /**
   * Groups items by region, cuts each group into batches, sends them with bounded
   * concurrency, and re-groups the items of batches that met a region error until every item
   * is done. The first other error cancels the batches in flight and is thrown.
   *
   * @param bo - the operation's backoffer
   * @param items - the work, unique by key
   * @param keyOf - an item's key
   * @param cut - appends one region's batches
   * @param send - sends one batch; resolves undefined after a region error (already backed off)
   */
  async runBatches<T>(
    bo: Backoffer,
    items: readonly T[],
    keyOf: (item: T) => Uint8Array,
    cut: (out: RegionBatch<T>[], region: RegionVerId, items: T[]) => void,
    send: (bo: Backoffer, batch: RegionBatch<T>) => Promise<boolean>,
  ): Promise<void> {
    let pending = items;
    for (let round = 0; pending.length > 0; round++) {
      const groups = await this.groupByRegion(bo, pending, keyOf);
      const batches: RegionBatch<T>[] = [];
      for (const g of groups) cut(batches, g.region, g.items);
      const only = batches.length === 1 ? batches[0] : undefined;
      if (only !== undefined && round === 0) {
        // The common case: one batch, nothing to cancel. The operation's backoffer is still
        // fresh, so it serves as the batch's own, exactly as a fork would.
        pending = (await send(bo, only)) ? [] : only.items;
      } else {
        pending = await this.sendRound(bo, batches, send);
      }
    }
  }

  /**
   * Sends one round of batches concurrently, each with its own backoffer cloned from a fork
   * of `bo` (which the first error cancels), and returns the items of the batches that met a
   * region error. The sleep of the batch that slept longest flows back into `bo`, so the next
   * round starts from what this one used (client-go's `UpdateUsingForked`), and so do its
   * backoff sequences: each round sleeps longer than the one before, as one retry loop would,
   * instead of starting over at the shortest step (client-go's forks do), which let a
   * budget buy dozens of rounds, each a full RPC.
   */
  private async sendRound<T>(
    bo: Backoffer,
    batches: readonly RegionBatch<T>[],
    send: (bo: Backoffer, batch: RegionBatch<T>) => Promise<boolean>,
  ): Promise<T[]> {
    const round = bo.fork({ keepSequences: true });
    const retry: T[] = [];
    let last: Backoffer | undefined;
    try {
      await boundedMap(
        batches,
        this.options.maxBatchConcurrency,
        async (batch) => {
          // A clone shares the round's signal (no controller of its own: nothing cancels one
          // batch alone) and starts its own backoff sequences.
          const child = round.backoffer.clone({ keepSequences: true });
          const done = await send(child, batch);
          if (!done) retry.push(...batch.items);
          if (last === undefined || child.totalSleepMs >= last.totalSleepMs) last = child;
        },
        (e) => round.cancel(e),
      );
    } finally {
      bo.updateUsingForked(last);
      round.dispose();
    }
    return retry;
  }

  private async groupByRegion<T>(
    bo: Backoffer,
    items: readonly T[],
    keyOf: (item: T) => Uint8Array,
  ): Promise<{ region: RegionVerId; items: T[] }[]> {
    const groups: { region: RegionVerId; items: T[] }[] = [];
    const byRegion = new Map<string, { region: RegionVerId; items: T[] }>();
    const locateOptions = bo.signal === undefined ? undefined : { signal: bo.signal };
    let loc: KeyLocation | undefined;
    let group: { region: RegionVerId; items: T[] } | undefined;
    for (const item of items) {
      const key = keyOf(item);
      if (loc === undefined || group === undefined || !locationContains(loc, key)) {
        loc = await this.locator.locateKey(key, locateOptions);
        const tag = `${loc.region.id}:${loc.region.confVer}:${loc.region.version}`;
        group = byRegion.get(tag);
        if (group === undefined) {
          group = { region: loc.region, items: [] };
          byRegion.set(tag, group);
          groups.push(group);
        }
      }
      group.items.push(item);
    }
    return groups;
  }
}
