import { concatBytes, toBytes } from '@tikv/common';
import { keyspacePrefix, type MockCluster } from '@tikv/mock-cluster';
import type { RawClient } from '@tikv/raw';
import { show, step, type TourContext, text } from './tour-output.js';

/** The RawKV part of the tour: steps 1-8. */
export async function rawTour(raw: RawClient, ctx: TourContext): Promise<void> {
  const { cluster, apiVersion } = ctx;
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
}

/** Split keys on an API V2 cluster are TiKV keys: the raw mode byte and keyspace id come first. */
function tikvKey(cluster: MockCluster, keyspace: string, key: string): Uint8Array {
  const id = cluster.keyspaces().find((k) => k.name === keyspace)?.id ?? 0;
  return concatBytes(keyspacePrefix('raw', id), toBytes(key));
}
