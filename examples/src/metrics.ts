/**
 * Metrics and execution details: registers the Prometheus metric families
 * (`@tikv/metrics-prometheus`), runs a small workload, prints what two calls report through
 * `onDetails` / `onCommitDetails`, and an excerpt of the `/metrics` text served on loopback.
 * `pnpm --filter @tikv/examples metrics`
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { registerTikvMetrics } from '@tikv/metrics-prometheus';
import { RawClient } from '@tikv/raw';
import { TransactionClient } from '@tikv/txn';
import { Registry } from 'prom-client';
import { exampleTarget, runExample } from './target.js';

/** The families the excerpt shows: counters whole, histograms by their `_count` and `_sum`. */
const SHOWN = ['request_seconds', 'load_region_total', 'commit_txn_counter', 'txn_write_kv_num'].map(
  (name) => `tikv_client_go_${name}`,
);

/** Whether a line of the exposition text belongs to the excerpt. */
function shown(line: string): boolean {
  if (line.startsWith('# TYPE ')) return SHOWN.includes(line.split(' ')[2] ?? '');
  if (line.startsWith('#')) return false;
  const name = line.split(/[{ ]/)[0] ?? '';
  return SHOWN.some((f) => name === f || name === `${f}_count` || name === `${f}_sum`);
}

runExample(async () => {
  const target = await exampleTarget();
  const registry = new Registry();
  const tikvMetrics = registerTikvMetrics({ registry });
  const raw = await RawClient.connect(target, { timeoutMs: 10_000 });
  const txn = await TransactionClient.connect(
    { ...target, lockResolver: { metrics: tikvMetrics.metrics } },
    { timeoutMs: 10_000 },
  );
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
  try {
    for (let i = 0; i < 20; i++) await raw.put(`examples/metrics/${i}`, String(i));
    await raw.batchGet(Array.from({ length: 20 }, (_, i) => `examples/metrics/${i}`));
    await raw.get('examples/metrics/7', {
      onDetails: (d) => console.log(`raw get details -> ${d.rpcCount} RPC(s), ${d.backoffCount} backoff(s)`),
    });
    for (let i = 0; i < 3; i++) {
      const t = await txn.begin();
      t.put(`examples/metrics/txn/${i}/a`, 'x');
      t.put(`examples/metrics/txn/${i}/b`, 'y');
      await t.commit({
        onCommitDetails:
          i === 0
            ? (d) =>
                console.log(
                  `commit details -> ${d.writeKeys} keys, ${d.writeSizeBytes} bytes, prewrite in ${d.prewriteRegionCount} region(s), TiKV details in ${d.exec.storeDetailCount} responses`,
                )
            : undefined,
      });
    }
    const t = await txn.begin();
    await t.get('examples/metrics/txn/0/a', {
      onDetails: (d) =>
        console.log(
          `txn get details -> TiKV read ${d.scanDetail.processedKeys} key(s), ${d.scanDetail.processedKeysSize} bytes`,
        ),
    });
    await t.rollback();

    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    console.log('/metrics excerpt:');
    for (const line of body.split('\n')) if (shown(line)) console.log(line);

    await raw.deleteRange('examples/metrics/', 'examples/metrics0');
    await txn.run(async (cleanup) => {
      for (let i = 0; i < 3; i++) {
        cleanup.delete(`examples/metrics/txn/${i}/a`);
        cleanup.delete(`examples/metrics/txn/${i}/b`);
      }
    });
  } finally {
    server.close();
    tikvMetrics.close();
    await txn.close();
    await raw.close();
    await target.close();
  }
});
