import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { getEventListeners } from 'node:events';
import { BackoffBudgetExceededError, DeadlineExceededError } from '../errors/client-errors.js';
import { isTiKVError } from '../errors/is-tikv-error.js';
import { RegionError } from '../errors/region-error.js';
import { TiKVError } from '../errors/tikv-error.js';
import type { Logger } from '../hooks/logger.js';
import type { MetricsHook } from '../hooks/metrics.js';
import { createSeededRandom, ManualClock } from '../time/clock.js';
import { type BackoffKind, BackoffKinds, defineBackoffKind } from './backoff-kind.js';
import { BACKOFF_CHANNEL, type BackoffEvent, Backoffer, type BackofferOptions } from './backoffer.js';
import { mayBackoffForRegionError } from './region-error-backoff.js';

/** A backoffer on a clock that advances by each sleep, with reproducible jitter. */
function makeBackoffer(options: BackofferOptions = {}): { bo: Backoffer; clock: ManualClock } {
  const clock = new ManualClock({ autoAdvance: true, startMs: 1_700_000_000_000 });
  const bo = new Backoffer({ clock, random: createSeededRandom(42), ...options });
  return { bo, clock };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the promise to reject');
}

function assertCloneOrForkEqual(a: Backoffer, b: Backoffer): void {
  expect(b.latestErrors()).toEqual(a.latestErrors());
  expect(b.errorsNum).toBe(a.errorsNum);
  expect(new Map(b.backoffSleepMs)).toEqual(new Map(a.backoffSleepMs));
  expect(new Map(b.backoffTimes)).toEqual(new Map(a.backoffTimes));
  expect(b.excludedSleepMs).toBe(a.excludedSleepMs);
  expect(b.totalSleepMs).toBe(a.totalSleepMs);
}

