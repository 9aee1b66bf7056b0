// Port of client-go integration_tests/2pc_test.go cases about pessimistic locks other
// transactions meet: a primary lock that is gone (TestPkNotFound), an optimistic secondary whose
// primary is still a pessimistic lock (TestPushPessimisticLock), and optimistic and pessimistic
// locks left behind together (TestResolveMixed: a whole-region resolve, then a lock without waiting). The locks
// are written with raw requests at a start ts 10 s back, so a 100 ms TTL is already over.
import { Backoffer, type LockInfo, lockInfoFromWire, systemClock } from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import { resolveCommitOptions } from '../src/commit/commit-options.js';
import { MemBuffer } from '../src/index.js';
import { PessimisticState } from '../src/pessimistic/pessimistic-state.js';
import { k, TxnTestCluster } from './txn-cluster.js';

describe('2pc_test.go pessimistic locks met by others', () => {
  let c: TxnTestCluster;
  const open: PessimisticState[] = [];
  beforeAll(async () => {
    // client-go's integration tests resolve transactions of 16 keys or more region-wide.
    c = await TxnTestCluster.start({ resolver: { liteThreshold: 16 } });
  });
  afterEach(async () => {
    for (const s of open.splice(0)) {
      await s.rollbackAll(undefined);
      s.close();
    }
  });
  afterAll(async () => {
    await c?.close();
  });

  /** A pessimistic transaction at a fresh start ts that resolves the locks it meets. */
  async function begin(): Promise<PessimisticState> {
    const s = new PessimisticState(
      { executor: c.exec, oracle: c.oracle },
      c.resolver,
      new MemBuffer(),
      resolveCommitOptions(undefined),
      await c.ts(),
      Date.now(),
      systemClock,
    );
    open.push(s);
    return s;
  }

  async function lockOf(key: Uint8Array): Promise<LockInfo | undefined> {
    const end = new Uint8Array(key.length + 1);
    end.set(key);
    const [l] = await c.scanLocks(key, end);
    return l;
  }

  async function pessimisticRollback(
    keys: Uint8Array[],
    startTs: bigint,
    forUpdateTs: bigint,
  ): Promise<void> {
    for (const key of keys) {
      const { response } = await c.exec.sendToKey(c.bo(), key, () => ({
        $case: 'PessimisticRollback' as const,
        value: kvrpcpb.PessimisticRollbackRequest.fromPartial({
          startVersion: startTs,
          forUpdateTs,
          keys: [key],
        }),
      }));
      expect(response.value.errors).toEqual([]);
    }
  }

  test('TestPkNotFound: a pessimistic lock whose primary is gone is resolved without a rollback record', async () => {
    const [k1, k2, k3] = [k('pknf_k1'), k('pknf_k2'), k('pknf_k3')];
    const startTs = c.pastTs(10_000);
    await c.pessimisticLock([k1], { startTs, lockTtlMs: 100 });
    await c.pessimisticLock([k2, k3], { primary: k1, startTs, lockTtlMs: 100 });
    // Nobody keeps k1 alive (the TTL manager is gone with the crashed client).
    const lock2 = lockInfoFromWire(
      kvrpcpb.LockInfo.fromPartial({
        key: k2,
        primaryLock: k1,
        lockVersion: startTs,
        lockTtl: 0n, // judged expired at once
        txnSize: 16n * 1024n,
        lockType: kvrpcpb.Op.PessimisticLock,
        lockForUpdateTs: startTs,
      }),
    );
    let status = await c.resolver.getTxnStatusFromLock(new Backoffer({ maxBackoffMs: 5000 }), lock2, 0n);
    expect(status.action).toBe('TTLExpirePessimisticRollback');
    status = await c.resolver.getTxnStatusFromLock(new Backoffer({ maxBackoffMs: 5000 }), lock2, 0n);
    expect(status.action).toBe('LockNotExistDoNothing');
    // Another transaction takes k2 (the expired secondary is resolved, no dead loop).
    const txn2 = await begin();
    await txn2.lockKeys([k2], {});
    // A pessimistic rollback at an older for-update ts does nothing; txn1 locks k3 (again).
    await pessimisticRollback([k3], startTs, startTs - 1n);
    await c.pessimisticLock([k3], { primary: k1, startTs, lockTtlMs: 100 });
    expect((await lockOf(k3))?.lockVersion).toBe(startTs);
    // A third transaction takes k3 at once: its primary is gone.
    const txn3 = await begin();
    await txn3.lockKeys([k3], { noWait: true });
    const lock3 = lockInfoFromWire(
      kvrpcpb.LockInfo.fromPartial({
        key: k3,
        primaryLock: k1,
        lockVersion: startTs,
        lockTtl: 100n,
        lockType: kvrpcpb.Op.PessimisticLock,
        lockForUpdateTs: startTs - 1n,
      }),
    );
    status = await c.resolver.getTxnStatusFromLock(new Backoffer({ maxBackoffMs: 5000 }), lock3, 0n);
    expect(status.action).toBe('LockNotExistDoNothing');
  });

  test('TestPushPessimisticLock: an optimistic secondary of a live pessimistic primary does not block a read', async () => {
    const [k1, k2] = [k('push_a'), k('push_b')];
    // txn1 locks both keys as a client does (the primary's lock has a min commit ts to push).
    const txn1 = await begin();
    await txn1.lockKeys([k1, k2], {});
    const startTs = (await lockOf(k1))?.lockVersion as bigint;
    // Only the secondary is prewritten.
    await c.prewrite({ mutations: [[k2, k('v2')]], primary: k1, startTs, forUpdateTs: startTs });
    const lock1 = await lockOf(k1);
    expect(lock1?.lockType).toBe('PessimisticLock');
    expect(lock1?.primary).toEqual(k1);
    const lock2 = await lockOf(k2);
    expect(lock2?.lockType).toBe('Put');
    expect(lock2?.primary).toEqual(k1);
    // The read is not held up for the 20 s TTL: a deadline far below it is met.
    const snap = c.snapshot(await c.ts());
    expect(await snap.get(k2, { timeoutMs: 5000 })).toBeUndefined();
  });

  test('TestResolveMixed: optimistic locks are resolved region-wide and the expired pessimistic lock is taken at once', async () => {
    const bigTxnThreshold = 16;
    const pk = k('mix_pk');
    const optimistic = Array.from({ length: bigTxnThreshold }, (_, i) => k(`mix_optimistic${i}`));
    const pessimisticKey = k('mix_pessimistic');
    const startTs = c.pastTs(10_000);
    await c.pessimisticLock([pk], { startTs, lockTtlMs: 100 });
    await c.prewrite({
      mutations: optimistic.map((key, i) => [key, k(`v${i}`)] as const),
      primary: pk,
      startTs,
      forUpdateTs: startTs,
      pessimisticCheck: false,
      lockTtlMs: 100,
      txnSize: bigTxnThreshold,
    });
    await c.pessimisticLock([pessimisticKey], { primary: pk, startTs, lockTtlMs: 100 });
    expect((await lockOf(pessimisticKey))?.lockType).toBe('PessimisticLock');
    const left = await lockOf(optimistic[0] as Uint8Array);
    expect(left?.lockType).toBe('Put');
    expect(left?.primary).toEqual(pk);
    // The primary is gone, as after a crash.
    await pessimisticRollback([pk], startTs, startTs);
    c.sender.reset();
    const result = await c.resolver.resolveLocks(c.bo(), {
      callerStartTs: await c.ts(),
      locks: [left as LockInfo],
    });
    expect(result.msBeforeTxnExpired).toBe(0);
    // One ResolveLock without keys: the whole region.
    await c.resolver.whenIdle();
    const resolves = c.sender.sent('ResolveLock');
    expect(resolves.length).toBeGreaterThan(0);
    expect(resolves.every((r) => r.request.value.keys.length === 0)).toBe(true);
    for (const key of optimistic) expect(await lockOf(key)).toBeUndefined();
    // The pessimistic lock (TiKV keeps those in memory, out of the region-wide resolve) is
    // expired with its primary gone: another transaction takes it without waiting.
    const txn2 = await begin();
    await txn2.lockKeys([pessimisticKey], { noWait: true });
  });
});
