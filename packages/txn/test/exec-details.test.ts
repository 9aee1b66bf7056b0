// Execution details of transactional reads and commit details (client-go util.ExecDetails,
// ScanDetail, TimeDetail, LockKeysDetails and CommitDetails, as onDetails / onLockDetails /
// onCommitDetails report them) against the embedded mock cluster, which fills ExecDetailsV2 as
// TiKV does.
import {
  type Clock,
  type CommitDetails,
  type ExecDetails,
  type LockKeysDetails,
  systemClock,
  WriteConflictError,
} from '@tikv/common';
import { MockCluster } from '@tikv/mock-cluster';
import { TransactionClient } from '../src/index.js';

const enc = new TextEncoder();
const k = (s: string): Uint8Array => enc.encode(s);

let cluster: MockCluster;
let client: TransactionClient;

beforeAll(async () => {
  cluster = await MockCluster.start({ regionKeyEncoding: 'memcomparable' });
  cluster.split([k('m')]);
  client = await TransactionClient.connect({ pdEndpoints: cluster.pdEndpoints });
  const txn = await client.begin();
  txn.put('a', 'va');
  txn.put('b', 'vbb');
  txn.put('n', 'vn');
  await txn.commit();
});

afterAll(async () => {
  await client.close();
  await cluster.close();
});

afterEach(() => cluster.clearFaults());

function capture<T>(): { readonly got: T[]; readonly cb: (d: T) => void; one(): T } {
  const got: T[] = [];
  return {
    got,
    cb: (d) => got.push(d),
    one: () => {
      expect(got).toHaveLength(1);
      return got[0] as T;
    },
  };
}

describe('reads', () => {
  test('a point get: one Get, and the scan and time details TiKV returned', async () => {
    const txn = await client.begin();
    const c = capture<ExecDetails>();
    expect(await txn.get('a', { onDetails: c.cb })).toEqual(k('va'));
    const d = c.one();
    expect(d.rpcByCommand.Get).toMatchObject({ count: 1, regionCount: 1 });
    expect(d.storeDetailCount).toBe(1);
    expect(d.scanDetail).toMatchObject({ totalKeys: 1, processedKeys: 1, processedKeysSize: 1 + 2 });
    expect(d.timeDetail.totalRpcWallTimeNs).toBeGreaterThan(0);
    expect(d.timeDetail.processTimeNs).toBeGreaterThan(0);
    expect(d.timeDetail.kvReadWallTimeNs).toBe(d.timeDetail.processTimeNs);
    expect(d.writeDetail.schedulerProcessNs).toBe(0);
    await txn.rollback();
  });

  test('an absent key: met but not processed', async () => {
    const txn = await client.begin();
    const c = capture<ExecDetails>();
    expect(await txn.get('zz', { onDetails: c.cb })).toBeUndefined();
    expect(c.one().scanDetail).toMatchObject({ totalKeys: 1, processedKeys: 0, processedKeysSize: 0 });
    await txn.rollback();
  });

  test('a batch get over two regions sums both responses', async () => {
    const txn = await client.begin();
    const c = capture<ExecDetails>();
    await txn.batchGet(['a', 'b', 'n', 'q'], { onDetails: c.cb });
    const d = c.one();
    expect(d.rpcByCommand.BatchGet).toMatchObject({ count: 2, regionCount: 2 });
    expect(d.storeDetailCount).toBe(2);
    expect(d.scanDetail).toMatchObject({
      totalKeys: 4,
      processedKeys: 3,
      processedKeysSize: 1 + 2 + (1 + 3) + (1 + 2),
    });
    await txn.rollback();
  });

  test('a read the buffer answers reports empty details, once', async () => {
    const txn = await client.begin();
    txn.put('a', 'mine');
    const c = capture<ExecDetails>();
    expect(await txn.get('a', { onDetails: c.cb })).toEqual(k('mine'));
    expect(c.one().rpcCount).toBe(0);
    await txn.rollback();
  });

  test('a snapshot read after an injected region error: the error label and regionMiss backoff', async () => {
    const snap = client.snapshot(await client.currentTimestamp());
    cluster.inject({ method: 'KvGet', times: 1, error: 'EpochNotMatch' });
    const c = capture<ExecDetails>();
    expect(await snap.get(k('a'), { onDetails: c.cb })).toEqual(k('va'));
    const d = c.one();
    expect(d.requestErrors).toEqual({ epoch_not_match: 1 });
    expect(d.rpcByCommand.Get).toMatchObject({ count: 2, regionCount: 1 });
    expect(d.backoffCountByKind).toEqual({ regionMiss: 1 });
    expect(d.backoffMs).toBe(d.backoffMsByKind.regionMiss);
    // Only the answered attempt carried TiKV's details.
    expect(d.storeDetailCount).toBe(1);
  });

  test('a transaction scan reports the snapshot scan under its buffer, once', async () => {
    const txn = await client.begin();
    txn.put('aa', 'buffered');
    const c = capture<ExecDetails>();
    const pairs = await txn.scan('a', 'c', { onDetails: c.cb });
    expect(pairs.map((p) => new TextDecoder().decode(p.key))).toEqual(['a', 'aa', 'b']);
    expect(c.one().rpcByCommand.Scan?.count).toBeGreaterThanOrEqual(1);
    await txn.rollback();
  });

  test('a read that meets a lock counts the lock resolution and its requests', async () => {
    const first = await client.begin();
    const startTs = first.startTs;
    await first.rollback();
    cluster.strandTransaction({ keys: [k('s1'), k('s2')], startTs, commitPrimaryTs: startTs + 1n });
    const txn = await client.begin();
    const c = capture<ExecDetails>();
    expect(await txn.get('s2', { onDetails: c.cb })).toEqual(k('s2'));
    const d = c.one();
    expect(d.resolveLockMs).toBeGreaterThan(0);
    expect(d.rpcByCommand.CheckTxnStatus?.count).toBeGreaterThanOrEqual(1);
    expect(d.rpcByCommand.Get?.count).toBeGreaterThanOrEqual(2);
    await txn.rollback();
  });
});

