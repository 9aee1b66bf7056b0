import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * `count` bucket bounds starting at `start`, each `factor` times the previous (Prometheus's
 * `ExponentialBuckets`).
 */
function exponentialBuckets(start: number, factor: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0, b = start; i < count; i++, b *= factor) out.push(b);
  return out;
}

/**
 * The metric families this package registers, named and bucketed as client-go's
 * (`metrics/metrics.go`) after the prefix.
 * @internal
 */
export interface MetricFamilies {
  /** `request_seconds{type,store,stale_read,scope}`: one request to a store. */
  readonly requestSeconds: Histogram<'type' | 'store' | 'stale_read' | 'scope'>;
  /** `rpc_err_total{type,store}`: requests that failed, `type` = the error's code. */
  readonly rpcErrors: Counter<'type' | 'store'>;
  /** `region_err_total{type,store}`: region errors that made the sender retry, `type` as client-go's labels. */
  readonly regionErrors: Counter<'type' | 'store'>;
  /** `store_liveness_state{store}`: 0 reachable, 1 unreachable, 2 unknown, by store id. */
  readonly storeLiveness: Gauge<'store'>;
  /** `feedback_slow_score{store}`: the slow score of the latest health feedback, by store id. */
  readonly feedbackSlowScore: Gauge<'store'>;
  /** `backoff_seconds{type}`: each backoff sleep, by backoff kind. */
  readonly backoffSeconds: Histogram<'type'>;
  /** `batch_requests{target}`: requests in one `BatchCommands` message, by store address. */
  readonly batchRequests: Histogram<'target'>;
  /** `load_region_total{type,reason}`: region cache misses (lookups sent to PD). */
  readonly loadRegion: Counter<'type' | 'reason'>;
  /** `region_cache_operations_total{type,result}`: region and store invalidations. */
  readonly regionCacheOperations: Counter<'type' | 'result'>;
  /** `commit_txn_counter{type}`: 2PC commits, `ok` or `err`. */
  readonly twoPcTxns: Counter<'type'>;
  /** `async_commit_txn_counter{type}`: async commits. */
  readonly asyncCommitTxns: Counter<'type'>;
  /** `one_pc_txn_counter{type}`: 1PC commits. */
  readonly onePcTxns: Counter<'type'>;
  /** `txn_write_kv_num{scope}`: keys written by a committed transaction. */
  readonly txnWriteKvNum: Histogram<'scope'>;
  /** `lock_resolver_actions_total{type}`: lock resolver actions (from the metrics hook). */
  readonly lockResolverActions: Counter<'type'>;
  /** `resolve_locks_seconds{result}`: one `resolveLocks` call (no client-go family). */
  readonly resolveLocksSeconds: Histogram<'result'>;
}

/**
 * Creates the families and registers them in `registry`.
 * @throws Error from prom-client when a family of the same name is already registered
 * @internal
 */
export function createMetricFamilies(registry: Registry, prefix: string): MetricFamilies {
  const registers = [registry];
  // Registered one by one: when a name is taken, the families made before it are removed again.
  const made: string[] = [];
  const track = <T>(name: string, make: () => T): T => {
    try {
      const metric = make();
      made.push(name);
      return metric;
    } catch (e) {
      for (const m of made) registry.removeSingleMetric(m);
      throw e;
    }
  };
  const counter = <L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L> =>
    track(`${prefix}${name}`, () => new Counter({ name: `${prefix}${name}`, help, labelNames, registers }));
  const gauge = <L extends string>(name: string, help: string, labelNames: readonly L[]): Gauge<L> =>
    track(`${prefix}${name}`, () => new Gauge({ name: `${prefix}${name}`, help, labelNames, registers }));
  const histogram = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    buckets: number[],
  ): Histogram<L> =>
    track(
      `${prefix}${name}`,
      () => new Histogram({ name: `${prefix}${name}`, help, labelNames, buckets, registers }),
    );

  return {
    requestSeconds: histogram(
      'request_seconds',
      'Bucketed histogram of sending request duration.',
      ['type', 'store', 'stale_read', 'scope'],
      exponentialBuckets(0.0005, 2, 24),
    ),
    rpcErrors: counter('rpc_err_total', 'Counter of rpc errors.', ['type', 'store']),
    regionErrors: counter('region_err_total', 'Counter of region errors.', ['type', 'store']),
    storeLiveness: gauge('store_liveness_state', 'Liveness state of each tikv', ['store']),
    feedbackSlowScore: gauge(
      'feedback_slow_score',
      'Slow scores of each tikv node that is calculated by TiKV and sent to the client by health feedback',
      ['store'],
    ),
    backoffSeconds: histogram(
      'backoff_seconds',
      'Backoff sleeps, in seconds, by backoff kind.',
      ['type'],
      exponentialBuckets(0.0005, 2, 29),
    ),
    batchRequests: histogram(
      'batch_requests',
      'number of requests in one batch',
      ['target'],
      exponentialBuckets(1, 2, 11),
    ),
    loadRegion: counter('load_region_total', 'Counter of loading region.', ['type', 'reason']),
    regionCacheOperations: counter('region_cache_operations_total', 'Counter of region cache.', [
      'type',
      'result',
    ]),
    twoPcTxns: counter('commit_txn_counter', 'Counter of 2PC transactions.', ['type']),
    asyncCommitTxns: counter('async_commit_txn_counter', 'Counter of async commit transactions.', ['type']),
    onePcTxns: counter('one_pc_txn_counter', 'Counter of 1PC transactions.', ['type']),
    txnWriteKvNum: histogram(
      'txn_write_kv_num',
      'Count of kv pairs to write in a transaction.',
      ['scope'],
      exponentialBuckets(1, 4, 17),
    ),
    lockResolverActions: counter('lock_resolver_actions_total', 'Counter of lock resolver actions.', [
      'type',
    ]),
    resolveLocksSeconds: histogram(
      'resolve_locks_seconds',
      'Duration of one resolve-locks call of the lock resolver.',
      ['result'],
      exponentialBuckets(0.0005, 2, 24),
    ),
  };
}
