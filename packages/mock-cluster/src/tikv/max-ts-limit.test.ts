import { errorpb, kvrpcpb } from '@tikv/proto';
import { b, ctxFor, TestClients } from '../../test/test-helpers.js';
import { MockCluster } from '../index.js';
import { composeTs, physicalOf, TS_MAX } from '../mvcc/txn-key.js';

const { Op } = kvrpcpb;
const { RequestOriginTiDB } = kvrpcpb.RequestOrigin;
const DRIFT_MS = 60_000;

describe("TiKV's max-ts update limit at the commands' entry points", () => {
  const now = 1_000_000;
  let cluster: MockCluster;
  let c: TestClients;
  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 1, nowMs: () => now });
    c = new TestClients(cluster);
  });
  afterAll(async () => {
    c.close();
    await cluster.close();
  });
  const kv = () => c.leaderKv(cluster.regionByKey('a'));
  const ctx = (o: Partial<kvrpcpb.Context> = {}) => ({ ...ctxFor(cluster.regionByKey('a')), ...o });
  /** A timestamp `ms` past PD's clock. */
  const ahead = (ms: number) => composeTs(BigInt(now + ms));
  /** Within the drift allowance, beyond the exact limit. */
  const nearFuture = ahead(1000);
  /** Beyond the drift allowance too. */
  const farFuture = ahead(DRIFT_MS + 1000);

  /** The response carries TiKV's region error for `ts`, only a message, against the expected limit. */
  function expectRefused(
    resp: { regionError?: errorpb.Error | undefined },
    ts: bigint,
    exact: boolean,
  ): void {
    const last = cluster.invalidMaxTsUpdates().at(-1);
    expect(last).toMatchObject({ attemptedTs: ts, exact, action: 'error' });
    const limit = last?.limit ?? 0n;
    // The limit is a TSO PD issues now (plus the drift for the drifted limit).
    expect(physicalOf(limit)).toBe(BigInt(exact ? now : now + DRIFT_MS));
    expect(resp.regionError).toEqual(
      errorpb.Error.fromPartial({ message: `invalid max_ts update: ${ts} exceeds the limit ${limit}` }),
    );
  }

  const get = (version: bigint, o: Partial<kvrpcpb.Context> = {}) =>
    kv().kvGet({ context: ctx(o), key: b('a1'), version });

  it('reads may run ahead of PD by the drift allowance; u64::MAX and stale reads are not checked', async () => {
    expect((await get(nearFuture)).regionError).toBeUndefined();
    expect((await get(TS_MAX)).regionError).toBeUndefined();
    expectRefused(await get(farFuture), farFuture, false);
    const batch = await kv().kvBatchGet({ context: ctx(), keys: [b('a1')], version: farFuture });
    expectRefused(batch, farFuture, false);
    const scan = await kv().kvScan({ context: ctx(), startKey: b('a'), limit: 10, version: farFuture });
    expectRefused(scan, farFuture, false);
    expect((await get(farFuture, { staleRead: true })).regionError).toBeUndefined();
  });

  it('a prewrite checks the start ts of insert and check-not-exists mutations only (drifted)', async () => {
    const prewrite = (op: kvrpcpb.Op, startVersion: bigint, key: string) =>
      kv().kvPrewrite({
        context: ctx(),
        mutations: [{ op, key: b(key), value: b('v'), assertion: 0 }],
        primaryLock: b(key),
        startVersion,
        lockTtl: 3000n,
      });
    expect((await prewrite(Op.Put, farFuture, 'p1')).regionError).toBeUndefined();
    expect((await prewrite(Op.Insert, nearFuture, 'p2')).regionError).toBeUndefined();
    expectRefused(await prewrite(Op.Insert, farFuture, 'p3'), farFuture, false);
    expectRefused(await prewrite(Op.CheckNotExists, farFuture, 'p4'), farFuture, false);
    // The refused prewrite wrote nothing.
    const info = await kv().mvccGetByKey({ context: ctx(), key: b('p3') });
    expect(info.info?.lock).toBeUndefined();
  });

  it('a pessimistic lock checks its for_update_ts only when it reads (return values, check existence, insert)', async () => {
    const lock = (key: string, o: Partial<kvrpcpb.PessimisticLockRequest>) =>
      kv().kvPessimisticLock({
        context: ctx(),
        mutations: [{ op: Op.PessimisticLock, key: b(key), value: new Uint8Array(0), assertion: 0 }],
        primaryLock: b(key),
        startVersion: 10n,
        forUpdateTs: farFuture,
        lockTtl: 3000n,
        ...o,
      });
    expect((await lock('l1', {})).regionError).toBeUndefined();
    expectRefused(await lock('l2', { returnValues: true }), farFuture, false);
    expectRefused(await lock('l3', { checkExistence: true }), farFuture, false);
    const insert = await kv().kvPessimisticLock({
      context: ctx(),
      mutations: [
        {
          op: Op.PessimisticLock,
          key: b('l4'),
          value: new Uint8Array(0),
          assertion: kvrpcpb.Assertion.NotExist,
        },
      ],
      primaryLock: b('l4'),
      startVersion: 10n,
      forUpdateTs: farFuture,
      lockTtl: 3000n,
    });
    expectRefused(insert, farFuture, false);
  });

  it('check_txn_status, check_secondary_locks, cleanup and scan_lock hold to the exact limit unless TiDB sent them', async () => {
    const checkTxnStatus = (o: Partial<kvrpcpb.CheckTxnStatusRequest>) =>
      kv().kvCheckTxnStatus({ context: ctx(), primaryKey: b('s1'), lockTs: 10n, ...o });
    expectRefused(await checkTxnStatus({ callerStartTs: nearFuture }), nearFuture, true);
    expectRefused(await checkTxnStatus({ currentTs: nearFuture }), nearFuture, true);
    expectRefused(await checkTxnStatus({ lockTs: nearFuture }), nearFuture, true);
    // u64::MAX as the current or caller ts is left out of the update.
    expect((await checkTxnStatus({ currentTs: TS_MAX, callerStartTs: TS_MAX })).regionError).toBeUndefined();
    const fromTiDb = await checkTxnStatus({
      context: ctx({ requestOrigin: RequestOriginTiDB }),
      callerStartTs: nearFuture,
    });
    expect(fromTiDb.regionError).toBeUndefined();

    const secondary = await kv().kvCheckSecondaryLocks({
      context: ctx(),
      keys: [b('s2')],
      startVersion: nearFuture,
    });
    expectRefused(secondary, nearFuture, true);
    const cleanup = await kv().kvCleanup({ context: ctx(), key: b('s3'), startVersion: nearFuture });
    expectRefused(cleanup, nearFuture, true);
    const scanLock = await kv().kvScanLock({ context: ctx(), maxVersion: nearFuture, limit: 10 });
    expectRefused(scanLock, nearFuture, true);
    const scanLockTiDb = await kv().kvScanLock({
      context: ctx({ requestOrigin: RequestOriginTiDB }),
      maxVersion: nearFuture,
      limit: 10,
    });
    expect(scanLockTiDb.regionError).toBeUndefined();
    const scanLockLatest = await kv().kvScanLock({ context: ctx(), maxVersion: TS_MAX, limit: 10 });
    expect(scanLockLatest.regionError).toBeUndefined();
  });

  it('a timestamp PD has issued passes the exact limit', async () => {
    const before = cluster.invalidMaxTsUpdates().length;
    const status = await kv().kvCheckTxnStatus({
      context: ctx(),
      primaryKey: b('s4'),
      lockTs: 10n,
      callerStartTs: composeTs(BigInt(now)),
      rollbackIfNotExist: true,
    });
    expect(status.regionError).toBeUndefined();
    expect(status.action).toBe(kvrpcpb.Action.LockNotExistRollback);
    expect(cluster.invalidMaxTsUpdates()).toHaveLength(before);
  });
});