describe('Backoffer (ports client-go config/retry/backoff_test.go)', () => {
  test('TestBackoffWithMax: the txnLockFast sleep is capped by maxSleepMs', async () => {
    const { bo } = makeBackoffer({ maxBackoffMs: 2000 });
    await bo.backoffWithMaxSleepTxnLockFast(5, new Error('test'));
    expect(bo.totalSleepMs).toBe(5);
  });

  test('TestBackoffErrorType: the budget error names the kind that slept longest', async () => {
    // The budget is 800ms times the default weight 2.
    const { bo } = makeBackoffer({ maxBackoffMs: 800 });
    expect(bo.maxBackoffMs).toBe(1600);
    const errorOf = new Map<string, Error>();
    const backoff = (kind: (typeof BackoffKinds)[keyof typeof BackoffKinds], message: string) => {
      const e = new Error(message);
      errorOf.set(kind.name, e);
      return bo.backoff(kind, e);
    };
    await backoff(BackoffKinds.regionMiss, 'region miss'); // 2ms
    for (let i = 0; i < 2; i++) {
      await backoff(BackoffKinds.regionNotInitialized, 'region not initialized'); // 2ms, 4ms
    }
    await backoff(BackoffKinds.regionRecoveryInProgress, 'recovery in progress'); // < 100ms
    // ServerIsBusy sleep is not counted against the budget.
    await backoff(BackoffKinds.tikvServerBusy, 'server is busy');
    expect(bo.excludedSleepMs).toBeGreaterThanOrEqual(1000);
    await backoff(BackoffKinds.isWitness, 'peer is witness'); // < 1000ms
    for (let i = 0; i < 15; i++) {
      try {
        await backoff(BackoffKinds.txnNotFound, `txn not found ${i}`);
      } catch (e) {
        expect(e).toBeInstanceOf(BackoffBudgetExceededError);
        const err = e as BackoffBudgetExceededError;
        expect(err.longestSleepKind).toBe(bo.longestSleep()?.kind);
        expect(err.longestSleepKind).not.toBe('tikvServerBusy');
        expect(err.maxBackoffTimeExceeded).toBe(true);
        expect(err.retryable).toBe(false);
        // client-go returns the error of the kind that slept longest.
        expect(err.causeKind).toBe(err.longestSleepKind);
        expect(err.cause).toBe(errorOf.get(err.longestSleepKind as string));
        return;
      }
    }
    throw new Error('should not be here');
  });

  test('TestBackoffDeepCopy: clone and fork keep the budget used so far', async () => {
    const { bo } = makeBackoffer({ maxBackoffMs: 4 });
    // 2 + 4 + 8 = 14ms slept, over the 8ms budget: the next backoff fails.
    for (let i = 0; i < 3; i++) {
      await bo.backoff(BackoffKinds.regionNotInitialized, new Error('region not initialized'));
    }
    const { backoffer: forked, cancel } = bo.fork();
    assertCloneOrForkEqual(bo, forked);
    const cloned = bo.clone();
    assertCloneOrForkEqual(bo, cloned);
    for (const b of [forked, cloned]) {
      const err = await rejection(b.backoff(BackoffKinds.tikvRPC, new Error('tikv rpc')));
      expect(isTiKVError(err, 'BACKOFF_EXCEEDED')).toBe(true);
      expect((err as BackoffBudgetExceededError).longestSleepKind).toBe('regionNotInitialized');
    }
    cancel();
  });

  test('TestBackoffUpdateUsingFork: the parent takes over the forked state', async () => {
    const { bo } = makeBackoffer({ maxBackoffMs: 4 });
    for (let i = 0; i < 3; i++) {
      await bo.backoff(BackoffKinds.regionNotInitialized, new Error('region not initialized'));
    }
    const { backoffer: forked } = bo.fork();
    await rejection(forked.backoff(BackoffKinds.tikvRPC, new Error('tikv rpc')));
    const clonedFork = forked.clone();
    bo.updateUsingForked(forked);
    assertCloneOrForkEqual(bo, clonedFork);
    expect(bo.types()).toEqual(['regionNotInitialized', 'regionNotInitialized', 'regionNotInitialized']);
  });

  test('TestBackoffWithMaxExcludedExceed: excluded sleep has its own limit', async () => {
    const busy = defineBackoffKind({ ...BackoffKinds.tikvServerBusy, excludedMaxMs: 1 });
    const { bo } = makeBackoffer({ maxBackoffMs: 1 });
    await bo.backoff(busy, new Error('server is busy'));
    // The excluded sleep now passes both its limit and the budget.
    const err = await rejection(bo.backoff(busy, new Error('server is busy')));
    expect(err).toBeInstanceOf(BackoffBudgetExceededError);
    expect((err as BackoffBudgetExceededError).maxExcludedTimeExceeded).toBe(true);
    expect((err as BackoffBudgetExceededError).maxBackoffTimeExceeded).toBe(false);
    expect(bo.excludedSleepMs).toBeGreaterThan(bo.maxBackoffMs);
  });

  test('TestMayBackoffForRegionError: a real EpochNotMatch retries without sleeping', async () => {
    const { bo } = makeBackoffer({ maxBackoffMs: 1 });
    const err = new RegionError('EpochNotMatch', '', { detail: { currentRegions: [{ id: 1n }] } });
    await mayBackoffForRegionError(err, bo);
    await mayBackoffForRegionError(undefined, bo);
    expect(bo.totalSleepMs).toBe(0);
  });

  test.each([
    ['fake EpochNotMatch', new RegionError('EpochNotMatch', '', { detail: { currentRegions: [] } })],
    ['NotLeader', new RegionError('NotLeader', '', { detail: {} })],
    ['ServerIsBusy', new RegionError('ServerIsBusy', '', { detail: {} })],
    ['MaxTimestampNotSynced', new RegionError('MaxTimestampNotSynced', '', { detail: {} })],
  ])('TestMayBackoffForRegionError: %s backs off, and fails once cancelled', async (_name, regionErr) => {
    const controller = new AbortController();
    const { bo } = makeBackoffer({ maxBackoffMs: 1, signal: controller.signal });
    await mayBackoffForRegionError(regionErr, bo);
    expect(bo.totalSleepMs).toBeGreaterThan(0);

    controller.abort(regionErr);
    const { bo: cancelled } = makeBackoffer({ maxBackoffMs: 1, signal: controller.signal });
    expect(await rejection(mayBackoffForRegionError(regionErr, cancelled))).toBe(regionErr);
  });

  test('TestBackoffErrorsKeep: the latest three errors are kept, oldest first', async () => {
    const { bo } = makeBackoffer({ maxBackoffMs: 1_000_000 });
    expect(bo.errorsNum).toBe(0);
    expect(bo.latestErrors()).toEqual([]);
    const foo: BackoffKind = defineBackoffKind({
      name: 'foo',
      baseMs: 1,
      capMs: 2,
      jitter: 'EqualJitter',
      description: 'x',
    });
    const errs: Error[] = [];
    for (let i = 0; i < 32; i++) {
      errs.push(new Error(`mockErr-${i}`));
      await bo.backoff(foo, errs[i]);
      expect(bo.errorsNum).toBe(errs.length);
      const latest = bo.latestErrors();
      expect(latest).toHaveLength(Math.min(i + 1, 3));
      expect(latest.map((r) => r.error)).toEqual(errs.slice(Math.max(0, i + 1 - 3)));
      const times = latest.map((r) => r.atMs);
      expect([...times].sort((a, b) => a - b)).toEqual(times);
    }
  });

  test('TestBackoffError: the budget message lists each recorded error with its time', async () => {
    const { bo } = makeBackoffer({ maxBackoffMs: 1, backoffWeight: 1 });
    await bo.backoff(BackoffKinds.regionMiss, new Error('mockErr'));
    const err = (await rejection(
      bo.backoff(BackoffKinds.regionMiss, 'second'),
    )) as BackoffBudgetExceededError;
    expect(err.message).toContain('regionMiss backoffer.maxSleep 1ms is exceeded, errors:');
    expect(err.message).toContain('regionMiss: mockErr at 2023-11-14T22:13:20.000Z');
    expect(err.message).toContain('total-backoff-times: 1, backoff-detail: regionMiss:1');
    expect(err.message).toContain('longest sleep type: regionMiss, time: 2ms');
    expect(err.history).toEqual([{ kind: 'regionMiss', attempts: 1, totalSleepMs: 2 }]);
    expect(err.cause).toBe('second');
    expect(err.message.split('\n')[0]).toBe(
      'backoff budget of 1ms exhausted; last cause (regionMiss): second',
    );
  });
});

