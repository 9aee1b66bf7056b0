import { isTiKVError } from '@tikv/common';
import type { TransactionClient } from '@tikv/txn';
import { show, step, text } from './tour-output.js';

const balance = (v: Uint8Array | undefined): number => Number(v === undefined ? '0' : text.decode(v));

/** The transactional part of the tour: steps 9-14. */
export async function txnTour(client: TransactionClient): Promise<void> {
  step(9, 'a transaction reads its own writes and commits them atomically');
  const setup = await client.begin();
  setup.put('walkthrough/txn/alice', '100');
  setup.put('walkthrough/txn/bob', '50');
  console.log(`  begin -> startTs ${setup.startTs}`);
  console.log(`  before commit, get(alice) in the txn -> ${show(await setup.get('walkthrough/txn/alice'))}`);
  const commitTs = await setup.commit();
  console.log(`  commit -> commitTs ${commitTs} (${setup.commitProtocol})`);

  step(10, 'a write conflict, and client.run retrying it');
  const t1 = await client.begin();
  const t2 = await client.begin();
  t1.put('walkthrough/txn/alice', '90');
  t2.put('walkthrough/txn/alice', '80');
  await t1.commit();
  try {
    await t2.commit();
  } catch (err) {
    const retryable = isTiKVError(err) && err.retryable;
    console.log(`  the second commit -> ${(err as Error).name} (retryable: ${retryable})`);
  }
  let attempts = 0;
  await client.run(async (txn) => {
    attempts++;
    const [alice, bob] = await txn.batchGet(['walkthrough/txn/alice', 'walkthrough/txn/bob']);
    if (attempts === 1) await client.run(async (other) => other.put('walkthrough/txn/bob', '55'));
    txn.put('walkthrough/txn/alice', String(balance(alice) - 10));
    txn.put('walkthrough/txn/bob', String(balance(bob) + 10));
  });
  const after = await client
    .snapshot()
    .batchGet([bytes('walkthrough/txn/alice'), bytes('walkthrough/txn/bob')]);
  console.log(
    `  transfer 10 with run() -> ${attempts} attempts, alice ${show(after[0])}, bob ${show(after[1])}`,
  );

  step(11, 'snapshots read the past');
  const before = await client.currentTimestamp();
  await client.run(async (txn) => txn.put('walkthrough/txn/alice', '0'));
  console.log(
    `  snapshot(ts before the write).get(alice) -> ${show(await client.snapshot(before).get(bytes('walkthrough/txn/alice')))}`,
  );
  console.log(
    `  snapshot().get(alice) (latest)            -> ${show(await client.snapshot().get(bytes('walkthrough/txn/alice')))}`,
  );

  step(12, 'savepoints and scans over the buffer');
  const txn = await client.begin();
  txn.put('walkthrough/txn/carol', '1');
  const savepoint = txn.staging();
  txn.put('walkthrough/txn/dave', '2');
  txn.cleanup(savepoint);
  const names = (await txn.scan('walkthrough/txn/', 'walkthrough/txn0')).map((p) =>
    text.decode(p.key).slice(16),
  );
  console.log(`  after rolling back to the savepoint, scan -> ${names.join(', ')}`);
  await txn.rollback();

  step(13, 'async commit and one-phase commit');
  for (const options of [{ asyncCommit: true }, { onePc: true }]) {
    const t = await client.begin(options);
    t.put('walkthrough/txn/protocol', JSON.stringify(options));
    await t.commit();
    console.log(`  begin(${JSON.stringify(options)}) -> committed with ${t.commitProtocol}`);
  }

  step(14, 'cleaning up the transactional keys');
  await client.run(async (t) => {
    for (const { key } of await t.scan('walkthrough/txn/', 'walkthrough/txn0', { keyOnly: true }))
      t.delete(key);
  });
  const left = await client.snapshot().scan(bytes('walkthrough/txn/'), bytes('walkthrough/txn0'));
  console.log(`  ${left.length} transactional keys left`);
}

function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
