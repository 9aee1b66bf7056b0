import { getEventListeners } from 'node:events';
import { DeadlineExceededError } from '../errors/client-errors.js';
import { ManualClock, sleepMs } from '../time/clock.js';
import { offAbort, onAbort } from './abort-listeners.js';
import { openOperationScope, withOperationScope } from './operation-scope.js';
import { raceSignal } from './race-signal.js';

/** Ref'd timers of this process (unref'd ones are not listed). */
function refTimers(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
}

/** Collects process warnings emitted while `fn` runs (they are emitted on a later tick). */
async function warningsDuring(fn: () => Promise<void>): Promise<Error[]> {
  const seen: Error[] = [];
  const onWarning = (w: Error): void => {
    seen.push(w);
  };
  process.on('warning', onWarning);
  try {
    await fn();
    await new Promise((r) => setImmediate(r));
  } finally {
    process.off('warning', onWarning);
  }
  return seen;
}

describe('onAbort / offAbort', () => {
  test('many waiters share one listener on the signal and each gets the reason once', () => {
    const c = new AbortController();
    const got: unknown[] = [];
    const fns = Array.from({ length: 50 }, (_, i) => (reason: unknown) => got.push([i, reason]));
    for (const f of fns) onAbort(c.signal, f);
    const obj = { handleAbort: (reason: unknown) => got.push(['obj', reason]) };
    onAbort(c.signal, obj);
    expect(getEventListeners(c.signal, 'abort')).toHaveLength(1);
    offAbort(c.signal, fns[3] as (reason: unknown) => void);
    c.abort('r');
    expect(got).toHaveLength(50);
    expect(got).toContainEqual(['obj', 'r']);
    expect(got).not.toContainEqual([3, 'r']);
    expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
    // Following an aborted signal does nothing.
    onAbort(c.signal, fns[0] as (reason: unknown) => void);
    expect(got).toHaveLength(50);
  });

  test('the last waiter to leave takes the listener away; a waiter removed mid-dispatch is not called', () => {
    const c = new AbortController();
    const f = (): void => {};
    onAbort(c.signal, f);
    offAbort(c.signal, f);
    offAbort(c.signal, f);
    expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
    const calls: string[] = [];
    const second = (): void => {
      calls.push('second');
    };
    onAbort(c.signal, () => {
      calls.push('first');
      offAbort(c.signal, second);
    });
    onAbort(c.signal, second);
    c.abort();
    expect(calls).toEqual(['first']);
  });

  test('50 concurrent waits sharing one caller signal emit no MaxListenersExceededWarning', async () => {
    const c = new AbortController();
    const warnings = await warningsDuring(async () => {
      const clock = new ManualClock();
      const sleeps = Array.from({ length: 50 }, () => sleepMs(60_000, c.signal));
      const races = Array.from({ length: 50 }, () => raceSignal(new Promise(() => {}), c.signal));
      const manual = Array.from({ length: 50 }, () => clock.sleep(10, c.signal));
      const scopes = Array.from({ length: 50 }, () => openOperationScope({ signal: c.signal }));
      expect(getEventListeners(c.signal, 'abort')).toHaveLength(1);
      c.abort('stop');
      for (const p of [...sleeps, ...races, ...manual]) await expect(p).rejects.toBe('stop');
      for (const s of scopes) expect(s.signal?.reason).toBe('stop');
    });
    expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
  });
});

describe('sleepMs keeps the process alive unless it is background work', () => {
  test('a sleep a caller awaits is a ref timer; a background one is not; both clear on abort', async () => {
    const before = refTimers();
    const c = new AbortController();
    const awaited = sleepMs(60_000, c.signal);
    expect(refTimers()).toBe(before + 1);
    const background = sleepMs(60_000, c.signal, { background: true });
    expect(refTimers()).toBe(before + 1);
    c.abort('done');
    await expect(awaited).rejects.toBe('done');
    await expect(background).rejects.toBe('done');
    expect(refTimers()).toBe(before);
  });

  test('ManualClock tells foreground sleeps from background ones', async () => {
    const clock = new ManualClock();
    const a = clock.sleep(5);
    const b = clock.sleep(5, undefined, { background: true });
    expect(clock.pendingSleeps).toBe(2);
    expect(clock.pendingForegroundSleeps).toBe(1);
    clock.advance(5);
    await Promise.all([a, b]);
    expect(clock.pendingForegroundSleeps).toBe(0);
  });
});

