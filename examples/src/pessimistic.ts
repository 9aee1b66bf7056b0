/**
 * Pessimistic transactions: lock a key, a second transaction that cannot get the lock at once
 * (`noWait`), then waits for it and reads the first one's write.
 * `pnpm --filter @tikv/examples pessimistic`
 */
import { isTiKVError } from '@tikv/common';
import { TransactionClient } from '@tikv/txn';
import { exampleTarget, runExample, text } from './target.js';

runExample(async () => {
  const target = await exampleTarget();
  const client = await TransactionClient.connect(target, { timeoutMs: 10_000 });
  const key = 'examples/pessimistic/stock';
  try {
    await client.run(async (t) => t.put(key, '10'));

    const first = await client.begin({ pessimistic: true });
    // returnValues: read the latest committed value as the lock is taken (SELECT ... FOR UPDATE).
    const [locked] = await first.lockKeys([key], { returnValues: true });
    const stock = Number(text(locked?.value));
    console.log(`first locked ${key} (stock ${stock})`);

    const second = await client.begin({ pessimistic: true });
    try {
      await second.lockKeys([key], { noWait: true });
    } catch (e) {
      console.log(`second, noWait -> ${isTiKVError(e) ? e.code : e}`);
    }

    // The second waits for the lock; the first commits meanwhile.
    const waiting = second.lockKeys([key], { waitTimeoutMs: 10_000, returnValues: true });
    first.put(key, String(stock - 1));
    await first.commit();
    await waiting;
    // A plain get would read at the start ts (10); the locked read returned the latest value,
    // and later reads of the key in the transaction use it.
    const seen = Number(text(await second.get(key)));
    second.put(key, String(seen - 1));
    await second.commit();
    console.log(
      `second waited, saw ${seen}, stock now ${text(await client.snapshot().get(new TextEncoder().encode(key)))}`,
    );

    await client.run(async (t) => t.delete(key));
  } finally {
    await client.close();
    await target.close();
  }
});
