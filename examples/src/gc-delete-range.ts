/**
 * Delete range and GC: `DeleteRangeTask` removes a range region by region; on the embedded
 * cluster, `GcWorker` then advances the safe points (it resolves locks below them first), and a
 * snapshot older than the GC safe point is refused.
 * `pnpm --filter @tikv/examples gc-delete-range`
 */
import { PdClient } from '@tikv/pd';
import { DeleteRangeTask, GcWorker, NULL_KEYSPACE_ID, TransactionClient, TxnSafePointCache } from '@tikv/txn';
import { exampleTarget, runExample } from './target.js';

const enc = new TextEncoder();

runExample(async () => {
  const target = await exampleTarget();
  const client = await TransactionClient.connect(target, { timeoutMs: 10_000 });
  const pd = await PdClient.connect({ endpoints: target.pdEndpoints });
  try {
    await client.run(async (t) => {
      for (let i = 0; i < 20; i++) t.put(`examples/gc/row/${String(i).padStart(2, '0')}`, `v${i}`);
    });
    const written = await client.currentTimestamp();

    const { executor } = client.parts;
    const task = new DeleteRangeTask(
      { executor },
      { startKey: enc.encode('examples/gc/row/'), endKey: enc.encode('examples/gc/row0') },
    );
    const result = await task.execute({ timeoutMs: 10_000 });
    const left = await client.snapshot().scan(enc.encode('examples/gc/'), enc.encode('examples/gc0'));
    console.log(`delete range -> ${result.completedRegions} regions, ${left.length} keys left`);

    if (!target.embedded) {
      console.log('GC skipped: it only runs on the embedded cluster');
      return;
    }
    // The example's keyspace runs under unified GC (no keyspace-level GC configured).
    const gcStates = pd.gcStates(NULL_KEYSPACE_ID);
    const safePoints = new TxnSafePointCache({ gcStates });
    const gc = new GcWorker({
      executor,
      lockResolver: client.lockResolver,
      gcStates,
      safePointCache: safePoints,
    });
    const safePoint = await gc.gc(await client.currentTimestamp(), { timeoutMs: 10_000 });
    console.log(`gc -> safe point ${safePoint} (${safePoint > written ? 'past' : 'not past'} the writes)`);
    try {
      safePoints.checkVisibility(written);
      console.log(`a snapshot at ${written} is still readable`);
    } catch (e) {
      console.log(`a snapshot at ${written} -> ${(e as { code?: string }).code}`);
    }
  } finally {
    await pd.close();
    await client.close();
    await target.close();
  }
});
