import { kvrpcpb, type tikvpb } from '@tikv/proto';
import { b, ctxFor, TestClients, text } from '../../test/test-helpers.js';
import { keyspacePrefix } from '../api-version.js';
import { ApiVersion, MockCluster } from '../index.js';

const { Op } = kvrpcpb;
const put = (key: string, value: string): kvrpcpb.Mutation => ({
  op: Op.Put,
  key: b(key),
  value: b(value),
  assertion: 0,
});

describe('transactional commands over gRPC (API V1)', () => {
  let cluster: MockCluster;
  let c: TestClients;
  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 3, splitKeys: ['m'] });
    c = new TestClients(cluster);
  });
  afterAll(async () => {
    c.close();
    await cluster.close();
  });
  const kv = (key = 'a') => c.leaderKv(cluster.regionByKey(key));
  const ctx = (key = 'a') => ctxFor(cluster.regionByKey(key));

  it('prewrite, commit, get, batch get and scan (forward, reverse, key-only)', async () => {
    const pre = await kv().kvPrewrite({
      context: ctx(),
      mutations: [
        put('a1', 'v1'),
        put('a2', 'v2'),
        { op: Op.Put, key: b('a3'), value: b('x'.repeat(300)), assertion: 0 },
      ],
      primaryLock: b('a1'),
      startVersion: 10n,
      lockTtl: 3000n,
    });
    expect(pre.errors).toEqual([]);
    expect(pre.regionError).toBeUndefined();
    // A read above the lock sees it, with the full LockInfo.
    const blocked = await kv().kvGet({ context: ctx(), key: b('a2'), version: 15n });
    expect(blocked.error?.locked).toMatchObject({
      primaryLock: b('a1'),
      lockVersion: 10n,
      key: b('a2'),
      lockTtl: 3000n,
      lockType: Op.Put,
    });
    const commit = await kv().kvCommit({
      context: ctx(),
      startVersion: 10n,
      keys: [b('a1'), b('a2'), b('a3')],
      commitVersion: 20n,
    });
    expect(commit.error).toBeUndefined();
    expect(commit.commitVersion).toBe(20n);
    const got = await kv().kvGet({ context: ctx(), key: b('a1'), version: 25n, needCommitTs: true });
    expect([text(got.value), got.commitTs, got.notFound]).toEqual(['v1', 20n, false]);
    expect((await kv().kvGet({ context: ctx(), key: b('a1'), version: 15n })).notFound).toBe(true);
    const bg = await kv().kvBatchGet({ context: ctx(), keys: [b('a1'), b('zz0'), b('a3')], version: 25n });
    // A key outside the region fails alone, as an abort from TiKV's region snapshot.
    expect(bg.regionError).toBeUndefined();
    expect(bg.pairs.map((p) => p.error?.abort ?? text(p.key))).toEqual([
      'a1',
      expect.stringMatching(/is out of \[region /),
      'a3',
    ]);
    const bg2 = await kv().kvBatchGet({ context: ctx(), keys: [b('a1'), b('a0'), b('a3')], version: 25n });
    expect(bg2.pairs.map((p) => text(p.key))).toEqual(['a1', 'a3']);
    const scan = await kv().kvScan({
      context: ctx(),
      startKey: b('a'),
      endKey: b('b'),
      limit: 10,
      version: 25n,
    });
    expect(scan.pairs.map((p) => text(p.key))).toEqual(['a1', 'a2', 'a3']);
    const rev = await kv().kvScan({
      context: ctx(),
      startKey: b('a3'),
      endKey: b('a'),
      limit: 10,
      version: 25n,
      reverse: true,
    });
    expect(rev.pairs.map((p) => text(p.key))).toEqual(['a2', 'a1']);
    const keyOnly = await kv().kvScan({
      context: ctx(),
      startKey: b('a'),
      limit: 1,
      version: 25n,
      keyOnly: true,
    });
    expect(keyOnly.pairs.map((p) => [text(p.key), p.value.length])).toEqual([['a1', 0]]);
    const mvcc = await kv().mvccGetByKey({ context: ctx(), key: b('a1') });
    expect(mvcc.info?.writes).toMatchObject([
      { type: Op.Put, startTs: 10n, commitTs: 20n, shortValue: b('v1') },
    ]);
    const byTs = await kv().mvccGetByStartTs({ context: ctx(), startTs: 10n });
    expect(text(byTs.key)).toBe('a1');
  });

  it('answers bad requests as TiKV does', async () => {
    // TiKV does not validate the primary: an empty one is written into the locks as it is.
    const noPrimary = await kv().kvPrewrite({
      context: ctx(),
      mutations: [put('b0', 'v')],
      primaryLock: new Uint8Array(0),
      startVersion: 90n,
    });
    expect(noPrimary.errors).toEqual([]);
    expect(
      (await kv().kvGet({ context: ctx(), key: b('b0'), version: 95n })).error?.locked?.primaryLock,
    ).toEqual(new Uint8Array(0));
    const lockNotFound = await kv().kvCommit({
      context: ctx(),
      startVersion: 100n,
      keys: [b('b1')],
      commitVersion: 110n,
    });
    expect(lockNotFound.error?.txnLockNotFound?.key).toEqual(b('b1'));
    expect(lockNotFound.error?.retryable).not.toBe('');
    const badTs = await kv().kvCommit({
      context: ctx(),
      startVersion: 100n,
      keys: [b('b1')],
      commitVersion: 100n,
    });
    expect(badTs.error?.abort).toContain('InvalidTxnTso');
    const stale = { ...ctx(), regionEpoch: { confVer: 1n, version: 0n } };
    const epoch = await kv().kvPrewrite({
      context: stale,
      mutations: [put('b1', 'v')],
      primaryLock: b('b1'),
      startVersion: 100n,
    });
    expect(epoch.regionError?.epochNotMatch).toBeDefined();
    const big = await kv().kvPrewrite({
      context: ctx(),
      // Under the limit raw, over it memcomparable-encoded: TiKV measures the encoded key.
      mutations: [put('b'.repeat(cluster.options.maxKeySizeBytes - 8), 'v')],
      primaryLock: b('b'),
      startVersion: 100n,
    });
    expect(big.errors[0]?.abort).toContain('KeyTooLarge');
    const outside = await kv().kvPrewrite({
      context: ctx(),
      mutations: [put('z1', 'v')],
      primaryLock: b('z1'),
      startVersion: 100n,
    });
    expect(outside.errors[0]?.abort).toMatch(/is out of \[region /);
    const notFound = await kv().kvCheckTxnStatus({
      context: ctx(),
      primaryKey: b('b2'),
      lockTs: 100n,
      currentTs: 101n,
    });
    expect(notFound.error?.txnNotFound).toEqual({ startTs: 100n, primaryKey: b('b2') });
    const hb = await kv().kvTxnHeartBeat({
      context: ctx(),
      primaryLock: b('b2'),
      startVersion: 100n,
      adviseLockTtl: 10n,
    });
    expect(hb.error?.txnNotFound).toBeDefined();
  });

  it('conflicts, cleanup, check_txn_status, heartbeat, scan lock, resolve lock', async () => {
    await kv().kvPrewrite({
      context: ctx(),
      mutations: [put('c1', 'v'), put('c2', 'v')],
      primaryLock: b('c1'),
      startVersion: 200n,
      lockTtl: 100n,
    });
    const conflict = await kv().kvPrewrite({
      context: ctx(),
      mutations: [put('c2', 'w')],
      primaryLock: b('c2'),
      startVersion: 201n,
    });
    expect(conflict.errors[0]?.locked?.lockVersion).toBe(200n);
    const hb = await kv().kvTxnHeartBeat({
      context: ctx(),
      primaryLock: b('c1'),
      startVersion: 200n,
      adviseLockTtl: 5000n,
    });
    expect(hb.lockTtl).toBe(5000n);
    const status = await kv().kvCheckTxnStatus({
      context: ctx(),
      primaryKey: b('c1'),
      lockTs: 200n,
      callerStartTs: 0n,
      currentTs: 300n,
    });
    expect(status.lockTtl).toBe(5000n);
    expect(status.lockInfo?.key).toEqual(b('c1'));
    const locks = await kv().kvScanLock({
      context: ctx(),
      maxVersion: 250n,
      startKey: b('c'),
      endKey: b('d'),
      limit: 10,
    });
    expect(locks.locks.map((l) => text(l.key))).toEqual(['c1', 'c2']);
    const cleanupLive = await kv().kvCleanup({
      context: ctx(),
      key: b('c1'),
      startVersion: 200n,
      currentTs: 300n,
    });
    expect(cleanupLive.error?.locked).toBeDefined();
    await kv().kvCommit({ context: ctx(), startVersion: 200n, keys: [b('c1')], commitVersion: 210n });
    const committed = await kv().kvCleanup({ context: ctx(), key: b('c1'), startVersion: 200n });
    expect(committed.commitVersion).toBe(210n);
    const secondary = await kv().kvCheckSecondaryLocks({
      context: ctx(),
      keys: [b('c2')],
      startVersion: 200n,
    });
    expect(secondary.locks.map((l) => text(l.key))).toEqual(['c2']);
    const resolve = await kv().kvResolveLock({
      context: ctx(),
      startVersion: 0n,
      txnInfos: [{ txn: 200n, status: 210n, isTxnFile: false }],
    });
    expect(resolve.error).toBeUndefined();
    expect(text((await kv().kvGet({ context: ctx(), key: b('c2'), version: 220n })).value)).toBe('v');
    const write = await kv().kvPrewrite({
      context: ctx(),
      mutations: [put('c2', 'w')],
      primaryLock: b('c2'),
      startVersion: 205n,
    });
    expect(write.errors[0]?.conflict).toMatchObject({
      startTs: 205n,
      conflictTs: 200n,
      conflictCommitTs: 210n,
      reason: 1,
    });
    await kv().kvBatchRollback({ context: ctx(), startVersion: 205n, keys: [b('c2')] });
    const st = await kv().kvCheckTxnStatus({
      context: ctx(),
      primaryKey: b('c2'),
      lockTs: 205n,
      currentTs: 300n,
    });
    expect(st.action).toBe(kvrpcpb.Action.NoAction);
  });

  it('async commit and 1PC report min_commit_ts from max_ts', async () => {
    await kv().kvGet({ context: ctx(), key: b('d1'), version: 500n });
    const ac = await kv().kvPrewrite({
      context: ctx(),
      mutations: [put('d1', 'v'), put('d2', 'v')],
      primaryLock: b('d1'),
      startVersion: 400n,
      useAsyncCommit: true,
      secondaries: [b('d2')],
      lockTtl: 100n,
    });
    expect(ac.minCommitTs).toBe(501n);
    const sec = await kv().kvCheckSecondaryLocks({ context: ctx(), keys: [b('d2')], startVersion: 400n });
    expect(sec.locks[0]).toMatchObject({ useAsyncCommit: true, minCommitTs: 501n });
    const pc = await kv().kvPrewrite({
      context: ctx(),
      mutations: [put('d3', 'v')],
      primaryLock: b('d3'),
      startVersion: 600n,
      tryOnePc: true,
    });
    expect(pc.onePcCommitTs).toBe(601n);
    expect(text((await kv().kvGet({ context: ctx(), key: b('d3'), version: 700n })).value)).toBe('v');
  });

  it('pessimistic lock, values, no-wait lock errors and pessimistic rollback', async () => {
    const lock = { op: Op.PessimisticLock, key: b('e1'), value: new Uint8Array(0), assertion: 0 };
    const first = await kv().kvPessimisticLock({
      context: ctx(),
      mutations: [lock],
      primaryLock: b('e1'),
      startVersion: 800n,
      forUpdateTs: 800n,
      lockTtl: 3000n,
      returnValues: true,
      waitTimeout: -1n,
    });
    expect(first.errors).toEqual([]);
    expect(first.notFounds).toEqual([true]);
    const other = await kv().kvPessimisticLock({
      context: ctx(),
      mutations: [lock],
      primaryLock: b('e1'),
      startVersion: 801n,
      forUpdateTs: 801n,
      lockTtl: 3000n,
      waitTimeout: -1n,
    });
    expect(other.errors[0]?.locked).toMatchObject({
      lockVersion: 800n,
      lockType: Op.PessimisticLock,
      lockForUpdateTs: 800n,
    });
    const force = await kv().kvPessimisticLock({
      context: ctx(),
      mutations: [lock],
      primaryLock: b('e1'),
      startVersion: 801n,
      forUpdateTs: 801n,
      waitTimeout: -1n,
      wakeUpMode: kvrpcpb.PessimisticLockWakeUpMode.WakeUpModeForceLock,
    });
    expect(force.results[0]?.type).toBe(kvrpcpb.PessimisticLockKeyResultType.LockResultFailed);
    await kv().kVPessimisticRollback({
      context: ctx(),
      startVersion: 800n,
      forUpdateTs: 800n,
      keys: [b('e1')],
    });
    expect((await kv().mvccGetByKey({ context: ctx(), key: b('e1') })).info?.lock).toBeUndefined();
  });

  it('pipelined DML: flush then buffer batch get, commit', async () => {
    const f = await kv().kvFlush({
      context: ctx(),
      mutations: [put('g1', 'v1')],
      primaryKey: b('g1'),
      startTs: 1000n,
      generation: 1n,
      lockTtl: 3000n,
    });
    expect(f.errors).toEqual([]);
    const zero = await kv().kvFlush({
      context: ctx(),
      mutations: [put('g1', 'v1')],
      primaryKey: b('g1'),
      startTs: 1000n,
      generation: 0n,
    });
    expect(zero.errors[0]?.abort).toContain('generation should be greater than 0');
    const got = await kv().kvBufferBatchGet({ context: ctx(), keys: [b('g1'), b('g2')], version: 1000n });
    expect(got.pairs.map((p) => [text(p.key), text(p.value)])).toEqual([['g1', 'v1']]);
    const hb = await kv().kvTxnHeartBeat({
      context: ctx(),
      primaryLock: b('g1'),
      startVersion: 1000n,
      adviseLockTtl: 1n,
      minCommitTs: 1500n,
    });
    expect(hb.error).toBeUndefined();
    expect(
      (await kv().kvCheckTxnStatus({ context: ctx(), primaryKey: b('g1'), lockTs: 1000n, currentTs: 1001n }))
        .lockInfo?.minCommitTs,
    ).toBe(1500n);
    await kv().kvCommit({ context: ctx(), startVersion: 1000n, keys: [b('g1')], commitVersion: 1600n });
    expect(text((await kv().kvGet({ context: ctx(), key: b('g1'), version: 1700n })).value)).toBe('v1');
  });

  it('flashback: prepare, requests refused in flashback, flashback to a version', async () => {
    const r = cluster.regionByKey('h');
    const rc = ctxFor(r);
    await kv('h').kvPrewrite({
      context: rc,
      mutations: [put('h1', 'old')],
      primaryLock: b('h1'),
      startVersion: 2000n,
    });
    await kv('h').kvCommit({ context: rc, startVersion: 2000n, keys: [b('h1')], commitVersion: 2001n });
    await kv('h').kvPrewrite({
      context: rc,
      mutations: [put('h1', 'new')],
      primaryLock: b('h1'),
      startVersion: 2100n,
    });
    await kv('h').kvCommit({ context: rc, startVersion: 2100n, keys: [b('h1')], commitVersion: 2101n });
    await kv('h').kvPrewrite({
      context: rc,
      mutations: [put('h2', 'pending')],
      primaryLock: b('h2'),
      startVersion: 2150n,
    });
    const notPrepared = await kv('h').kvFlashbackToVersion({
      context: rc,
      version: 2050n,
      startTs: 2200n,
      commitTs: 2201n,
      startKey: b('h'),
      endKey: b('i'),
    });
    expect(notPrepared.regionError?.FlashbackNotPrepared?.regionId).toBe(r.id);
    const prep = await kv('h').kvPrepareFlashbackToVersion({
      context: rc,
      version: 2050n,
      startTs: 2200n,
      startKey: b('h'),
      endKey: b('i'),
    });
    expect(prep.error).toBe('');
    const refused = await kv('h').kvGet({ context: rc, key: b('h1'), version: 2300n });
    expect(refused.regionError?.FlashbackInProgress).toEqual({ regionId: r.id, flashbackStartTs: 2200n });
    const done = await kv('h').kvFlashbackToVersion({
      context: rc,
      version: 2050n,
      startTs: 2200n,
      commitTs: 2201n,
      startKey: b('h'),
      endKey: b('i'),
    });
    expect(done.error).toBe('');
    expect(text((await kv('h').kvGet({ context: rc, key: b('h1'), version: 2300n })).value)).toBe('old');
    expect((await kv('h').kvGet({ context: rc, key: b('h2'), version: 2300n })).notFound).toBe(true);
  });

  it('serves the commands inside BatchCommands', async () => {
    const c0 = ctx();
    async function* one(): AsyncIterable<tikvpb.DeepPartial<tikvpb.BatchCommandsRequest>> {
      yield {
        requestIds: [1n, 2n],
        requests: [
          {
            cmd: {
              $case: 'Prewrite',
              value: { context: c0, mutations: [put('f1', 'v')], primaryLock: b('f1'), startVersion: 900n },
            },
          },
          { cmd: { $case: 'Get', value: { context: c0, key: b('f0'), version: 900n } } },
        ],
      };
    }
    const seen: string[] = [];
    for await (const msg of kv().batchCommands(one()))
      for (const r of msg.responses) seen.push(r.cmd?.$case ?? '');
    expect(seen.sort()).toEqual(['Get', 'Prewrite']);
  });
});

