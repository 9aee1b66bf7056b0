import {
  type Clock,
  type ClockTimer,
  InvalidArgumentError,
  type Logger,
  noopLogger,
  systemClock,
} from '@tikv/common';
import type { CallOptions } from './call-options.js';
import type { GetMinResolvedTsOptions, MinResolvedTs } from './min-resolved-ts.js';

/** The txn scope of the whole cluster (client-go `oracle.GlobalTxnScope`). */
export const GLOBAL_TXN_SCOPE = 'global';
/** The store label naming a store's data center: its txn scope (client-go `DCLabelKey`). */
export const DC_LABEL_KEY = 'zone';
const U64_MAX = (1n << 64n) - 1n;

/** A store as the updater needs it: its id and labels (a `StoreInfo` is one). */
export interface SafeTsStore {
  readonly id: bigint;
  readonly labels: readonly { readonly key: string; readonly value: string }[];
}

/** What the updater reads: PD's min resolved ts and the stores (a `PdClient` is one). */
export interface SafeTsSource {
  getMinResolvedTs(options?: GetMinResolvedTsOptions): Promise<MinResolvedTs>;
  getAllStores(options?: CallOptions): Promise<readonly SafeTsStore[]>;
}

/**
 * Asks one store for its safe ts (TiKV's `GetStoreSafeTS` over the whole key range), for the
 * stores PD has no valid min resolved ts for. Supplied by the layer that talks to TiKV.
 */
export type StoreSafeTsFetcher = (store: SafeTsStore, options: CallOptions) => Promise<bigint>;

/** Options of {@link SafeTsUpdater}. */
export interface SafeTsUpdaterOptions {
  /** Pause between two updates, in ms (client-go `safeTSUpdateInterval`). @defaultValue 2_000 */
  readonly intervalMs?: number | undefined;
  /**
   * The client's txn scope: `global` reads the cluster's min resolved ts from PD in one call;
   * another scope reads every store's.
   * @defaultValue 'global'
   */
  readonly txnScope?: string | undefined;
  /** Asks a store itself when PD has nothing valid for it. @defaultValue none: such a store is skipped */
  readonly storeSafeTs?: StoreSafeTsFetcher | undefined;
  /** Deadline of each PD or store call of an update, in ms (client-go `ReadTimeoutShort`). @defaultValue 30_000 */
  readonly callTimeoutMs?: number | undefined;
  /** Times the updates. @defaultValue the system clock */
  readonly clock?: Clock | undefined;
  /** Receives failed updates (at debug level). @defaultValue silent */
  readonly logger?: Logger | undefined;
}

/** Defaults of {@link SafeTsUpdaterOptions}. */
export const DEFAULT_SAFE_TS_UPDATER_OPTIONS = Object.freeze({
  intervalMs: 2_000,
  txnScope: GLOBAL_TXN_SCOPE,
  callTimeoutMs: 30_000,
});

/** A safe ts worth keeping: neither 0 (unknown) nor 2^64 - 1 (nothing counted). */
function isValidSafeTs(ts: bigint | undefined): ts is bigint {
  return ts !== undefined && ts !== 0n && ts !== U64_MAX;
}

function tick(u: SafeTsUpdater): void {
  u.onTick();
}

/**
 * Keeps the safe ts of every store and the min safe ts of every txn scope up to date, as
 * client-go's `KVStore` does in its `safeTSUpdater` loop: stale reads use
 * {@link SafeTsUpdater.getMinSafeTs} to pick a read ts every store can serve.
 *
 * Each update (every `intervalMs`, in the background: its timers never keep the process
 * alive) first asks PD for the cluster's min resolved ts when the scope is `global`, and takes
 * it if valid and not behind the last one. Otherwise it asks PD for every store's, falls back
 * to the store itself (`storeSafeTs`) for a store PD has nothing valid for, never moves a
 * store's safe ts back, and sets each scope's min safe ts (the global scope and each `zone`
 * label's) to the smallest non-zero safe ts of its stores, 0 when one store has none yet.
 *
 * @example
 * ```ts
 * const updater = new SafeTsUpdater(pd, { storeSafeTs: (store, o) => tikv.storeSafeTs(store.id, o) });
 * updater.start();
 * const readTs = updater.getMinSafeTs(); // 0n until the first update
 * await updater.stop();
 * ```
 */
