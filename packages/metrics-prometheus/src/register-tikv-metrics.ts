import { subscribe, tracingChannel, unsubscribe } from 'node:diagnostics_channel';
import {
  BACKOFF_CHANNEL,
  type BackoffEvent,
  InvalidArgumentError,
  isTiKVError,
  type MetricLabels,
  type MetricsHook,
} from '@tikv/common';
import {
  REGION_CACHE_INVALIDATE_CHANNEL,
  REGION_CACHE_MISS_CHANNEL,
  REGION_CACHE_STORE_CHANNEL,
  type RegionCacheMissEvent,
  type StoreEvent,
} from '@tikv/region-cache';
import {
  RPC_BATCH_CHANNEL,
  RPC_HEALTH_FEEDBACK_CHANNEL,
  RPC_RETRY_CHANNEL,
  RPC_TRACING_CHANNEL,
  type RpcBatchEvent,
  type RpcHealthFeedbackEvent,
  type RpcRequestEvent,
  type RpcRetryEvent,
} from '@tikv/rpc';
import {
  CommitProtocol,
  LOCK_RESOLVE_CHANNEL,
  LOCK_RESOLVER_METRIC,
  type LockResolveEvent,
  TXN_COMMIT_CHANNEL,
  type TxnCommitEvent,
} from '@tikv/txn';
import { type Registry, register } from 'prom-client';
import { createMetricFamilies, type MetricFamilies } from './metric-families.js';

/** Options of {@link registerTikvMetrics}. */
export interface TikvMetricsOptions {
  /** Where the families are registered. @defaultValue prom-client's global `register` */
  readonly registry?: Registry | undefined;
  /** Prefix of every family name. @defaultValue `'tikv_client_go_'` (client-go's names) */
  readonly prefix?: string | undefined;
}

/** Defaults of {@link TikvMetricsOptions} (the registry defaults to prom-client's global one). */
export const DEFAULT_TIKV_METRICS_OPTIONS: Readonly<{ prefix: string }> = Object.freeze({
  prefix: 'tikv_client_go_',
});

/** What {@link registerTikvMetrics} returns. */
export interface TikvMetrics {
  /** The registry the families are in. */
  readonly registry: Registry;
  /**
   * A `MetricsHook` to pass where a client takes one, for what has no diagnostics channel: the
   * lock resolver's actions (`TransactionClient.connect({ lockResolver: { metrics } })`).
   * Names already fed by a channel (backoff sleeps, batch sizes) are ignored, so passing it
   * everywhere never counts twice. It records nothing after {@link TikvMetrics.close}.
   */
  readonly metrics: MetricsHook;
  /** Unsubscribes from every channel. The families stay in the registry with their last values. Idempotent. */
  close(): void;
}

interface Subscription {
  readonly name: string;
  readonly fn: (message: unknown, name: string | symbol) => void;
}

const STORE_OPERATIONS: Partial<Record<StoreEvent['event'], string>> = {
  epoch: 'invalidate_store_regions',
  tombstone: 'invalidate_store_regions',
};

const LIVENESS_VALUES: Readonly<Record<string, number>> = { reachable: 0, unreachable: 1, unknown: 2 };

/**
 * client-go's `region_err_total` label of a region error (`errorpb.Error`, as the sender's retry
 * event carries it): the arm that is set, in snake case; undefined for anything else.
 */
function regionErrorLabel(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || error instanceof Error) return undefined;
  for (const [arm, value] of Object.entries(error)) {
    if (arm === 'message' || typeof value !== 'object' || value === null) continue;
    if (arm === 'isWitness') return 'peer_is_witness';
    if (
      arm === 'serverIsBusy' &&
      String((value as { reason?: unknown }).reason).includes('deadline is exceeded')
    )
      return 'deadline_exceeded';
    return arm.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  }
  return undefined;
}

function errorType(error: unknown): string {
  return isTiKVError(error) ? error.code : 'other';
}

/** The request's `stale_read` and `scope` labels, read from its `Context` when it has one. */
function contextLabels(event: RpcRequestEvent): { stale_read: string; scope: string } {
  const value = (event.request as { readonly value?: unknown }).value;
  const context =
    typeof value === 'object' && value !== null
      ? (value as { readonly context?: { readonly staleRead?: boolean; readonly requestSource?: string } })
          .context
      : undefined;
  return {
    stale_read: context?.staleRead === true ? 'true' : 'false',
    scope: context?.requestSource?.startsWith('internal') === true ? 'internal' : 'general',
  };
}

/** Subscribes the request-duration histogram to the `tikv:rpc` tracing channel; returns the unsubscriber. */
function traceRequests(families: MetricFamilies): () => void {
  const tracing = tracingChannel<unknown, RpcRequestEvent>(RPC_TRACING_CHANNEL);
  const started = new WeakMap<object, number>();
  const finish = (event: RpcRequestEvent): void => {
    const t0 = started.get(event);
    if (t0 === undefined) return;
    started.delete(event);
    families.requestSeconds.observe(
      { type: event.command, store: event.address, ...contextLabels(event) },
      (performance.now() - t0) / 1000,
    );
    if (event.error !== undefined)
      families.rpcErrors.inc({ type: errorType(event.error), store: event.address });
  };
  const handlers = {
    start: (message: RpcRequestEvent): void => {
      started.set(message, performance.now());
    },
    // A synchronous throw publishes `error` then `end`, and never `asyncEnd`.
    end: (message: RpcRequestEvent): void => {
      if (message.error !== undefined) finish(message);
    },
    asyncStart: (): void => {},
    asyncEnd: finish,
    error: (): void => {},
  };
  tracing.subscribe(handlers);
  return () => tracing.unsubscribe(handlers);
}

