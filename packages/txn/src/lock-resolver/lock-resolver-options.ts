import {
  type Logger,
  type MetricsHook,
  mustBeNonNegativeInteger,
  mustBePositiveInteger,
  noopLogger,
  noopMetrics,
  type Resolved,
  resolveOptions,
} from '@tikv/common';
import type { RegionExecutor } from '@tikv/rpc';
import type { TxnOracle } from '../txn-deps.js';

/** Tuning of a {@link LockResolver}; every field has client-go's default. */
export interface LockResolverTuning {
  /**
   * Transactions writing fewer keys than this in a region are resolved key by key ("lite":
   * `ResolveLock` with the keys met) instead of by a scan of the whole region (client-go
   * `ResolveLockLiteThreshold`).
   * @defaultValue 512
   */
  readonly liteThreshold?: number | undefined;
  /** Statuses of finished transactions kept, by start ts (client-go `ResolvedCacheSize`). @defaultValue 2048 */
  readonly resolvedCacheSize?: number | undefined;
  /**
   * Most lock cleanups running in the background after a read went on without waiting for them
   * (client-go `AsyncResolveLockSemaphoreLimit`); past it a read cleans up in place. 0 turns
   * background cleanups off.
   * @defaultValue 10000
   */
  readonly maxBackgroundResolves?: number | undefined;
  /** Backoff budget of one background cleanup, in milliseconds (client-go `asyncResolveLockMaxBackoff`). @defaultValue 40000 */
  readonly backgroundMaxBackoffMs?: number | undefined;
  /** Receives info lines (background failures, async-commit recovery). @defaultValue silent */
  readonly logger?: Logger | undefined;
  /** Counts what the resolver does ({@link LOCK_RESOLVER_METRIC}, label `type`). @defaultValue none */
  readonly metrics?: MetricsHook | undefined;
}

/** Options of a {@link LockResolver}. */
export interface LockResolverOptions extends LockResolverTuning {
  /** Sends the requests (`@tikv/rpc`'s `RegionExecutor` over the cluster's sender and cache). */
  readonly executor: RegionExecutor;
  /** Timestamps and lock expiry (`@tikv/pd`'s `PdOracle`). */
  readonly oracle: TxnOracle;
}

/** Defaults of {@link LockResolverTuning}. */
export const DEFAULT_LOCK_RESOLVER_OPTIONS: Resolved<LockResolverTuning> = Object.freeze({
  liteThreshold: 512,
  resolvedCacheSize: 2048,
  maxBackgroundResolves: 10_000,
  backgroundMaxBackoffMs: 40_000,
  logger: noopLogger,
  metrics: noopMetrics,
});

/**
 * Counter of the lock resolver's actions (client-go `tikv_client_go_lock_resolver_actions_total`),
 * label `type`: `resolve`, `expired`, `not_expired`, `wait_expired`, `query_txn_status`,
 * `query_txn_status_committed`, `query_txn_status_rolled_back`, `query_check_secondary_locks`,
 * `resolve_async_commit`, `resolve_locks`, `resolve_lock_lite`, `batch_resolve`.
 */
export const LOCK_RESOLVER_METRIC = 'tikv_client_lock_resolver_actions_total';

/**
 * The tuning with defaults applied, checked.
 *
 * @throws InvalidArgumentError naming a bad field
 * @internal
 */
export function resolveLockResolverTuning(options: LockResolverTuning): Resolved<LockResolverTuning> {
  return resolveOptions<LockResolverTuning>(
    DEFAULT_LOCK_RESOLVER_OPTIONS,
    {
      liteThreshold: options.liteThreshold,
      resolvedCacheSize: options.resolvedCacheSize,
      maxBackgroundResolves: options.maxBackgroundResolves,
      backgroundMaxBackoffMs: options.backgroundMaxBackoffMs,
      logger: options.logger,
      metrics: options.metrics,
    },
    {
      liteThreshold: mustBeNonNegativeInteger,
      resolvedCacheSize: mustBePositiveInteger,
      maxBackgroundResolves: mustBeNonNegativeInteger,
      backgroundMaxBackoffMs: mustBeNonNegativeInteger,
    },
  );
}
