// Port of client-go integration_tests/async_commit_test.go cases about resolving the locks of an
// async-commit transaction: the secondaries asked with CheckSecondaryLocks and the transaction
// committed or rolled back from what they say (TestCheckSecondaries, on real locks in the mock
// rather than a mocked client), and readers meeting a transaction whose primary, secondary or both
// fell back to 2PC (TestResolveTxnFallbackFromAsyncCommit).
import { kvrpcpb } from '@tikv/proto';
import { k, TxnTestCluster, t } from './txn-cluster.js';

describe('async_commit_test.go resolve', () => {
  let c: TxnTestCluster;
  beforeAll(async () => {
    c = await TxnTestCluster.start();
    // Two regions: (, e) and [e, ).
    c.split('acr_e');
  });
  afterAll(async () => {
    await c?.close();
  });

  async function lockOf(key: Uint8Array) {
    const end = new Uint8Array(key.length + 1);
    end.set(key);
    const [l] = await c.scanLocks(key, end);
    return l;
  }

  const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

  test('TestCheckSecondaries', async () => {
    const key = (s: string) => k(`acr_${s}`);
    // Only the primary is locked: committed at its min commit ts, no secondary to ask.
    let startTs = c.pastTs(10_000);
    await c.prewrite({ mutations: [[key('z'), k('z')]], startTs, asyncCommit: true, secondaries: [] });
    let lock = await lockOf(key('z'));
    expect(lock?.useAsyncCommit).toBe(true);
    c.sender.reset();
    await c.resolver.resolveLocks(c.bo(), {
      callerStartTs: await c.ts(),
      locks: [lock as NonNullable<typeof lock>],
    });
    await c.resolver.whenIdle();
    expect(c.sender.sent('CheckSecondaryLocks')).toEqual([]);
    let status = await c.resolver.getTxnStatus(startTs, key('z'));
    expect(status.isCommitted).toBe(true);
    expect(status.commitTs).toBe(lock?.minCommitTs);

    // One secondary is committed (i), one is locked (a): everything commits at i's commit ts.
    const prepare = async (n: string): Promise<bigint> => {
      const ts = c.pastTs(10_000, 5);
      await c.prewrite({
        mutations: [
          [key(`z${n}`), k('z')],
          [key(`a${n}`), k('a')],
          [key(`i${n}`), k('i')],
        ],
        primary: key(`z${n}`),
        startTs: ts,
        asyncCommit: true,
        secondaries: [key(`a${n}`), key(`i${n}`)],
      });
      return ts;
    };
    startTs = await prepare('1');
    const commitTs = await c.ts();
    await c.commitKeys([key('i1')], startTs, commitTs);
    lock = await lockOf(key('a1'));
    c.sender.reset();
    await c.resolver.resolveLocks(c.bo(), {
      callerStartTs: await c.ts(),
      locks: [lock as NonNullable<typeof lock>],
    });
    await c.resolver.whenIdle();
    let checked = c.sender.sent('CheckSecondaryLocks').flatMap((r) => r.request.value.keys.map(hex));
    expect(new Set(checked)).toEqual(new Set([hex(key('a1')), hex(key('i1'))]));
    for (const r of c.sender.sent('CheckSecondaryLocks')) expect(r.request.value.startVersion).toBe(startTs);
    let resolves = c.sender.sent('ResolveLock');
    expect(resolves.length).toBeGreaterThan(0);
    for (const r of resolves) {
      expect(r.request.value.startVersion).toBe(startTs);
      expect(r.request.value.commitVersion).toBe(commitTs);
      for (const kk of r.request.value.keys) expect([hex(key('a1')), hex(key('z1'))]).toContain(hex(kk));
    }
    status = await c.resolver.getTxnStatus(startTs, key('z1'));
    expect(status.commitTs).toBe(commitTs);
    expect(await c.read(key('a1'))).toBe('a');

    // One secondary is rolled back (i), one is locked (a): everything rolls back.
    startTs = await prepare('2');
    const { response } = await c.exec.sendToKey(c.bo(), key('i2'), () => ({
      $case: 'BatchRollback' as const,
      value: kvrpcpb.BatchRollbackRequest.fromPartial({ startVersion: startTs, keys: [key('i2')] }),
    }));
    expect(response.value.error).toBeUndefined();
    lock = await lockOf(key('a2'));
    c.sender.reset();
    await c.resolver.resolveLocks(c.bo(), {
      callerStartTs: await c.ts(),
      locks: [lock as NonNullable<typeof lock>],
    });
    await c.resolver.whenIdle();
    checked = c.sender.sent('CheckSecondaryLocks').flatMap((r) => r.request.value.keys.map(hex));
    expect(checked).toContain(hex(key('i2')));
    resolves = c.sender.sent('ResolveLock');
    expect(resolves.length).toBeGreaterThan(0);
    for (const r of resolves) expect(r.request.value.commitVersion).toBe(0n);
    status = await c.resolver.getTxnStatus(startTs, key('z2'));
    expect(status.isRolledBack).toBe(true);
    expect(await c.read(key('a2'))).toBeUndefined();
    expect(await lockOf(key('z2'))).toBeUndefined();
  });

  test.each([
    ['primary', 'primary', true, false],
    ['primary', 'secondary', true, false],
    ['secondary', 'primary', false, true],
    ['secondary', 'secondary', false, true],
    ['both', 'primary', true, true],
    ['both', 'secondary', true, true],
  ])('TestResolveTxnFallbackFromAsyncCommit (fallback %s, read %s first)', async (fb, first, fb0, fb1) => {
    const keys = [k(`acf_${fb}_${first}_k0`), k(`acf_${fb}_${first}_k1`)] as const;
    await c.put([
      [keys[0], k('v00')],
      [keys[1], k('v10')],
    ]);
    const startTs = await c.ts();
    // Each key prewritten on its own; a max commit ts of 1 makes TiKV fall back to a 2PC lock.
    for (const [i, fallback] of [fb0, fb1].entries()) {
      await c.prewrite({
        mutations: [[keys[i] as Uint8Array, k(`v${i}1`)]],
        primary: keys[0],
        secondaries: i === 0 ? [keys[1]] : [],
        asyncCommit: true,
        lockTtlMs: 1,
        startTs,
        ...(fallback ? { maxCommitTs: 1n } : {}),
      });
      expect((await lockOf(keys[i] as Uint8Array))?.useAsyncCommit).toBe(!fallback);
    }
    const order = first === 'primary' ? [0, 1] : [1, 0];
    for (const i of order) {
      const snap = c.snapshot(await c.ts());
      expect(t(await snap.get(keys[i] as Uint8Array, { timeoutMs: 5000 }))).toBe(`v${i}0`);
    }
  });
});