describe('transactional commands over gRPC (API V2)', () => {
  let cluster: MockCluster;
  let c: TestClients;
  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 1, apiVersion: ApiVersion.V2 });
    c = new TestClients(cluster);
  });
  afterAll(async () => {
    c.close();
    await cluster.close();
  });

  it('needs V2 requests and txn-mode keys', async () => {
    const key = new Uint8Array([...keyspacePrefix('txn', 0), ...b('k')]);
    const region = cluster.regionByKey(key);
    const kv = c.leaderKv(region);
    const v1 = await kv.kvGet({ context: ctxFor(region), key, version: 10n });
    // A V1 request is taken only for TiDB keys (`t`, `m`), as TiKV's check_api_version does.
    expect(v1.error?.abort).toContain('InvalidKeyMode');
    const ctx = ctxFor(region, kvrpcpb.APIVersion.V2);
    const raw = new Uint8Array([...keyspacePrefix('raw', 0), ...b('k')]);
    const rawRegion = cluster.regionByKey(raw);
    const rawMode = await c
      .leaderKv(rawRegion)
      .kvGet({ context: ctxFor(rawRegion, kvrpcpb.APIVersion.V2), key: raw, version: 10n });
    expect(rawMode.error?.abort).toContain('InvalidKeyMode');
    await kv.kvPrewrite({
      context: ctx,
      mutations: [{ op: Op.Put, key, value: b('v'), assertion: 0 }],
      primaryLock: key,
      startVersion: 10n,
    });
    await kv.kvCommit({ context: ctx, startVersion: 10n, keys: [key], commitVersion: 11n });
    expect(text((await kv.kvGet({ context: ctx, key, version: 12n })).value)).toBe('v');
  });
});
