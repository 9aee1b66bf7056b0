/**
 * RawKV: put and get, batches, scans, compare-and-swap, TTL (API V2), checksum, delete range.
 * `pnpm --filter @tikv/examples raw-kv`
 */
import { RawClient } from '@tikv/raw';
import { exampleTarget, runExample, text } from './target.js';

runExample(async () => {
  const target = await exampleTarget();
  const raw = await RawClient.connect(target, { timeoutMs: 10_000 });
  try {
    await raw.put('examples/raw/greeting', 'hello');
    console.log(`get greeting -> ${text(await raw.get('examples/raw/greeting'))}`);

    await raw.batchPut(
      ['a', 'b', 'c', 'd'].map((k, i) => ({ key: `examples/raw/item/${k}`, value: String(i) })),
    );
    const pairs = await raw.scan('examples/raw/item/', 'examples/raw/item0', { limit: 10 });
    console.log(`scan items -> ${pairs.map((p) => `${text(p.key).slice(-1)}=${text(p.value)}`).join(' ')}`);

    const atomic = raw.withAtomicForCas(true);
    const created = await atomic.compareAndSwap('examples/raw/counter', undefined, '1');
    const stale = await atomic.compareAndSwap('examples/raw/counter', '0', '2');
    console.log(
      `cas create -> ${created.swapped}, cas from a stale value -> ${stale.swapped} (it holds ${text(stale.previous)})`,
    );

    if (target.apiVersion === 'V2') {
      await raw.put('examples/raw/session', 'token', { ttlSeconds: 60 });
      console.log(`ttl of session -> ${await raw.getKeyTTL('examples/raw/session')} s`);
    }

    const sum = await raw.checksum('examples/raw/item/', 'examples/raw/item0');
    console.log(`checksum of items -> ${sum.totalKvs} pairs, ${sum.totalBytes} bytes`);

    await raw.deleteRange('examples/raw/', 'examples/raw0');
    console.log(`after deleteRange -> ${(await raw.scan('examples/raw/', 'examples/raw0')).length} keys`);
  } finally {
    await raw.close();
    await target.close();
  }
});
