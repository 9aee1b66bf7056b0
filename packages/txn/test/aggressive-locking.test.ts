// Port of client-go integration_tests/2pc_test.go cases that look inside a pessimistic
// transaction (client-go's TxnProbe: the committer's primary, whether its TTL manager runs, how
// many locks it counts): primary switching between aggressive-locking attempts, the TTL manager
// across attempts and exits, and keep-alive after the stage ends. They drive the transaction's
// pessimistic state directly, on a mock cluster, and read the locks TiKV holds with ScanLock.
import { systemClock } from '@tikv/common';
import { resolveCommitOptions } from '../src/commit/commit-options.js';
import { MemBuffer } from '../src/index.js';
import { PessimisticState } from '../src/pessimistic/pessimistic-state.js';
import { k, TxnTestCluster } from './txn-cluster.js';

describe('2pc_test.go aggressive locking internals', () => {
  let c: TxnTestCluster;
  const open: PessimisticState[] = [];
  beforeAll(async () => {
    c = await TxnTestCluster.start();
  });
  afterEach(async () => {
    for (const s of open.splice(0)) {
      if (s.inAggressiveLocking) s.cancelAggressiveLocking();
      await s.rollbackAll(undefined);
      await s.whenRollbacksSettled();
      s.close();
    }
  });
  afterAll(async () => {
    await c?.close();
  });

  /** A pessimistic transaction's state at a fresh start ts (client-go `begin` + `SetPessimistic`). */
  async function begin(): Promise<{ s: PessimisticState; startTs: bigint }> {
    const startTs = await c.ts();
    const s = new PessimisticState(
      { executor: c.exec, oracle: c.oracle },
      c.resolver,
      new MemBuffer(),
      resolveCommitOptions(undefined),
      startTs,
      Date.now(),
      systemClock,
    );
    open.push(s);
    return { s, startTs };
  }

  const lock = (s: PessimisticState, key: string, forUpdateTs: bigint) =>
    s.lockKeys([k(key)], { forUpdateTs });

  /** The lock TiKV holds on `key`, if any (ScanLock over the key alone). */
  async function lockOf(key: string) {
    const [l] = await c.scanLocks(k(key), k(`${key}\0`));
    return l;
  }

  async function checkPrimary(key: string, primary: string): Promise<void> {
    const l = await lockOf(key);
    expect(l?.lockType).toBe('PessimisticLock');
    expect(Buffer.from(l?.primary ?? []).toString()).toBe(primary);
  }

  async function checkLocked(key: string, locked: boolean): Promise<void> {
    expect((await lockOf(key)) !== undefined).toBe(locked);
  }

  test('TestAggressiveLockingSwitchPrimary', async () => {
    const p = (s: string) => `sw1_${s}`;
    let { s, startTs } = await begin();
    let forUpdateTs = startTs;
    s.startAggressiveLocking();
    await lock(s, p('k1'), forUpdateTs);
    await lock(s, p('k2'), forUpdateTs);
    await checkPrimary(p('k1'), p('k1'));
    await checkPrimary(p('k2'), p('k1'));

    // The primary stays.
    forUpdateTs++;
    s.retryAggressiveLocking();
    await lock(s, p('k1'), forUpdateTs);
    await lock(s, p('k3'), forUpdateTs);
    await checkPrimary(p('k1'), p('k1'));
    await checkPrimary(p('k3'), p('k1'));

    // A new primary the previous attempt did not lock.
    forUpdateTs++;
    s.retryAggressiveLocking();
    await lock(s, p('k4'), forUpdateTs);
    await lock(s, p('k5'), forUpdateTs);
    await checkPrimary(p('k4'), p('k4'));
    await checkPrimary(p('k5'), p('k4'));
    await s.whenRollbacksSettled();
    // Locks of the attempt before last that were not taken again are released.
    await checkLocked(p('k2'), false);

    // A new primary the previous attempt locked.
    forUpdateTs++;
    s.retryAggressiveLocking();
    await lock(s, p('k5'), forUpdateTs);
    await lock(s, p('k6'), forUpdateTs);
    await checkPrimary(p('k5'), p('k5'));
    await checkPrimary(p('k6'), p('k5'));
    await s.whenRollbacksSettled();
    await checkLocked(p('k1'), false);
    await checkLocked(p('k3'), false);

    // A primary locked two attempts back.
    forUpdateTs++;
    s.retryAggressiveLocking();
    await lock(s, p('k7'), forUpdateTs);
    forUpdateTs++;
    s.retryAggressiveLocking();
    await lock(s, p('k6'), forUpdateTs);
    await lock(s, p('k5'), forUpdateTs);
    await checkPrimary(p('k5'), p('k6'));
    await checkPrimary(p('k6'), p('k6'));

    s.cancelAggressiveLocking();
    await s.whenRollbacksSettled();
    for (let i = 1; i <= 7; i++) await checkLocked(p(`k${i}`), false);

    // A primary chosen before the stage stays the primary.
    const q = (x: string) => `sw2_${x}`;
    ({ s, startTs } = await begin());
    forUpdateTs = startTs;
    await s.lockKeys([k(q('k1')), k(q('k2'))], { forUpdateTs });
    await checkPrimary(q('k1'), q('k1'));
    await checkPrimary(q('k2'), q('k1'));
    s.startAggressiveLocking();
    await lock(s, q('k2'), forUpdateTs);
    await lock(s, q('k3'), forUpdateTs);
    await checkPrimary(q('k2'), q('k1'));
    await checkPrimary(q('k3'), q('k1'));
    forUpdateTs++;
    s.retryAggressiveLocking();
    await lock(s, q('k3'), forUpdateTs);
    await lock(s, q('k4'), forUpdateTs);
    await checkPrimary(q('k3'), q('k1'));
    await checkPrimary(q('k4'), q('k1'));
    s.cancelAggressiveLocking();
    await s.whenRollbacksSettled();
    await checkLocked(q('k1'), true);
    await checkLocked(q('k2'), true);
    await checkLocked(q('k3'), false);
    await checkLocked(q('k4'), false);
    await s.rollbackAll(undefined);
    await checkLocked(q('k1'), false);
    await checkLocked(q('k2'), false);
  });

  test('TestAggressiveLockingResetTTLManager', async () => {
    // Not blocked.
    let { s, startTs } = await begin();
    s.startAggressiveLocking();
    expect(s.ttlRunning).toBe(false);
    await lock(s, 'rttl_k1', startTs);
    expect(s.ttlRunning).toBe(true);
    s.cancelAggressiveLocking();
    expect(s.inAggressiveLocking).toBe(false);
    expect(s.ttlRunning).toBe(false);
    await s.whenRollbacksSettled();

    // Blocked by another transaction, which then commits: locked with conflict.
    ({ s, startTs } = await begin());
    s.startAggressiveLocking();
    const blocker = await c.ts();
    await c.pessimisticLock([k('rttl_k1')], { startTs: blocker, lockTtlMs: 20_000 });
    let settled = false;
    const pending = lock(s, 'rttl_k1', startTs).finally(() => {
      settled = true;
    });
    // It waits (TiKV's lock wait, then backoff) while the blocker holds the lock.
    await c.prewrite({
      mutations: [[k('rttl_k1'), k('v1')]],
      startTs: blocker,
      forUpdateTs: blocker,
    });
    expect(settled).toBe(false);
    const commitTs = await c.ts();
    await c.commitKeys([k('rttl_k1')], blocker, commitTs);
    const [r] = await pending;
    expect(r?.lockedWithConflictTs).toBe(commitTs);
    expect(commitTs).toBeGreaterThan(startTs);
    expect(s.ttlRunning).toBe(true);

    s.retryAggressiveLocking();
    expect(s.ttlRunning).toBe(true);
    await lock(s, 'rttl_k1', await c.ts());
    expect(s.ttlRunning).toBe(true);
    s.cancelAggressiveLocking();
    expect(s.ttlRunning).toBe(false);
    expect(s.lockedCount).toBe(0);
  });

  test.each([
    [false, false],
    [true, false],
    [true, true],
  ])(
    'TestAggressiveLockingKeepAliveAfterMultiLockKeysOperation (retried %s, primary changed %s)',
    async (retried, primaryChanged) => {
      const p = (x: string) => `ka_${retried}_${primaryChanged}_${x}`;
      const { s, startTs } = await begin();
      s.startAggressiveLocking();
      if (retried) {
        const last = primaryChanged ? p('k0') : p('k1');
        await lock(s, last, startTs);
        expect(Buffer.from(s.primaryKey ?? []).toString()).toBe(last);
        s.retryAggressiveLocking();
      }
      await lock(s, p('k1'), startTs);
      expect(s.inAggressiveLocking).toBe(true);
      expect(s.isInAggressiveLockingStage(k(p('k1')))).toBe(true);
      expect(s.ttlRunning).toBe(true);
      expect(Buffer.from(s.primaryKey ?? []).toString()).toBe(p('k1'));
      await lock(s, p('k2'), startTs);
      expect(s.isInAggressiveLockingStage(k(p('k2')))).toBe(true);
      expect(s.ttlRunning).toBe(true);
      expect(Buffer.from(s.primaryKey ?? []).toString()).toBe(p('k1'));
      s.doneAggressiveLocking();
      expect(s.ttlRunning).toBe(true);
      await s.whenRollbacksSettled();
      await checkLocked(p('k1'), true);
      await checkLocked(p('k2'), true);
      await checkPrimary(p('k2'), p('k1'));
    },
  );

  const phases = ['enter', 'firstLock', 'retry', 'secondLock'] as const;
  const cases = [false, true].flatMap((done) =>
    phases.flatMap((phase) =>
      [false, true].map((retryDifferentKey) => [done, phase, retryDifferentKey] as const),
    ),
  );
  test.each(cases)(
    'TestAggressiveLockingResetPrimaryAndTTLManagerAfterExit (done %s, exit on %s, retry a different key %s)',
    async (done, phase, retryDifferentKey) => {
      const p = (x: string) => `ex_${done}_${phase}_${retryDifferentKey}_${x}`;
      const { s, startTs } = await begin();
      const exit = () => (done ? s.doneAggressiveLocking() : s.cancelAggressiveLocking());
      s.startAggressiveLocking();
      expect(s.ttlRunning).toBe(false);
      if (phase === 'enter') {
        exit();
        expect(s.inAggressiveLocking).toBe(false);
        expect(s.lockedCount).toBe(0);
        expect(s.ttlRunning).toBe(false);
        expect(s.primaryKey).toBeUndefined();
        return;
      }
      await lock(s, p('k1'), startTs);
      expect(s.ttlRunning).toBe(true);
      expect(s.lockedCount).toBe(1);
      if (phase === 'firstLock') {
        exit();
        expect(s.ttlRunning).toBe(done);
        expect(s.lockedCount).toBe(done ? 1 : 0);
        expect(s.inAggressiveLocking).toBe(false);
        return;
      }
      s.retryAggressiveLocking();
      if (phase === 'retry') {
        exit();
        expect(s.inAggressiveLocking).toBe(false);
        expect(s.lockedCount).toBe(0);
        expect(s.ttlRunning).toBe(false);
        return;
      }
      const key = retryDifferentKey ? p('k2') : p('k1');
      await lock(s, key, await c.ts());
      expect(s.ttlRunning).toBe(true);
      expect(Buffer.from(s.primaryKey ?? []).toString()).toBe(key);
      // A different key: the previous attempt's k1 is released only when the stage moves on.
      expect(s.lockedCount).toBe(retryDifferentKey ? 2 : 1);
      exit();
      expect(s.ttlRunning).toBe(done);
      expect(s.lockedCount).toBe(done ? 1 : 0);
      expect(s.inAggressiveLocking).toBe(false);
    },
  );
});
