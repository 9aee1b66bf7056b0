import { kvrpcpb } from '@tikv/proto';
import { b, ctxFor, TestClients, text } from '../../test/test-helpers.js';
import { toMetaPeer } from '../cluster/region-wire.js';
import { MockCluster } from '../index.js';
import { composeTs } from '../mvcc/txn-key.js';

const put = (key: string, value: string): kvrpcpb.Mutation => ({
  op: kvrpcpb.Op.Put,
  key: b(key),
  value: b(value),
  assertion: 0,
});

describe('SplitRegion, UnsafeDestroyRange, safe ts, stale and replica reads, txn faults', () => {
  let cluster: MockCluster;
  let c: TestClients;
  let nowMs = 1_000_000;
  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 3, nowMs: () => nowMs });
    c = new TestClients(cluster);
  });
  afterAll(async () => {
    c.close();
    await cluster.close();
  });
  const kv = (key: string) => c.leaderKv(cluster.regionByKey(key));
  const ctx = (key: string) => ctxFor(cluster.regionByKey(key));

  it('SplitRegion splits at the keys and returns every part; bad keys get region errors', async () => {
    const before = cluster.regionByKey('s');
    const r = await kv('s').splitRegion({ context: ctx('s'), splitKeys: [b('s5'), b('s2')] });
    expect(r.regionError).toBeUndefined();
    expect(r.regions).toHaveLength(3);
    expect(cluster.regionByKey('s3').id).not.toBe(before.id);
    const stale = await kv('s3').splitRegion({
      context: { ...ctx('s3'), regionEpoch: { confVer: 1n, version: 0n } },
      splitKeys: [b('s4')],
    });
    expect(stale.regionError?.epochNotMatch).toBeDefined();
    const outside = await kv('s3').splitRegion({ context: ctx('s3'), splitKeys: [b('s9')] });
    expect(outside.regionError?.keyNotInRegion).toBeDefined();
    const two = await kv('s3').splitRegion({ context: ctx('s3'), splitKey: b('s3') });
    expect(two.left).toBeDefined();
    expect(two.right).toBeDefined();
  });

  it('UnsafeDestroyRange drops the range in every column family', async () => {
    await kv('u1').kvPrewrite({
      context: ctx('u1'),
      mutations: [put('u1', 'v')],
      primaryLock: b('u1'),
      startVersion: 10n,
    });
    await kv('u1').kvCommit({ context: ctx('u1'), startVersion: 10n, keys: [b('u1')], commitVersion: 11n });
    await kv('u2').kvPrewrite({
      context: ctx('u2'),
      mutations: [put('u2', 'v')],
      primaryLock: b('u2'),
      startVersion: 12n,
    });
    const r = await c.kv(1).unsafeDestroyRange({ startKey: b('u'), endKey: b('v') });
    expect(r.error).toBe('');
    const info = await kv('u1').mvccGetByKey({ context: ctx('u1'), key: b('u1') });
    expect(info.info?.writes).toEqual([]);
    expect((await kv('u2').mvccGetByKey({ context: ctx('u2'), key: b('u2') })).info?.lock).toBeUndefined();
    expect(
      (await c.kv(1).unsafeDestroyRange({ startKey: b('u'), endKey: new Uint8Array(0) })).error,
    ).not.toBe('');
  });

  it('safe ts follows the clock and stays below the oldest lock; stale reads above it get DataIsNotReady', async () => {
    const now = composeTs(BigInt(nowMs));
    const all = await c
      .kv(1)
      .getStoreSafeTS({ keyRange: { startKey: new Uint8Array(0), endKey: new Uint8Array(0) } });
    expect(all.safeTs).toBe(now);
    await kv('w1').kvPrewrite({
      context: ctx('w1'),
      mutations: [put('w1', 'v')],
      primaryLock: b('w1'),
      startVersion: now - 100n,
    });
    const held = await c.kv(1).getStoreSafeTS({ keyRange: { startKey: b('w'), endKey: b('x') } });
    expect(held.safeTs).toBe(now - 101n);
    const region = cluster.regionByKey('w1');
    const follower = region.peers.find((p) => p.storeId !== region.leader.storeId);
    if (follower === undefined) throw new Error('no follower');
    const staleCtx = { ...ctxFor(region), peer: toMetaPeer(follower), staleRead: true };
    const notReady = await c.kv(follower.storeId).kvGet({ context: staleCtx, key: b('w0'), version: now });
    expect(notReady.regionError?.dataIsNotReady).toEqual({
      regionId: region.id,
      peerId: follower.id,
      safeTs: now - 101n,
    });
    const ok = await c.kv(follower.storeId).kvGet({ context: staleCtx, key: b('w0'), version: now - 200n });
    expect(ok.regionError).toBeUndefined();
    // The leader serves a stale read above the safe ts as a leader read (TiKV falls back).
    const onLeader = await c.kv(region.leader.storeId).kvGet({
      context: { ...ctxFor(region), staleRead: true },
      key: b('w0'),
      version: now,
    });
    expect(onLeader.regionError).toBeUndefined();
    cluster.setResolvedTsLagMs(10);
    expect((await c.kv(1).getStoreSafeTS({ keyRange: { startKey: b('a'), endKey: b('b') } })).safeTs).toBe(
      composeTs(BigInt(nowMs - 10)),
    );
    cluster.setResolvedTsLagMs(0);
    nowMs += 1000;
  });

  it('a follower replica read sees every committed write and the locks the leader sees', async () => {
    const region = cluster.regionByKey('r1');
    await kv('r1').kvPrewrite({
      context: ctx('r1'),
      mutations: [put('r1', 'v1')],
      primaryLock: b('r1'),
      startVersion: 100n,
    });
    await kv('r1').kvCommit({ context: ctx('r1'), startVersion: 100n, keys: [b('r1')], commitVersion: 101n });
    const follower = region.peers.find((p) => p.storeId !== region.leader.storeId);
    if (follower === undefined) throw new Error('no follower');
    const replica = { ...ctxFor(region), peer: toMetaPeer(follower), replicaRead: true };
    expect(
      text((await c.kv(follower.storeId).kvGet({ context: replica, key: b('r1'), version: 102n })).value),
    ).toBe('v1');
    await kv('r1').kvPrewrite({
      context: ctx('r1'),
      mutations: [put('r1', 'v2')],
      primaryLock: b('r1'),
      startVersion: 110n,
    });
    const max = 0xffff_ffff_ffff_ffffn;
    const leaderRead = await kv('r1').kvGet({ context: ctx('r1'), key: b('r1'), version: max });
    expect(text(leaderRead.value)).toBe('v1');
    // The persisted lock of a 2PC primary does not block a ts = max read, on the leader or a replica.
    const replicaRead = await c.kv(follower.storeId).kvGet({ context: replica, key: b('r1'), version: max });
    expect(text(replicaRead.value)).toBe('v1');
    const blocked = await c.kv(follower.storeId).kvGet({ context: replica, key: b('r1'), version: 120n });
    expect(blocked.error?.locked?.lockVersion).toBe(110n);
  });

  it('BroadcastTxnStatus fills the store’s txn status cache, which moves the safe ts past a pipelined transaction’s locks', async () => {
    const now = composeTs(BigInt(nowMs));
    const startTs = now - 1000n;
    const range = { startKey: b('pb'), endKey: b('pc') };
    cluster.split([b('pb'), b('pc')]); // away from the other tests' locks
    const region = cluster.regionByKey('pb1');
    const flushed = await kv('pb1').kvFlush({
      context: ctx('pb1'),
      mutations: [put('pb1', 'v'), put('pb2', 'v')],
      primaryKey: b('pb1'),
      startTs,
      minCommitTs: startTs + 1n,
      generation: 1n,
      lockTtl: 3000n,
    });
    expect(flushed.errors).toEqual([]);
    const safeTsOn = async (storeId: bigint) =>
      (await c.kv(storeId).getStoreSafeTS({ keyRange: range })).safeTs;
    // The store told is a follower (a leader never answers a stale read DataIsNotReady: it reads as
    // the leader instead); the other store is the leader's.
    const follower = region.peers.find((p) => p.storeId !== region.leader.storeId);
    if (follower === undefined) throw new Error('no follower');
    const told = follower.storeId;
    const other = region.leader.storeId;
    const staleCtx = { ...ctxFor(region), peer: toMetaPeer(follower), staleRead: true };
    const staleRead = (version: bigint) => c.kv(told).kvGet({ context: staleCtx, key: b('pb0'), version });
    // Unknown to the cache: the locks hold the safe ts below the start ts, as any lock does.
    expect(await safeTsOn(told)).toBe(startTs - 1n);
    expect((await staleRead(startTs + 100n)).regionError?.dataIsNotReady).toBeDefined();
    // Ongoing with a min commit ts: held below it instead, on the store told only.
    expect(
      await c.kv(told).broadcastTxnStatus({ txnStatus: [{ startTs, minCommitTs: startTs + 500n }] }),
    ).toEqual({});
    expect(cluster.txnStatus(told, startTs)).toEqual({ kind: 'ongoing', minCommitTs: startTs + 500n });
    expect(await safeTsOn(told)).toBe(startTs + 499n);
    expect(cluster.txnStatus(other, startTs)).toBeUndefined();
    expect(await safeTsOn(other)).toBe(startTs - 1n);
    // A smaller min commit ts does not move it back.
    await c.kv(told).broadcastTxnStatus({ txnStatus: [{ startTs, minCommitTs: startTs + 10n }] });
    expect(cluster.txnStatus(told, startTs)).toEqual({ kind: 'ongoing', minCommitTs: startTs + 500n });
    // A stale read on that store may now read below the min commit ts.
    expect((await staleRead(startTs + 100n)).regionError).toBeUndefined();
    // Committed: the locks hold nothing any more (readers resolve them); completed leaves it cached.
    await c.kv(told).broadcastTxnStatus({
      txnStatus: [{ startTs, minCommitTs: startTs + 500n, commitTs: startTs + 600n }],
    });
    expect(cluster.txnStatus(told, startTs)).toEqual({ kind: 'committed', commitTs: startTs + 600n });
    expect(await safeTsOn(told)).toBe(now);
    await c
      .kv(told)
      .broadcastTxnStatus({ txnStatus: [{ startTs, commitTs: startTs + 600n, isCompleted: true }] });
    expect(cluster.txnStatus(told, startTs)).toEqual({ kind: 'committed', commitTs: startTs + 600n });
    // Rolled back on the other store; a completed status that is still ongoing is refused (TiKV asserts it).
    await c.kv(other).broadcastTxnStatus({ txnStatus: [{ startTs, rolledBack: true }] });
    expect(cluster.txnStatus(other, startTs)).toEqual({ kind: 'rolledBack' });
    expect(await safeTsOn(other)).toBe(now);
    await expect(
      c.kv(other).broadcastTxnStatus({ txnStatus: [{ startTs: 7n, minCommitTs: 9n, isCompleted: true }] }),
    ).rejects.toThrow();
    await kv('pb1').kvResolveLock({
      context: ctx('pb1'),
      startVersion: startTs,
      commitVersion: startTs + 600n,
    });
  });

  it('inject({ keyError }) answers the next matching requests with it', async () => {
    const fault = cluster.inject({
      method: 'KvCommit',
      times: 1,
      error: { keyError: { txnLockNotFound: { key: b('x') } } },
    });
    const r = await kv('x').kvCommit({
      context: ctx('x'),
      startVersion: 1n,
      keys: [b('x')],
      commitVersion: 2n,
    });
    expect(r.error?.txnLockNotFound?.key).toEqual(b('x'));
    expect(fault.hits).toBe(1);
    cluster.inject({ method: 'KvPrewrite', times: 1, error: { keyError: { abort: 'injected' } } });
    const p = await kv('x').kvPrewrite({
      context: ctx('x'),
      mutations: [put('x', 'v')],
      primaryLock: b('x'),
      startVersion: 5n,
    });
    expect(p.errors[0]?.abort).toBe('injected');
  });

  it('a stranded transaction leaves locks that lock resolution cleans up', async () => {
    const stranded = cluster.strandTransaction({
      keys: [b('t1'), b('t2')],
      startTs: composeTs(BigInt(nowMs - 10_000)),
      lockTtlMs: 100,
    });
    expect(text(stranded.primary)).toBe('t1');
    const blocked = await kv('t2').kvGet({
      context: ctx('t2'),
      key: b('t2'),
      version: composeTs(BigInt(nowMs)),
    });
    expect(blocked.error?.locked?.primaryLock).toEqual(b('t1'));
    const status = await kv('t1').kvCheckTxnStatus({
      context: ctx('t1'),
      primaryKey: b('t1'),
      lockTs: stranded.startTs,
      currentTs: composeTs(BigInt(nowMs)),
    });
    expect(status.action).toBe(kvrpcpb.Action.TTLExpireRollback);
    await kv('t2').kvResolveLock({ context: ctx('t2'), startVersion: stranded.startTs, commitVersion: 0n });
    expect(
      (await kv('t2').kvGet({ context: ctx('t2'), key: b('t2'), version: composeTs(BigInt(nowMs)) }))
        .notFound,
    ).toBe(true);
    // Timestamps PD's TSO can issue by now (TiKV refuses a CheckSecondaryLocks ts beyond it).
    nowMs += 6000;
    const start = composeTs(BigInt(nowMs - 1000));
    const half = cluster.strandTransaction({
      keys: [b('t3'), b('t4')],
      startTs: start,
      commitPrimaryTs: composeTs(BigInt(nowMs)),
      asyncCommit: true,
    });
    expect(half.minCommitTs).toBe(start + 1n);
    const sec = await kv('t4').kvCheckSecondaryLocks({
      context: ctx('t4'),
      keys: [b('t4')],
      startVersion: start,
    });
    expect(sec.locks[0]?.useAsyncCommit).toBe(true);
  });
});
