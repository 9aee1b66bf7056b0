import { noopLogger } from '../hooks/logger.js';
import { METRIC_NAMES, noopMetrics } from '../hooks/metrics.js';
import { createSeededRandom, ManualClock, sleepMs, systemClock } from './clock.js';

describe('systemClock', () => {
  test('now is wall-clock milliseconds and sleep waits', async () => {
    const before = Date.now();
    expect(systemClock.now()).toBeGreaterThanOrEqual(before);
    await systemClock.sleep(1);
    await sleepMs(-5);
  });

  test('an abort rejects a pending sleep at once with the reason', async () => {
    const controller = new AbortController();
    const p = sleepMs(60_000, controller.signal);
    controller.abort('stop');
    await expect(p).rejects.toBe('stop');
    await expect(sleepMs(1, controller.signal)).rejects.toBe('stop');
  });

  test('a completed sleep detaches its abort listener', async () => {
    const controller = new AbortController();
    await sleepMs(1, controller.signal);
    controller.abort('late');
  });
});

describe('ManualClock', () => {
  test('sleeps resolve in due order when time advances', async () => {
    const clock = new ManualClock({ startMs: 100 });
    const order: number[] = [];
    const a = clock.sleep(30).then(() => order.push(30));
    const b = clock.sleep(10).then(() => order.push(10));
    const c = clock.sleep(10).then(() => order.push(11));
    expect(clock.pendingSleeps).toBe(3);
    clock.advance(5);
    expect(clock.pendingSleeps).toBe(3);
    clock.setTime(140);
    await Promise.all([a, b, c]);
    expect(order).toEqual([10, 11, 30]);
    expect(clock.now()).toBe(140);
    expect(clock.sleeps).toEqual([30, 10, 10]);
    clock.setTime(0);
    expect(clock.now()).toBe(140);
  });

  test('auto-advance moves time by each sleep', async () => {
    const clock = new ManualClock({ autoAdvance: true });
    await clock.sleep(25);
    await clock.sleep(-3);
    expect(clock.now()).toBe(25);
    expect(clock.sleeps).toEqual([25, 0]);
  });

  test('abort removes a pending sleep', async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const p = clock.sleep(10, controller.signal);
    controller.abort('gone');
    await expect(p).rejects.toBe('gone');
    expect(clock.pendingSleeps).toBe(0);
    await expect(clock.sleep(1, controller.signal)).rejects.toBe('gone');
    const other = new AbortController();
    const q = clock.sleep(5, other.signal);
    clock.advance(5);
    await q;
    other.abort();
  });
});

describe('Clock timers', () => {
  test('ManualClock timers fire inside advance, in due order, with their argument', () => {
    const clock = new ManualClock({ startMs: 1_000 });
    const fired: string[] = [];
    const record = (name: string): void => {
      fired.push(`${name}@${clock.now()}`);
    };
    clock.setTimer(20, record, 'b');
    clock.setTimer(10, record, 'a');
    clock.setTimer(20, record, 'c');
    clock.setTimer(-5, record, 'now');
    expect(clock.pendingSleeps).toBe(4);
    clock.advance(0);
    expect(fired).toEqual(['now@1000']);
    clock.advance(15);
    expect(fired).toEqual(['now@1000', 'a@1015']);
    clock.advance(5);
    expect(fired).toEqual(['now@1000', 'a@1015', 'b@1020', 'c@1020']);
    expect(clock.pendingSleeps).toBe(0);
    expect(clock.sleeps).toEqual([]);
  });

  test('a cleared timer never fires, even when an earlier one in the same advance clears it', () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    const second = clock.setTimer(10, (n: number) => fired.push(n), 2);
    clock.setTimer(
      5,
      () => {
        fired.push(1);
        clock.clearTimer(second);
      },
      undefined,
    );
    const third = clock.setTimer(10, (n: number) => fired.push(n), 3);
    clock.clearTimer(third);
    clock.clearTimer(third);
    expect(clock.pendingSleeps).toBe(2);
    clock.advance(10);
    expect(fired).toEqual([1]);
    clock.clearTimer(second);
    expect(clock.pendingSleeps).toBe(0);
  });

  test('background timers are counted apart; an auto-advancing sleep fires the timers it passes', async () => {
    const clock = new ManualClock({ autoAdvance: true });
    const fired: number[] = [];
    clock.setTimer(30, (n: number) => fired.push(n), 30, { background: true });
    clock.setTimer(10, (n: number) => fired.push(n), 10);
    expect(clock.pendingSleeps).toBe(2);
    expect(clock.pendingForegroundSleeps).toBe(1);
    await clock.sleep(20);
    expect(fired).toEqual([10]);
    expect(clock.pendingForegroundSleeps).toBe(0);
    await clock.sleep(10);
    expect(fired).toEqual([10, 30]);
  });

  test("systemClock timers are real timers, ref'd unless background, and clearable", async () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const t = systemClock.setTimer(60_000, () => {}, undefined);
    expect(timers()).toBe(before + 1);
    systemClock.clearTimer(t);
    const bg = systemClock.setTimer(60_000, () => {}, undefined, { background: true });
    expect(timers()).toBe(before);
    systemClock.clearTimer(bg);
    const fired = await new Promise<string>((resolve) => {
      systemClock.setTimer(1, resolve, 'fired');
    });
    expect(fired).toBe('fired');
  });
});

describe('createSeededRandom', () => {
  test('is reproducible and within [0, 1)', () => {
    const a = createSeededRandom(1);
    const b = createSeededRandom(1);
    for (let i = 0; i < 1000; i++) {
      const x = a();
      expect(x).toBe(b());
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(1);
    }
    expect(createSeededRandom(2)()).not.toBe(createSeededRandom(1)());
  });
});

describe('hooks', () => {
  test('the no-op logger and metrics accept calls and do nothing', () => {
    noopLogger.debug('x', { a: 1 });
    noopLogger.info('x');
    noopLogger.warn('x');
    noopLogger.error('x');
    noopMetrics.incCounter('c');
    noopMetrics.observeHistogram(METRIC_NAMES.backoffSeconds, 1, { type: 'x' });
    noopMetrics.setGauge('g', 1);
    expect(Object.isFrozen(noopLogger)).toBe(true);
  });
});
