import { DEFAULT_LOCK_TTL_MS, txnLockTtlMs } from './lock-ttl.js';

// client-go 2pc.go `txnLockTTL`, with its defaults (TxnCommitBatchSize 16 KiB, ManagedLockTTL 20 s).
const defaults = { commitBatchSizeBytes: 16 * 1024, managedLockTtlMs: 20_000 };
const MiB = 1024 * 1024;

describe('txnLockTTL (2pc.go)', () => {
  test('below one commit batch: the default 3 s', () => {
    expect(DEFAULT_LOCK_TTL_MS).toBe(3000);
    expect(txnLockTtlMs(0, 0, defaults)).toBe(3000);
    expect(txnLockTtlMs(16 * 1024 - 1, 0, defaults)).toBe(3000);
  });

  test('6000 * sqrt(MiB) from one batch on: 6 s at 1 MiB, 12 s at 4 MiB, within [3 s, 20 s]', () => {
    // 16 KiB: 750 ms by the formula, raised to the 3 s floor.
    expect(txnLockTtlMs(16 * 1024, 0, defaults)).toBe(3000);
    expect(txnLockTtlMs(MiB, 0, defaults)).toBe(6000);
    expect(txnLockTtlMs(4 * MiB, 0, defaults)).toBe(12_000);
    expect(txnLockTtlMs(10 * MiB, 0, defaults)).toBe(18_973);
    expect(txnLockTtlMs(100 * MiB, 0, defaults)).toBe(20_000);
    expect(txnLockTtlMs(100 * MiB, 0, { ...defaults, managedLockTtlMs: 3_000 })).toBe(3_000);
  });

  test('plus the time the transaction has run', () => {
    expect(txnLockTtlMs(0, 1234.9, defaults)).toBe(4234);
    expect(txnLockTtlMs(MiB, 500, defaults)).toBe(6500);
    expect(txnLockTtlMs(0, -5, defaults)).toBe(3000);
  });
});
