import { kvrpcpb } from '@tikv/proto';
import { ConcurrencyManager } from './concurrency-manager.js';
import {
  DEFAULT_MAX_TS_DRIFT_MS,
  exactLimitRequired,
  InvalidMaxTsUpdateError,
  MaxTsLimit,
  type MaxTsLimitOptions,
} from './max-ts-limit.js';
import { composeTs, TS_MAX } from './txn-key.js';

const { RequestOriginUnknown, RequestOriginTiDB } = kvrpcpb.RequestOrigin;

/** A TSO that has issued `latest` and issues `next` when asked. */
function fakeTso(latest: bigint, next = latest) {
  const tso = {
    latest,
    next,
    issued: 0,
    source: {
      latest: () => tso.latest,
      issue: () => {
        tso.issued++;
        tso.latest = tso.next;
        return tso.next;
      },
    },
  };
  return tso;
}

const T = composeTs(1_000_000n, 5n);

function limitOver(tso: ReturnType<typeof fakeTso>, o: Omit<MaxTsLimitOptions, 'source'> = {}): MaxTsLimit {
  return new MaxTsLimit({ source: tso.source, ...o });
}

describe('MaxTsLimit (TiKV ConcurrencyManager::update_max_ts)', () => {
  test('the exact limit is the latest TSO: one logical step past it fails with the limit in the text', () => {
    const tso = fakeTso(T);
    const limit = limitOver(tso);
    expect(() => limit.check(T, true)).not.toThrow();
    expect(() => limit.check(T + 1n, true)).toThrow(new InvalidMaxTsUpdateError(T + 1n, T));
    expect(new InvalidMaxTsUpdateError(T + 1n, T).message).toBe(
      `invalid max_ts update: ${T + 1n} exceeds the limit ${T}`,
    );
    expect(limit.invalidUpdates).toEqual([{ attemptedTs: T + 1n, limit: T, exact: true, action: 'error' }]);
  });

  test('the drifted limit adds 60 s to the physical part, keeping the logical part', () => {
    expect(DEFAULT_MAX_TS_DRIFT_MS).toBe(60_000);
    const tso = fakeTso(T);
    const limit = limitOver(tso);
    const drifted = composeTs(1_060_000n, 5n);
    expect(() => limit.check(drifted, false)).not.toThrow();
    expect(() => limit.check(drifted + 1n, false)).toThrow(`exceeds the limit ${drifted}`);
    // The same timestamp is far beyond the exact limit.
    expect(() => limit.check(drifted, true)).toThrow(`exceeds the limit ${T}`);
  });

  test('driftMs sets the allowance', () => {
    const limit = limitOver(fakeTso(T), { driftMs: 1000 });
    expect(() => limit.check(composeTs(1_001_000n, 5n), false)).not.toThrow();
    expect(() => limit.check(composeTs(1_001_000n, 6n), false)).toThrow(
      `exceeds the limit ${composeTs(1_001_000n, 5n)}`,
    );
  });

  test('within the latest TSO no timestamp is issued; past it PD is asked and a newer TSO allows it', () => {
    const tso = fakeTso(T, composeTs(1_000_500n));
    const limit = limitOver(tso);
    limit.check(T - 1n, true);
    expect(tso.issued).toBe(0);
    // PD's clock moved on: a timestamp it can issue now is no violation.
    limit.check(composeTs(1_000_400n), true);
    expect(tso.issued).toBe(1);
    expect(limit.invalidUpdates).toEqual([]);
    expect(() => limit.check(composeTs(1_000_501n), true)).toThrow(
      `exceeds the limit ${composeTs(1_000_500n)}`,
    );
  });

  test('TimeStamp::max() (read latest) is never checked', () => {
    const tso = fakeTso(T);
    const limit = limitOver(tso);
    limit.check(TS_MAX, true);
    limit.check(TS_MAX, false);
    expect(tso.issued).toBe(0);
    expect(limit.invalidUpdates).toEqual([]);
  });

  test("the 'log' action lets the update through and records it", () => {
    const limit = limitOver(fakeTso(T), { action: 'log' });
    expect(() => limit.check(T + 10n, true)).not.toThrow();
    expect(limit.invalidUpdates).toEqual([{ attemptedTs: T + 10n, limit: T, exact: true, action: 'log' }]);
  });
});

describe('ConcurrencyManager.updateMaxTs with a limit', () => {
  test('only a request origin other than TiDB asks for the exact limit', () => {
    expect(exactLimitRequired(undefined)).toBe(false);
    expect(exactLimitRequired(RequestOriginTiDB)).toBe(false);
    expect(exactLimitRequired(RequestOriginUnknown)).toBe(true);
    const cm = new ConcurrencyManager(0n, limitOver(fakeTso(T)));
    const ahead = T + composeTs(1000n);
    cm.updateMaxTs(ahead);
    cm.updateMaxTs(ahead, RequestOriginTiDB);
    expect(() => cm.updateMaxTs(ahead, RequestOriginUnknown)).toThrow(InvalidMaxTsUpdateError);
    expect(cm.maxTs).toBe(ahead);
  });

  test("a refused update leaves max_ts as it was; a logged one raises it, as TiKV's log action does", () => {
    const refusing = new ConcurrencyManager(10n, limitOver(fakeTso(T)));
    expect(() => refusing.updateMaxTs(T + 1n, RequestOriginUnknown)).toThrow(InvalidMaxTsUpdateError);
    expect(refusing.maxTs).toBe(10n);
    const logging = new ConcurrencyManager(10n, limitOver(fakeTso(T), { action: 'log' }));
    logging.updateMaxTs(T + 1n, RequestOriginUnknown);
    expect(logging.maxTs).toBe(T + 1n);
  });

  test('TimeStamp::max() leaves max_ts alone; without a limit any timestamp is taken', () => {
    const cm = new ConcurrencyManager(10n, limitOver(fakeTso(T)));
    cm.updateMaxTs(TS_MAX, RequestOriginUnknown);
    expect(cm.maxTs).toBe(10n);
    const unlimited = new ConcurrencyManager();
    unlimited.updateMaxTs(TS_MAX - 1n, RequestOriginUnknown);
    expect(unlimited.maxTs).toBe(TS_MAX - 1n);
  });
});
