import { ManualClock } from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import { DeadlockDetector } from './deadlock-detector.js';
import { keyHash, LockWaitManager, type WaitOutcome } from './lock-wait-manager.js';

const b = (s: string) => Buffer.from(s);
const lockOn = (key: string, ts: bigint) =>
  kvrpcpb.LockInfo.fromPartial({ key: b(key), lockVersion: ts, primaryLock: b(key) });

describe('src/server/lock_manager/deadlock.rs', () => {
  test('test_detect_table', () => {
    const d = new DeadlockDetector(() => 0);
    // Deadlock: 1 -> 2 -> 1
    expect(d.detect(1n, 2n, 2n, b('k2'))).toBeUndefined();
    const one = d.detect(2n, 1n, 1n, b('k1'));
    expect(one?.keyHash).toBe(2n);
    expect(one?.waitChain.map((e) => [e.txn, e.waitForTxn])).toEqual([[1n, 2n]]);
    // Deadlock: 1 -> 2 -> 3 -> 1
    expect(d.detect(2n, 3n, 3n, b('k3'))).toBeUndefined();
    const two = d.detect(3n, 1n, 1n, b('k1'));
    expect(two?.keyHash).toBe(3n);
    expect(two?.waitChain.map((e) => [e.txn, e.waitForTxn, e.keyHash])).toEqual([
      [1n, 2n, 2n],
      [2n, 3n, 3n],
    ]);
    d.cleanUp(2n);
    // After the cycle is broken, no deadlock.
    expect(d.detect(3n, 1n, 1n, b('k1'))).toBeUndefined();
    // An existing edge is not detected again.
    expect(d.detect(3n, 1n, 2n, b('k1'))).toBeUndefined();
    d.cleanUpWaitFor(3n, 1n);
    expect(d.detect(1n, 3n, 3n, b('k3'))).toBeUndefined();
  });
});

