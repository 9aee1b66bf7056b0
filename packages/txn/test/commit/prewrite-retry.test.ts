// A prewrite the committer sends again (after a region error, or after resolving a lock it met)
// is marked as a retry in its context, as client-go marks it (`attempts > 1 || action.retry`):
// TiKV then checks it against the transaction's commit or rollback record, in case an earlier
// attempt was applied. Regression test for prewrites re-split after a region error going out
// without the flag (found porting prewrite_test.go TestIsRetryRequestFlagWithRegionError).
import { MemBuffer, TwoPhaseCommitter } from '../../src/index.js';
import { k, TxnTestCluster } from '../txn-cluster.js';

describe('prewrite retries', () => {
  let c: TxnTestCluster;
  beforeAll(async () => {
    c = await TxnTestCluster.start();
  });
  afterAll(async () => {
    await c?.close();
  });

  async function prewrite(keys: string[]): Promise<TwoPhaseCommitter> {
    const buffer = new MemBuffer();
    for (const key of keys) buffer.set(k(key), k('v'));
    const committer = new TwoPhaseCommitter({ executor: c.exec, oracle: c.oracle }, buffer, {
      startTs: await c.ts(),
      lockResolver: c.resolver,
    });
    c.sender.reset();
    await committer.prewrite();
    return committer;
  }

  const retryFlags = () =>
    c.sender.sent('Prewrite').map((r) => r.request.value.context?.isRetryRequest === true);

  test('a prewrite re-sent after a region error is a retry', async () => {
    const fault = c.cluster.inject({ method: 'KvPrewrite', times: 1, error: 'EpochNotMatch' });
    const committer = await prewrite(['pr_a', 'pr_z']);
    expect(fault.hits).toBe(1);
    expect(retryFlags()).toEqual([false, true]);
    await committer.rollback();
    committer.close();
  });

  test('a prewrite re-sent after the lock it met was resolved is a retry', async () => {
    const { startTs } = await c.prewrite({ mutations: [[k('pr_l'), k('x')]], startTs: c.pastTs(10_000) });
    expect(startTs).toBeGreaterThan(0n);
    const committer = await prewrite(['pr_l']);
    expect(retryFlags()).toEqual([false, true]);
    await committer.rollback();
    committer.close();
  });

  test('a first prewrite is not a retry', async () => {
    const committer = await prewrite(['pr_b']);
    expect(retryFlags()).toEqual([false]);
    await committer.rollback();
    committer.close();
  });
});