describe('openOperationScope', () => {
  test('nothing to follow: no signal, nothing allocated, dispose is a no-op', () => {
    const a = openOperationScope(undefined);
    const b = openOperationScope({});
    expect(a).toBe(b);
    expect(a.signal).toBeUndefined();
    expect(a.deadlineAtMs).toBeUndefined();
    a.dispose();
    a[Symbol.dispose]();
  });

  test('the deadline aborts with DeadlineExceededError on the injected clock', async () => {
    const clock = new ManualClock({ startMs: 1000 });
    const scope = openOperationScope({ timeoutMs: 50 }, { clock });
    expect(scope.deadlineAtMs).toBe(1050);
    expect(clock.pendingForegroundSleeps).toBe(1);
    clock.advance(50);
    await Promise.resolve();
    expect(scope.signal?.reason).toBeInstanceOf(DeadlineExceededError);
    expect(scope.signal?.reason).toMatchObject({ timeoutMs: 50 });
    scope.dispose();
  });

  test('dispose clears the deadline: nothing stays pending after the operation settles', async () => {
    const clock = new ManualClock();
    for (let i = 0; i < 100; i++) {
      await withOperationScope({ timeoutMs: 60_000 }, { clock }, async (s) => {
        expect(s.signal?.aborted).toBe(false);
      });
    }
    expect(clock.pendingSleeps).toBe(0);
    const background = openOperationScope({ timeoutMs: 5 }, { clock, background: true });
    expect(clock.pendingForegroundSleeps).toBe(0);
    background.dispose();
    expect(clock.pendingSleeps).toBe(0);
  });

  test('with the system clock the deadline is a ref timer, cleared on dispose', async () => {
    const before = refTimers();
    const scope = openOperationScope({ timeoutMs: 60_000 });
    expect(refTimers()).toBe(before + 1);
    scope[Symbol.dispose]();
    expect(refTimers()).toBe(before);
    const background = openOperationScope({ timeoutMs: 60_000 }, { background: true });
    expect(refTimers()).toBe(before);
    background.dispose();
    const fast = openOperationScope({ timeoutMs: 1 });
    const reason = await new Promise((resolve) =>
      fast.signal?.addEventListener('abort', () => resolve(fast.signal?.reason)),
    );
    expect(reason).toBeInstanceOf(DeadlineExceededError);
  });

  test("the caller's reason and followed signals end it; dispose stops following", () => {
    const user = new AbortController();
    const closing = new AbortController();
    const scope = openOperationScope(
      { signal: user.signal, timeoutMs: 60_000 },
      { follow: [closing.signal] },
    );
    const reason = new Error('user gave up');
    user.abort(reason);
    expect(scope.signal?.reason).toBe(reason);
    expect(getEventListeners(closing.signal, 'abort')).toHaveLength(0);

    const other = openOperationScope(undefined, { follow: [undefined, closing.signal] });
    expect(getEventListeners(closing.signal, 'abort')).toHaveLength(1);
    other.dispose();
    other.dispose();
    expect(getEventListeners(closing.signal, 'abort')).toHaveLength(0);
    closing.abort('closed');
    expect(other.signal?.aborted).toBe(false);
  });

  test('an already aborted signal gives an aborted scope at once', () => {
    const user = new AbortController();
    user.abort('early');
    const scope = openOperationScope({ signal: user.signal, timeoutMs: 10 });
    expect(scope.signal?.reason).toBe('early');
    expect(scope.deadlineAtMs).toBeDefined();
  });

  test('a timeout too long for a timer is no timer; an invalid one is refused', () => {
    const clock = new ManualClock();
    const scope = openOperationScope({ timeoutMs: 2 ** 40 }, { clock });
    expect(clock.pendingSleeps).toBe(0);
    expect(scope.deadlineAtMs).toBe(2 ** 40);
    expect(() => openOperationScope({ timeoutMs: -1 })).toThrow(/timeoutMs must be >= 0/);
    expect(() => openOperationScope({ timeoutMs: Number.NaN })).toThrow(/timeoutMs/);
  });

  test('withOperationScope disposes when the operation throws', async () => {
    const clock = new ManualClock();
    await expect(
      withOperationScope({ timeoutMs: 100 }, { clock }, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(clock.pendingSleeps).toBe(0);
  });
});