test('lockKeys in a pessimistic transaction reports its PessimisticLock requests, once', async () => {
  const txn = await client.begin({ pessimistic: true });
  const c = capture<ExecDetails>();
  await txn.lockKeys([k('p1'), k('p2')], { onDetails: c.cb });
  expect(c.one().rpcByCommand.PessimisticLock?.count).toBeGreaterThanOrEqual(1);
  const again = capture<ExecDetails>();
  await txn.lockKeys([k('p1')], { onDetails: again.cb });
  // Already locked: nothing sent.
  expect(again.one().rpcCount).toBe(0);
  await txn.rollback();
});

describe('lockKeys details (client-go LockKeysDetails)', () => {
  test('two keys over two regions: keys, regions, lock RPCs and TiKV write details; onDetails gets the same exec', async () => {
    const txn = await client.begin({ pessimistic: true });
    const c = capture<LockKeysDetails>();
    const e = capture<ExecDetails>();
    await txn.lockKeys([k('l1'), k('x1'), k('l1')], { onLockDetails: c.cb, onDetails: e.cb });
    const d = c.one();
    expect(d.lockKeys).toBe(2);
    expect(d.regionCount).toBe(2);
    expect(d.lockRpcCount).toBe(2);
    expect(d.lockRpcTimeMs).toBe(d.exec.rpcByCommand.PessimisticLock?.timeMs);
    expect(d.retryCount).toBe(0);
    expect(d.backoffKinds).toEqual([]);
    expect(d.backoffMs).toBe(0);
    expect(d.resolveLockMs).toBe(0);
    expect(d.aggressiveLockNewCount).toBe(0);
    expect(d.aggressiveLockDerivedCount).toBe(0);
    expect(d.exec.storeDetailCount).toBe(2);
    expect(d.exec.writeDetail.schedulerProcessNs).toBeGreaterThan(0);
    expect(d.exec.writeDetail.schedulerPessimisticLockWaitNs).toBe(0);
    expect(d.totalMs).toBeGreaterThanOrEqual(0);
    expect(e.one()).toBe(d.exec);

    // Already held keys are not counted; an optimistic transaction locks nothing in TiKV.
    const again = capture<LockKeysDetails>();
    await txn.lockKeys([k('l1'), k('l2')], { onLockDetails: again.cb });
    expect(again.one()).toMatchObject({ lockKeys: 1, lockRpcCount: 1, regionCount: 1 });
    await txn.rollback();
    const optimistic = await client.begin();
    const none = capture<LockKeysDetails>();
    await optimistic.lockKeys([k('l3')], { onLockDetails: none.cb });
    expect(none.one()).toMatchObject({ lockKeys: 0, lockRpcCount: 0, regionCount: 0 });
    await optimistic.rollback();
  });

  test('a region error: the regionMiss backoff in order, one region, two attempts', async () => {
    const txn = await client.begin({ pessimistic: true });
    cluster.inject({ method: 'KvPessimisticLock', times: 1, error: 'EpochNotMatch' });
    const c = capture<LockKeysDetails>();
    await txn.lockKeys([k('l4')], { onLockDetails: c.cb });
    const d = c.one();
    expect(d.backoffKinds).toEqual(['regionMiss']);
    expect(d.backoffMs).toBe(d.exec.backoffMsByKind.regionMiss);
    expect(d.lockRpcCount).toBe(2);
    expect(d.regionCount).toBe(1);
    expect(d.exec.requestErrors).toEqual({ epoch_not_match: 1 });
    await txn.rollback();
  });

  test('a lock left by a dead transaction: resolve time and its requests', async () => {
    const first = await client.begin();
    const startTs = first.startTs;
    await first.rollback();
    cluster.strandTransaction({ keys: [k('l5'), k('l6')], startTs, commitPrimaryTs: startTs + 1n });
    const txn = await client.begin({ pessimistic: true });
    const c = capture<LockKeysDetails>();
    await txn.lockKeys([k('l6')], { onLockDetails: c.cb });
    const d = c.one();
    expect(d.resolveLockMs).toBeGreaterThan(0);
    expect(d.resolveLockMs).toBe(d.exec.resolveLockMs);
    expect(d.exec.rpcByCommand.CheckTxnStatus?.count).toBeGreaterThanOrEqual(1);
    expect(d.lockRpcCount).toBeGreaterThanOrEqual(2);
    // TiKV's details of the lock resolution's requests are in exec too.
    expect(d.exec.storeDetailCount).toBeGreaterThan(d.lockRpcCount);
    await txn.rollback();
  });

  test('a wait for another transaction that then commits: lock wait time and a for-update ts retry', async () => {
    const holder = await client.begin({ pessimistic: true });
    await holder.lockKeys([k('l7')]);
    const txn = await client.begin({ pessimistic: true });
    const c = capture<LockKeysDetails>();
    const waiting = cluster.whenLockWaiting(txn.startTs);
    const pending = txn.lockKeys([k('l7')], { onLockDetails: c.cb });
    await waiting;
    holder.put('l7', 'held');
    await holder.commit();
    await pending;
    const d = c.one();
    // Woken by the commit with a write conflict: locked again at a newer for-update ts.
    expect(d.retryCount).toBe(1);
    expect(d.lockRpcCount).toBe(2);
    expect(d.lockKeys).toBe(1);
    expect(d.exec.writeDetail.schedulerPessimisticLockWaitNs).toBeGreaterThan(0);
    await txn.rollback();
  });

  test('aggressive locking: new, locked-with-conflict and derived counts', async () => {
    const holder = await client.begin({ pessimistic: true });
    await holder.lockKeys([k('l8')]);
    const txn = await client.begin({ pessimistic: true });
    await txn.startAggressiveLocking();
    const c = capture<LockKeysDetails>();
    const waiting = cluster.whenLockWaiting(txn.startTs);
    const pending = txn.lockKeys([k('l8')], { onLockDetails: c.cb });
    await waiting;
    holder.put('l8', 'newer');
    await holder.commit();
    const [r] = await pending;
    expect(r?.lockedWithConflictTs).toBeGreaterThan(0n);
    expect(c.one()).toMatchObject({
      lockKeys: 1,
      aggressiveLockNewCount: 1,
      lockedWithConflictCount: 1,
      aggressiveLockDerivedCount: 0,
    });
    // The next attempt keeps the lock without a request.
    await txn.retryAggressiveLocking();
    const next = capture<LockKeysDetails>();
    await txn.lockKeys([k('l8')], { onLockDetails: next.cb });
    expect(next.one()).toMatchObject({
      lockKeys: 1,
      aggressiveLockNewCount: 0,
      aggressiveLockDerivedCount: 1,
      lockRpcCount: 0,
    });
    await txn.doneAggressiveLocking();
    await txn.rollback();
  });

  test('a failed call reports once; a non-function callback is refused', async () => {
    const holder = await client.begin({ pessimistic: true });
    await holder.lockKeys([k('l9')]);
    const txn = await client.begin({ pessimistic: true });
    const c = capture<LockKeysDetails>();
    await expect(txn.lockKeys([k('l9')], { noWait: true, onLockDetails: c.cb })).rejects.toMatchObject({
      code: 'LOCK_ACQUIRE_FAILED_NO_WAIT',
    });
    expect(c.one()).toMatchObject({ lockKeys: 1, lockRpcCount: 1 });
    await expect(
      txn.lockKeys([k('l10')], { onLockDetails: 1 as unknown as (d: LockKeysDetails) => void }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await txn.rollback();
    await holder.rollback();
  });
});

describe('commit', () => {
  test('a 2-key commit over two regions: phases, regions, writes and TiKV write details', async () => {
    const txn = await client.begin();
    txn.put('c', 'v1');
    txn.put('o', 'v22');
    const c = capture<CommitDetails>();
    await txn.commit({ onCommitDetails: c.cb });
    const d = c.one();
    expect(d.writeKeys).toBe(2);
    expect(d.writeSizeBytes).toBe(1 + 2 + 1 + 3);
    expect(d.prewriteRegionCount).toBe(2);
    expect(d.prewriteRequestCount).toBe(2);
    expect(d.prewriteBackoffKinds).toEqual([]);
    expect(d.commitBackoffKinds).toEqual([]);
    expect(d.commitBackoffMs).toBe(0);
    expect(d.exec.rpcByCommand.Commit?.count).toBeGreaterThanOrEqual(1);
    expect(d.exec.writeDetail.schedulerProcessNs).toBeGreaterThan(0);
    expect(d.exec.storeDetailCount).toBeGreaterThanOrEqual(3);
    for (const ms of [d.prewriteMs, d.commitMs, d.getCommitTsMs]) expect(ms).toBeGreaterThanOrEqual(0);
  });

  test('a region error in prewrite shows in the prewrite backoff kinds, not the commit ones', async () => {
    const txn = await client.begin();
    txn.put('d', 'v');
    const fault = cluster.inject({ method: 'KvPrewrite', times: 1, error: 'EpochNotMatch' });
    const c = capture<CommitDetails>();
    await txn.commit({ onCommitDetails: c.cb });
    expect(fault.hits).toBe(1);
    const d = c.one();
    expect(d.prewriteBackoffKinds).toEqual(['regionMiss']);
    expect(d.commitBackoffKinds).toEqual([]);
    expect(d.commitBackoffMs).toBe(d.exec.backoffMsByKind.regionMiss);
    expect(d.exec.requestErrors).toEqual({ epoch_not_match: 1 });
    expect(d.prewriteRequestCount).toBe(2);
    expect(d.prewriteRegionCount).toBe(1);
  });

  test('a region error in the commit phase shows in the commit backoff kinds', async () => {
    const txn = await client.begin();
    txn.put('e', 'v');
    cluster.inject({ method: 'KvCommit', times: 1, error: 'EpochNotMatch' });
    const c = capture<CommitDetails>();
    await txn.commit({ onCommitDetails: c.cb });
    const d = c.one();
    expect(d.prewriteBackoffKinds).toEqual([]);
    expect(d.commitBackoffKinds).toEqual(['regionMiss']);
  });

  test('an empty commit reports once; a non-function callback is refused', async () => {
    const txn = await client.begin();
    const c = capture<CommitDetails>();
    expect(await txn.commit({ onCommitDetails: c.cb })).toBe(0n);
    expect(c.one()).toMatchObject({ writeKeys: 0, prewriteRequestCount: 0 });
    const bad = await client.begin();
    bad.put('f', 'v');
    await expect(
      bad.commit({ onCommitDetails: 1 as unknown as (d: CommitDetails) => void }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('commit: local latch wait and the latest ts (client-go LocalLatchTime, GetLatestTsTime)', () => {
  // Every reading advances by at least 1 ms, and `skewMs` moves the time on at will: a measured
  // interval is then >= 1 and one never measured stays 0, with no sleep or timing race.
  let ticks = 0;
  let skewMs = 0;
  const ticking: Clock = {
    now: () => systemClock.now() + ++ticks + skewMs,
    sleep: (ms, signal, o) => systemClock.sleep(ms, signal, o),
    setTimer: (ms, cb, arg, o) => systemClock.setTimer(ms, cb, arg, o),
    clearTimer: (t) => systemClock.clearTimer(t),
  };
  let latched: TransactionClient;
  beforeAll(async () => {
    latched = await TransactionClient.connect({
      pdEndpoints: cluster.pdEndpoints,
      localLatchSlots: 64,
      clock: ticking,
    });
  });
  afterAll(async () => {
    await latched.close();
  });

  test('2PC fetches no latest ts; async commit and 1PC do, unless causally consistent', async () => {
    const twoPc = await latched.begin();
    twoPc.put('g1', 'v');
    const c2 = capture<CommitDetails>();
    await twoPc.commit({ onCommitDetails: c2.cb });
    expect(c2.one().getLatestTsMs).toBe(0);
    for (const begin of [{ asyncCommit: true }, { onePc: true }]) {
      const txn = await latched.begin(begin);
      txn.put('g2', 'v');
      const c = capture<CommitDetails>();
      await txn.commit({ onCommitDetails: c.cb });
      expect(c.one().getLatestTsMs).toBeGreaterThanOrEqual(1);
    }
    const causal = await latched.begin({ asyncCommit: true, causalConsistency: true });
    causal.put('g3', 'v');
    const cc = capture<CommitDetails>();
    await causal.commit({ onCommitDetails: cc.cb });
    expect(cc.one().getLatestTsMs).toBe(0);
  });

  test('without local latches the latch wait is 0; with them it is measured', async () => {
    const plain = await client.begin();
    plain.put('g4', 'v');
    const c = capture<CommitDetails>();
    await plain.commit({ onCommitDetails: c.cb });
    expect(c.one().localLatchWaitMs).toBe(0);
    const txn = await latched.begin();
    txn.put('g4', 'v');
    const l = capture<CommitDetails>();
    await txn.commit({ onCommitDetails: l.cb });
    expect(l.one().localLatchWaitMs).toBeGreaterThanOrEqual(1);
  });

  test('a commit waiting behind another on the same key: its wait, and its details when the latch finds it stale', async () => {
    const first = await latched.begin();
    const second = await latched.begin();
    first.put('g5', '1');
    second.put('g5', '2');
    const a = capture<CommitDetails>();
    const b = capture<CommitDetails>();
    // The first commit's details arrive before it releases the latch: move time on there, while
    // the second commit waits.
    const pa = first.commit({
      onCommitDetails: (d) => {
        skewMs += 1_000;
        a.cb(d);
      },
    });
    const pb = second.commit({ onCommitDetails: b.cb });
    await pa;
    await expect(pb).rejects.toBeInstanceOf(WriteConflictError);
    expect(a.one().localLatchWaitMs).toBeLessThan(1_000);
    const d = b.one();
    expect(d.localLatchWaitMs).toBeGreaterThanOrEqual(1_000);
    // Ended at the latch: nothing was sent.
    expect(d).toMatchObject({ writeKeys: 1, writeSizeBytes: 2 + 1, prewriteRequestCount: 0 });
    expect(d.exec.rpcCount).toBe(0);
  });

  test('a commit aborted while it waits for the latch reports its wait, once', async () => {
    const first = await latched.begin();
    const second = await latched.begin();
    first.put('g6', '1');
    second.put('g6', '2');
    const b = capture<CommitDetails>();
    const ac = new AbortController();
    const pa = first.commit();
    const pb = second.commit({ signal: ac.signal, onCommitDetails: b.cb });
    ac.abort(new Error('stop waiting'));
    await expect(pb).rejects.toThrow('stop waiting');
    await pa;
    const d = b.one();
    expect(d.localLatchWaitMs).toBeGreaterThanOrEqual(1);
    expect(d).toMatchObject({ writeKeys: 1, prewriteRequestCount: 0 });
  });
});
