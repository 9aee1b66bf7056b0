import { TXN_STATUS_KEEP_TIME_MS, TxnStatusCache, txnStateFromTs } from './txn-status-cache.js';

const ongoing = (minCommitTs: bigint) => ({ kind: 'ongoing', minCommitTs }) as const;
const committed = (commitTs: bigint) => ({ kind: 'committed', commitTs }) as const;

function setup(capacity?: number) {
  const clock = { nowMs: 0 };
  return { clock, cache: new TxnStatusCache(() => clock.nowMs, capacity) };
}

describe('src/storage/txn/txn_status_cache.rs', () => {
  test('test_upsert_and_get_normal_txn', () => {
    const { cache } = setup();
    cache.upsert(1n, ongoing(2n));
    expect(cache.get(1n)).toEqual(ongoing(2n));
    cache.upsert(1n, committed(3n));
    expect(cache.get(1n)).toEqual(committed(3n));
  });

  test('test_upsert_and_get_large_txn', () => {
    const { cache } = setup();
    cache.upsert(1n, ongoing(10_000n));
    expect(cache.get(1n)).toEqual(ongoing(10_000n));
    expect(cache.size).toEqual({ normal: 0, large: 1 });
    cache.upsert(1n, committed(10_000n));
    expect(cache.get(1n)).toEqual(committed(10_000n));
  });

  test('test_update_ongoing_txn: a larger min commit ts replaces it, a smaller one does not', () => {
    const { cache } = setup();
    cache.upsert(1n, ongoing(2n));
    cache.upsert(1n, ongoing(3n));
    expect(cache.get(1n)).toEqual(ongoing(3n));
    cache.upsert(1n, ongoing(2n));
    expect(cache.get(1n)).toEqual(ongoing(3n));
  });

  test('test_update_committed_txn: a finished state is never replaced', () => {
    const { cache } = setup();
    cache.upsert(1n, committed(2n));
    cache.upsert(1n, { kind: 'rolledBack' });
    expect(cache.get(1n)).toEqual(committed(2n));
  });

  test('test_normal_to_large_txn_transition', () => {
    const { cache } = setup();
    cache.upsert(1n, ongoing(1n));
    expect(cache.get(1n)).toEqual(ongoing(1n));
    cache.upsert(1n, ongoing(2n));
    expect(cache.get(1n)).toEqual(ongoing(2n));
  });

  test('test_large_to_normal_txn_transition', () => {
    const { cache } = setup();
    cache.upsert(1n, ongoing(10_000n));
    cache.upsert(1n, committed(10_001n));
    expect(cache.get(1n)).toEqual(committed(10_001n));
  });

  test('test_eviction_normal_txn / test_eviction_large_txn: an entry older than the keep time goes at the next insert', () => {
    const { clock, cache } = setup();
    cache.upsert(1n, ongoing(1n));
    cache.upsert(2n, ongoing(10_000n));
    clock.nowMs = TXN_STATUS_KEEP_TIME_MS + 1_000;
    cache.upsert(3n, ongoing(3n));
    cache.upsert(4n, ongoing(20_000n));
    expect(cache.get(1n)).toBeUndefined();
    expect(cache.get(2n)).toBeUndefined();
    expect(cache.get(3n)).toEqual(ongoing(3n));
    expect(cache.get(4n)).toEqual(ongoing(20_000n));
  });

  test('test_capacity_limit', () => {
    const { cache } = setup(5);
    for (let i = 1n; i <= 5n; i++) cache.upsert(i, ongoing(i + 1n));
    cache.upsert(6n, ongoing(7n));
    expect(cache.get(1n)).toBeUndefined();
    expect(cache.get(6n)).toEqual(ongoing(7n));
  });

  test('test_remove_large_txn', () => {
    const { cache } = setup();
    cache.upsert(1n, ongoing(10_000n));
    cache.removeLargeTxn(1n);
    expect(cache.get(1n)).toBeUndefined();
  });

  test('TxnState::from_ts and update_txn_status_cache', () => {
    expect(txnStateFromTs(10n, 5n, 0n, false)).toEqual(ongoing(10n));
    expect(txnStateFromTs(10n, 15n, 0n, false)).toEqual(ongoing(15n));
    expect(txnStateFromTs(10n, 15n, 20n, false)).toEqual(committed(20n));
    expect(txnStateFromTs(10n, 15n, 20n, true)).toEqual({ kind: 'rolledBack' });
    const { cache } = setup();
    cache.update([{ startTs: 10n, minCommitTs: 15n, commitTs: 0n, rolledBack: false, isCompleted: false }]);
    expect(cache.size).toEqual({ normal: 0, large: 1 });
    // Completed: out of the large cache, remembered as committed in the normal one.
    cache.update([{ startTs: 10n, minCommitTs: 0n, commitTs: 20n, rolledBack: false, isCompleted: true }]);
    expect(cache.size).toEqual({ normal: 1, large: 0 });
    expect(cache.get(10n)).toEqual(committed(20n));
    expect(() =>
      cache.update([{ startTs: 30n, minCommitTs: 35n, commitTs: 0n, rolledBack: false, isCompleted: true }]),
    ).toThrow('neither committed nor rolled back');
  });
});
