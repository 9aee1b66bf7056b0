import diagnostics from 'node:diagnostics_channel';
import {
  isTiKVError,
  KeyIsLockedError,
  type LockInfo,
  lockInfoFromWire,
  makeLockInfo,
  nextKey,
  PrimaryMismatchError,
  TxnNotFoundError,
  U64_MAX,
} from '@tikv/common';
import {
  LOCK_RESOLVE_CHANNEL,
  LOCK_RESOLVER_METRIC,
  type LockResolveEvent,
  LockResolver,
  NonAsyncCommitLockError,
} from '../src/index.js';
import { k, TxnTestCluster, t } from './txn-cluster.js';

let c: TxnTestCluster;
beforeAll(async () => {
  c = await TxnTestCluster.start();
});
afterAll(async () => {
  await c?.close();
});
afterEach(async () => {
  await c.resolver.whenIdle();
  c.sender.reset();
  c.cluster.clearFaults();
});

/** A key of one test (client-go `s.key(name)` under its suite's prefix). */
function keyOf(prefix: string): (name: string) => Uint8Array {
  return (name) => k(`${prefix}_${name}`);
}

async function mustGetLock(key: Uint8Array): Promise<LockInfo> {
  const lock = await c.getLock(key);
  if (lock === undefined) throw new Error(`no lock on ${t(key)}`);
  return lock;
}

/**
 * client-go `lockKey`: `key` and `primary` prewritten with `primary` as primary; the primary
 * committed when asked. `startTs` lets a test put the lock in the past (expired at once).
 */
async function lockKey(
  key: Uint8Array,
  value: string | undefined,
  primary: Uint8Array,
  primaryValue: string | undefined,
  opts: { ttlMs?: number; commitPrimary?: boolean; asyncCommit?: boolean; startTs?: bigint } = {},
): Promise<{ startTs: bigint; commitTs: bigint }> {
  const { startTs } = await c.prewrite({
    mutations: [
      [primary, primaryValue === undefined ? undefined : k(primaryValue)],
      [key, value === undefined ? undefined : k(value)],
    ],
    primary,
    lockTtlMs: opts.ttlMs ?? 3000,
    asyncCommit: opts.asyncCommit,
    startTs: opts.startTs,
  });
  let commitTs = 0n;
  if (opts.commitPrimary === true) {
    commitTs = await c.ts();
    await c.commitKeys([primary], startTs, commitTs);
  }
  return { startTs, commitTs };
}

