import { DeadlineExceededError, InvalidArgumentError } from '../errors/client-errors.js';
import { ManualClock } from '../time/clock.js';
import {
  abortReason,
  anySignal,
  combineSignal,
  deadlineSignal,
  isDeadlineExceeded,
  throwIfAborted,
} from './request-options.js';
import {
  definedOnly,
  mustBeInRange,
  mustBeNonNegative,
  mustBeNonNegativeInteger,
  mustBePositive,
  mustBePositiveInteger,
  type Resolved,
  resolveOptions,
} from './resolve-options.js';
import { pemBytes } from './tls-options.js';

function waitForAbort(signal: AbortSignal): Promise<unknown> {
  // A ManualClock fires its timers inside advance(), so the signal may have aborted already.
  if (signal.aborted) return Promise.resolve(signal.reason);
  return new Promise((resolve) =>
    signal.addEventListener('abort', () => resolve(signal.reason), { once: true }),
  );
}

describe('combineSignal', () => {
  test('without options the signal never aborts', () => {
    const s = combineSignal();
    expect(s.aborted).toBe(false);
    expect(abortReason(s)).toBeUndefined();
    expect(() => throwIfAborted(s)).not.toThrow();
    expect(() => throwIfAborted(undefined)).not.toThrow();
  });

  test('a user abort surfaces with its reason unchanged', () => {
    const user = new AbortController();
    const s = combineSignal({ signal: user.signal, timeoutMs: 60_000 });
    const reason = new Error('user gave up');
    user.abort(reason);
    expect(s.aborted).toBe(true);
    expect(abortReason(s)).toBe(reason);
    expect(() => throwIfAborted(s)).toThrow(reason);
    expect(isDeadlineExceeded(s.reason)).toBe(false);
  });

  test('only a signal: the same signal', () => {
    const user = new AbortController();
    expect(combineSignal({ signal: user.signal })).toBe(user.signal);
  });

  test('our own timeout surfaces as DeadlineExceededError (real timers)', async () => {
    const s = combineSignal({ timeoutMs: 5 });
    const reason = await waitForAbort(s);
    expect(reason).toBeInstanceOf(DeadlineExceededError);
    expect(isDeadlineExceeded(reason)).toBe(true);
    expect((reason as DeadlineExceededError).timeoutMs).toBe(5);
  });

  test('timeouts follow an injected clock', async () => {
    const clock = new ManualClock();
    const user = new AbortController();
    const s = combineSignal({ signal: user.signal, timeoutMs: 100 }, clock);
    clock.advance(99);
    await Promise.resolve();
    expect(s.aborted).toBe(false);
    clock.advance(1);
    expect(await waitForAbort(s)).toBeInstanceOf(DeadlineExceededError);
  });

  test('invalid and huge timeouts', () => {
    expect(() => deadlineSignal(-1)).toThrow(InvalidArgumentError);
    expect(() => combineSignal({ timeoutMs: Number.NaN })).toThrow(InvalidArgumentError);
    expect(deadlineSignal(Number.POSITIVE_INFINITY).aborted).toBe(false);
  });
});

describe('anySignal', () => {
  test('follows the first signal to abort', () => {
    const a = new AbortController();
    const b = new AbortController();
    const s = anySignal([a.signal, b.signal]);
    b.abort('b');
    expect(s.reason).toBe('b');
  });

  test('the fallback without AbortSignal.any behaves the same', () => {
    const original = AbortSignal.any;
    try {
      Object.defineProperty(AbortSignal, 'any', { value: undefined, configurable: true, writable: true });
      const a = new AbortController();
      const b = new AbortController();
      const s = anySignal([a.signal, b.signal]);
      expect(s.aborted).toBe(false);
      a.abort('a');
      expect(s.reason).toBe('a');
      const done = new AbortController();
      done.abort('early');
      expect(anySignal([new AbortController().signal, done.signal]).reason).toBe('early');
    } finally {
      Object.defineProperty(AbortSignal, 'any', { value: original, configurable: true, writable: true });
    }
  });
});

describe('option resolution', () => {
  interface BatchOptions {
    readonly maxBatchSize?: number | undefined;
    readonly maxBatchWaitMs?: number | undefined;
  }
  const DEFAULTS: Resolved<BatchOptions> = Object.freeze({ maxBatchSize: 128, maxBatchWaitMs: 0 });

  test('definedOnly drops undefined values', () => {
    expect(definedOnly({ a: 1, b: undefined, c: 0, d: '' })).toEqual({ a: 1, c: 0, d: '' });
    expect(definedOnly(undefined)).toEqual({});
  });

  test('resolveOptions merges, keeps 0 and validates', () => {
    const r = resolveOptions<BatchOptions>(
      DEFAULTS,
      { maxBatchWaitMs: 0, maxBatchSize: undefined },
      {
        maxBatchSize: mustBePositiveInteger,
        maxBatchWaitMs: mustBeNonNegative,
      },
    );
    expect(r).toEqual({ maxBatchSize: 128, maxBatchWaitMs: 0 });
    expect(Object.isFrozen(r)).toBe(true);
    expect(resolveOptions<BatchOptions>(DEFAULTS, { maxBatchSize: 7 }).maxBatchSize).toBe(7);
    expect(() =>
      resolveOptions<BatchOptions>(DEFAULTS, { maxBatchSize: 0 }, { maxBatchSize: mustBePositiveInteger }),
    ).toThrow('option maxBatchSize must be an integer >= 1, got 0');
  });

  test('rules', () => {
    expect(mustBeNonNegative(0)).toBeUndefined();
    expect(mustBeNonNegative(-1)).toMatch(/>= 0/);
    expect(mustBeNonNegative(Number.POSITIVE_INFINITY)).toMatch(/finite/);
    expect(mustBePositive(0.5)).toBeUndefined();
    expect(mustBePositive(0)).toMatch(/> 0/);
    expect(mustBeNonNegativeInteger(3)).toBeUndefined();
    expect(mustBeNonNegativeInteger(1.5)).toMatch(/integer/);
    expect(mustBePositiveInteger(1)).toBeUndefined();
    expect(mustBeInRange(1, 3)(2)).toBeUndefined();
    expect(mustBeInRange(1, 3)(4)).toBe('must be within [1, 3], got 4');
  });
});

describe('pemBytes', () => {
  test('a string as UTF-8, bytes copied, nothing for nothing', () => {
    expect(pemBytes('-----BEGIN')?.toString('utf8')).toBe('-----BEGIN');
    const bytes = Uint8Array.of(1, 2, 3);
    const copy = pemBytes(bytes);
    expect([...copy]).toEqual([1, 2, 3]);
    bytes[0] = 9;
    expect(copy[0]).toBe(1);
    expect(pemBytes(undefined)).toBeUndefined();
  });
});