describe('Backoffer budget boundary', () => {
  test('sleeps summing exactly to the budget spend it: the next backoff is refused', async () => {
    // A kind that always sleeps 100ms, and a budget of 300ms (weight 1).
    const fixed = defineBackoffKind({
      name: 'fixed100',
      baseMs: 100,
      capMs: 100,
      jitter: 'NoJitter',
      description: 'a fixed 100ms step',
    });
    const { bo } = makeBackoffer({ maxBackoffMs: 300, backoffWeight: 1 });
    await bo.backoff(fixed, new Error('1'));
    await bo.backoff(fixed, new Error('2'));
    // 200ms slept, under the budget: the third sleep is allowed and reaches it exactly.
    await bo.backoff(fixed, new Error('3'));
    expect(bo.totalSleepMs).toBe(300);
    const err = await rejection(bo.backoff(fixed, new Error('4')));
    expect(err).toBeInstanceOf(BackoffBudgetExceededError);
    expect((err as BackoffBudgetExceededError).maxBackoffTimeExceeded).toBe(true);
    expect(bo.totalSleepMs).toBe(300);
  });
});

describe('Backoffer sequences', () => {
  test('each kind keeps its own exponential sequence, reset starts them over', async () => {
    const { bo, clock } = makeBackoffer({ maxBackoffMs: 0 });
    for (let i = 0; i < 10; i++) await bo.backoff(BackoffKinds.regionMiss, new Error('miss'));
    await bo.backoff(BackoffKinds.staleCommand, new Error('stale'));
    expect(clock.sleeps).toEqual([2, 4, 8, 16, 32, 64, 128, 256, 500, 500, 2]);
    expect(bo.backoffTimes.get('regionMiss')).toBe(10);
    expect(bo.totalBackoffTimes).toBe(11);
    bo.reset();
    expect(bo.totalSleepMs).toBe(0);
    await bo.backoff(BackoffKinds.regionMiss, new Error('miss'));
    expect(clock.sleeps.at(-1)).toBe(2);
    expect(bo.backoffSleepMs.get('regionMiss')).toBe(1512);
  });

  test('txnLockFast takes its base from lockFastBaseMs', async () => {
    const { bo, clock } = makeBackoffer({ lockFastBaseMs: 100, random: () => 0 });
    await bo.backoff(BackoffKinds.txnLockFast, new Error('locked'));
    await bo.backoff(BackoffKinds.txnLockFast, new Error('locked'));
    expect(clock.sleeps).toEqual([50, 100]);
  });

  test('keepSequences: copies carry the sequences on, and the parent takes the furthest back', async () => {
    const { bo, clock } = makeBackoffer();
    await bo.backoff(BackoffKinds.regionMiss, 'a');
    await bo.backoff(BackoffKinds.regionMiss, 'b');
    const c = bo.clone({ keepSequences: true });
    await c.backoff(BackoffKinds.regionMiss, 'c');
    const round = bo.fork({ keepSequences: true });
    const child = round.backoffer.clone({ keepSequences: true });
    await child.backoff(BackoffKinds.regionMiss, 'd');
    await child.backoff(BackoffKinds.regionMiss, 'e');
    // The clone and the fork's child go on from 4ms; the parent's own sequence did not move.
    expect(clock.sleeps).toEqual([2, 4, 8, 8, 16]);
    bo.updateUsingForked(child);
    round.dispose();
    await bo.backoff(BackoffKinds.regionMiss, 'f');
    expect(clock.sleeps.at(-1)).toBe(32);
    // A plain fork starts over; its shorter sequence does not replace the parent's.
    const plain = bo.fork();
    await plain.backoffer.backoff(BackoffKinds.regionMiss, 'g');
    expect(clock.sleeps.at(-1)).toBe(2);
    bo.updateUsingForked(plain.backoffer);
    plain.dispose();
    await bo.backoff(BackoffKinds.regionMiss, 'h');
    expect(clock.sleeps.at(-1)).toBe(64);
  });

  test('a clone restarts the sequences but keeps the counters', async () => {
    const { bo, clock } = makeBackoffer();
    await bo.backoff(BackoffKinds.regionMiss, 'a');
    await bo.backoff(BackoffKinds.regionMiss, 'b');
    const c = bo.clone();
    await c.backoff(BackoffKinds.regionMiss, 'c');
    expect(clock.sleeps).toEqual([2, 4, 2]);
    expect(c.backoffTimes.get('regionMiss')).toBe(3);
    expect(bo.backoffTimes.get('regionMiss')).toBe(2);
    expect(c.toString()).toBe(' backoff(8ms regionMiss,regionMiss,regionMiss)');
    expect(new Backoffer().toString()).toBe('');
  });

  test('minSleepMs honours a server hint and maxSleepMs caps it', async () => {
    const { bo, clock } = makeBackoffer();
    await bo.backoff(BackoffKinds.regionMiss, 'busy', { minSleepMs: 300 });
    await bo.backoff(BackoffKinds.regionMiss, 'busy', { minSleepMs: 300, maxSleepMs: 50 });
    await bo.backoff(BackoffKinds.regionMiss, 'again');
    // The exponential sequence still advances from its own values.
    expect(clock.sleeps).toEqual([300, 50, 8]);
  });

  test('a ServerIsBusy hint from the region error floors the regionMiss sleep', async () => {
    const { bo, clock } = makeBackoffer();
    const busy = new RegionError('ServerIsBusy', 'busy', { detail: { backoffMs: 120n } });
    await mayBackoffForRegionError(busy, bo);
    expect(clock.sleeps).toEqual([120]);
  });

  test('maxBackoffMs 0 means unlimited and the weight never overflows int32', async () => {
    const { bo } = makeBackoffer({ maxBackoffMs: 0 });
    for (let i = 0; i < 50; i++) await bo.backoff(BackoffKinds.tikvRPC, 'x');
    expect(bo.totalSleepMs).toBeGreaterThan(40000);
    expect(new Backoffer({ maxBackoffMs: 2 ** 31 - 10 }).maxBackoffMs).toBe(2 ** 31 - 10);
    const r = new Backoffer({ maxBackoffMs: 10 });
    r.resetMaxBackoff(300);
    expect(r.maxBackoffMs).toBe(600);
  });

  test('invalid options are rejected', () => {
    expect(() => new Backoffer({ backoffWeight: 0 })).toThrow(/backoffWeight/);
    expect(() => new Backoffer({ maxBackoffMs: -1 })).toThrow(/maxBackoffMs/);
  });

  test('a no-op backoffer rejects with the given error without sleeping', async () => {
    const bo = Backoffer.noop();
    const err = new Error('boom');
    expect(await rejection(bo.backoff(BackoffKinds.tikvRPC, err))).toBe(err);
    expect(await rejection(bo.clone().backoff(BackoffKinds.tikvRPC, err))).toBe(err);
    expect(bo.totalSleepMs).toBe(0);
  });
});