describe('lock waiting (src/storage/lock_manager/lock_waiting_queue.rs)', () => {
  function manager() {
    const clock = new ManualClock();
    const m = new LockWaitManager({ waitForLockTimeoutMs: 1000, wakeUpDelayMs: 20, clock });
    return { clock, m };
  }

  test('wait_timeout: < 0 no wait, 0 the default, capped by wait-for-lock-timeout', () => {
    const { m } = manager();
    expect(m.waitMsFor(-1n)).toBeUndefined();
    expect(m.waitMsFor(0n)).toBe(1000);
    expect(m.waitMsFor(300n)).toBe(300);
    expect(m.waitMsFor(5000n)).toBe(1000);
  });

  test('waiters are woken in start ts order; the others follow after the wake-up delay', async () => {
    const { clock, m } = manager();
    const order: string[] = [];
    const track = (name: string, p: Promise<WaitOutcome>) => p.then((o) => order.push(`${name}:${o.kind}`));
    const lock = lockOn('k', 10n);
    const waits = [
      track('30', m.wait({ startTs: 30n, lockInfo: lock, allowLockWithConflict: false }, 1000)),
      track('20', m.wait({ startTs: 20n, lockInfo: lock, allowLockWithConflict: false }, 1000)),
      track('40', m.wait({ startTs: 40n, lockInfo: lock, allowLockWithConflict: false }, 1000)),
    ];
    expect(m.waitInfo().map((e) => e.txn)).toEqual([20n, 30n, 40n]);
    m.onReleased([{ key: b('k'), startTs: 10n, commitTs: 15n, pessimistic: false }]);
    await Promise.resolve();
    expect(order).toEqual(['20:woken']);
    clock.advance(20);
    await Promise.all(waits);
    expect(order).toEqual(['20:woken', '30:woken', '40:woken']);
    expect(m.waiting).toBe(0);
    expect(clock.pendingSleeps).toBe(0);
  });

  test('a wait times out, and paused wake-ups are delivered on resume', async () => {
    const { clock, m } = manager();
    const timedOut = m.wait({ startTs: 20n, lockInfo: lockOn('a', 10n), allowLockWithConflict: false }, 100);
    clock.advance(100);
    expect(await timedOut).toMatchObject({ kind: 'timeout', waitedMs: 100, sinceUpdateMs: 0 });
    m.pauseWakeUps();
    const held = m.wait({ startTs: 21n, lockInfo: lockOn('a', 10n), allowLockWithConflict: true }, 1000);
    m.onReleased([{ key: b('a'), startTs: 10n, commitTs: 0n, pessimistic: true }]);
    expect(m.waiting).toBe(1);
    m.resumeWakeUps();
    expect(await held).toEqual({ kind: 'woken', conflictStartTs: 10n, conflictCommitTs: 0n });
    const closed = m.wait({ startTs: 22n, lockInfo: lockOn('a', 11n), allowLockWithConflict: false }, 1000);
    m.close();
    expect(await closed).toEqual({ kind: 'closed' });
    expect(
      await m.wait({ startTs: 23n, lockInfo: lockOn('a', 11n), allowLockWithConflict: false }, 1),
    ).toEqual({ kind: 'closed' });
  });

  test('a per-store pause holds only that store’s waiters', async () => {
    const { m } = manager();
    const onOne = m.wait(
      { startTs: 20n, lockInfo: lockOn('a', 10n), allowLockWithConflict: false, storeId: 1n },
      1000,
    );
    const onTwo = m.wait(
      { startTs: 21n, lockInfo: lockOn('b', 11n), allowLockWithConflict: false, storeId: 2n },
      1000,
    );
    m.pauseWakeUps(1n);
    m.onReleased([
      { key: b('a'), startTs: 10n, commitTs: 12n, pessimistic: false },
      { key: b('b'), startTs: 11n, commitTs: 13n, pessimistic: false },
    ]);
    expect(await onTwo).toMatchObject({ kind: 'woken', conflictCommitTs: 13n });
    expect(m.waiting).toBe(1);
    m.resumeWakeUps(1n);
    expect(await onOne).toMatchObject({ kind: 'woken', conflictCommitTs: 12n });
  });

  test('detect registers the edge that waitInfo and the detector share', () => {
    const { m } = manager();
    expect(
      m.detect({ startTs: 1n, lockInfo: lockOn('x', 2n), allowLockWithConflict: false }),
    ).toBeUndefined();
    const dead = m.detect({ startTs: 2n, lockInfo: lockOn('y', 1n), allowLockWithConflict: false });
    expect(dead?.keyHash).toBe(keyHash(b('x')));
    // The detect table's chain, then the refused wait itself (TiKV's handle_detect_locally).
    expect(dead?.waitChain).toHaveLength(2);
    expect(dead?.waitChain[0]).toMatchObject({ txn: 1n, waitForTxn: 2n, key: b('x') });
    expect(dead?.waitChain[1]).toMatchObject({
      txn: 2n,
      waitForTxn: 1n,
      key: b('y'),
      keyHash: keyHash(b('y')),
      waitTime: 0n,
    });
  });

  /** The shared locks of `key` held by `holders` (`SharedLocks::into_lock_info`). */
  const sharedOn = (key: string, ...holders: bigint[]) =>
    kvrpcpb.LockInfo.fromPartial({
      key: b(key),
      lockType: kvrpcpb.Op.SharedLock,
      sharedLockInfos: holders.map((ts) => lockOn(key, ts)),
    });

  test('a wait on shared locks waits for each holder: a cycle through any of them is a deadlock', () => {
    const { m } = manager();
    const wait = (startTs: bigint, lockInfo: kvrpcpb.LockInfo) =>
      m.detect({ startTs, lockInfo, allowLockWithConflict: false });
    // 1 waits for 3's exclusive lock on x; 3 waits for the shared holders 2 and 1 of s.
    expect(wait(1n, lockOn('x', 3n))).toBeUndefined();
    const dead = wait(3n, sharedOn('s', 2n, 1n));
    // The holder whose edge closed the cycle is the lock the deadlock reports.
    expect(dead?.lockTs).toBe(1n);
    expect(dead?.keyHash).toBe(keyHash(b('x')));
    expect(dead?.waitChain.map((e) => [e.txn, e.waitForTxn, e.keyHash])).toEqual([
      [1n, 3n, keyHash(b('x'))],
      [3n, 1n, keyHash(b('s'))],
    ]);
    // The edge 3 -> 2 added before the cycle was found is taken back: 2 may wait for 3.
    expect(wait(2n, lockOn('y', 3n))).toBeUndefined();
  });

  test('a cycle closing through a later wait on shared locks names the holder in the chain', () => {
    const { m } = manager();
    const wait = (startTs: bigint, lockInfo: kvrpcpb.LockInfo) =>
      m.detect({ startTs, lockInfo, allowLockWithConflict: false });
    // 5 waits for the shared holders 6 and 7; then 7 waits for 5: 5 -> 7 -> 5.
    expect(wait(5n, sharedOn('s', 6n, 7n))).toBeUndefined();
    expect(wait(6n, lockOn('z', 8n))).toBeUndefined();
    const dead = wait(7n, lockOn('x', 5n));
    expect(dead?.lockTs).toBe(5n);
    expect(dead?.keyHash).toBe(keyHash(b('s')));
    expect(dead?.waitChain.map((e) => [e.txn, e.waitForTxn, e.key])).toEqual([
      [5n, 7n, b('s')],
      [7n, 5n, b('x')],
    ]);
  });

  test('an ended wait on shared locks drops the edge to every holder', async () => {
    const { clock, m } = manager();
    const req = { startTs: 5n, lockInfo: sharedOn('s', 6n, 7n), allowLockWithConflict: false };
    expect(m.detect(req)).toBeUndefined();
    const timedOut = m.wait(req, 100);
    // GetLockWaitInfo reports the shared wait with TiKV's lock digest ts, 0.
    expect(m.waitInfo()).toMatchObject([{ txn: 5n, waitForTxn: 0n, key: b('s') }]);
    clock.advance(100);
    expect(await timedOut).toMatchObject({ kind: 'timeout' });
    // Neither 6 nor 7 waiting for 5 closes a cycle now.
    const wait = (startTs: bigint) =>
      m.detect({ startTs, lockInfo: lockOn('x', 5n), allowLockWithConflict: false });
    expect(wait(6n)).toBeUndefined();
    expect(wait(7n)).toBeUndefined();
  });

  test('a waiter moved onto new shared locks waits for their holders (update_wait_for)', async () => {
    const { m } = manager();
    // 9 waits for 10's exclusive lock on k; 11 waits for 9 elsewhere.
    const req = { startTs: 9n, lockInfo: lockOn('k', 10n), allowLockWithConflict: true };
    expect(m.detect(req)).toBeUndefined();
    const waiting = m.wait(req, 1000);
    expect(
      m.detect({ startTs: 11n, lockInfo: lockOn('y', 9n), allowLockWithConflict: false }),
    ).toBeUndefined();
    // The key is now held in share mode by 12 and 11: the wait for 11 closes 9 -> 11 -> 9.
    m.onAcquired([sharedOn('k', 12n, 11n)]);
    const outcome = await waiting;
    expect(outcome.kind).toBe('deadlock');
    if (outcome.kind !== 'deadlock') return;
    expect(outcome.found.lockTs).toBe(11n);
    expect(outcome.found.waitChain.map((e) => [e.txn, e.waitForTxn])).toEqual([
      [11n, 9n],
      [9n, 11n],
    ]);
    // The old edge 9 -> 10 and the new 9 -> 12 are gone.
    expect(
      m.detect({ startTs: 10n, lockInfo: lockOn('q', 9n), allowLockWithConflict: false }),
    ).toBeUndefined();
    expect(
      m.detect({ startTs: 12n, lockInfo: lockOn('q', 9n), allowLockWithConflict: false }),
    ).toBeUndefined();
  });
});