describe('lock_test.go', () => {
  const key = keyOf('~lock');

  async function putAlphabets(): Promise<void> {
    for (let ch = 0x61; ch <= 0x7a; ch++) await c.put([[key(String.fromCharCode(ch)), Uint8Array.of(ch)]]);
  }

  async function prepareAlphabetLocks(): Promise<void> {
    await c.put([[key('c'), k('cc')]]);
    await lockKey(key('c'), 'c', key('z1'), 'z1', { commitPrimary: true });
    await lockKey(key('d'), 'dd', key('z2'), 'z2');
    await lockKey(key('foo'), 'foo', key('z3'), 'z3');
    await c.put([[key('bar'), k('bar')]]);
    await lockKey(key('bar'), undefined, key('z4'), 'z4', { commitPrimary: true });
  }

  const alphabet = Array.from({ length: 26 }, (_, i) => String.fromCharCode(0x61 + i));

  test('TestScanLockResolveWithGet, TestScanLockResolveWithSeek(KeyOnly), TestScanLockResolveWithBatchGet', async () => {
    await putAlphabets();
    await prepareAlphabetLocks();
    const snap = c.snapshot(await c.ts());
    for (const ch of alphabet) expect(t(await snap.get(key(ch)))).toBe(ch);

    const seek = c.snapshot(await c.ts());
    const pairs = await seek.scan(key('a'), key('zz'));
    // z1..z4 are the primaries written by lockKey: only the committed ones are read.
    expect(pairs.map((p) => t(p.key))).toEqual([
      ...alphabet.map((ch) => t(key(ch))),
      t(key('z1')),
      t(key('z4')),
    ]);
    expect(pairs.slice(0, 26).map((p) => t(p.value))).toEqual(alphabet);

    const keyOnly = await c.snapshot(await c.ts(), { keyOnly: true }).scan(key('a'), key('z\0'));
    expect(keyOnly.map((p) => t(p.key))).toEqual(alphabet.map((ch) => t(key(ch))));
    expect(keyOnly.every((p) => p.value.length === 0)).toBe(true);

    const values = await c.snapshot(await c.ts()).batchGet(alphabet.map((ch) => key(ch)));
    expect(values.map(t)).toEqual(alphabet);
  });

  test('TestCleanLock: a writer meeting expired locks resolves them and prewrites', async () => {
    const keys = alphabet.map((ch) => key(`clean_${ch}`));
    for (const kk of keys)
      await c.prewrite({ mutations: [[kk, kk]], startTs: c.pastTs(10_000), lockTtlMs: 100 });
    const writerTs = await c.ts();
    const locked = await c.prewrite({ mutations: keys.map((kk) => [kk, k('new')]), startTs: writerTs }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(locked).toBeInstanceOf(KeyIsLockedError);
    const locks = await Promise.all(keys.map(mustGetLock));
    const res = await c.resolver.resolveLocks(c.bo(), { callerStartTs: writerTs, locks });
    expect(res.msBeforeTxnExpired).toBe(0);
    await c.put(keys.map((kk) => [kk, k('new')]));
    expect(await c.read(keys[3] as Uint8Array)).toBe('new');
  });

  test('TestGetTxnStatus', async () => {
    const a = key('status_a');
    let { startTs, commitTs } = await c.put([[a, k('a')]]);
    let status = await c.resolver.getTxnStatus(startTs, a, { callerStartTs: startTs });
    expect(status.isCommitted).toBe(true);
    expect(status.commitTs).toBe(commitTs);

    ({ startTs, commitTs } = await lockKey(a, 'a', a, 'a', { commitPrimary: true }));
    status = await c.resolver.getTxnStatus(startTs, a, { callerStartTs: startTs });
    expect(status.isCommitted).toBe(true);
    expect(status.commitTs).toBe(commitTs);

    ({ startTs } = await lockKey(a, 'a', a, 'a'));
    status = await c.resolver.getTxnStatus(startTs, a, { callerStartTs: startTs });
    expect(status.isCommitted).toBe(false);
    expect(status.ttlMs).toBeGreaterThan(0n);
    await c.resolver.resolveLocks(c.bo(), {
      callerStartTs: 0n,
      locks: [{ ...(await mustGetLock(a)), lockTtlMs: 0n }],
    });
  });

  test('TestCheckTxnStatusTTL', async () => {
    const kk = key('ttl_key');
    const { startTs } = await c.prewrite({ mutations: [[kk, k('value')]], lockTtlMs: 1000 });
    const callerStartTs = await c.ts();
    let status = await c.resolver.getTxnStatus(startTs, kk, { callerStartTs });
    expect(status.isCommitted).toBe(false);
    expect(status.ttlMs).toBeGreaterThan(0n);
    expect(status.commitTs).toBe(0n);

    // Roll it back (client-go ForceResolveLock: the lock with TTL 0).
    const lock = await mustGetLock(kk);
    await c.resolver.resolveLocks(c.bo(), { callerStartTs: 0n, locks: [{ ...lock, lockTtlMs: 0n }] });
    status = await new LockResolver({ executor: c.exec, oracle: c.oracle }).getTxnStatus(startTs, kk, {
      callerStartTs,
    });
    expect(status.ttlMs).toBe(0n);
    expect(status.commitTs).toBe(0n);
    expect(status.action).toBe('NoAction');
    expect(status.isRolledBack).toBe(true);

    const a = key('ttl_a');
    const committed = await c.put([[a, k('a')]]);
    status = await c.resolver.getTxnStatus(committed.startTs, a, { callerStartTs });
    expect(status.ttlMs).toBe(0n);
    expect(status.commitTs).toBe(committed.commitTs);
  });

  test('TestCheckTxnStatus', async () => {
    const kk = key('cts_key');
    const second = key('cts_second');
    const { startTs } = await c.prewrite({
      mutations: [
        [kk, k('value')],
        [second, k('xxx')],
      ],
      lockTtlMs: 1000,
    });
    let currentTs = await c.ts();
    expect(currentTs).toBeGreaterThan(startTs);
    const bo = c.bo();
    let status = await c.resolver.checkTxnStatus(bo, {
      primaryKey: kk,
      txnStartTs: startTs,
      callerStartTs: currentTs,
      currentTs,
      rollbackIfNotExist: true,
    });
    expect(status.isCommitted).toBe(false);
    expect(status.ttlMs).toBeGreaterThan(0n);
    expect(status.commitTs).toBe(0n);
    expect(status.action).toBe('MinCommitTSPushed');

    const lock = await mustGetLock(second);
    let res = await c.resolver.resolveLocks(bo, { callerStartTs: currentTs, locks: [lock] });
    expect(res.msBeforeTxnExpired).toBeGreaterThan(0);

    // TTL 0 asks for the lock to be rolled back whatever its TTL.
    res = await c.resolver.resolveLocks(bo, {
      callerStartTs: currentTs,
      locks: [{ ...lock, lockTtlMs: 0n }],
    });
    expect(res.msBeforeTxnExpired).toBe(0);

    currentTs = await c.ts();
    status = await new LockResolver({ executor: c.exec, oracle: c.oracle }).checkTxnStatus(bo, {
      primaryKey: kk,
      txnStartTs: startTs,
      callerStartTs: currentTs,
      currentTs: 0n,
      rollbackIfNotExist: true,
    });
    expect(status.ttlMs).toBe(0n);
    expect(status.commitTs).toBe(0n);
    expect(status.action).toBe('NoAction');

    const a = key('cts_a');
    const committed = await c.put([[a, k('a')]]);
    status = await new LockResolver({ executor: c.exec, oracle: c.oracle }).checkTxnStatus(bo, {
      primaryKey: a,
      txnStartTs: committed.startTs,
      callerStartTs: currentTs,
      currentTs,
      rollbackIfNotExist: true,
    });
    expect(status.ttlMs).toBe(0n);
    expect(status.commitTs).toBe(committed.commitTs);
  });

  test('TestCheckTxnStatusNoWait', async () => {
    const kk = key('nowait_key');
    const second = key('nowait_second');
    // Only the secondary is prewritten: a concurrent prewrite whose primary region lags.
    const { startTs } = await c.prewrite({
      mutations: [[second, k('xxx')]],
      primary: kk,
      lockTtlMs: 100_000,
    });
    const currentTs = await c.ts();
    const bo = c.bo();
    const notFound = await c.resolver
      .checkTxnStatus(bo, { primaryKey: kk, txnStartTs: startTs, callerStartTs: currentTs, currentTs })
      .catch((e: unknown) => e);
    expect(notFound).toBeInstanceOf(TxnNotFoundError);

    // The primary's prewrite lands right after the first status check: the check is retried
    // after a txnNotFound backoff and finds the lock.
    let prewrote = false;
    c.sender.reset();
    c.sender.afterResponse = async (req) => {
      if (req.$case !== 'CheckTxnStatus' || prewrote) return;
      prewrote = true;
      await c.prewrite({ mutations: [[kk, k('value')]], primary: kk, startTs, lockTtlMs: 100_000 });
    };
    const lock = makeLockInfo({ key: second, primary: kk, lockVersion: startTs, lockTtlMs: 100_000n });
    const status = await c.resolver.getTxnStatusFromLock(bo, lock, currentTs);
    expect(prewrote).toBe(true);
    expect(c.sender.count('CheckTxnStatus')).toBe(2);
    expect(bo.backoffTimes.get('txnNotFound')).toBe(1);
    expect(status.ttlMs).toBeGreaterThan(0n);
    c.sender.afterResponse = undefined;

    // A missing primary of a lock about to expire: retried until it expires, then rolled back.
    const missing = makeLockInfo({
      key: second,
      primary: key('nowait_key_not_exist'),
      lockVersion: c.pastTs(900),
      lockTtlMs: 1000n,
    });
    const rolledBack = await c.resolver.getTxnStatusFromLock(c.bo(), missing, currentTs);
    expect(rolledBack.ttlMs).toBe(0n);
    expect(rolledBack.commitTs).toBe(0n);
    expect(rolledBack.action).toBe('LockNotExistRollback');
    await c.resolver.resolveLocks(c.bo(), {
      callerStartTs: 0n,
      locks: [{ ...(await mustGetLock(second)), lockTtlMs: 0n }],
    });
  });

  test('TestBatchResolveLocks', async () => {
    const [k1, k2, k3, k4] = ['b1', 'b2', 'b3', 'b4'].map(key) as [
      Uint8Array,
      Uint8Array,
      Uint8Array,
      Uint8Array,
    ];
    await c.prewrite({
      mutations: [
        [k1, k('v1')],
        [k2, k('v2')],
      ],
      lockTtlMs: 20_000,
    });
    await c.prewrite({
      mutations: [
        [k3, k('v3')],
        [k4, k('v4')],
      ],
      lockTtlMs: 20_000,
      asyncCommit: true,
    });
    const locks = await Promise.all([k1, k2, k3, k4].map(mustGetLock));
    expect(c.oracle.untilExpired(locks[0]!.lockVersion, Number(locks[1]!.lockTtlMs))).toBeGreaterThan(0);
    expect(c.oracle.untilExpired(locks[3]!.lockVersion, Number(locks[3]!.lockTtlMs))).toBeGreaterThan(0);
    const loc = await c.conn.regionCache.locateKey(locks[0]!.primary);
    // GC resolves the locks whatever their TTL.
    expect(await c.resolver.batchResolveLocks(c.bo(), locks, loc.region)).toBe(true);
    expect(c.sender.sent('ResolveLock')).toHaveLength(1);
    expect(c.sender.sent('ResolveLock')[0]!.request.value.txnInfos).toHaveLength(2);
    expect(await c.read(k1)).toBeUndefined();
    expect(await c.read(k2)).toBeUndefined();
    expect(await c.read(k3)).toBe('v3');
    expect(await c.read(k4)).toBe('v4');
  });

  test('TestNewLockZeroTTL', () => {
    expect(lockInfoFromWire({}).lockTtlMs).toBe(0n);
  });

  test('TestZeroMinCommitTS', async () => {
    const kk = key('zero_mcts');
    // The failpoint mockZeroCommitTS of client-go: a prewrite without a min commit ts.
    await c.prewrite({ mutations: [[kk, k('value')]], lockTtlMs: 1000, minCommitTs: 0n });
    const lock = await mustGetLock(kk);
    const bo = c.bo();
    let res = await c.resolver.resolveLocksForRead(bo, { callerStartTs: 0n, locks: [lock], lite: true });
    expect(res.resolvedLocks).toHaveLength(0);
    expect(res.msBeforeTxnExpired).toBeGreaterThan(0);

    res = await c.resolver.resolveLocksForRead(bo, { callerStartTs: U64_MAX, locks: [lock], lite: true });
    expect(res.resolvedLocks).toHaveLength(1);
    expect(res.msBeforeTxnExpired).toBe(0);

    res = await c.resolver.resolveLocks(bo, { callerStartTs: 0n, locks: [{ ...lock, lockTtlMs: 0n }] });
    expect(res.msBeforeTxnExpired).toBe(0);
  });

  /** client-go `prepareTxnFallenBackFromAsyncCommit`: fb1 async commit, fb2 fell back to 2PC. */
  async function prepareTxnFallenBackFromAsyncCommit(): Promise<LockInfo> {
    const fb1 = key('fb1');
    const fb2 = key('fb2');
    const startTs = c.pastTs(1000);
    await c.prewrite({
      mutations: [[fb1, k('1')]],
      primary: fb1,
      secondaries: [fb2],
      asyncCommit: true,
      lockTtlMs: 1,
      startTs,
    });
    // An invalid max commit ts: TiKV answers MaxCommitTsTooLarge by writing a 2PC lock.
    await c.prewrite({
      mutations: [[fb2, k('2')]],
      primary: fb1,
      secondaries: [],
      asyncCommit: true,
      lockTtlMs: 1,
      startTs,
      maxCommitTs: startTs - 1n,
    });
    expect((await mustGetLock(fb2)).useAsyncCommit).toBe(false);
    const lock = await mustGetLock(fb1);
    expect(lock.useAsyncCommit).toBe(true);
    return lock;
  }

  test('TestCheckLocksFallenBackFromAsyncCommit', async () => {
    const lock = await prepareTxnFallenBackFromAsyncCommit();
    const bo = c.bo();
    let status = await c.resolver.getTxnStatusFromLock(bo, lock, 0n);
    expect(t(status.primaryLock?.key)).toBe(t(key('fb1')));
    await expect(c.resolver.checkSecondaries(bo, lock, status)).rejects.toBeInstanceOf(
      NonAsyncCommitLockError,
    );
    status = await c.resolver.getTxnStatusFromLock(bo, lock, 0n, true);
    expect(status.action).toBe('TTLExpireRollback');
    expect(status.ttlMs).toBe(0n);
    expect(status.isRolledBack).toBe(true);
    await c.resolver.resolveLocks(bo, { callerStartTs: 0n, locks: [await mustGetLock(key('fb2'))] });
  });

  test('TestResolveTxnFallenBackFromAsyncCommit', async () => {
    const lock = await prepareTxnFallenBackFromAsyncCommit();
    const res = await c.resolver.resolveLocks(c.bo(), { callerStartTs: 0n, locks: [lock] });
    expect(res.msBeforeTxnExpired).toBe(0);
    expect(await c.read(key('fb1'))).toBeUndefined();
    expect(await c.read(key('fb2'))).toBeUndefined();
  });

  test('TestBatchResolveTxnFallenBackFromAsyncCommit', async () => {
    const lock = await prepareTxnFallenBackFromAsyncCommit();
    const loc = await c.conn.regionCache.locateKey(key('fb1'));
    expect(await c.resolver.batchResolveLocks(c.bo(), [lock], loc.region)).toBe(true);
    expect(await c.read(key('fb1'))).toBeUndefined();
    expect(await c.read(key('fb2'))).toBeUndefined();
  });

  test('TestResolveLocksForRead', async () => {
    const resolvedLocks: bigint[] = [];
    const committedLocks: bigint[] = [];
    const locks: LockInfo[] = [];
    const rk = keyOf('~lock_read');

    // commitTS < readStartTS
    let r = await lockKey(rk('k1'), 'v1', rk('k11'), 'v11', { commitPrimary: true });
    committedLocks.push(r.startTs);
    locks.push(await mustGetLock(rk('k1')));

    // rolled back
    r = await lockKey(rk('k2'), 'v2', rk('k22'), 'v22');
    await c.resolver.resolveLocks(c.bo(), {
      callerStartTs: 0n,
      locks: [{ ...(await mustGetLock(rk('k22'))), lockTtlMs: 0n }],
    });
    resolvedLocks.push(r.startTs);
    locks.push(await mustGetLock(rk('k2')));

    // pushed
    r = await lockKey(rk('k3'), 'v3', rk('k33'), 'v33');
    resolvedLocks.push(r.startTs);
    locks.push(await mustGetLock(rk('k3')));

    // can't be pushed and isn't expired
    await lockKey(rk('k4'), 'v4', rk('k44'), 'v44', { asyncCommit: true });
    locks.push(await mustGetLock(rk('k4')));

    // can't be pushed but is expired
    r = await lockKey(rk('k5'), 'v5', rk('k55'), 'v55', {
      asyncCommit: true,
      ttlMs: 1,
      startTs: c.pastTs(1000),
    });
    committedLocks.push(r.startTs);
    locks.push(await mustGetLock(rk('k5')));

    // commitTS > readStartTS
    const p = await c.prewrite({
      mutations: [
        [rk('k6'), k('v6')],
        [rk('k66'), k('v66')],
      ],
    });
    resolvedLocks.push(p.startTs);
    const readStartTs = await c.ts();
    const commitTs = await c.ts();
    expect(commitTs).toBeGreaterThan(readStartTs);
    await c.commitKeys([rk('k6')], p.startTs, commitTs);
    locks.push(await mustGetLock(rk('k66')));

    const res = await c.resolver.resolveLocksForRead(c.bo(), { callerStartTs: readStartTs, locks });
    expect(res.msBeforeTxnExpired).toBeGreaterThan(0);
    expect(res.resolvedLocks).toEqual(resolvedLocks);
    expect(res.committedLocks).toEqual(committedLocks);
    // Clean up what is left: the live 2PC and async-commit transactions.
    await c.resolver.whenIdle();
    await c.resolver.resolveLocks(c.bo(), {
      callerStartTs: 0n,
      locks: (await c.scanLocks(rk(''), rk('~'))).map((l) => ({ ...l, lockTtlMs: 0n })),
    });
  });

  describe.each([
    ['write', false],
    ['for_read', true],
  ])('TestBatchLiteResolveLocksByRegion (%s)', (name, forRead) => {
    test('a small transaction is resolved by its keys, one request per region', async () => {
      const liteThreshold = 8;
      const resolver = new LockResolver({ executor: c.exec, oracle: c.oracle, liteThreshold });
      const bk = (s: string): Uint8Array => k(`batch_lite_${name}_${s}`);
      c.split(`batch_lite_${name}_multi_m`);

      /** Prewrites all keys, commits only the primary: the secondaries' locks stay. */
      const prepareTxn = async (primary: Uint8Array, secondaries: Uint8Array[], txnSize: number) => {
        const { startTs } = await c.prewrite({
          mutations: [
            [primary, k('primary_value')],
            ...secondaries.map((s, i): [Uint8Array, Uint8Array] => [s, k(`v${i}`)]),
          ],
          primary,
          txnSize,
        });
        const commitTs = await c.ts();
        await c.commitKeys([primary], startTs, commitTs);
        const locks = await Promise.all(secondaries.map(mustGetLock));
        return { startTs, commitTs, locks };
      };
      const multiKeys = [bk('multi_a1'), bk('multi_a2'), bk('multi_z1')];
      const multi = await prepareTxn(bk('multi_primary'), multiKeys, multiKeys.length + 1);
      const single = await prepareTxn(bk('single_primary'), [bk('single_secondary')], 2);
      const regionLevel = await prepareTxn(bk('region_primary'), [bk('region_secondary')], liteThreshold + 1);
      // Pin the branch on the lock's own size.
      const pin = (locks: LockInfo[], txnSize: bigint) => locks.map((l) => ({ ...l, txnSize }));
      const locks = [
        ...pin(multi.locks, BigInt(liteThreshold - 1)),
        ...pin(single.locks, BigInt(liteThreshold - 1)),
        ...pin(regionLevel.locks, BigInt(liteThreshold + 1)),
      ];
      const loc1 = await c.conn.regionCache.locateKey(multiKeys[0]!);
      const loc2 = await c.conn.regionCache.locateKey(multiKeys[2]!);
      expect(loc1.region.id).not.toBe(loc2.region.id);

      c.sender.reset();
      const callerStartTs = forRead ? await c.ts() : 0n;
      const res = await resolver.resolveLocks(c.bo(), {
        callerStartTs,
        locks,
        forRead,
        requestSource: `batch_lite_resolve_${name}`,
      });
      expect(res.msBeforeTxnExpired).toBe(0);
      // A read goes on before the cleanup: it is still running when the call returns.
      expect(resolver.backgroundResolves > 0).toBe(forRead);
      await resolver.whenIdle();
      await resolver.close();

      const sent = c.sender.sent('ResolveLock');
      const byTxn = new Map<bigint, typeof sent>();
      for (const s of sent)
        byTxn.set(s.request.value.startVersion, [...(byTxn.get(s.request.value.startVersion) ?? []), s]);
      expect(byTxn.size).toBe(3);
      const multiReqs = byTxn.get(multi.startTs) ?? [];
      expect(multiReqs).toHaveLength(2);
      expect(multiReqs.every((r) => r.request.value.commitVersion === multi.commitTs)).toBe(true);
      expect(multiReqs.flatMap((r) => r.request.value.keys.map(t)).sort()).toEqual(multiKeys.map(t).sort());
      expect(multiReqs.map((r) => r.regionId).sort()).toEqual([loc1.region.id, loc2.region.id].sort());
      const singleReqs = byTxn.get(single.startTs) ?? [];
      expect(singleReqs).toHaveLength(1);
      expect(singleReqs[0]!.request.value.keys.map(t)).toEqual([t(bk('single_secondary'))]);
      const regionReqs = byTxn.get(regionLevel.startTs) ?? [];
      expect(regionReqs).toHaveLength(1);
      expect(regionReqs[0]!.request.value.commitVersion).toBe(regionLevel.commitTs);
      expect(regionReqs[0]!.request.value.keys).toHaveLength(0);
      expect(await c.scanLocks(bk(''), bk('\xff'))).toEqual([]);
    });
  });

  test('TestBatchLiteResolveLocksForReadIgnoresInlineCleanupError', async () => {
    const kk = key('batch_lite_for_read_fallback_key');
    const primary = key('batch_lite_for_read_fallback_primary');
    const { startTs } = await lockKey(kk, 'value', primary, 'primary_value', { commitPrimary: true });
    const lock = { ...(await mustGetLock(kk)), txnSize: 1n };
    const callerStartTs = await c.ts();
    // No room in the background: the cleanup runs in place, and its failure must not fail the read.
    const resolver = new LockResolver({ executor: c.exec, oracle: c.oracle, maxBackgroundResolves: 0 });
    const fault = c.cluster.inject({
      method: 'KvResolveLock',
      times: 1,
      error: { keyError: { abort: 'injected' } },
    });
    const res = await resolver.resolveLocksForRead(c.bo(), { callerStartTs, locks: [lock], lite: true });
    expect(fault.hits).toBe(1);
    expect(res.msBeforeTxnExpired).toBe(0);
    expect(res.resolvedLocks).toEqual([]);
    expect(res.committedLocks).toEqual([startTs]);
    expect(await c.getLock(kk)).toBeDefined();
    await resolver.resolveLocks(c.bo(), { callerStartTs: 0n, locks: [await mustGetLock(kk)] });
    expect(await c.getLock(kk)).toBeUndefined();
  });
});

describe('lock_resolver_test.go', () => {
  const key = keyOf('~lr_unit');

  test('TestLockResolverCache: a finished async-commit txn is resolved from the cache', async () => {
    const [k1, k2] = [key('k1'), key('k2')] as [Uint8Array, Uint8Array];
    const { startTs } = await c.prewrite({
      mutations: [
        [k1, k('1')],
        [k2, k('2')],
      ],
      asyncCommit: true,
      lockTtlMs: 1,
      startTs: c.pastTs(1000),
    });
    const resolver = new LockResolver({ executor: c.exec, oracle: c.oracle });
    const secondary = await mustGetLock(k2);
    // The first resolve asks the primary and the secondaries and caches the outcome.
    await resolver.resolveLocks(c.bo(), { callerStartTs: 5n, locks: [secondary] });
    const status = resolver.cachedStatus(startTs);
    expect(status?.isCommitted).toBe(true);
    // The same lock again: no CheckTxnStatus, no CheckSecondaryLocks; its keys are resolved again.
    c.sender.reset();
    await resolver.resolveLocks(c.bo(), { callerStartTs: 5n, locks: [secondary] });
    expect(c.sender.count('CheckTxnStatus')).toBe(0);
    expect(c.sender.count('CheckSecondaryLocks')).toBe(0);
    expect(c.sender.count('ResolveLock')).toBeGreaterThan(0);
    await resolver.close();
  });

  test('metrics, the diagnostics channel and a failing resolve', async () => {
    const counts = new Map<string, number>();
    const metrics = {
      incCounter: (name: string, labels?: Readonly<Record<string, string>>) => {
        const key2 = `${name}:${labels?.type}`;
        counts.set(key2, (counts.get(key2) ?? 0) + 1);
      },
      observeHistogram: () => {},
      setGauge: () => {},
    };
    const resolver = new LockResolver({ executor: c.exec, oracle: c.oracle, metrics });
    const kk = key('metrics');
    const { startTs } = await c.prewrite({ mutations: [[kk, k('v')]], lockTtlMs: 20_000 });
    const events: LockResolveEvent[] = [];
    const on = (e: unknown) => events.push(e as LockResolveEvent);
    diagnostics.subscribe(LOCK_RESOLVE_CHANNEL, on);
    try {
      const res = await resolver.resolveLocks(c.bo(), {
        callerStartTs: await c.ts(),
        locks: [await mustGetLock(kk)],
      });
      expect(res.msBeforeTxnExpired).toBeGreaterThan(0);
      c.cluster.inject({ method: 'KvCheckTxnStatus', times: 1, error: { keyError: { abort: 'boom' } } });
      await expect(
        resolver.resolveLocks(c.bo(), { callerStartTs: await c.ts(), locks: [await mustGetLock(kk)] }),
      ).rejects.toMatchObject({ code: 'TXN_ABORTED' });
    } finally {
      diagnostics.unsubscribe(LOCK_RESOLVE_CHANNEL, on);
    }
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ lockCount: 1, lockTxns: [startTs], forRead: false });
    expect(events[0]?.msBeforeTxnExpired).toBeGreaterThan(0);
    expect(events[1]?.error).toMatchObject({ code: 'TXN_ABORTED' });
    expect(counts.get(`${LOCK_RESOLVER_METRIC}:resolve`)).toBe(2);
    expect(counts.get(`${LOCK_RESOLVER_METRIC}:query_txn_status`)).toBe(2);
    expect(counts.get(`${LOCK_RESOLVER_METRIC}:not_expired`)).toBe(1);
    expect(counts.get(`${LOCK_RESOLVER_METRIC}:wait_expired`)).toBe(1);
    await resolver.resolveLocks(c.bo(), {
      callerStartTs: 0n,
      locks: [{ ...(await mustGetLock(kk)), lockTtlMs: 0n }],
    });
    await resolver.close();
  });

  test('getTxnStatus honours the abort signal; no locks resolve at once', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(c.resolver.getTxnStatus(1n, key('x'), { signal: ac.signal })).rejects.toThrow('stop');
    expect(await c.resolver.resolveLocks(c.bo(), { callerStartTs: 1n, locks: [] })).toEqual({
      msBeforeTxnExpired: 0,
      resolvedLocks: [],
      committedLocks: [],
    });
  });
});

