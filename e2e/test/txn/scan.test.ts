// Port of client-go integration_tests/scan_test.go (TestScan) through the public API: forward
// scans with and without an upper bound, key-only scans, read-committed scans past a live lock,
// over rows that span several scan batches and (on the embedded cluster, where the suite splits
// at rows 23 and 156, client-go's 123 and 456 scaled to the smaller batches) several regions. Also reverse scans, limits,
// the iterator, and scans that merge the transaction's buffered writes over the snapshot.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { type KvPair, LOCK_RESOLVE_CHANNEL, type LockResolveEvent, TwoPhaseCommitter } from '@tikv/txn';
import { embedded, SLOW_TEST_MS, startTxnEnv, type TxnEnv, text, txnModes } from './txn-env.js';

// client-go runs with its scan batch size (256); a smaller one keeps the same shape of cases
// (1 row, one batch, one batch and a row, three batches) at a fraction of the rows.
const scanBatchSize = 64;
const rowNums = [1, scanBatchSize, scanBatchSize + 1, scanBatchSize * 3];
const maxRows = scanBatchSize * 3;

describe.each(txnModes())('scan_test.go (%s)', (_, mode) => {
  let env: TxnEnv;
  beforeAll(async () => {
    env = await startTxnEnv(mode, 'scan', { tuning: { snapshot: { scanBatchSize } } });
  });
  afterAll(async () => {
    await env?.close();
  });

  const makeKey = (i: number) => env.key(`rows/prefix${String(i).padStart(10, ' ')}`);
  const makeValue = (i: number) => String(i);
  const recordPrefix = () => env.key('rows/');
  const recordEnd = () => env.key('rows0');

  /** client-go's `check`: the scan yields rows 0..rowNum-1 in order, with values unless key-only. */
  function check(pairs: KvPair[], rowNum: number, keyOnly: boolean): void {
    expect(pairs).toHaveLength(rowNum);
    for (let i = 0; i < rowNum; i++) {
      const p = pairs[i] as KvPair;
      expect(Buffer.from(p.key)).toEqual(Buffer.from(makeKey(i)));
      if (keyOnly) expect(p.value).toHaveLength(0);
      else expect(text(p.value)).toBe(makeValue(i));
    }
  }

  test(
    'TestScan',
    async () => {
      const met: LockResolveEvent[] = [];
      const onResolve = (e: unknown) => {
        if ((e as LockResolveEvent).lockCount > 0) met.push(e as LockResolveEvent);
      };
      for (const rowNum of rowNums) {
        const txn = await env.client.begin();
        for (let i = 0; i < rowNum; i++) txn.put(makeKey(i), makeValue(i));
        await txn.commit();
        if (embedded && rowNum > 23) env.split([makeKey(23)]);
        if (embedded && rowNum > 156) env.split([makeKey(156)]);

        const txn2 = await env.client.begin();
        expect(text(await txn2.get(makeKey(0)))).toBe(makeValue(0));
        // Without an upper bound (to the end of the suite's keys), and with one.
        check(await txn2.scan(recordPrefix(), recordEnd()), rowNum, false);
        const upperBound = Math.floor(rowNum / 2);
        check(await txn2.scan(recordPrefix(), makeKey(upperBound)), upperBound, false);
        await txn2.rollback();

        const txn3 = await env.client.begin();
        check(await txn3.scan(recordPrefix(), recordEnd(), { keyOnly: true }), rowNum, true);
        check(await txn3.scan(recordPrefix(), makeKey(upperBound), { keyOnly: true }), upperBound, true);
        // Key-only is per scan: the next scan has values again.
        check(await txn3.scan(recordPrefix(), recordEnd()), rowNum, false);
        await txn3.rollback();

        // RC read: a live lock on row 0 is neither met nor waited for.
        const txn4 = await env.client.begin();
        txn4.put(makeKey(0), makeValue(1));
        const committer4 = new TwoPhaseCommitter(env.client.parts, txn4.memBuffer, {
          startTs: txn4.startTs,
          lockResolver: env.client.lockResolver,
        });
        await committer4.prewrite();
        subscribe(LOCK_RESOLVE_CHANNEL, onResolve);
        try {
          const txn5 = await env.client.begin({ isolation: 'RC' });
          check(await txn5.scan(recordPrefix(), recordEnd()), rowNum, false);
          expect(met).toHaveLength(0);
          await txn5.rollback();
        } finally {
          unsubscribe(LOCK_RESOLVE_CHANNEL, onResolve);
          await committer4.rollback();
          committer4.close();
        }
      }
    },
    SLOW_TEST_MS,
  );

  test('reverse scans, limits and the iterator, across the same regions', async () => {
    const rowNum = maxRows;
    const txn = await env.client.begin();
    const all = await txn.scan(recordPrefix(), recordEnd());
    check(all, rowNum, false);
    const rev = await txn.scan(recordPrefix(), recordEnd(), { reverse: true });
    expect(rev.map((p) => text(p.key))).toEqual(all.map((p) => text(p.key)).reverse());
    const revKeyOnly = await txn.scan(recordPrefix(), makeKey(150), {
      reverse: true,
      keyOnly: true,
      limit: 10,
    });
    expect(revKeyOnly.map((p) => text(p.key))).toEqual(
      Array.from({ length: 10 }, (_, i) => text(makeKey(149 - i))),
    );
    expect(revKeyOnly.every((p) => p.value.length === 0)).toBe(true);
    const limited = await txn.scan(makeKey(100), recordEnd(), { limit: 50 });
    expect(limited.map((p) => text(p.value))).toEqual(
      Array.from({ length: 50 }, (_, i) => makeValue(100 + i)),
    );
    const iterated: string[] = [];
    for await (const p of txn.scanIter(makeKey(120), recordEnd())) {
      iterated.push(text(p.value) as string);
      if (iterated.length === 10) break;
    }
    expect(iterated).toEqual(Array.from({ length: 10 }, (_, i) => makeValue(120 + i)));
    await txn.rollback();
  });

  test('scans merge buffered writes over the snapshot, both directions', async () => {
    const txn = await env.client.begin();
    txn.delete(makeKey(0));
    txn.put(makeKey(1), 'one');
    txn.put(env.key('rows/prefix\u0001extra'), 'extra'); // sorts before every row key
    txn.delete(makeKey(maxRows - 1));
    txn.put(makeKey(maxRows), 'new');
    const pairs = await txn.scan(recordPrefix(), recordEnd());
    expect(pairs).toHaveLength(maxRows); // the rows, less 2 deleted, plus 2 new
    expect(pairs.slice(0, 3).map((p) => text(p.value))).toEqual(['extra', 'one', makeValue(2)]);
    expect(pairs.slice(-2).map((p) => text(p.value))).toEqual([makeValue(maxRows - 2), 'new']);
    const rev = await txn.scan(recordPrefix(), recordEnd(), { reverse: true, limit: 3 });
    expect(rev.map((p) => text(p.value))).toEqual(['new', makeValue(maxRows - 2), makeValue(maxRows - 3)]);
    const h = txn.staging();
    txn.delete(makeKey(2));
    expect((await txn.scan(makeKey(0), makeKey(3))).map((p) => text(p.value))).toEqual(['one']);
    txn.cleanup(h);
    expect((await txn.scan(makeKey(0), makeKey(3))).map((p) => text(p.value))).toEqual(['one', makeValue(2)]);
    await txn.commit();
    const after = await (await env.freshSnapshot()).scan(recordPrefix(), recordEnd(), { limit: 2 });
    expect(after.map((p) => text(p.value))).toEqual(['extra', 'one']);
  });
});
