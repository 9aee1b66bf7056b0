import { channel } from 'node:diagnostics_channel';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { InvalidArgumentError } from '@tikv/common';
import { MockCluster } from '@tikv/mock-cluster';
import { RawClient } from '@tikv/raw';
import { REGION_CACHE_STORE_CHANNEL } from '@tikv/region-cache';
import { RPC_HEALTH_FEEDBACK_CHANNEL } from '@tikv/rpc';
import { TransactionClient } from '@tikv/txn';
import { Registry } from 'prom-client';
import { registerTikvMetrics, type TikvMetrics } from '../src/index.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** The value of one sample of a family, or undefined when the family has no such sample. */
async function sample(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
  sampleName = name,
): Promise<number | undefined> {
  const metric = registry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no family ${name}`);
  const { values } = await metric.get();
  const hit = values.find(
    (v) =>
      ((v as { metricName?: string }).metricName ?? name) === sampleName &&
      Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want),
  );
  return hit?.value;
}

/** The `_count` of a histogram's samples with these labels. */
function histogramCount(
  registry: Registry,
  name: string,
  labels: Record<string, string>,
): Promise<number | undefined> {
  return sample(registry, name, labels, `${name}_count`);
}

describe('registerTikvMetrics with a RawClient', () => {
  let cluster: MockCluster;
  let raw: RawClient;
  let registry: Registry;
  let metrics: TikvMetrics;

  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 1, apiVersion: 'V1' });
    registry = new Registry();
    metrics = registerTikvMetrics({ registry });
    raw = await RawClient.connect({ pdEndpoints: cluster.pdEndpoints, apiVersion: 'V1' });
  });
  afterAll(async () => {
    metrics.close();
    await raw?.close();
    await cluster?.close();
  });

  it('registers client-go family names in the given registry', async () => {
    const text = await registry.metrics();
    for (const name of [
      'tikv_client_go_request_seconds',
      'tikv_client_go_rpc_err_total',
      'tikv_client_go_region_err_total',
      'tikv_client_go_store_liveness_state',
      'tikv_client_go_feedback_slow_score',
      'tikv_client_go_backoff_seconds',
      'tikv_client_go_batch_requests',
      'tikv_client_go_load_region_total',
      'tikv_client_go_region_cache_operations_total',
      'tikv_client_go_commit_txn_counter',
      'tikv_client_go_async_commit_txn_counter',
      'tikv_client_go_one_pc_txn_counter',
      'tikv_client_go_txn_write_kv_num',
      'tikv_client_go_lock_resolver_actions_total',
      'tikv_client_go_resolve_locks_seconds',
    ]) {
      expect(text).toContain(`# TYPE ${name} `);
    }
    expect(registry.getSingleMetric('tikv_client_go_request_seconds')).toBeDefined();
  });

  it('times requests by command and store, counts batches and region loads', async () => {
    const store0 = cluster.stores()[0]?.address ?? '';
    // connect's API version probe is a RawGet too.
    const probes = await histogramCount(registry, 'tikv_client_go_request_seconds', {
      type: 'RawGet',
      store: store0,
    });
    await raw.put('a', 'x');
    expect(await raw.get('a')).toEqual(enc('x'));
    const store = cluster.stores()[0]?.address ?? '';
    const labels = { type: 'RawGet', store, stale_read: 'false', scope: 'general' };
    expect(await histogramCount(registry, 'tikv_client_go_request_seconds', labels)).toBe((probes ?? 0) + 1);
    expect(await histogramCount(registry, 'tikv_client_go_request_seconds', { type: 'RawPut', store })).toBe(
      1,
    );
    expect(
      await histogramCount(registry, 'tikv_client_go_batch_requests', { target: store }),
    ).toBeGreaterThanOrEqual(2);
    expect(
      await sample(registry, 'tikv_client_go_load_region_total', { type: 'key', reason: 'absent' }),
    ).toBe(1);
    const text = await registry.metrics();
    expect(text).toContain(
      `tikv_client_go_request_seconds_bucket{le="0.0005",type="RawGet",store="${store}"`,
    );
  });

  it('counts failed requests, backoff sleeps by kind and invalidations', async () => {
    const store = cluster.stores()[0]?.address ?? '';
    const fault = cluster.inject({ method: 'RawGet', times: 1, error: 'EpochNotMatch' });
    expect(await raw.get('a')).toEqual(enc('x'));
    expect(fault.hits).toBe(1);
    expect(
      await sample(registry, 'tikv_client_go_region_cache_operations_total', {
        type: 'invalidate_region_from_cache',
        result: 'ok',
      }),
    ).toBeGreaterThanOrEqual(1);
    // EpochNotMatch goes back to the caller to re-locate; the sender retries NotLeader itself.
    const notLeader = cluster.inject({ method: 'RawGet', times: 1, error: 'NotLeader' });
    expect(await raw.get('a')).toEqual(enc('x'));
    expect(notLeader.hits).toBe(1);
    expect(await registry.getSingleMetricAsString('tikv_client_go_region_err_total')).toContain(
      `tikv_client_go_region_err_total{type="not_leader",store="${store}"} 1`,
    );

    const busy = cluster.inject({
      method: 'RawGet',
      times: 1,
      error: { grpcStatus: 14, message: 'injected' },
    });
    expect(await raw.get('a')).toEqual(enc('x'));
    expect(busy.hits).toBe(1);
    expect(await registry.getSingleMetricAsString('tikv_client_go_rpc_err_total')).toContain(
      `tikv_client_go_rpc_err_total{type="RPC_ERROR",store="${store}"} 1`,
    );
    expect(await histogramCount(registry, 'tikv_client_go_backoff_seconds', { type: 'tikvRPC' })).toBe(1);
  });

  it('sets the slow score of health feedback and the liveness of stores, by store id', async () => {
    // The mock sends feedback at most once a second per stream: the events are published here.
    channel(RPC_HEALTH_FEEDBACK_CHANNEL).publish({
      address: 'x',
      feedback: { storeId: 9n, feedbackSeqNo: 1n, slowScore: 42 },
    });
    expect(await sample(registry, 'tikv_client_go_feedback_slow_score', { store: '9' })).toBe(42);
    const publish = (liveness: string): void =>
      channel(REGION_CACHE_STORE_CHANNEL).publish({ storeId: 7n, event: 'liveness', address: 'x', liveness });
    publish('unreachable');
    expect(await sample(registry, 'tikv_client_go_store_liveness_state', { store: '7' })).toBe(1);
    publish('reachable');
    expect(await sample(registry, 'tikv_client_go_store_liveness_state', { store: '7' })).toBe(0);
    publish('bogus');
    expect(await sample(registry, 'tikv_client_go_store_liveness_state', { store: '7' })).toBe(0);
  });

  it('serves the registry on a loopback /metrics endpoint (the README example)', async () => {
    const server = createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        () => res.writeHead(500).end(),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(registry.contentType);
      expect(await res.text()).toMatch(/^tikv_client_go_request_seconds_count\{type="RawGet",/m);
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
    }
  });

  it('close() unsubscribes: values stop changing', async () => {
    const store = cluster.stores()[0]?.address ?? '';
    const before = await registry.metrics();
    const gets = await histogramCount(registry, 'tikv_client_go_request_seconds', { type: 'RawGet', store });
    metrics.close();
    metrics.close();
    await raw.put('b', 'y');
    expect(await raw.get('b')).toEqual(enc('y'));
    expect(await histogramCount(registry, 'tikv_client_go_request_seconds', { type: 'RawGet', store })).toBe(
      gets,
    );
    expect(await registry.metrics()).toBe(before);
  });
});

