import type { Backoffer, Clock, LockInfo, Logger, RequestOptions } from '@tikv/common';
import type { RegionExecutor, ResponseFor, TikvRequest } from '@tikv/rpc';

/**
 * What a transaction needs from PD's timestamp oracle (client-go `oracle.Oracle`).
 * `@tikv/pd`'s `PdOracle` satisfies it; a test can pass any object of this shape.
 */
export interface TxnOracle {
  /** A fresh timestamp from PD's TSO. */
  getTimestamp(options?: RequestOptions): Promise<bigint>;
  /** A recent timestamp without a round trip (the low-resolution cache). */
  getLowResolutionTimestamp(options?: RequestOptions): Promise<bigint>;
  /** Whether a lock written at `lockTs` with `ttlMs` has expired by the local clock. */
  isExpired(lockTs: bigint, ttlMs: number): boolean;
  /** Milliseconds until a lock written at `lockTs` with `ttlMs` expires (<= 0: expired). */
  untilExpired(lockTs: bigint, ttlMs: number): number;
  /** Refuses a read timestamp from the future (client-go `ValidateReadTS`). */
  validateReadTs(readTs: bigint, isStaleRead: boolean, options?: RequestOptions): Promise<void>;
  /**
   * A timestamp `stalenessMs` before now without a round trip (`PdOracle.staleTimestampSync`);
   * `undefined` before any timestamp was fetched. Needed for bounded-staleness snapshots only.
   */
  staleTimestampSync?(stalenessMs: number): bigint | undefined;
}

/** Options of {@link LockResolving.resolveLocks} (client-go `ResolveLocksOptions`). */
export interface ResolveLocksOptions {
  /** The start ts of the transaction that met the locks (a reader's, or a writer's). */
  readonly callerStartTs: bigint;
  /** The locks met. */
  readonly locks: readonly LockInfo[];
  /**
   * The caller only reads: a lock that is not expired may be pushed (its min commit ts moved
   * past `callerStartTs`) instead of waited for, and the read may bypass it. @defaultValue false
   */
  readonly forRead?: boolean | undefined;
  /** Resolve lite: resolve only these keys' locks, not the whole transaction's. @defaultValue false */
  readonly lite?: boolean | undefined;
  /** A pessimistic-lock request met them (client-go `Detail` / pessimistic region resolve). */
  readonly pessimisticRegionResolve?: boolean | undefined;
  /** `Context.requestSource` of the resolver's requests (client-go takes the caller's). @defaultValue none */
  readonly requestSource?: string | undefined;
  /** The resource group the resolver's requests are charged to. @defaultValue none */
  readonly resourceGroupName?: string | undefined;
}

/** What {@link LockResolving.resolveLocks} found (client-go `ResolveLockResult`). */
export interface ResolveLocksResult {
  /**
   * Milliseconds until the earliest lock that is still alive expires; 0 when every lock was
   * resolved (or may be bypassed) and the request can be retried at once.
   */
  readonly msBeforeTxnExpired: number;
  /** Start ts of transactions whose locks a read may ignore (pushed, or rolled back): `Context.resolved_locks`. */
  readonly resolvedLocks: readonly bigint[];
  /** Start ts of committed transactions whose locks a read may read through: `Context.committed_locks`. */
  readonly committedLocks: readonly bigint[];
}

/**
 * Lock resolution as snapshot reads and 2PC use it (client-go `txnlock.LockResolver`
 * `ResolveLocksWithOpts`). The package's `LockResolver` implements it.
 */
export interface LockResolving {
  /**
   * Resolves the locks whose transactions are finished or expired, pushes or waits for the
   * others, and says how long the caller should back off.
   *
   * @param bo - the caller's backoffer (its budget and signal)
   */
  resolveLocks(bo: Backoffer, options: ResolveLocksOptions): Promise<ResolveLocksResult>;
}

/**
 * The TiKV stores a client knows and a send to one of them: what a pipelined transaction
 * broadcasts its status through (client-go `broadcastToAllStores`). `TransactionClient.connect`
 * wires the region cache's stores and the client's transport (with its codec).
 */
export interface TxnStores {
  /** The TiKV stores (not TiFlash) the region cache has resolved (client-go `GetStoresByType(tikvrpc.TiKV)`). */
  tikvStores(): readonly { readonly id: bigint; readonly address: string }[];
  /** Sends one command to one store. */
  send<R extends TikvRequest>(address: string, request: R, options?: RequestOptions): Promise<ResponseFor<R>>;
}

/** The pieces the transactional layer runs on; `TransactionClient.connect` wires the real ones. */
export interface TxnParts {
  /** Region routing, batching and retries (`@tikv/rpc`'s `RegionExecutor`). */
  readonly executor: RegionExecutor;
  /** Timestamps (`@tikv/pd`'s `PdOracle`). */
  readonly oracle: TxnOracle;
  /** The cluster's id, for diagnostics. @defaultValue 0n */
  readonly clusterId?: bigint | undefined;
  /** Time source for TTLs, heartbeats and backoffs. @defaultValue the system clock */
  readonly clock?: Clock | undefined;
  /** @defaultValue silent */
  readonly logger?: Logger | undefined;
  /**
   * Aborts when the client closes: work a commit leaves in the background (the commit of
   * secondaries, the rollback after a failure, TTL heartbeats) stops with it. @defaultValue none
   */
  readonly lifetimeSignal?: AbortSignal | undefined;
  /**
   * The stores a pipelined transaction broadcasts its status to (TiKV's txn status cache).
   * @defaultValue none: pipelined transactions broadcast nothing
   */
  readonly stores?: TxnStores | undefined;
  /** Releases the pieces; called once by `close()`. */
  readonly close?: (() => Promise<void>) | undefined;
}