describe('Backoffer cancellation and deadlines', () => {
  test('an abort during the sleep rejects at once with the signal reason', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const bo = new Backoffer({ clock, signal: controller.signal });
    const p = bo.backoff(BackoffKinds.pdRPC, new Error('pd down'));
    expect(clock.pendingSleeps).toBe(1);
    const reason = new Error('user cancelled');
    controller.abort(reason);
    expect(await rejection(p)).toBe(reason);
    expect(clock.pendingSleeps).toBe(0);
    expect(bo.totalSleepMs).toBe(0);
  });

  test('a per-call signal aborts the sleep too', async () => {
    const clock = new ManualClock();
    const own = new AbortController();
    const call = new AbortController();
    const bo = new Backoffer({ clock, signal: own.signal });
    const p = bo.backoff(BackoffKinds.pdRPC, 'x', { signal: call.signal });
    call.abort('stop');
    expect(await rejection(p)).toBe('stop');
    const bare = new Backoffer({ clock });
    const q = bare.backoff(BackoffKinds.pdRPC, 'x', { signal: call.signal });
    expect(await rejection(q)).toBe('stop');
  });

  test('the sleep resolves when the manual clock reaches it', async () => {
    const clock = new ManualClock();
    const bo = new Backoffer({ clock, random: () => 0 });
    const p = bo.backoff(BackoffKinds.tikvRPC, 'x');
    clock.advance(49);
    expect(clock.pendingSleeps).toBe(1);
    clock.advance(1);
    await p;
    expect(bo.totalSleepMs).toBe(50);
  });

  test('a fork is cancelled on its own, and follows its parent', async () => {
    const clock = new ManualClock();
    const parentController = new AbortController();
    const bo = new Backoffer({ clock, signal: parentController.signal });
    const child = bo.fork();
    const p = child.backoffer.backoff(BackoffKinds.tikvRPC, 'x');
    child.cancel('child cancelled');
    expect(await rejection(p)).toBe('child cancelled');

    const second = bo.fork();
    const q = second.backoffer.backoff(BackoffKinds.tikvRPC, 'x');
    parentController.abort('parent cancelled');
    expect(await rejection(q)).toBe('parent cancelled');

    const orphan = new Backoffer({ clock }).fork();
    const r = orphan.backoffer.backoff(BackoffKinds.tikvRPC, 'x');
    orphan.cancel('orphan');
    expect(await rejection(r)).toBe('orphan');
  });

  test('a disposed fork stops following its parent (no listener is left on a long-lived signal)', async () => {
    const clock = new ManualClock({ autoAdvance: true });
    const parentController = new AbortController();
    const bo = new Backoffer({ clock, signal: parentController.signal });
    for (let i = 0; i < 20; i++) {
      const round = bo.fork();
      await round.backoffer.backoff(BackoffKinds.regionMiss, 'x', { signal: new AbortController().signal });
      round.dispose();
      round[Symbol.dispose]();
    }
    expect(getEventListeners(parentController.signal, 'abort')).toHaveLength(0);
  });

  test('a budget spent on an unreachable store names the store error and is retryable', async () => {
    // A store that refuses connections: each send fails (tikvRPC), the selector then runs out of
    // replicas and the caller backs off for the pseudo region miss that follows.
    const { bo } = makeBackoffer({ maxBackoffMs: 1000 });
    const unreachable = new TiKVError('RPC_ERROR', 'rpc to 127.0.0.1:1 failed (UNAVAILABLE)', {
      retryable: true,
    });
    const miss = new RegionError('EpochNotMatch', 'region missing from the cache or no replica available');
    let err: unknown;
    for (let i = 0; i < 100 && err === undefined; i++) {
      try {
        await bo.backoff(BackoffKinds.tikvRPC, unreachable);
        await bo.backoff(BackoffKinds.regionMiss, miss);
      } catch (e) {
        err = e;
      }
    }
    expect(err).toBeInstanceOf(BackoffBudgetExceededError);
    const budget = err as BackoffBudgetExceededError;
    expect(budget.longestSleepKind).toBe('tikvRPC');
    expect(budget.cause).toBe(unreachable);
    expect(budget.causeKind).toBe('tikvRPC');
    expect(budget.retryable).toBe(true);
    expect(budget.message.split('\n')[0]).toBe(
      'backoff budget of 2000ms exhausted; last cause (tikvRPC): rpc to 127.0.0.1:1 failed (UNAVAILABLE)',
    );
  });

  test('a sleep is clipped to the deadline, then DeadlineExceededError is thrown', async () => {
    const { bo, clock } = makeBackoffer({ timeoutMs: 100, random: () => 0.99 });
    const start = clock.now();
    const cause = new Error('pd down');
    const err = await rejection(bo.backoff(BackoffKinds.pdRPC, cause));
    expect(err).toBeInstanceOf(DeadlineExceededError);
    expect((err as DeadlineExceededError).cause).toBe(cause);
    expect(clock.now() - start).toBe(100);
    expect(bo.totalSleepMs).toBe(100);
    // Past the deadline nothing sleeps any more.
    expect(await rejection(bo.backoff(BackoffKinds.regionMiss, 'x'))).toBeInstanceOf(DeadlineExceededError);
    expect(clock.sleeps).toEqual([100]);
  });

  test('the earlier of timeoutMs and deadlineAtMs wins', () => {
    const clock = new ManualClock({ startMs: 1000 });
    expect(new Backoffer({ clock, timeoutMs: 50, deadlineAtMs: 2000 }).deadlineAtMs).toBe(1050);
    expect(new Backoffer({ clock, timeoutMs: 5000, deadlineAtMs: 2000 }).deadlineAtMs).toBe(2000);
    expect(new Backoffer({ clock }).deadlineAtMs).toBeUndefined();
  });
});