describe("actionOnInvalidMaxTs: 'log'", () => {
  it('serves the request, records it, and max_ts takes the timestamp (async commit commits after it)', async () => {
    const now = 2_000_000;
    await using cluster = await MockCluster.start({
      stores: 1,
      nowMs: () => now,
      actionOnInvalidMaxTs: 'log',
      maxTsDriftMs: 1000,
    });
    const c = new TestClients(cluster);
    try {
      const kv = c.leaderKv(cluster.regionByKey('a'));
      const context = ctxFor(cluster.regionByKey('a'));
      const farFuture = composeTs(BigInt(now + 5000));
      const got = await kv.kvGet({ context, key: b('k'), version: farFuture });
      expect(got.regionError).toBeUndefined();
      expect(got.notFound).toBe(true);
      expect(cluster.invalidMaxTsUpdates()).toEqual([
        { attemptedTs: farFuture, limit: expect.any(BigInt), exact: false, action: 'log' },
      ]);
      expect(physicalOf(cluster.invalidMaxTsUpdates()[0]?.limit ?? 0n)).toBe(BigInt(now + 1000));
      const pre = await kv.kvPrewrite({
        context,
        mutations: [{ op: Op.Put, key: b('k'), value: b('v'), assertion: 0 }],
        primaryLock: b('k'),
        startVersion: composeTs(BigInt(now)),
        lockTtl: 3000n,
        useAsyncCommit: true,
        secondaries: [],
      });
      expect(pre.minCommitTs).toBe(farFuture + 1n);
    } finally {
      c.close();
    }
  });
});
