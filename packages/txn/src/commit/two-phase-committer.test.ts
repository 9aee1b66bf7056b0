import { InvalidArgumentError, ManualClock } from '@tikv/common';
import type { RegionExecutor } from '@tikv/rpc';
import { FlagsOp } from '../membuffer/key-flags.js';
import { MemBuffer } from '../membuffer/mem-buffer.js';
import type { LockResolving, TxnOracle, TxnParts } from '../txn-deps.js';
import { CommitProtocol } from './commit-result.js';
import { TtlManagerState } from './ttl-manager.js';
import { commitBuffer, TwoPhaseCommitter } from './two-phase-committer.js';

const enc = new TextEncoder();
const b = (s: string) => enc.encode(s);
// Nothing here sends: the committer only keeps its pieces until it runs.
const parts: TxnParts = {
  executor: {} as RegionExecutor,
  oracle: {} as TxnOracle,
  clock: new ManualClock({ startMs: 50_000 }),
};
const lockResolver: LockResolving = { resolveLocks: () => Promise.reject(new Error('not used')) };
const buffer = (...keys: string[]) => {
  const db = new MemBuffer();
  for (const k of keys) db.set(b(k), b(`v-${k}`));
  return db;
};

describe('twoPhaseCommitter (2pc.go)', () => {
  test('TestIllegalTso (2pc_test.go): a start ts out of range is refused', () => {
    for (const startTs of [0n, 2n ** 64n - 1n, -1n, 5 as unknown as bigint, undefined as unknown as bigint]) {
      expect(() => new TwoPhaseCommitter(parts, buffer('a'), { startTs, lockResolver })).toThrow(
        InvalidArgumentError,
      );
    }
    expect(() => new TwoPhaseCommitter(parts, buffer('a'), { startTs: 5n } as never)).toThrow('lockResolver');
    expect(
      () => new TwoPhaseCommitter(parts, buffer('a'), { startTs: 5n, lockResolver, concurrency: 0 }),
    ).toThrow('concurrency');
  });

  test('what it reads from the buffer', () => {
    const db = buffer('b', 'a', 'c');
    db.delete(b('c'));
    const c = new TwoPhaseCommitter(parts, db, { startTs: 10n, lockResolver });
    expect(c.startTs).toBe(10n);
    expect(new TextDecoder().decode(c.primaryKey)).toBe('a');
    expect(c.keys().map((k) => new TextDecoder().decode(k))).toEqual(['a', 'b', 'c']);
    expect(c.mutationCount).toBe(3);
    expect(c.counts).toMatchObject({ puts: 2, dels: 1 });
    expect(c.txnSizeBytes).toBe(3 + 3 + 3 + 3 - 3);
    expect(c.lockTtlMs).toBe(3000);
    expect(c.commitTs).toBe(0n);
    expect(c.onePcCommitTs).toBe(0n);
    expect(c.protocol).toBe(CommitProtocol.TWO_PC);
    expect(c.committed).toBe(false);
    expect(c.ttlManagerState).toBe(TtlManagerState.UNINITIALIZED);
  });

  test('the lock TTL counts the time since startTimeMs on the parts clock', () => {
    const c = new TwoPhaseCommitter(parts, buffer('a'), { startTs: 10n, lockResolver, startTimeMs: 49_000 });
    expect(c.lockTtlMs).toBe(4000);
  });

  test('TestAsyncCommitCheck (2pc_test.go): keys and total key size limits', () => {
    const keys = Array.from({ length: 16 }, (_, i) => `async_check_${String(i).padStart(2, '0')}`);
    const total = keys.reduce((s, k) => s + k.length, 0);
    const check = (o: object) =>
      new TwoPhaseCommitter(parts, buffer(...keys), {
        startTs: 10n,
        lockResolver,
        asyncCommit: true,
        ...o,
      }).checkAsyncCommit();
    expect(check({ asyncCommitKeysLimit: 16, asyncCommitTotalKeySizeLimitBytes: total })).toBe(true);
    expect(check({ asyncCommitKeysLimit: 15, asyncCommitTotalKeySizeLimitBytes: total })).toBe(false);
    expect(check({ asyncCommitKeysLimit: 20, asyncCommitTotalKeySizeLimitBytes: total - 1 })).toBe(false);
    expect(check({ asyncCommit: false })).toBe(false);
  });

  test('DisableAsyncCommitAndOnePC (txn_test.go TestSharedLockCommitterIncompatibilities)', () => {
    const plain = new MemBuffer();
    plain.updateFlags(b('primary-key'), FlagsOp.SetKeyLocked);
    const options = { startTs: 1n, lockResolver, asyncCommit: true, onePc: true };
    const p = new TwoPhaseCommitter(parts, plain, options);
    expect(p.checkAsyncCommit()).toBe(true);
    expect(p.checkOnePc()).toBe(true);
    const shared = new MemBuffer();
    shared.updateFlags(b('primary-key'), FlagsOp.SetKeyLocked);
    shared.updateFlags(b('shared-key'), FlagsOp.SetKeyLocked, FlagsOp.SetKeyLockedInShareMode);
    const s = new TwoPhaseCommitter(parts, shared, options);
    expect(s.checkAsyncCommit()).toBe(false);
    expect(s.checkOnePc()).toBe(false);
  });

  test('an empty buffer commits nothing and sends nothing', async () => {
    const result = await commitBuffer(parts, new MemBuffer(), { startTs: 10n, lockResolver });
    expect(result.commitTs).toBe(0n);
    expect(result.protocol).toBe(CommitProtocol.NONE);
    await result.background;
  });

  test('bad call options and commit ts are refused', async () => {
    const c = new TwoPhaseCommitter(parts, buffer('a'), { startTs: 10n, lockResolver });
    await expect(c.execute({ timeoutMs: -1 })).rejects.toThrow(InvalidArgumentError);
    await expect(c.commit(10n)).rejects.toThrow('commitTs');
    await expect(c.commit(11 as unknown as bigint)).rejects.toThrow(InvalidArgumentError);
  });
});
