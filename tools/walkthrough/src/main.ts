/**
 * The README walkthrough (`pnpm start`): a short tour of the RawKV API, then of transactions.
 *
 * By default it starts the embedded cluster (one PD, three TiKV stores, API V2 with a keyspace
 * named `walkthrough`) and stops it at the end. With `TIKV_PD_ENDPOINTS=host:port,...` it runs
 * against that cluster instead (`TIKV_API_VERSION=1|2`, default 1, and `TIKV_KEYSPACE` for V2),
 * touching only keys under `walkthrough/` and deleting them at the end (the transactional keys
 * live in the transactional key space, apart from the raw ones in API V2).
 */
import { MockCluster } from '@tikv/mock-cluster';
import { RawClient } from '@tikv/raw';
import { TransactionClient } from '@tikv/txn';
import { rawTour } from './raw-tour.js';
import { txnTour } from './txn-tour.js';

async function main(): Promise<void> {
  const external = process.env.TIKV_PD_ENDPOINTS?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const apiVersion = external ? (process.env.TIKV_API_VERSION === '2' ? 'V2' : 'V1') : 'V2';
  const keyspace = external ? process.env.TIKV_KEYSPACE : 'walkthrough';
  const cluster = external
    ? undefined
    : await MockCluster.start({ stores: 3, apiVersion: 'V2', keyspaces: [{ name: 'walkthrough' }] });
  const pdEndpoints = external ?? [...(cluster?.pdEndpoints ?? [])];
  const where = cluster ? 'the embedded cluster' : 'the cluster';
  console.log(
    `Connecting to ${where}: PD ${pdEndpoints.join(', ')}, API ${apiVersion}${keyspace ? `, keyspace "${keyspace}"` : ''}`,
  );

  const target = { pdEndpoints, apiVersion, ...(keyspace ? { keyspace } : {}) } as const;
  const raw = await RawClient.connect(target, { timeoutMs: 10_000 });
  const txn = await TransactionClient.connect(target, { timeoutMs: 10_000 });
  try {
    console.log(`connected to cluster ${raw.clusterId}`);

    await rawTour(raw, { cluster, apiVersion });
    await txnTour(txn);
  } finally {
    await txn.close();
    await raw.close();
    await cluster?.close();
  }
  console.log('\nDone.');
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? `${err.name}: ${err.message}` : err);
  process.exitCode = 1;
});
