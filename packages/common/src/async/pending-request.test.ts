import { getEventListeners } from 'node:events';
import { DeadlineExceededError } from '../errors/client-errors.js';
import { isTiKVError } from '../errors/is-tikv-error.js';
import { ManualClock, systemClock } from '../time/clock.js';
import { PendingRequest } from './pending-request.js';

/** What a promise settled with, without letting a rejection escape. */
function outcome<T>(p: Promise<T>): { value?: T; error?: unknown; settled: boolean } {
  const o: { value?: T; error?: unknown; settled: boolean } = { settled: false };
  p.then(
    (value) => {
      o.value = value;
      o.settled = true;
    },
    (error: unknown) => {
      o.error = error;
      o.settled = true;
    },
  );
  return o;
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('PendingRequest', () => {
  test('the owner resolves it once; later settlements are ignored', async () => {
    const clock = new ManualClock();
    const r = new PendingRequest<number>(clock, undefined, 100);
    expect(r.settled).toBe(false);
    expect(clock.pendingSleeps).toBe(1);
    expect(r.resolve(7)).toBe(true);
    expect(r.settled).toBe(true);
    expect(clock.pendingSleeps).toBe(0);
    expect(r.resolve(8)).toBe(false);
    expect(r.reject(new Error('late'))).toBe(false);
    await expect(r.promise).resolves.toBe(7);
  });

  test('the timeout is measured on the clock and rejects with a DeadlineExceededError', async () => {
    const clock = new ManualClock();
    const r = new PendingRequest<number>(clock, undefined, 100);
    const o = outcome(r.promise);
    clock.advance(99);
    await flush();
    expect(o.settled).toBe(false);
    clock.advance(1);
    await flush();
    expect(o.error).toBeInstanceOf(DeadlineExceededError);
    expect(isTiKVError(o.error, 'DEADLINE_EXCEEDED')).toBe(true);
    expect((o.error as DeadlineExceededError).message).toBe('request timed out after 100ms');
    expect(r.settled).toBe(true);
    expect(r.resolve(1)).toBe(false);
  });

  test("the caller's abort rejects with the reason unchanged and clears the timer", async () => {
    const clock = new ManualClock();
    const c = new AbortController();
    const r = new PendingRequest<number>(clock, c.signal, 1_000);
    const reason = new Error('caller gave up');
    c.abort(reason);
    await expect(r.promise).rejects.toBe(reason);
    expect(clock.pendingSleeps).toBe(0);
    expect(r.resolve(1)).toBe(false);
  });

  test('an already-aborted signal settles it before the constructor returns, with no timer', async () => {
    const clock = new ManualClock();
    const c = new AbortController();
    c.abort('early');
    const r = new PendingRequest<number>(clock, c.signal, 50);
    expect(r.settled).toBe(true);
    expect(clock.pendingSleeps).toBe(0);
    await expect(r.promise).rejects.toBe('early');
  });

  test('many requests on one signal share one listener, and settling takes each off it', async () => {
    const clock = new ManualClock();
    const c = new AbortController();
    const rs = Array.from({ length: 100 }, () => new PendingRequest<number>(clock, c.signal, undefined));
    expect(getEventListeners(c.signal, 'abort')).toHaveLength(1);
    for (const [i, r] of rs.entries()) r.resolve(i);
    expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
    await expect(Promise.all(rs.map((r) => r.promise))).resolves.toHaveLength(100);
    expect(clock.pendingSleeps).toBe(0);
  });

  test('without a timeout (or one beyond what a timer holds) nothing is scheduled', async () => {
    const clock = new ManualClock();
    const a = new PendingRequest<string>(clock, undefined, undefined);
    const b = new PendingRequest<string>(clock, undefined, 2 ** 31);
    expect(clock.pendingSleeps).toBe(0);
    clock.advance(2 ** 32);
    expect(a.settled || b.settled).toBe(false);
    a.resolve('a');
    b.reject('b');
    await expect(a.promise).resolves.toBe('a');
    await expect(b.promise).rejects.toBe('b');
  });

  test('a subclass names its timeout and sees every failure through reject', async () => {
    const clock = new ManualClock();
    const dropped: string[] = [];
    class Named extends PendingRequest<number> {
      constructor(
        readonly name: string,
        signal: AbortSignal | undefined,
        timeoutMs: number | undefined,
      ) {
        super(clock, signal, timeoutMs);
      }
      override reject(reason: unknown): boolean {
        if (!super.reject(reason)) return false;
        dropped.push(this.name);
        return true;
      }
      protected override timeoutError(timeoutMs: number): unknown {
        return new DeadlineExceededError(`${this.name} timed out after ${timeoutMs}ms`, { timeoutMs });
      }
    }
    const c = new AbortController();
    const timed = new Named('timed', undefined, 10);
    const aborted = new Named('aborted', c.signal, undefined);
    const failed = new Named('failed', undefined, undefined);
    const answered = new Named('answered', undefined, 10);
    answered.resolve(1);
    clock.advance(10);
    c.abort('stop');
    failed.reject('boom');
    await expect(timed.promise).rejects.toThrow('timed timed out after 10ms');
    await expect(aborted.promise).rejects.toBe('stop');
    await expect(failed.promise).rejects.toBe('boom');
    expect(dropped).toEqual(['timed', 'aborted', 'failed']);
  });

  test('on the system clock a settled request leaves no timer behind', async () => {
    const timers = (): number => process.getActiveResourcesInfo().filter((x) => x === 'Timeout').length;
    const before = timers();
    const r = new PendingRequest<number>(systemClock, undefined, 60_000);
    expect(timers()).toBe(before + 1);
    r.resolve(1);
    expect(timers()).toBe(before);
    await r.promise;
  });
});
