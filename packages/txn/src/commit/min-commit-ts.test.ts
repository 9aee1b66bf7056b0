import { MinCommitTsManager, WriteAccess } from './min-commit-ts.js';

describe('2pc_test.go', () => {
  describe('TestMinCommitTsManager', () => {
    test('Initial state', () => {
      const m = new MinCommitTsManager();
      expect(m.get()).toBe(0n);
      expect(m.requiredWriteAccess).toBe(WriteAccess.TTL);
    });

    test('TTL updates', () => {
      const m = new MinCommitTsManager();
      m.tryUpdate(10n, WriteAccess.TTL);
      expect(m.get()).toBe(10n);
      m.tryUpdate(5n, WriteAccess.TTL);
      expect(m.get()).toBe(10n);
    });

    test('Elevate write access', () => {
      const m = new MinCommitTsManager();
      m.tryUpdate(10n, WriteAccess.TTL);
      expect(m.elevateWriteAccess(WriteAccess.TWO_PC)).toBe(10n);
      expect(m.requiredWriteAccess).toBe(WriteAccess.TWO_PC);
      // Never lowered.
      m.elevateWriteAccess(WriteAccess.TTL);
      expect(m.requiredWriteAccess).toBe(WriteAccess.TWO_PC);
    });

    test('Updates after elevation', () => {
      const m = new MinCommitTsManager();
      m.tryUpdate(10n, WriteAccess.TTL);
      m.elevateWriteAccess(WriteAccess.TWO_PC);
      m.tryUpdate(20n, WriteAccess.TTL);
      expect(m.get()).toBe(10n);
      m.tryUpdate(30n, WriteAccess.TWO_PC);
      expect(m.get()).toBe(30n);
    });

    test('Concurrent updates (interleaved)', () => {
      const m = new MinCommitTsManager();
      for (let i = 0; i < 1000; i++) {
        m.tryUpdate(BigInt(i), WriteAccess.TTL);
        m.tryUpdate(BigInt(1000 + i), WriteAccess.TTL);
      }
      expect(m.get()).toBe(1999n);
    });
  });
});
