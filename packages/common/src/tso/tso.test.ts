import { InvalidArgumentError } from '../errors/client-errors.js';
import {
  composeTs,
  dateFromTs,
  extractLogical,
  extractPhysical,
  isLockExpired,
  LOGICAL_MASK,
  lowerLimitStartTs,
  MAX_LOGICAL,
  msUntilExpired,
  physicalFromDate,
  staleTsFromLast,
  tsFromDate,
  tsFromMs,
} from './tso.js';

describe('TSO helpers (client-go oracle/oracle.go)', () => {
  test('compose and extract: 18 logical bits', () => {
    const ts = composeTs(1_700_000_000_123, 42);
    expect(ts).toBe((1_700_000_000_123n << 18n) + 42n);
    expect(extractPhysical(ts)).toBe(1_700_000_000_123);
    expect(extractLogical(ts)).toBe(42);
    expect(composeTs(1n, 0n)).toBe(262144n);
    expect(composeTs(5)).toBe(5n << 18n);
    expect(MAX_LOGICAL).toBe(262143);
    expect(extractLogical(composeTs(7, MAX_LOGICAL))).toBe(MAX_LOGICAL);
    expect(LOGICAL_MASK).toBe(262143n);
  });

  test('composeTs rejects out-of-range parts', () => {
    expect(() => composeTs(-1, 0)).toThrow(InvalidArgumentError);
    expect(() => composeTs(1, MAX_LOGICAL + 1)).toThrow(InvalidArgumentError);
    expect(() => composeTs(1, -1)).toThrow(InvalidArgumentError);
    expect(() => composeTs(1.5, 0)).toThrow(/safe integer/);
    expect(() => composeTs(1n << 46n, 0)).toThrow(/out of range/);
  });

  test('dates and timestamps', () => {
    const date = new Date('2024-05-01T12:34:56.789Z');
    const ts = tsFromDate(date);
    expect(extractLogical(ts)).toBe(0);
    expect(physicalFromDate(date)).toBe(date.getTime());
    expect(dateFromTs(ts)).toEqual(date);
    expect(dateFromTs(ts + 5n)).toEqual(date);
    expect(tsFromMs(date.getTime() + 0.9)).toBe(ts);
    expect(lowerLimitStartTs(date, 1000)).toBe(tsFromMs(date.getTime() - 1000));
    expect(lowerLimitStartTs(date.getTime(), 0)).toBe(ts);
  });

  test('shifting a ts by a duration keeps its logical part (client-go region_request_test usage)', () => {
    const ts = composeTs(1_000_000, 17);
    const shifted = composeTs(physicalFromDate(new Date(dateFromTs(ts).getTime() + 250)), extractLogical(ts));
    expect(extractPhysical(shifted)).toBe(1_000_250);
    expect(extractLogical(shifted)).toBe(17);
  });

  test('TestPDOracle_UntilExpired', () => {
    const lockAfter = 10;
    const lockExp = 15;
    const start = Date.now();
    const lastTs = tsFromMs(start);
    const lockTs = tsFromMs(start + lockAfter) + 1n;
    expect(msUntilExpired(lockTs, lockExp, lastTs)).toBe(lockAfter + lockExp);
  });

  test('TestLocalOracle_UntilExpired and TestIsExpired', () => {
    const start = Date.now();
    const ts = tsFromMs(start);
    const now = tsFromMs(start + 10);
    expect(msUntilExpired(ts, 6, now)).toBe(-4);
    expect(msUntilExpired(ts, 14n, now)).toBe(4);
    expect(isLockExpired(ts, 5, now)).toBe(true);
    expect(isLockExpired(ts, 10, now)).toBe(true);
    expect(isLockExpired(ts, 200, now)).toBe(false);
  });

  test('TestPdOracle_GetStaleTimestamp', () => {
    const start = Date.now();
    const ts = staleTsFromLast(tsFromMs(start), start, start, 10);
    expect(Math.abs(extractPhysical(ts) - (start - 10_000))).toBeLessThanOrEqual(2000);
    expect(() => staleTsFromLast(tsFromMs(start), start, start, 1e12)).toThrow(/invalid prevSecond/);
    expect(() => staleTsFromLast(tsFromMs(start), start, start, Number.MAX_VALUE)).toThrow(
      /invalid prevSecond/,
    );
    expect(() => staleTsFromLast(tsFromMs(start), start, start, -1)).toThrow(/invalid prevSecond/);
    // time elapsed since arrival moves the stale ts forward
    expect(extractPhysical(staleTsFromLast(tsFromMs(start), start, start + 500, 1))).toBe(start - 500);
  });
});
