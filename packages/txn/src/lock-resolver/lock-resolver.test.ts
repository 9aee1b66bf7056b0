import { type Backoffer, type LogFields, makeLockInfo } from '@tikv/common';
import type { RegionExecutor } from '@tikv/rpc';
import { AsyncResolveData, NonAsyncCommitLockError } from './async-commit-recovery.js';
import { BackgroundResolves } from './background-resolves.js';
import { LockResolver } from './lock-resolver.js';
import { resolveLockResolverTuning } from './lock-resolver-options.js';
import { TxnStatus } from './txn-status.js';

describe('TxnStatus', () => {
  test('committed, rolled back, determined', () => {
    const alive = new TxnStatus({ ttlMs: 3000n, action: 'MinCommitTSPushed' });
    expect([alive.isCommitted, alive.isRolledBack, alive.isStatusDetermined]).toEqual([false, false, false]);
    const committed = new TxnStatus({ commitTs: 10n });
    expect([committed.isCommitted, committed.isRolledBack, committed.isStatusDetermined]).toEqual([
      true,
      false,
      true,
    ]);
    for (const action of ['NoAction', 'LockNotExistRollback', 'TTLExpireRollback'] as const) {
      expect(new TxnStatus({ action }).isRolledBack).toBe(true);
    }
    // A pessimistic rollback or "do nothing" decides nothing about the transaction.
    expect(new TxnStatus({ action: 'TTLExpirePessimisticRollback' }).isStatusDetermined).toBe(false);
    expect(new TxnStatus({ action: 'LockNotExistDoNothing' }).isStatusDetermined).toBe(false);
    expect(committed.hasSameDeterminedStatus(new TxnStatus({ commitTs: 10n }))).toBe(true);
    expect(committed.hasSameDeterminedStatus(new TxnStatus({ commitTs: 11n }))).toBe(false);
    expect(new TxnStatus().hasSameDeterminedStatus(new TxnStatus({ action: 'TTLExpireRollback' }))).toBe(
      true,
    );
    expect(alive.withCommitTs(7n).commitTs).toBe(7n);
    expect(alive.withCommitTs(7n).action).toBe('MinCommitTSPushed');
    expect(String(committed)).toBe('ttl: 0, commitTs: 10, action: NoAction');
  });
});

describe('AsyncResolveData (client-go addKeys)', () => {
  const lock = (minCommitTs: bigint, useAsyncCommit = true, lockVersion = 5n) =>
    makeLockInfo({ key: Uint8Array.of(Number(minCommitTs)), lockVersion, minCommitTs, useAsyncCommit });

  test('every lock present: the largest min commit ts, the keys to resolve', () => {
    const d = new AsyncResolveData(8n);
    d.addKeys([lock(7n), lock(12n)], 2, 5n, 0n);
    d.addKeys([lock(9n)], 1, 5n, 0n);
    expect(d.commitTs).toBe(12n);
    expect(d.keys).toHaveLength(3);
    expect(d.missingLock).toBe(false);
  });

  test('a missing lock decides the commit ts (0: rolled back); answers must agree', () => {
    const d = new AsyncResolveData(8n);
    d.addKeys([], 1, 5n, 20n);
    expect([d.missingLock, d.commitTs]).toEqual([true, 20n]);
    d.addKeys([lock(30n)], 1, 5n, 0n);
    expect(d.commitTs).toBe(20n);
    expect(() => d.addKeys([], 2, 5n, 21n)).toThrow(/mismatch/);
    const rolledBack = new AsyncResolveData(8n);
    rolledBack.addKeys([], 1, 5n, 0n);
    expect(rolledBack.commitTs).toBe(0n);
    expect(() => new AsyncResolveData(8n).addKeys([], 1, 5n, 7n)).toThrow(/min commit ts/);
  });

  test('a lock of another transaction or a 2PC lock', () => {
    expect(() => new AsyncResolveData(1n).addKeys([lock(2n, true, 6n)], 1, 5n, 0n)).toThrow(
      /unexpected timestamp/,
    );
    expect(() => new AsyncResolveData(1n).addKeys([lock(2n, false)], 1, 5n, 0n)).toThrow(
      NonAsyncCommitLockError,
    );
  });
});

/** An executor whose `begin` makes real backoffers, for the background pool. */
function fakeExecutor(): RegionExecutor {
  return {
    begin: (opts: { signal?: AbortSignal }) => ({
      bo: { signal: opts.signal } as unknown as Backoffer,
      scope: { signal: opts.signal, deadlineAtMs: undefined, dispose: () => {}, [Symbol.dispose]: () => {} },
    }),
  } as unknown as RegionExecutor;
}

describe('BackgroundResolves (client-go TestTryAsyncResolve)', () => {
  test('at most `limit` tasks; room again when one ends; none after close', async () => {
    const lines: [string, LogFields | undefined][] = [];
    const logger = {
      debug: () => {},
      info: (m: string, f?: LogFields) => lines.push([m, f]),
      warn: () => {},
      error: () => {},
    };
    const pool = new BackgroundResolves(fakeExecutor(), 2, 1000, logger);
    const exits: (() => void)[] = [];
    const start = (fail = false) =>
      pool.tryRun(
        'task',
        () => new Promise<void>((res, rej) => exits.push(fail ? () => rej(new Error('x')) : res)),
      );
    expect(start()).toBe(true);
    expect(start(true)).toBe(true);
    expect(pool.size).toBe(2);
    expect(start()).toBe(false);
    exits[1]?.();
    await new Promise((r) => setImmediate(r));
    expect(pool.size).toBe(1);
    expect(lines).toEqual([['background task failed', { error: new Error('x') }]]);
    expect(start()).toBe(true);
    exits[0]?.();
    exits[2]?.();
    await pool.idle();
    expect(pool.size).toBe(0);
    // Close aborts the running tasks (their backoffer's signal) and waits for them.
    let aborted = false;
    pool.tryRun(
      'long',
      (bo) =>
        new Promise<void>((res) =>
          bo.signal?.addEventListener('abort', () => {
            aborted = true;
            res();
          }),
        ),
    );
    await pool.close();
    expect(aborted).toBe(true);
    expect(start()).toBe(false);
    expect(new BackgroundResolves(fakeExecutor(), 0, 1000, logger).tryRun('none', async () => {})).toBe(
      false,
    );
  });
});

describe('LockResolver options', () => {
  test('defaults and checks', () => {
    expect(resolveLockResolverTuning({})).toMatchObject({
      liteThreshold: 512,
      resolvedCacheSize: 2048,
      maxBackgroundResolves: 10_000,
      backgroundMaxBackoffMs: 40_000,
    });
    expect(() => resolveLockResolverTuning({ resolvedCacheSize: 0 })).toThrow(/resolvedCacheSize/);
    expect(() => resolveLockResolverTuning({ liteThreshold: -1 })).toThrow(/liteThreshold/);
    const r = new LockResolver({ executor: fakeExecutor(), oracle: {} as never, liteThreshold: 16 });
    expect(r.tuning.liteThreshold).toBe(16);
    expect(r.backgroundResolves).toBe(0);
    expect(r.cachedStatus(1n)).toBeUndefined();
  });
});
