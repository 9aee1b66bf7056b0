/**
 * Optimistic transactions: read your own writes, commit, a write conflict, `client.run` retrying
 * it, and a snapshot of the past. `pnpm --filter @tikv/examples transactions`
 */
import { isTiKVError } from '@tikv/common';
import { TransactionClient } from '@tikv/txn';
import { exampleTarget, runExample, text } from './target.js';

runExample(async () => {
  const target = await exampleTarget();
  const client = await TransactionClient.connect(target, { timeoutMs: 10_000 });
  try {
    const setup = await client.begin();
    setup.put('examples/txn/alice', '100');
    setup.put('examples/txn/bob', '50');
    console.log(`in the transaction, alice -> ${text(await setup.get('examples/txn/alice'))}`);
    console.log(`committed at ${await setup.commit()} (${setup.commitProtocol})`);
    const before = await client.currentTimestamp();

    // Two transactions write the same key: the second to commit loses.
    const t1 = await client.begin();
    const t2 = await client.begin();
    t1.put('examples/txn/alice', '90');
    t2.put('examples/txn/alice', '80');
    await t1.commit();
    try {
      await t2.commit();
    } catch (e) {
      console.log(
        `second commit -> ${isTiKVError(e) ? e.code : e} (retryable: ${isTiKVError(e) && e.retryable})`,
      );
    }

    // run() begins again after a retryable conflict (so fn may run more than once).
    await client.run(async (txn) => {
      const [alice, bob] = await txn.batchGet(['examples/txn/alice', 'examples/txn/bob']);
      txn.put('examples/txn/alice', String(Number(text(alice)) - 10));
      txn.put('examples/txn/bob', String(Number(text(bob)) + 10));
    });
    const now = client.snapshot();
    const past = client.snapshot(before);
    const enc = new TextEncoder();
    console.log(`alice now -> ${text(await now.get(enc.encode('examples/txn/alice')))}`);
    console.log(`alice before the conflict -> ${text(await past.get(enc.encode('examples/txn/alice')))}`);

    await client.run(async (txn) => {
      for (const { key } of await txn.scan('examples/txn/', 'examples/txn0', { keyOnly: true }))
        txn.delete(key);
    });
  } finally {
    await client.close();
    await target.close();
  }
});