describe('registerTikvMetrics with a TransactionClient', () => {
  let cluster: MockCluster;
  let client: TransactionClient;
  let registry: Registry;
  let metrics: TikvMetrics;

  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 1, regionKeyEncoding: 'memcomparable' });
    registry = new Registry();
    metrics = registerTikvMetrics({ registry, prefix: 'app_tikv_' });
    client = await TransactionClient.connect({
      pdEndpoints: cluster.pdEndpoints,
      lockResolver: { metrics: metrics.metrics },
    });
  });
  afterAll(async () => {
    metrics.close();
    await client?.close();
    await cluster?.close();
  });

  it('counts commits by protocol and result, and the keys written', async () => {
    const twoPc = await client.begin();
    twoPc.put('k1', 'v1');
    twoPc.put('k2', 'v2');
    await twoPc.commit();
    const onePc = await client.begin({ onePc: true });
    onePc.put('k3', 'v3');
    await onePc.commit();
    const asyncCommit = await client.begin({ asyncCommit: true });
    asyncCommit.put('k4', 'v4');
    await asyncCommit.commit();
    const empty = await client.begin();
    await empty.commit();

    expect(await sample(registry, 'app_tikv_commit_txn_counter', { type: 'ok' })).toBe(1);
    expect(await sample(registry, 'app_tikv_one_pc_txn_counter', { type: 'ok' })).toBe(1);
    expect(await sample(registry, 'app_tikv_async_commit_txn_counter', { type: 'ok' })).toBe(1);
    expect(await histogramCount(registry, 'app_tikv_txn_write_kv_num', { scope: 'general' })).toBe(3);
    expect(
      await sample(
        registry,
        'app_tikv_txn_write_kv_num',
        { scope: 'general' },
        'app_tikv_txn_write_kv_num_sum',
      ),
    ).toBe(4);
    const text = await registry.metrics();
    expect(text).toContain('app_tikv_request_seconds_count{type="Prewrite"');
    expect(text).toContain('app_tikv_request_seconds_count{type="Commit"');
    expect(text).not.toContain('tikv_client_go_');
  });

  it('counts failed commits as err', async () => {
    const fault = cluster.inject({
      method: 'KvPrewrite',
      times: 1,
      error: { keyError: { abort: 'injected abort' } },
    });
    const txn = await client.begin();
    txn.put('k5', 'v5');
    await expect(txn.commit()).rejects.toThrow();
    expect(fault.hits).toBe(1);
    expect(await sample(registry, 'app_tikv_commit_txn_counter', { type: 'err' })).toBe(1);
  });

  it('counts lock resolution from the hook and the resolve-locks channel', async () => {
    const startTs = (await client.begin()).startTs;
    cluster.strandTransaction({
      keys: [enc('s1'), enc('s2')],
      startTs,
      value: enc('committed'),
      commitPrimaryTs: startTs + 1n,
    });
    const reader = await client.begin();
    expect(await reader.get('s2')).toEqual(enc('committed'));
    expect(
      await sample(registry, 'app_tikv_lock_resolver_actions_total', { type: 'resolve' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await sample(registry, 'app_tikv_lock_resolver_actions_total', { type: 'query_txn_status_committed' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      await histogramCount(registry, 'app_tikv_resolve_locks_seconds', { result: 'ok' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('the hook ignores names fed by channels and records nothing after close()', async () => {
    metrics.metrics.observeHistogram('tikv_client_backoff_seconds', 1, { type: 'x' });
    metrics.metrics.setGauge('anything', 1);
    metrics.metrics.incCounter('tikv_client_other_total', { type: 'resolve' });
    const before = await sample(registry, 'app_tikv_lock_resolver_actions_total', { type: 'resolve' });
    metrics.metrics.incCounter('tikv_client_lock_resolver_actions_total', { type: 'resolve' });
    expect(await sample(registry, 'app_tikv_lock_resolver_actions_total', { type: 'resolve' })).toBe(
      (before ?? 0) + 1,
    );
    metrics.close();
    metrics.metrics.incCounter('tikv_client_lock_resolver_actions_total', { type: 'resolve' });
    expect(await sample(registry, 'app_tikv_lock_resolver_actions_total', { type: 'resolve' })).toBe(
      (before ?? 0) + 1,
    );
  });
});

describe('registerTikvMetrics registration', () => {
  it('refuses a registry that already holds a family, and leaves nothing half-registered', async () => {
    const registry = new Registry();
    const first = registerTikvMetrics({ registry });
    first.close();
    const names = registry.getMetricsAsArray().length;
    expect(() => registerTikvMetrics({ registry })).toThrow(/already been registered/);
    expect(registry.getMetricsAsArray().length).toBe(names);

    const other = new Registry();
    const { Counter } = await import('prom-client');
    new Counter({ name: 'tikv_client_go_batch_requests', help: 'taken', registers: [other] });
    expect(() => registerTikvMetrics({ registry: other })).toThrow(/already been registered/);
    expect(other.getMetricsAsArray().map((m) => m.name)).toEqual(['tikv_client_go_batch_requests']);
  });

  it('refuses a prefix that cannot start a metric name', () => {
    const registry = new Registry();
    expect(() => registerTikvMetrics({ registry, prefix: '9bad-' })).toThrow(InvalidArgumentError);
    expect(registry.getMetricsAsArray()).toEqual([]);
    const bare = registerTikvMetrics({ registry, prefix: '' });
    bare.close();
    expect(registry.getSingleMetric('request_seconds')).toBeDefined();
  });

  it('uses the global registry by default', async () => {
    const { register } = await import('prom-client');
    const m = registerTikvMetrics({ prefix: 'global_test_' });
    try {
      expect(m.registry).toBe(register);
      expect(register.getSingleMetric('global_test_request_seconds')).toBeDefined();
    } finally {
      m.close();
      register.clear();
    }
  });
});
