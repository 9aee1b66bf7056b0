import { InvalidArgumentError } from '@tikv/common';
import { DEFAULT_PIPELINED_OPTIONS, resolvePipelinedOptions } from './pipelined-options.js';
import { FlushDurationAverage } from './throttle.js';

describe('pipelined options', () => {
  test('client-go defaults: 128 flushes, 8 resolves, no throttle, 10000 keys / 16 MiB / 128 MiB, 24 h, 5 s', () => {
    expect(resolvePipelinedOptions(true)).toBe(DEFAULT_PIPELINED_OPTIONS);
    expect(resolvePipelinedOptions({})).toEqual({
      flushConcurrency: 128,
      resolveLockConcurrency: 8,
      writeThrottleRatio: 0,
      minFlushKeys: 10_000,
      minFlushSizeBytes: 16 * 1024 * 1024,
      forceFlushSizeBytes: 128 * 1024 * 1024,
      maxTxnTtlMs: 24 * 60 * 60 * 1000,
      broadcastGracePeriodMs: 5_000,
    });
    expect(resolvePipelinedOptions({ flushConcurrency: 4, writeThrottleRatio: 0.5 })).toMatchObject({
      flushConcurrency: 4,
      writeThrottleRatio: 0.5,
    });
  });

  test('refuses what client-go refuses: zero concurrencies, a ratio outside [0, 1)', () => {
    for (const bad of [
      { flushConcurrency: 0 },
      { resolveLockConcurrency: 0 },
      { writeThrottleRatio: 1 },
      { writeThrottleRatio: -0.1 },
      { minFlushSizeBytes: 10, forceFlushSizeBytes: 5 },
      { maxTxnTtlMs: 0 },
      { broadcastGracePeriodMs: -1 },
    ]) {
      expect(() => resolvePipelinedOptions(bad)).toThrow(InvalidArgumentError);
    }
    expect(() => resolvePipelinedOptions(null as unknown as true)).toThrow(InvalidArgumentError);
  });

  test('the throttle sleeps ratio / (1 - ratio) of the flush duration average (seeded by the first)', () => {
    const a = new FlushDurationAverage();
    expect(a.sleepMs(0.5)).toBe(0);
    a.add(100);
    expect(a.value).toBe(100);
    expect(a.sleepMs(0.5)).toBe(100);
    expect(a.sleepMs(0.75)).toBe(300);
    expect(a.sleepMs(0)).toBe(0);
    a.add(210);
    expect(a.value).toBeCloseTo(120, 5);
  });
});