/** The plain channels and what each feeds. */
function channelSubscriptions(f: MetricFamilies): Subscription[] {
  const commitCounters: Partial<Record<CommitProtocol, MetricFamilies['twoPcTxns']>> = {
    [CommitProtocol.TWO_PC]: f.twoPcTxns,
    [CommitProtocol.ASYNC_COMMIT]: f.asyncCommitTxns,
    [CommitProtocol.ONE_PC]: f.onePcTxns,
  };
  return [
    {
      name: BACKOFF_CHANNEL,
      fn: (m) => {
        const e = m as BackoffEvent;
        f.backoffSeconds.observe({ type: e.kind }, e.sleepMs / 1000);
      },
    },
    {
      name: RPC_BATCH_CHANNEL,
      fn: (m) => {
        const e = m as RpcBatchEvent;
        f.batchRequests.observe({ target: e.address }, e.size);
      },
    },
    {
      name: RPC_RETRY_CHANNEL,
      fn: (m) => {
        const e = m as RpcRetryEvent;
        const type = regionErrorLabel(e.error);
        if (type !== undefined) f.regionErrors.inc({ type, store: e.address });
      },
    },
    {
      name: RPC_HEALTH_FEEDBACK_CHANNEL,
      fn: (m) => {
        const { feedback } = m as RpcHealthFeedbackEvent;
        f.feedbackSlowScore.set({ store: String(feedback.storeId) }, feedback.slowScore);
      },
    },
    {
      name: REGION_CACHE_MISS_CHANNEL,
      fn: (m) => {
        const e = m as RegionCacheMissEvent;
        f.loadRegion.inc({ type: e.lookup, reason: e.reason });
      },
    },
    {
      name: REGION_CACHE_INVALIDATE_CHANNEL,
      fn: () => f.regionCacheOperations.inc({ type: 'invalidate_region_from_cache', result: 'ok' }),
    },
    {
      name: REGION_CACHE_STORE_CHANNEL,
      fn: (m) => {
        const e = m as StoreEvent;
        const type = STORE_OPERATIONS[e.event];
        if (type !== undefined) f.regionCacheOperations.inc({ type, result: 'ok' });
        const liveness = e.liveness === undefined ? undefined : LIVENESS_VALUES[e.liveness];
        if (e.event === 'liveness' && liveness !== undefined)
          f.storeLiveness.set({ store: String(e.storeId) }, liveness);
      },
    },
    {
      name: TXN_COMMIT_CHANNEL,
      fn: (m) => {
        const e = m as TxnCommitEvent;
        const counter = commitCounters[e.protocol];
        if (counter === undefined) return;
        const ok = e.error === undefined;
        counter.inc({ type: ok ? 'ok' : 'err' });
        if (ok) f.txnWriteKvNum.observe({ scope: 'general' }, e.keys);
      },
    },
    {
      name: LOCK_RESOLVE_CHANNEL,
      fn: (m) => {
        const e = m as LockResolveEvent;
        f.resolveLocksSeconds.observe({ result: e.error === undefined ? 'ok' : 'err' }, e.durationMs / 1000);
      },
    },
  ];
}

/**
 * Registers the TiKV client's metric families (client-go's names: `tikv_client_go_request_seconds`,
 * `..._backoff_seconds`, `..._batch_requests`, `..._load_region_total`,
 * `..._region_cache_operations_total`, `..._commit_txn_counter`, `..._async_commit_txn_counter`,
 * `..._one_pc_txn_counter`, `..._txn_write_kv_num`, `..._rpc_err_total`, `..._region_err_total`,
 * `..._store_liveness_state`, `..._feedback_slow_score`,
 * `..._lock_resolver_actions_total`, and `..._resolve_locks_seconds`) and feeds them from the
 * client's `node:diagnostics_channel` channels, for every client in the process.
 *
 * @param options - the registry and the name prefix
 * @returns the handle: its `metrics` hook for the lock resolver, and `close()`
 * @throws InvalidArgumentError when `prefix` cannot start a metric name
 * @throws Error from prom-client when a family of the same name is already in the registry
 *
 * @example
 * ```ts
 * const tikvMetrics = registerTikvMetrics({ registry });
 * const txn = await TransactionClient.connect({ pdEndpoints, lockResolver: { metrics: tikvMetrics.metrics } });
 * ```
 */
export function registerTikvMetrics(options: TikvMetricsOptions = {}): TikvMetrics {
  const registry = options.registry ?? register;
  const prefix = options.prefix ?? DEFAULT_TIKV_METRICS_OPTIONS.prefix;
  if (typeof prefix !== 'string' || !/^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/.test(prefix)) {
    throw new InvalidArgumentError(
      `options.prefix must start a Prometheus metric name, got ${JSON.stringify(prefix)}`,
    );
  }
  const families = createMetricFamilies(registry, prefix);
  const untrace = traceRequests(families);
  const subscriptions = channelSubscriptions(families);
  for (const s of subscriptions) subscribe(s.name, s.fn);
  let open = true;
  const incCounter = (name: string, labels?: MetricLabels, value?: number): void => {
    if (!open || name !== LOCK_RESOLVER_METRIC) return;
    families.lockResolverActions.inc({ type: labels?.type ?? '' }, value ?? 1);
  };
  const ignore = (): void => {};
  return {
    registry,
    metrics: Object.freeze({ incCounter, observeHistogram: ignore, setGauge: ignore }),
    close: () => {
      if (!open) return;
      open = false;
      untrace();
      for (const s of subscriptions) unsubscribe(s.name, s.fn);
    },
  };
}
