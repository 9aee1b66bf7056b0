// exec_details_v2 of the scheduler commands (TiKV's `txn_command_future`): pessimistic lock,
// check txn status, resolve lock and the other lock commands.
import { kvrpcpb, type tikvpb } from '@tikv/proto';
import { b, ctxFor, TestClients } from '../../test/test-helpers.js';
import { MockCluster } from '../index.js';

const { Op } = kvrpcpb;

describe('exec_details_v2 of the scheduler commands', () => {
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
  const lockReq = (key: string, startTs: bigint, waitTimeout: bigint) =>
    kvrpcpb.PessimisticLockRequest.fromPartial({
      context: ctx(),
      mutations: [{ op: Op.PessimisticLock, key: b(key) }],
      primaryLock: b(key),
      startVersion: startTs,
      forUpdateTs: startTs,
      lockTtl: 3000n,
      waitTimeout,
    });
  const prewrite = (key: string, startTs: bigint) =>
    kv().kvPrewrite({
      context: ctx(),
      mutations: [{ op: Op.Put, key: b(key), value: b('v'), assertion: 0 }],
      primaryLock: b(key),
      startVersion: startTs,
      lockTtl: 3000n,
    });

  /** The write-command shape: scheduler time as process time, no reads, the whole RPC as total. */
  function expectWriteDetails(d: kvrpcpb.ExecDetailsV2 | undefined): kvrpcpb.ExecDetailsV2 {
    expect(d).toBeDefined();
    const details = d as kvrpcpb.ExecDetailsV2;
    const process = details.writeDetail?.processNanos ?? 0n;
    expect(process).toBeGreaterThan(0n);
    expect(details.timeDetailV2?.processWallTimeNs).toBe(process);
    const total = details.timeDetailV2?.totalRpcWallTimeNs ?? 0n;
    expect(total).toBe(process + (details.writeDetail?.pessimisticLockWaitNanos ?? 0n));
    expect(details.timeDetail?.totalRpcWallTimeNs).toBe(total);
    expect(details.scanDetailV2?.totalVersions).toBe(0n);
    return details;
  }

  it('KvPessimisticLock without a wait: scheduler time, no lock wait', async () => {
    const resp = await kv().kvPessimisticLock(lockReq('pl1', 100n, 0n));
    expect(resp.errors).toEqual([]);
    const d = expectWriteDetails(resp.execDetailsV2);
    expect(d.writeDetail?.pessimisticLockWaitNanos).toBe(0n);
  });

  it('KvPessimisticLock answered with a key error (no wait asked) still carries its details', async () => {
    expect((await prewrite('pl2', 110n)).errors).toEqual([]);
    const resp = await kv().kvPessimisticLock(lockReq('pl2', 120n, -1n));
    expect(resp.errors[0]?.locked?.lockVersion).toBe(110n);
    expectWriteDetails(resp.execDetailsV2);
  });

  it('test_pessimistic_lock_execution_tracking: a lock request that waited reports the wait', async () => {
    expect((await prewrite('pl3', 130n)).errors).toEqual([]);
    const waiting = cluster.whenLockWaiting(140n);
    const pending = kv().kvPessimisticLock(lockReq('pl3', 140n, 5_000n));
    await waiting;
    const commit = await kv().kvCommit({
      context: ctx(),
      keys: [b('pl3')],
      startVersion: 130n,
      commitVersion: 135n,
    });
    expect(commit.error).toBeUndefined();
    const resp = await pending;
    // Woken by the commit: a write conflict, after a wait.
    expect(resp.errors[0]?.conflict).toBeDefined();
    const d = expectWriteDetails(resp.execDetailsV2);
    expect(d.writeDetail?.pessimisticLockWaitNanos).toBeGreaterThan(0n);
  });

  it('KvCheckTxnStatus and KvResolveLock: write details, on a key error too', async () => {
    expect((await prewrite('ct1', 150n)).errors).toEqual([]);
    const status = await kv().kvCheckTxnStatus({
      context: ctx(),
      primaryKey: b('ct1'),
      lockTs: 150n,
      callerStartTs: 151n,
      currentTs: 151n,
    });
    expect(status.error).toBeUndefined();
    expect(status.lockTtl).toBeGreaterThan(0n);
    expectWriteDetails(status.execDetailsV2);

    const resolved = await kv().kvResolveLock({ context: ctx(), startVersion: 150n, commitVersion: 0n });
    expect(resolved.error).toBeUndefined();
    expectWriteDetails(resolved.execDetailsV2);

    // No lock and no rollback asked: TxnNotFound, with details as TiKV sets them.
    const missing = await kv().kvCheckTxnStatus({
      context: ctx(),
      primaryKey: b('ct2'),
      lockTs: 160n,
      callerStartTs: 161n,
      currentTs: 161n,
      rollbackIfNotExist: false,
    });
    expect(missing.error?.txnNotFound).toBeDefined();
    expectWriteDetails(missing.execDetailsV2);
  });

  it('KvTxnHeartBeat, KvCheckSecondaryLocks and the rollbacks carry details too', async () => {
    expect((await prewrite('hb1', 170n)).errors).toEqual([]);
    const hb = await kv().kvTxnHeartBeat({
      context: ctx(),
      primaryLock: b('hb1'),
      startVersion: 170n,
      adviseLockTtl: 5000n,
    });
    expectWriteDetails(hb.execDetailsV2);
    const secondary = await kv().kvCheckSecondaryLocks({
      context: ctx(),
      keys: [b('hb1')],
      startVersion: 170n,
    });
    expectWriteDetails(secondary.execDetailsV2);
    const rb = await kv().kvBatchRollback({ context: ctx(), keys: [b('hb1')], startVersion: 170n });
    expectWriteDetails(rb.execDetailsV2);
    const prb = await kv().kVPessimisticRollback({
      context: ctx(),
      keys: [b('pl1')],
      startVersion: 100n,
      forUpdateTs: 100n,
    });
    expectWriteDetails(prb.execDetailsV2);
  });

  it('a region error response carries no details', async () => {
    const stale = { ...ctx(), regionEpoch: { confVer: 0n, version: 0n } };
    const resp = await kv().kvCheckTxnStatus({
      context: stale,
      primaryKey: b('ct1'),
      lockTs: 150n,
      callerStartTs: 151n,
      currentTs: 151n,
    });
    expect(resp.regionError).toBeDefined();
    expect(resp.execDetailsV2).toBeUndefined();
  });
});
