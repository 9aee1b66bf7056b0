// Ports of client-go integration_tests/delete_range_test.go (TestDeleteRange) and
// safepoint_test.go (TestSafePoint), and a GC case, through TransactionClient: deleteRange over
// several regions, then GC (embedded only: advancing the safe points of a shared cluster would
// abort other suites' transactions) resolving a crashed writer's lock and refusing reads below
// the txn safe point.

import { composeTs } from '@tikv/common';
import { TwoPhaseCommitter, TxnAbortedByGcError } from '@tikv/txn';
import {
  embedded,
  embeddedTest,
  s08d,
  startTxnEnv,
  type TxnEnv,
  text,
  txnModes,
  valueBytes,
} from './txn-env.js';

describe.each(txnModes())('gc, delete range and safe point (%s)', (_, mode) => {
  let env: TxnEnv;
  beforeAll(async () => {
    env = await startTxnEnv(mode, 'gc');
  });
  afterAll(async () => {
    await env?.close();
  });

  /** Every pair under the prefix, as a name → value record. */
  async function data(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const { key, value } of await (await env.freshSnapshot()).scan(env.key(''), env.end)) {
      out[(text(key) ?? '').slice(env.prefix.length)] = text(value) ?? '';
    }
    return out;
  }

  test('TestDeleteRange', async () => {
    const expected: Record<string, string> = {};
    await env.client.run(async (txn) => {
      for (let i = 0; i < 100; i++) {
        const name = `dr-${String.fromCharCode(97 + (i % 26))}${String(i).padStart(3, '0')}`;
        txn.put(env.key(name), valueBytes(i));
        expected[name] = valueBytes(i);
      }
    });
    if (embedded) env.split(['dr-b', 'dr-e', 'dr-m', 'dr-t'].map((n) => env.key(n)));
    const mustDeleteRange = async (from: string, to: string, regions: number): Promise<void> => {
      const done = await env.client.deleteRange(env.key(from), env.key(to), { concurrency: 2 });
      if (embedded) expect(done).toBe(regions);
      else expect(done).toBeGreaterThanOrEqual(Math.min(regions, 1));
      for (const name of Object.keys(expected)) if (name >= from && name < to) delete expected[name];
      expect(await data()).toEqual(expected);
    };
    await mustDeleteRange('dr-b', 'dr-c0', 1);
    await mustDeleteRange('dr-c11', 'dr-c12', 1);
    await mustDeleteRange('dr-d0', 'dr-d0', 0);
    await mustDeleteRange('dr-d0\x00', 'dr-d00', 1);
    await mustDeleteRange('dr-c5', 'dr-d5', 1);
    await mustDeleteRange('dr-d9', 'dr-f1', 2);
    await mustDeleteRange('dr-h', 'dr-z', 3);
    await mustDeleteRange('dr-a', 'dr-z', 5);
  });

  embeddedTest(
    'TestSafePoint and GC: a crashed writer is resolved, reads below the txn safe point fail',
    async () => {
      await env.client.run(async (txn) => {
        for (let i = 0; i < 10; i++) txn.put(env.key(s08d('sp-key', i)), valueBytes(i));
      });
      const writer = await env.client.begin({ startTs: composeTs(Date.now() - 10_000, 0) });
      writer.put(env.key('sp-crashed'), 'lost');
      const committer = new TwoPhaseCommitter(env.client.parts, writer.memBuffer, {
        startTs: writer.startTs,
        lockResolver: env.client.lockResolver,
      });
      await committer.prewrite();
      committer.close();
      const txn2 = await env.client.begin();
      expect(text(await txn2.get(env.key(s08d('sp-key', 0))))).toBe(valueBytes(0));
      const txn3 = await env.client.begin();
      const txn4 = await env.client.begin();
      const stats = await env.client.gcWithStats(await env.client.currentTimestamp(), { concurrency: 2 });
      expect(stats.resolvedLocks).toBeGreaterThanOrEqual(1);
      // As in client-go, a cached value answers without a check: clean the cache to reach TiKV.
      txn2.snapshot.cleanCache([env.key(s08d('sp-key', 0))]);
      await expect(txn2.get(env.key(s08d('sp-key', 0)))).rejects.toThrow(TxnAbortedByGcError);
      await expect(txn3.scan(env.key('sp-'), env.end)).rejects.toThrow(TxnAbortedByGcError);
      await expect(
        txn4.batchGet(Array.from({ length: 10 }, (_, i) => env.key(s08d('sp-key', i)))),
      ).rejects.toThrow(TxnAbortedByGcError);
      // A transaction after GC reads everything, and nothing of the crashed writer.
      const after = await env.freshSnapshot();
      expect(await after.get(env.key('sp-crashed'))).toBeUndefined();
      expect((await after.scan(env.key('sp-key'), env.key('sp-kez'))).length).toBe(10);
    },
  );
});
