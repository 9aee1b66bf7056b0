import {
  type Clock,
  type Logger,
  mustBeNonNegative,
  mustBePositive,
  mustBePositiveInteger,
  noopLogger,
  type RandomSource,
  type Resolved,
  resolveOptions,
  systemClock,
} from '@tikv/common';
import type { Store } from './store.js';
import type { LivenessProbe } from './store-cache.js';

/** The numeric and boolean options of a {@link RegionCache}. */
export interface RegionCacheTuning {
  /**
   * How long an idle region stays cached, in milliseconds. Every access
   * extends it (unless the region must expire: it has down peers or stale stores).
   * @defaultValue 600000 (10 minutes, client-go `regionCacheTTLSec`)
   */
  readonly regionCacheTtlMs?: number | undefined;
  /**
   * Random extra TTL in [0, jitter) milliseconds so regions do not expire together.
   * @defaultValue 60000
   */
  readonly regionCacheTtlJitterMs?: number | undefined;
  /**
   * Backoff budget, in milliseconds, of one load from the region source
   * (PD errors are retried with the `pdRPC` backoff kind until it is spent).
   * @defaultValue 20000
   */
  readonly loadBackoffMs?: number | undefined;
  /**
   * Interval of the background sweep that drops expired regions, in milliseconds.
   * @defaultValue 1000
   */
  readonly gcIntervalMs?: number | undefined;
  /**
   * How many regions one background sweep visits.
   * @defaultValue 50
   */
  readonly gcRegionsPerRound?: number | undefined;
  /**
   * Interval, in milliseconds, at which stores marked for a check are re-resolved
   * and stores unknown to the cache are added.
   * @defaultValue 10000
   */
  readonly storeRefreshIntervalMs?: number | undefined;
  /**
   * Interval, in milliseconds, of the health check of an unreachable store.
   * @defaultValue 1000
   */
  readonly healthCheckIntervalMs?: number | undefined;
  /**
   * While a store is unreachable, how often its address is fetched again, in milliseconds.
   * @defaultValue 30000
   */
  readonly storeReResolveIntervalMs?: number | undefined;
  /**
   * Interval, in milliseconds, at which store slow scores are updated.
   * @defaultValue 1000
   */
  readonly healthTickIntervalMs?: number | undefined;
  /**
   * Route leader requests through another peer (a proxy) when the leader's
   * store is unreachable (client-go `EnableForwarding`).
   * @defaultValue false
   */
  readonly enableForwarding?: boolean | undefined;
  /**
   * Run the background sweeps (expiry, store refresh, health ticks). Turn off
   * for short-lived caches; the cache still expires regions on access.
   * @defaultValue true
   */
  readonly backgroundTasks?: boolean | undefined;
  /**
   * Ask the region source for buckets when loading a region.
   * @defaultValue true
   */
  readonly needBuckets?: boolean | undefined;
}

/** Options of a {@link RegionCache}. */
export interface RegionCacheOptions extends RegionCacheTuning {
  /** The time source (a `ManualClock` in tests). @defaultValue systemClock */
  readonly clock?: Clock | undefined;
  /** Randomness for TTL jitter and proxy choice. @defaultValue Math.random */
  readonly random?: RandomSource | undefined;
  /** Logger. @defaultValue noopLogger */
  readonly logger?: Logger | undefined;
  /**
   * Probes a store's liveness (a gRPC health check). Without one, a store
   * marked unreachable stays so until {@link RegionCache.setStoreLiveness} says otherwise.
   */
  readonly livenessProbe?: LivenessProbe | undefined;
  /**
   * Asks a store for fresh health feedback (a `GetHealthFeedback` request; the answer comes back
   * through {@link RegionCache.onHealthFeedback}). Called by the health tick when TiKV's slow
   * score of a reachable store is above 1 and was not refreshed for 15 s (client-go
   * `requestHealthFeedbackCallback`); without it, such a score only decays.
   */
  readonly requestHealthFeedback?: HealthFeedbackRequester | undefined;
}

/** Asks a store for health feedback; rejects when the store does not answer. */
export type HealthFeedbackRequester = (store: Store, signal: AbortSignal) => Promise<void>;

/** The defaults of {@link RegionCacheTuning}. */
export const DEFAULT_REGION_CACHE_OPTIONS: Resolved<RegionCacheTuning> = Object.freeze({
  regionCacheTtlMs: 600_000,
  regionCacheTtlJitterMs: 60_000,
  loadBackoffMs: 20_000,
  gcIntervalMs: 1_000,
  gcRegionsPerRound: 50,
  storeRefreshIntervalMs: 10_000,
  healthCheckIntervalMs: 1_000,
  storeReResolveIntervalMs: 30_000,
  healthTickIntervalMs: 1_000,
  enableForwarding: false,
  backgroundTasks: true,
  needBuckets: true,
});

/** Resolved options. @internal */
export interface ResolvedRegionCacheOptions extends Resolved<RegionCacheTuning> {
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly logger: Logger;
  readonly livenessProbe: LivenessProbe | undefined;
  readonly requestHealthFeedback: HealthFeedbackRequester | undefined;
}

/**
 * Applies defaults and validates.
 *
 * @param o - the options
 * @returns the resolved options
 * @throws InvalidArgumentError for an invalid number
 * @internal
 */
export function resolveRegionCacheOptions(o: RegionCacheOptions = {}): ResolvedRegionCacheOptions {
  const tuning = resolveOptions<RegionCacheTuning>(
    DEFAULT_REGION_CACHE_OPTIONS,
    {
      regionCacheTtlMs: o.regionCacheTtlMs,
      regionCacheTtlJitterMs: o.regionCacheTtlJitterMs,
      loadBackoffMs: o.loadBackoffMs,
      gcIntervalMs: o.gcIntervalMs,
      gcRegionsPerRound: o.gcRegionsPerRound,
      storeRefreshIntervalMs: o.storeRefreshIntervalMs,
      healthCheckIntervalMs: o.healthCheckIntervalMs,
      storeReResolveIntervalMs: o.storeReResolveIntervalMs,
      healthTickIntervalMs: o.healthTickIntervalMs,
      enableForwarding: o.enableForwarding,
      backgroundTasks: o.backgroundTasks,
      needBuckets: o.needBuckets,
    },
    {
      regionCacheTtlMs: mustBeNonNegative,
      regionCacheTtlJitterMs: mustBeNonNegative,
      loadBackoffMs: mustBeNonNegative,
      gcIntervalMs: mustBePositive,
      gcRegionsPerRound: mustBePositiveInteger,
      storeRefreshIntervalMs: mustBePositive,
      healthCheckIntervalMs: mustBePositive,
      storeReResolveIntervalMs: mustBeNonNegative,
      healthTickIntervalMs: mustBePositive,
    },
  );
  return Object.freeze({
    ...tuning,
    clock: o.clock ?? systemClock,
    random: o.random ?? Math.random,
    logger: o.logger ?? noopLogger,
    livenessProbe: o.livenessProbe,
    requestHealthFeedback: o.requestHealthFeedback,
  });
}
