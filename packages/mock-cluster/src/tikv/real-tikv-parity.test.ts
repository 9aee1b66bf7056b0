import { encodeBytes } from '@tikv/common';
import { kvrpcpb, type tikvpb } from '@tikv/proto';
import { b, ctxFor, TestClients, text } from '../../test/test-helpers.js';
import { keyspacePrefix } from '../api-version.js';
import { ApiVersion, MockCluster } from '../index.js';

// Differences `pnpm txn:diff` (tools/txn-diff) found between the mock and TiKV 9.0.0-beta.2, each
// test named after the scenario that showed it; the expected answers are TiKV's.
const { Op } = kvrpcpb;

describe('txn-diff parity with TiKV', () => {
  let cluster: MockCluster;
  let c: TestClients;
  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 1 });
    c = new TestClients(cluster);
  });
  afterAll(async () => {
    c.close();
    await cluster.close();
  });
  const kv = (): tikvpb.TikvClient => c.leaderKv(cluster.regionByKey('a'));
  const ctx = () => ctxFor(cluster.regionByKey('a'));

  it('resolve-lock: a transaction-wide resolve leaves pessimistic locks (TiKV keeps them in memory)', async () => {
    await kv().kvPessimisticLock({
      context: ctx(),
      mutations: [{ op: Op.PessimisticLock, key: b('rl-p') }],
      primaryLock: b('rl-p'),
      startVersion: 100n,
      forUpdateTs: 100n,
      lockTtl: 3000n,
      waitTimeout: -1n,
    });
    await kv().kvPrewrite({
      context: ctx(),
      mutations: [{ op: Op.Put, key: b('rl-k'), value: b('v'), assertion: 0 }],
      primaryLock: b('rl-p'),
      startVersion: 100n,
      forUpdateTs: 100n,
      pessimisticActions: [kvrpcpb.PrewriteRequest_PessimisticAction.SKIP_PESSIMISTIC_CHECK],
    });
    const r = await kv().kvResolveLock({ context: ctx(), startVersion: 100n, commitVersion: 110n });
    expect(r.error).toBeUndefined();
    expect(text((await kv().kvGet({ context: ctx(), key: b('rl-k'), version: 120n })).value)).toBe('v');
    const lock = (await kv().mvccGetByKey({ context: ctx(), key: b('rl-p') })).info?.lock;
    expect(lock).toMatchObject({ type: Op.PessimisticLock, startTs: 100n });
    // Resolving the key by name (resolve lock lite) does remove it.
    await kv().kvResolveLock({ context: ctx(), startVersion: 100n, commitVersion: 110n, keys: [b('rl-p')] });
    expect((await kv().mvccGetByKey({ context: ctx(), key: b('rl-p') })).info?.lock).toBeUndefined();
  });

  it('deadlock: the wait chain ends with the refused wait; key hashes are farmhash fingerprint64', async () => {
    const lock = (key: string, startTs: bigint, primary: string, waitTimeout: bigint) =>
      kv().kvPessimisticLock({
        context: ctx(),
        mutations: [{ op: Op.PessimisticLock, key: b(key) }],
        primaryLock: b(primary),
        startVersion: startTs,
        forUpdateTs: startTs,
        lockTtl: 3000n,
        waitTimeout,
      });
    await lock('txdmx5rhon2/deadlock/a', 200n, 'txdmx5rhon2/deadlock/a', -1n);
    await lock('txdmx5rhon2/deadlock/b', 210n, 'txdmx5rhon2/deadlock/b', -1n);
    const first = lock('txdmx5rhon2/deadlock/b', 200n, 'txdmx5rhon2/deadlock/a', 5000n);
    while ((await kv().getLockWaitInfo({ context: ctx() })).entries.length === 0);
    const dead = (await lock('txdmx5rhon2/deadlock/a', 210n, 'txdmx5rhon2/deadlock/b', 5000n)).errors[0]
      ?.deadlock;
    // What TiKV 9.0.0-beta.2 answered for these keys.
    expect(dead?.deadlockKeyHash).toBe(4904685800347149768n);
    expect(dead?.waitChain.map((e) => [e.txn, e.waitForTxn, e.keyHash, text(e.key)])).toEqual([
      [200n, 210n, 4904685800347149768n, 'txdmx5rhon2/deadlock/b'],
      [210n, 200n, 7916677236348822856n, 'txdmx5rhon2/deadlock/a'],
    ]);
    await kv().kVPessimisticRollback({
      context: ctx(),
      startVersion: 210n,
      forUpdateTs: 210n,
      keys: [b('txdmx5rhon2/deadlock/b')],
    });
    expect((await first).errors[0]?.conflict).toBeDefined();
  });

  it('lock-wait-timeout: a wait that times out reports duration_to_last_update_ms 0 (the lock never changed)', async () => {
    const lock = (startTs: bigint, waitTimeout: bigint) =>
      kv().kvPessimisticLock({
        context: ctx(),
        mutations: [{ op: Op.PessimisticLock, key: b('lwt') }],
        primaryLock: b('lwt'),
        startVersion: startTs,
        forUpdateTs: startTs,
        lockTtl: 3000n,
        waitTimeout,
      });
    await lock(300n, -1n);
    const timedOut = (await lock(310n, 50n)).errors[0]?.locked;
    expect(timedOut).toMatchObject({ lockVersion: 300n, durationToLastUpdateMs: 0n });
  });

  it('pipelined-flush: KvBufferBatchGet answers in key order, each key once', async () => {
    const put = (key: string, value: string) => ({ op: Op.Put, key: b(key), value: b(value), assertion: 0 });
    await kv().kvFlush({
      context: ctx(),
      mutations: [put('pf-p', 'vp'), put('pf-a', 'va')],
      primaryKey: b('pf-p'),
      startTs: 400n,
      generation: 1n,
      lockTtl: 3000n,
    });
    const got = await kv().kvBufferBatchGet({
      context: ctx(),
      keys: [b('pf-p'), b('pf-a'), b('pf-p'), b('pf-missing')],
      version: 400n,
    });
    expect(got.pairs.map((p) => [text(p.key), text(p.value)])).toEqual([
      ['pf-a', 'va'],
      ['pf-p', 'vp'],
    ]);
  });

  it('flashback: FlashbackNotPrepared has no message; a repeated flashback after success succeeds', async () => {
    await cluster.split(['fb', 'fc']);
    const r = cluster.regionByKey('fb');
    const rc = ctxFor(r);
    const fkv = c.leaderKv(r);
    const write = async (value: string, startTs: bigint) => {
      await fkv.kvPrewrite({
        context: rc,
        mutations: [{ op: Op.Put, key: b('fb1'), value: b(value), assertion: 0 }],
        primaryLock: b('fb1'),
        startVersion: startTs,
      });
      await fkv.kvCommit({
        context: rc,
        startVersion: startTs,
        keys: [b('fb1')],
        commitVersion: startTs + 1n,
      });
    };
    await write('old', 500n);
    await write('new', 600n);
    const req = {
      context: rc,
      version: 550n,
      startTs: 700n,
      commitTs: 701n,
      startKey: b('fb'),
      endKey: b('fc'),
    };
    const notPrepared = await fkv.kvFlashbackToVersion(req);
    expect(notPrepared.regionError).toEqual(
      expect.objectContaining({ message: '', FlashbackNotPrepared: { regionId: r.id } }),
    );
    expect((await fkv.kvPrepareFlashbackToVersion(req)).error).toBe('');
    expect(await fkv.kvFlashbackToVersion(req)).toMatchObject({ error: '', regionError: undefined });
    expect(await fkv.kvFlashbackToVersion(req)).toMatchObject({ error: '', regionError: undefined });
    expect(text((await fkv.kvGet({ context: rc, key: b('fb1'), version: 800n })).value)).toBe('old');
  });
  it('split-region-and-region-errors: EpochNotMatch lists the left siblings a stale request missed (collect_sibling_region)', async () => {
    const before = cluster.regionByKey('sr-z');
    const oldCtx = ctxFor(before);
    cluster.split(['sr-a', 'sr-m']);
    const mid = cluster.regionByKey('sr-b');
    const left = cluster.regionByKey('sr-0');
    const r = await kv().kvGet({ context: oldCtx, key: b('sr-z'), version: 10n });
    // Behind by two versions: the current region, then two neighbours on the left, nearest first.
    expect(r.regionError?.epochNotMatch?.currentRegions.map((x) => x.id)).toEqual([
      before.id,
      mid.id,
      left.id,
    ]);
    // A request ahead of the region lists the region alone.
    const ahead = await c.leaderKv(mid).kvGet({
      context: { ...ctxFor(mid), regionEpoch: { confVer: 1n, version: mid.epoch.version + 5n } },
      key: b('sr-b'),
      version: 10n,
    });
    expect(ahead.regionError?.epochNotMatch?.currentRegions.map((x) => x.id)).toEqual([mid.id]);
    // No epoch at all is epoch 0/0.
    const none = await c
      .leaderKv(mid)
      .kvGet({ context: { ...ctxFor(mid), regionEpoch: undefined }, key: b('sr-b'), version: 10n });
    expect(none.regionError?.epochNotMatch?.currentRegions[0]?.id).toBe(mid.id);
  });

  it('bad-requests: a write bigger than raft-entry-max-size is RaftEntryTooLarge, nothing written', async () => {
    const huge = new Uint8Array(cluster.options.raftEntryMaxSizeBytes + 1);
    const r = await kv().kvPrewrite({
      context: ctx(),
      mutations: [{ op: Op.Put, key: b('big-v'), value: huge, assertion: 0 }],
      primaryLock: b('big-v'),
      startVersion: 900n,
    });
    expect(r.regionError?.raftEntryTooLarge?.regionId).toBe(cluster.regionByKey('a').id);
    expect(Number(r.regionError?.raftEntryTooLarge?.entrySize)).toBeGreaterThan(huge.length);
    expect((await kv().mvccGetByKey({ context: ctx(), key: b('big-v') })).info?.lock).toBeUndefined();
  });

  it('split-region-and-region-errors: keys outside the region are aborts of point accesses; scans check their range', async () => {
    cluster.split(['ko-a', 'ko-m']);
    const r = cluster.regionByKey('ko-b');
    const rkv = c.leaderKv(r);
    const rc = ctxFor(r);
    const out = b('ko-x');
    const outAbort =
      /^Error\(Txn\(Error\(Mvcc\(Error\(Kv\(Error\(Other\(".*region_snapshot\.rs:289\]: Key [0-9A-F]+ is out of \[region \d+\] \[[0-9A-F]+, [0-9A-F]+\)\\""\)\)\)\)\)\)\)\)$/;
    expect((await rkv.kvGet({ context: rc, key: out, version: 10n })).error?.abort).toMatch(outAbort);
    expect(
      (await rkv.kvCommit({ context: rc, keys: [out], startVersion: 10n, commitVersion: 11n })).error?.abort,
    ).toMatch(outAbort);
    expect((await rkv.mvccGetByKey({ context: rc, key: out })).error).toMatch(
      /^unknown error ".* is out of \[region /,
    );
    // A scan seeking outside: KeyNotInRegion with the encoded key.
    const seek = await rkv.kvScan({ context: rc, startKey: out, limit: 1, version: 10n });
    expect(seek.regionError?.keyNotInRegion?.key).toEqual(encodeBytes(out));
    // A scan reaching past the region: InvalidReqRange, forward or backward.
    const past = await rkv.kvScan({ context: rc, startKey: b('ko-b'), endKey: out, limit: 1, version: 10n });
    expect(past.error?.abort).toMatch(/^Error\(Txn\(Error\(InvalidReqRange \{ start: Some\(\[/);
    const back = await rkv.kvScan({
      context: rc,
      startKey: out,
      endKey: b('ko-b'),
      limit: 1,
      version: 10n,
      reverse: true,
    });
    expect(back.error?.abort).toMatch(/InvalidReqRange/);
    expect(back.pairs[0]?.error?.abort).toMatch(/InvalidReqRange/);
  });

  it('pessimistic-prewrite / pipelined-flush / lock-wait-force-lock: commands’ own refusals read as TiKV prints them', async () => {
    const pre = await kv().kvPrewrite({
      context: ctx(),
      mutations: [{ op: Op.Put, key: b('a-own-1'), value: b('v'), assertion: 0 }],
      primaryLock: b('a-own-1'),
      startVersion: 950n,
      forUpdateTs: 950n,
      pessimisticActions: [kvrpcpb.PrewriteRequest_PessimisticAction.DO_PESSIMISTIC_CHECK],
      forUpdateTsConstraints: [{ index: 5, expectedForUpdateTs: 950n }],
    });
    expect(pre.errors[0]?.abort).toBe(
      'Error(Txn(Error(Other("[src/storage/txn/commands/prewrite.rs:418]: prewrite request invalid: for_update_ts constraint set for index 5 while 1 mutations were given"))))',
    );
    const flush = await kv().kvFlush({
      context: ctx(),
      mutations: [{ op: Op.Put, key: b('a-own-2'), value: b('v'), assertion: 0 }],
      primaryKey: b('a-own-2'),
      startTs: 960n,
      generation: 0n,
    });
    expect(flush.errors[0]?.abort).toContain('Other("[src/storage/txn/commands/flush.rs:74]: generation');
    const lock = await kv().kvPessimisticLock({
      context: ctx(),
      mutations: [
        { op: Op.PessimisticLock, key: b('a-own-3') },
        { op: Op.PessimisticLock, key: b('a-own-4') },
      ],
      primaryLock: b('a-own-3'),
      startVersion: 970n,
      forUpdateTs: 970n,
      waitTimeout: -1n,
      wakeUpMode: kvrpcpb.PessimisticLockWakeUpMode.WakeUpModeForceLock,
    });
    expect(lock.errors[0]?.abort).toContain(
      'Other("[src/storage/txn/commands/acquire_pessimistic_lock.rs:85]: multiple keys',
    );
  });

  it('lock-wait-new-holder: a waiter moves to the next holder of the key, and times out reporting it', async () => {
    const force = kvrpcpb.PessimisticLockWakeUpMode.WakeUpModeForceLock;
    const lock = (startTs: bigint, waitTimeout: bigint) =>
      kv().kvPessimisticLock({
        context: ctx(),
        mutations: [{ op: Op.PessimisticLock, key: b('a-nh') }],
        primaryLock: b('a-nh'),
        startVersion: startTs,
        forUpdateTs: startTs,
        lockTtl: 3000n,
        waitTimeout,
        wakeUpMode: force,
      });
    const waiting = async (n: number) => {
      for (;;) {
        const e = (await kv().getLockWaitInfo({ context: ctx() })).entries.filter(
          (x) => text(x.key) === 'a-nh',
        );
        if (e.length >= n) return e;
      }
    };
    await lock(1000n, -1n);
    const first = lock(1010n, 5000n);
    await waiting(1);
    const second = lock(1020n, 300n);
    await waiting(2);
    await kv().kVPessimisticRollback({
      context: ctx(),
      startVersion: 1000n,
      forUpdateTs: 1000n,
      keys: [b('a-nh')],
    });
    expect((await first).errors).toEqual([]);
    expect((await waiting(1)).map((e) => [e.txn, e.waitForTxn])).toEqual([[1020n, 1010n]]);
    const timedOut = (await second).errors[0]?.locked;
    expect(timedOut?.lockVersion).toBe(1010n);
    expect(timedOut?.durationToLastUpdateMs).toBeGreaterThan(0n);
  });
});

describe('txn-diff parity with TiKV (API V2)', () => {
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
  const x = (k: string) => new Uint8Array([...keyspacePrefix('txn', 0), ...b(k)]);

  it('api-version-mismatch: TiKV checks only reads, prewrite, flush and pessimistic lock; V1 requests may use TiDB keys', async () => {
    const region = cluster.regionByKey(x('k'));
    const kv = c.leaderKv(region);
    const v1 = ctxFor(region);
    const v2 = ctxFor(region, kvrpcpb.APIVersion.V2);
    expect((await kv.kvGet({ context: v1, key: x('k'), version: 10n })).error?.abort).toBe(
      // The key as TiKV judges and prints it: memcomparable-encoded.
      'Error(InvalidKeyMode { cmd: get, storage_api_version: V2, key: "780000006B000000FC" })',
    );
    expect(
      (
        await kv.kvGet({
          context: { ...v2, apiVersion: kvrpcpb.APIVersion.V1TTL },
          key: x('k'),
          version: 10n,
        })
      ).error?.abort,
    ).toBe('Error(ApiVersionNotMatched { cmd: get, storage_api_version: V2, req_api_version: V1ttl })');
    // A TiDB key in a V1 request: served.
    const tidb = cluster.regionByKey(b('t1'));
    const got = await c.leaderKv(tidb).kvGet({ context: ctxFor(tidb), key: b('t1'), version: 10n });
    expect([got.error, got.notFound]).toEqual([undefined, true]);
    // Commit is not checked: a V1 context on a txn key gets the MVCC answer (no lock).
    const commit = await kv.kvCommit({ context: v1, keys: [x('k')], startVersion: 10n, commitVersion: 11n });
    expect(commit.error?.txnLockNotFound).toBeDefined();
    // A V2 scan needs both bounds in the txn key space.
    const open = await kv.kvScan({ context: v2, startKey: x('k'), limit: 1, version: 10n });
    expect(open.error?.abort).toMatch(
      /^Error\(InvalidKeyRangeMode \{ cmd: scan, storage_api_version: V2, range: \(Some\("[0-9A-F]+"\), None\) \}\)$/,
    );
    const closed = await kv.kvScan({ context: v2, startKey: x('k'), endKey: x('l'), limit: 1, version: 10n });
    expect(closed.error).toBeUndefined();
  });
});