describe('Backoffer observability', () => {
  test('reports sleeps to the metrics hook, the logger and the tikv:backoff channel', async () => {
    const observed: [string, number, unknown][] = [];
    const metrics: MetricsHook = {
      incCounter: () => {},
      observeHistogram: (name, value, labels) => observed.push([name, value, labels]),
      setGauge: () => {},
    };
    const lines: string[] = [];
    const logger: Logger = {
      debug: (m) => lines.push(`debug ${m}`),
      info: () => {},
      warn: (m) => lines.push(`warn ${m}`),
      error: () => {},
    };
    const events: BackoffEvent[] = [];
    const onEvent = (message: unknown): void => {
      events.push(message as BackoffEvent);
    };
    subscribe(BACKOFF_CHANNEL, onEvent);
    try {
      const { bo } = makeBackoffer({ metrics, logger, maxBackoffMs: 1, backoffWeight: 1 });
      await bo.backoff(BackoffKinds.regionMiss, 'e1');
      await rejection(bo.backoff(BackoffKinds.regionMiss, 'e2'));
    } finally {
      unsubscribe(BACKOFF_CHANNEL, onEvent);
    }
    expect(observed).toEqual([['tikv_client_backoff_seconds', 0.002, { type: 'regionMiss' }]]);
    expect(lines).toEqual(['debug backoff', 'warn backoff budget exceeded']);
    expect(events).toEqual([{ kind: 'regionMiss', sleepMs: 2, attempt: 1, totalSleepMs: 2, error: 'e1' }]);
  });
});