describe('lock_test.go (testLockWithTiKVSuite, on the mock)', () => {
  const key = keyOf('~lock_tikv');

  test('TestPessimisticRollbackWithRead', async () => {
    const [k1, k2, k3] = [key('k1'), key('k2'), key('k3')] as [Uint8Array, Uint8Array, Uint8Array];
    const startTs = c.pastTs(5000);
    await c.pessimisticLock([k1, k2, k3], { primary: k1, startTs, lockTtlMs: 100 });
    expect(await c.scanLocks(key(''), key('~'), startTs + 1n)).toHaveLength(3);
    const pessimistic = (kk: Uint8Array, primary: Uint8Array) =>
      makeLockInfo({
        key: kk,
        primary,
        lockVersion: startTs,
        lockTtlMs: 10n,
        txnSize: 1024n,
        lockType: 'PessimisticLock',
        lockForUpdateTs: startTs,
        minCommitTs: startTs,
      });
    // The primary is rolled back by the status check, the rest of the region by one request.
    await c.resolver.resolveLocks(c.bo(), {
      callerStartTs: startTs + 1n,
      locks: [pessimistic(k3, k1)],
      pessimisticRegionResolve: true,
    });
    expect(await c.scanLocks(key(''), key('~'), startTs + 1n)).toHaveLength(0);
    expect(c.sender.sent('PessimisticRollback')).toHaveLength(1);
    expect(c.sender.sent('PessimisticRollback')[0]!.request.value.keys).toHaveLength(0);

    // Pessimistic locks and prewrite locks of one transaction: only the pessimistic ones go.
    const startTs2 = c.pastTs(4000);
    const lockKeys: Uint8Array[] = [];
    const prewriteKeys: Uint8Array[] = [];
    for (let i = 0; i < 40; i++)
      (i % 2 === 0 ? lockKeys : prewriteKeys).push(key(`m${String(i).padStart(4, '0')}`));
    await c.pessimisticLock(lockKeys, { primary: lockKeys[0], startTs: startTs2, lockTtlMs: 100 });
    await c.prewrite({
      mutations: prewriteKeys.map((kk) => [kk, k('val')]),
      primary: lockKeys[0],
      startTs: startTs2,
      forUpdateTs: startTs2,
      pessimisticCheck: false,
      lockTtlMs: 100,
    });
    const second = {
      ...pessimistic(lockKeys[1]!, lockKeys[0]!),
      lockVersion: startTs2,
      lockForUpdateTs: startTs2,
    };
    await c.resolver.resolveLocks(c.bo(), {
      callerStartTs: startTs2 + 1n,
      locks: [second],
      pessimisticRegionResolve: true,
    });
    const left = await c.scanLocks(key(''), key('~'), startTs2 + 1n);
    expect(left).toHaveLength(prewriteKeys.length);
    expect(left.every((l) => l.lockType === 'Put')).toBe(true);
    await c.resolver.resolveLocks(c.bo(), {
      callerStartTs: 0n,
      locks: left.map((l) => ({ ...l, lockTtlMs: 0n })),
    });
  });

  test('TestCheckTxnStatusSentToSecondary', async () => {
    const [k1, k2, k3] = [key('rb_k1'), key('rb_k2'), key('rb_k3')] as [Uint8Array, Uint8Array, Uint8Array];
    const startTs = c.pastTs(5000);
    // k1 and k2 locked with k1 as primary; the lock attempt failed and the txn chose k3 instead.
    await c.pessimisticLock([k1, k2], { primary: k1, startTs, lockTtlMs: 100 });
    const forUpdateTs = c.pastTs(4000);
    await c.pessimisticLock([k3], { primary: k3, startTs, forUpdateTs, lockTtlMs: 100 });
    await c.prewrite({
      mutations: [
        [k3, k('v3-1')],
        [k1, k('v1-1')],
      ],
      primary: k3,
      startTs,
      forUpdateTs,
      lockTtlMs: 100,
    });
    await c.commitKeys([k3], startTs, await c.ts());
    // k1: prewritten, primary k3; k2: stale pessimistic lock, primary k1; k3: committed.
    // A pessimistic lock does not block reads: scan for it.
    const [stale] = await c.scanLocks(k2, nextKey(k2));
    if (stale === undefined) throw new Error('no lock on k2');
    expect(stale.lockType).toBe('PessimisticLock');
    expect(t(stale.primary)).toBe(t(k1));
    const bo = c.bo();
    await expect(c.resolver.getTxnStatusFromLock(bo, stale, await c.ts())).rejects.toBeInstanceOf(
      PrimaryMismatchError,
    );
    await c.resolver.resolveLocks(bo, { callerStartTs: await c.ts(), locks: [stale] });
    expect(await c.scanLocks(k2, nextKey(k2))).toEqual([]);

    const snap = c.snapshot(await c.ts());
    expect(t(await snap.get(k3))).toBe('v3-1');
    expect(await snap.get(k2)).toBeUndefined();
    expect(t(await snap.get(k1))).toBe('v1-1');
  });

  test('a shared lock cannot be resolved directly', async () => {
    const shared = makeLockInfo({ key: key('shared'), primary: key('shared'), lockType: 'SharedLock' });
    const err = await c.resolver
      .resolveLocks(c.bo(), { callerStartTs: 1n, locks: [shared] })
      .catch((e: unknown) => e);
    expect(isTiKVError(err, 'INVALID_ARGUMENT')).toBe(true);
    await expect(
      c.resolver.batchResolveLocks(
        c.bo(),
        [shared],
        (await c.conn.regionCache.locateKey(key('shared'))).region,
      ),
    ).rejects.toThrow(/shared lock/);
  });
});
