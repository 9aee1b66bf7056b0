import { InvalidArgumentError } from '@tikv/common';
import { DEFAULT_COMMIT_OPTIONS, resolveCommitOptions } from './commit-options.js';

describe('commit options', () => {
  test("client-go's defaults", () => {
    expect(DEFAULT_COMMIT_OPTIONS).toEqual({
      asyncCommit: false,
      onePc: false,
      causalConsistency: false,
      assertionLevel: 'off',
      commitBatchSizeBytes: 16_384,
      concurrency: 128,
      managedLockTtlMs: 20_000,
      ttlRefreshedTxnSizeBytes: 33_554_432,
      maxTxnTtlMs: 3_600_000,
      asyncCommitKeysLimit: 256,
      asyncCommitTotalKeySizeLimitBytes: 4096,
      asyncCommitSafeWindowMs: 2000,
      maxTxnTimeUseMs: 86_400_000,
      prewriteMaxBackoffMs: 40_000,
      commitMaxBackoffMs: 40_000,
      commitSecondaryMaxBackoffMs: 41_000,
      cleanupMaxBackoffMs: 20_000,
      keepAliveMaxBackoffMs: 20_000,
    });
    expect(Object.isFrozen(DEFAULT_COMMIT_OPTIONS)).toBe(true);
    const r = resolveCommitOptions(undefined);
    expect(r.heartbeatIntervalMs).toBe(10_000);
    expect(r.startTimeMs).toBeUndefined();
    expect(Object.isFrozen(r)).toBe(true);
  });

  test('given values win; undefined keeps the default; the heartbeat follows the managed TTL', () => {
    const r = resolveCommitOptions({
      asyncCommit: true,
      concurrency: undefined,
      managedLockTtlMs: 3000,
      priority: 'high',
    });
    expect(r.asyncCommit).toBe(true);
    expect(r.concurrency).toBe(128);
    expect(r.heartbeatIntervalMs).toBe(1500);
    expect(r.priority).toBe('high');
    expect(resolveCommitOptions({ heartbeatIntervalMs: 7 }).heartbeatIntervalMs).toBe(7);
    expect(resolveCommitOptions({ commitMaxBackoffMs: 0 }).commitMaxBackoffMs).toBe(0);
    const tagger = () => undefined;
    const tagged = resolveCommitOptions({ diskFullOpt: 'allowedOnAlmostFull', resourceGroupTagger: tagger });
    expect(tagged.diskFullOpt).toBe('allowedOnAlmostFull');
    expect(tagged.resourceGroupTagger).toBe(tagger);
  });

  test.each([
    [{ asyncCommit: 'yes' }, 'asyncCommit'],
    [{ assertionLevel: 'loud' }, 'assertionLevel'],
    [{ commitBatchSizeBytes: 0 }, 'commitBatchSizeBytes'],
    [{ concurrency: 1.5 }, 'concurrency'],
    [{ managedLockTtlMs: -1 }, 'managedLockTtlMs'],
    [{ maxTxnTtlMs: 0 }, 'maxTxnTtlMs'],
    [{ asyncCommitKeysLimit: -1 }, 'asyncCommitKeysLimit'],
    [{ prewriteMaxBackoffMs: Number.NaN }, 'prewriteMaxBackoffMs'],
    [{ heartbeatIntervalMs: 0 }, 'heartbeatIntervalMs'],
    [{ startTimeMs: Number.POSITIVE_INFINITY }, 'startTimeMs'],
    [{ primaryKey: 'k' }, 'primaryKey'],
    [{ filter: 1 }, 'filter'],
    [{ diskFullOpt: 'always' }, 'diskFullOpt'],
    [{ resourceGroupTagger: 'tag' }, 'resourceGroupTagger'],
  ])('refuses %p', (options, name) => {
    const call = () => resolveCommitOptions(options as never);
    expect(call).toThrow(InvalidArgumentError);
    expect(call).toThrow(name);
  });
});
