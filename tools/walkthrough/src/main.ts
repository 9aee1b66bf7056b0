/**
 * The README walkthrough (`pnpm start`): a short tour of the RawKV API.
 *
 * By default it starts the embedded cluster (one PD, three TiKV stores, API V2 with a keyspace
 * named `walkthrough`) and stops it at the end. With `TIKV_PD_ENDPOINTS=host:port,...` it runs
 * against that cluster instead (`TIKV_API_VERSION=1|2`, default 1, and `TIKV_KEYSPACE` for V2),
 * touching only keys under `walkthrough/` and deleting them at the end.
 */
import { concatBytes, toBytes } from '@tikv/common';
import { keyspacePrefix, MockCluster } from '@tikv/mock-cluster';
import { RawClient } from '@tikv/raw';

const text = new TextDecoder();
const show = (v: Uint8Array | undefined): string =>
  v === undefined ? 'undefined' : JSON.stringify(text.decode(v));
const step = (n: number, what: string) => console.log(`\n${n}. ${what}`);

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

  const raw = await RawClient.connect(
    { pdEndpoints, apiVersion, ...(keyspace ? { keyspace } : {}) },
    { timeoutMs: 10_000 },
  );
  try {
    console.log(`connected to cluster ${raw.clusterId}`);

    step(1, 'put and get');
    await raw.put('walkthrough/greeting', 'hello, TiKV');
    console.log(`  get("walkthrough/greeting") -> ${show(await raw.get('walkthrough/greeting'))}`);
    console.log(`  get("walkthrough/nobody")   -> ${show(await raw.get('walkthrough/nobody'))}`);
    await raw.put('walkthrough/empty', new Uint8Array(0));
    const empty = await raw.get('walkthrough/empty');
    console.log(`  an empty value is not an absent one: get("walkthrough/empty") -> ${empty?.length} bytes`);

    step(2, "batches: split by region, answered in the caller's order");
    const fruit = ['apple', 'banana', 'cherry', 'damson', 'elder', 'fig'];
    await raw.batchPut(fruit.map((f, i) => ({ key: `walkthrough/fruit/${f}`, value: `#${i + 1}` })));
    if (cluster) {
      cluster.split(
        ['walkthrough/fruit/c', 'walkthrough/fruit/e'].map((k) => tikvKey(cluster, 'walkthrough', k)),
      );
      console.log(`  (the embedded cluster split the fruit into ${cluster.regions().length} regions)`);
    }
    const picked = await raw.batchGet([
      'walkthrough/fruit/fig',
      'walkthrough/fruit/kiwi',
      'walkthrough/fruit/apple',
    ]);
    console.log(`  batchGet(fig, kiwi, apple) -> [${picked.map(show).join(', ')}]`);

    step(3, 'scans cross region boundaries');
    const page = await raw.scan('walkthrough/fruit/', 'walkthrough/fruit0', { limit: 4 });
    console.log(`  scan(limit 4)     -> ${page.map((p) => text.decode(p.key).slice(18)).join(', ')}`);
    const back = await raw.reverseScan('walkthrough/fruit0', 'walkthrough/fruit/', { limit: 3 });
    console.log(`  reverseScan(3)    -> ${back.map((p) => text.decode(p.key).slice(18)).join(', ')}`);
    const all: string[] = [];
    for await (const { key } of raw.scanIter('walkthrough/fruit/', 'walkthrough/fruit0', { pageSize: 2 })) {
      all.push(text.decode(key).slice(18));
    }
    console.log(`  scanIter(page 2)  -> ${all.join(', ')}`);

    step(4, 'time to live');
    if (apiVersion === 'V2') {
      await raw.put('walkthrough/session', 'token', { ttlSeconds: 60 });
      console.log(
        `  put with ttlSeconds 60, getKeyTTL -> ${await raw.getKeyTTL('walkthrough/session')} s left`,
      );
    } else {
      console.log('  (TTL needs API V2; skipped)');
    }

    step(5, 'compare and swap (atomic mode)');
    const atomic = raw.withAtomicForCas(true);
    const first = await atomic.compareAndSwap('walkthrough/counter', undefined, '1');
    const second = await atomic.compareAndSwap('walkthrough/counter', '1', '2');
    const stale = await atomic.compareAndSwap('walkthrough/counter', '1', '3');
    console.log(`  create when absent -> swapped=${first.swapped}`);
    console.log(`  1 -> 2             -> swapped=${second.swapped}, previous ${show(second.previous)}`);
    console.log(`  1 -> 3 (stale)     -> swapped=${stale.swapped}, previous ${show(stale.previous)}`);

    step(6, 'checksum of a range (CRC64 xor, as TiKV computes it)');
    const sum = await raw.checksum('walkthrough/fruit/', 'walkthrough/fruit0');
    console.log(`  crc64Xor ${sum.crc64Xor.toString(16)}, ${sum.totalKvs} pairs, ${sum.totalBytes} bytes`);

    step(7, 'typed errors before anything is sent');
    try {
      await raw.scan('walkthrough/', 'walkthrough0', { limit: 100_000 });
    } catch (err) {
      console.log(`  scan(limit 100000) -> ${(err as Error).name} (${(err as { code?: string }).code})`);
    }

    step(8, 'cleaning up');
    await raw.deleteRange('walkthrough/', 'walkthrough0');
    const left = await raw.scan('walkthrough/', 'walkthrough0', { keyOnly: true });
    console.log(`  deleteRange(walkthrough/) -> ${left.length} keys left`);
  } finally {
    await raw.close();
    await cluster?.close();
  }
  console.log('\nDone.');
}

/** Split keys on an API V2 cluster are TiKV keys: the raw mode byte and keyspace id come first. */
function tikvKey(cluster: MockCluster, keyspace: string, key: string): Uint8Array {
  const id = cluster.keyspaces().find((k) => k.name === keyspace)?.id ?? 0;
  return concatBytes(keyspacePrefix('raw', id), toBytes(key));
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? `${err.name}: ${err.message}` : err);
  process.exitCode = 1;
});
