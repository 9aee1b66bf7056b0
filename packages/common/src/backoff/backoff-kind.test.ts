import { InvalidArgumentError } from '../errors/client-errors.js';
import { MAX_BACKOFF_MS } from './backoff-budgets.js';
import { BackoffKinds, BackoffSequence, backoffSleepMs, defineBackoffKind } from './backoff-kind.js';

describe('BackoffKinds (client-go config/retry/config.go)', () => {
  test.each([
    ['tikvRPC', 100, 2000, 'EqualJitter'],
    ['tiflashRPC', 100, 2000, 'EqualJitter'],
    ['txnLock', 100, 3000, 'EqualJitter'],
    ['pdRPC', 500, 3000, 'EqualJitter'],
    ['regionMiss', 2, 500, 'NoJitter'],
    ['regionScheduling', 2, 500, 'NoJitter'],
    ['tikvServerBusy', 2000, 10000, 'EqualJitter'],
    ['tikvDiskFull', 500, 5000, 'NoJitter'],
    ['regionRecoveryInProgress', 100, 10000, 'EqualJitter'],
    ['tiflashServerBusy', 2000, 10000, 'EqualJitter'],
    ['txnNotFound', 2, 500, 'NoJitter'],
    ['staleCommand', 2, 1000, 'NoJitter'],
    ['maxTsNotSynced', 2, 500, 'NoJitter'],
    ['commitTSLag', 2, 500, 'NoJitter'],
    ['regionNotInitialized', 2, 1000, 'NoJitter'],
    ['isWitness', 1000, 10000, 'EqualJitter'],
    ['txnLockFast', 2, 3000, 'EqualJitter'],
  ] as const)('%s: base %d, cap %d, %s', (name, baseMs, capMs, jitter) => {
    const kind = BackoffKinds[name];
    expect(kind).toMatchObject({ name, baseMs, capMs, jitter });
    expect(Object.isFrozen(kind)).toBe(true);
  });

  test('only TiKV ServerIsBusy is excluded from the budget, up to 10 minutes', () => {
    const excluded = Object.values(BackoffKinds).filter((k) => k.excludedMaxMs !== undefined);
    expect(excluded.map((k) => [k.name, k.excludedMaxMs])).toEqual([['tikvServerBusy', 600000]]);
    expect(Object.keys(BackoffKinds)).toHaveLength(17);
  });

  test('budgets match client-go', () => {
    expect(MAX_BACKOFF_MS.rawkv).toBe(20000);
    expect(MAX_BACKOFF_MS.prewrite).toBe(40000);
    expect(MAX_BACKOFF_MS.commitSecondary).toBe(41000);
    expect(MAX_BACKOFF_MS.tso).toBe(15000);
  });
});

describe('backoffSleepMs (client-go newBackoffFn formulas)', () => {
  test('NoJitter is base·2^n capped', () => {
    const seq = [0, 1, 2, 3, 4, 5, 6, 7, 8].map((n) => backoffSleepMs('NoJitter', 2, 500, n, 0, () => 0.5));
    expect(seq).toEqual([2, 4, 8, 16, 32, 64, 128, 256, 500]);
    expect(backoffSleepMs('NoJitter', 2, 500, 5000, 0, () => 0)).toBe(500);
  });

  test('FullJitter is uniform below the exponential value', () => {
    expect(backoffSleepMs('FullJitter', 100, 2000, 0, 0, () => 0)).toBe(0);
    expect(backoffSleepMs('FullJitter', 100, 2000, 0, 0, () => 0.999)).toBe(99);
    expect(backoffSleepMs('FullJitter', 100, 2000, 10, 0, () => 0.5)).toBe(1000);
  });

  test('EqualJitter is half plus a uniform half', () => {
    expect(backoffSleepMs('EqualJitter', 100, 2000, 0, 0, () => 0)).toBe(50);
    expect(backoffSleepMs('EqualJitter', 100, 2000, 0, 0, () => 0.999)).toBe(99);
    expect(backoffSleepMs('EqualJitter', 100, 2000, 3, 0, () => 0.5)).toBe(600);
    expect(backoffSleepMs('EqualJitter', 2, 3, 0, 0, () => 0.9)).toBe(1);
  });

  test('DecorrJitter grows from the previous sleep, capped', () => {
    expect(backoffSleepMs('DecorrJitter', 100, 2000, 0, 100, () => 0)).toBe(100);
    expect(backoffSleepMs('DecorrJitter', 100, 2000, 0, 100, () => 0.5)).toBe(200);
    expect(backoffSleepMs('DecorrJitter', 100, 2000, 0, 5000, () => 0.9)).toBe(2000);
  });

  test('a sequence raises a base below 2 and advances only when told', () => {
    const seq = new BackoffSequence(0, 100, 'NoJitter', () => 0);
    expect(seq.peek()).toBe(2);
    expect(seq.peek()).toBe(2);
    seq.advance(2);
    expect(seq.peek()).toBe(4);
    const decorr = new BackoffSequence(10, 1000, 'DecorrJitter', () => 0.5);
    expect(decorr.peek()).toBe(20);
    decorr.advance(20);
    expect(decorr.peek()).toBe(35);
  });
});

describe('defineBackoffKind', () => {
  test('freezes a valid kind', () => {
    const k = defineBackoffKind({
      name: 'custom',
      baseMs: 10,
      capMs: 100,
      jitter: 'FullJitter',
      description: 'custom',
    });
    expect(Object.isFrozen(k)).toBe(true);
  });

  test.each([
    [{ name: '', baseMs: 1, capMs: 1 }],
    [{ name: 'a', baseMs: -1, capMs: 1 }],
    [{ name: 'a', baseMs: 1, capMs: Number.NaN }],
    [{ name: 'a', baseMs: 1, capMs: 1, jitter: 'Sometimes' }],
    [{ name: 'a', baseMs: 1, capMs: 1, excludedMaxMs: -5 }],
  ])('rejects %j', (fields) => {
    expect(() => defineBackoffKind({ jitter: 'NoJitter', description: '', ...fields } as never)).toThrow(
      InvalidArgumentError,
    );
  });
});