export class SafeTsUpdater {
  readonly #source: SafeTsSource;
  readonly #o: {
    readonly intervalMs: number;
    readonly txnScope: string;
    readonly callTimeoutMs: number;
    readonly clock: Clock;
    readonly logger: Logger;
    readonly storeSafeTs: StoreSafeTsFetcher | undefined;
  };
  readonly #safeTs = new Map<bigint, bigint>();
  readonly #minSafeTs = new Map<string, bigint>();
  #timer: ClockTimer | undefined;
  #running = false;
  #inFlight: Promise<void> | undefined;
  #stopController = new AbortController();

  /**
   * @param source - PD's min resolved ts and the stores (a `PdClient`)
   * @param options - interval, txn scope, the store fallback, clock and logger
   * @throws InvalidArgumentError for an interval or timeout that is not a positive number
   */
  constructor(source: SafeTsSource, options: SafeTsUpdaterOptions = {}) {
    const d = DEFAULT_SAFE_TS_UPDATER_OPTIONS;
    this.#source = source;
    this.#o = Object.freeze({
      intervalMs: options.intervalMs ?? d.intervalMs,
      txnScope: options.txnScope ?? d.txnScope,
      callTimeoutMs: options.callTimeoutMs ?? d.callTimeoutMs,
      clock: options.clock ?? systemClock,
      logger: options.logger ?? noopLogger,
      storeSafeTs: options.storeSafeTs,
    });
    if (!(this.#o.intervalMs > 0)) {
      throw new InvalidArgumentError(`intervalMs must be > 0, got ${this.#o.intervalMs}`);
    }
    if (!(this.#o.callTimeoutMs > 0)) {
      throw new InvalidArgumentError(`callTimeoutMs must be > 0, got ${this.#o.callTimeoutMs}`);
    }
  }

  /** The min safe ts of a txn scope (client-go `GetMinSafeTS`); 0n before it is known. */
  getMinSafeTs(txnScope: string = GLOBAL_TXN_SCOPE): bigint {
    return this.#minSafeTs.get(txnScope) ?? 0n;
  }

  /** The safe ts last seen for a store; undefined before it is known. */
  getSafeTs(storeId: bigint): bigint | undefined {
    return this.#safeTs.get(storeId);
  }

  /** Whether the background loop runs. */
  get running(): boolean {
    return this.#running;
  }

  /** Starts updating every `intervalMs` (the first update after one interval). Idempotent. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    if (this.#stopController.signal.aborted) this.#stopController = new AbortController();
    this.#arm();
  }

  /** Stops the loop, cancels an update in flight and waits for it to end. Idempotent. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) {
      this.#o.clock.clearTimer(this.#timer);
      this.#timer = undefined;
    }
    this.#stopController.abort(new Error('safe ts updater stopped'));
    await this.#inFlight;
  }

  #arm(): void {
    this.#timer = this.#o.clock.setTimer(this.#o.intervalMs, tick, this, { background: true });
  }

  /** The loop's timer fired. @internal */
  onTick(): void {
    this.#timer = undefined;
    if (!this.#running) return;
    const run = this.update({ signal: this.#stopController.signal }).catch((e: unknown) => {
      this.#o.logger.debug('safe ts update failed', { error: e });
    });
    this.#inFlight = run.finally(() => {
      this.#inFlight = undefined;
      if (this.#running) this.#arm();
    });
  }

  /**
   * Runs one update (client-go `updateSafeTS`) now. Failed PD and store calls leave the values
   * they would have set as they were.
   */
  async update(options: { readonly signal?: AbortSignal | undefined } = {}): Promise<void> {
    const call = { signal: options.signal, timeoutMs: this.#o.callTimeoutMs };
    if (this.#o.txnScope === GLOBAL_TXN_SCOPE && (await this.#updateGlobalFromPd(call))) return;
    const stores = await this.#source.getAllStores(call);
    let fromPd: ReadonlyMap<bigint, bigint> | undefined;
    if (stores.length > 0) {
      try {
        fromPd = (await this.#source.getMinResolvedTs({ ...call, storeIds: stores.map((s) => s.id) }))
          .storesMinResolvedTs;
      } catch (e) {
        this.#o.logger.debug('get resolved ts from PD failed', { error: e });
      }
    }
    await Promise.all(stores.map((s) => this.#updateStore(s, fromPd?.get(s.id), call)));
    const scopes = new Map<string, bigint[]>();
    for (const s of stores) {
      const global = scopes.get(GLOBAL_TXN_SCOPE) ?? [];
      global.push(s.id);
      scopes.set(GLOBAL_TXN_SCOPE, global);
      const dc = s.labels.find((l) => l.key === DC_LABEL_KEY)?.value;
      if (dc !== undefined) scopes.set(dc, [...(scopes.get(dc) ?? []), s.id]);
    }
    for (const [scope, ids] of scopes) this.#setMinSafeTsOf(scope, ids);
  }

  /** client-go `updateGlobalTxnScopeTSFromPD`: true when PD's cluster value settled it. */
  async #updateGlobalFromPd(call: CallOptions): Promise<boolean> {
    let ts: bigint;
    try {
      ts = (await this.#source.getMinResolvedTs(call)).minResolvedTs;
    } catch (e) {
      this.#o.logger.debug('get cluster min resolved ts from PD failed', { error: e });
      return false;
    }
    if (!isValidSafeTs(ts)) return false;
    if (this.getMinSafeTs(GLOBAL_TXN_SCOPE) <= ts) this.#minSafeTs.set(GLOBAL_TXN_SCOPE, ts);
    return true;
  }

  async #updateStore(store: SafeTsStore, fromPd: bigint | undefined, call: CallOptions): Promise<void> {
    let ts: bigint;
    if (isValidSafeTs(fromPd)) {
      ts = fromPd;
    } else {
      const fetch = this.#o.storeSafeTs;
      if (fetch === undefined) return;
      try {
        ts = await fetch(store, call);
      } catch (e) {
        this.#o.logger.debug('update store safe ts failed', { storeId: store.id, error: e });
        return;
      }
    }
    if (ts === U64_MAX) return;
    if ((this.#safeTs.get(store.id) ?? 0n) > ts) return;
    this.#safeTs.set(store.id, ts);
  }

  /** client-go `updateMinSafeTS`: the smallest non-zero store safe ts; 0 while a store has none. */
  #setMinSafeTsOf(scope: string, storeIds: readonly bigint[]): void {
    let min = U64_MAX;
    for (const id of storeIds) {
      const ts = this.#safeTs.get(id);
      if (ts === undefined) min = 0n;
      else if (ts !== 0n && ts < min) min = ts;
    }
    this.#minSafeTs.set(scope, min === U64_MAX ? 0n : min);
  }
}
