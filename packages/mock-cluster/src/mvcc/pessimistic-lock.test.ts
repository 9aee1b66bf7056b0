import { kvrpcpb } from '@tikv/proto';
import { LockType } from './lock-record.js';
import { MvccTestEngine } from './mvcc-test-util.js';

const DO_PESSIMISTIC_CHECK = kvrpcpb.PrewriteRequest_PessimisticAction.DO_PESSIMISTIC_CHECK;

describe('src/storage/txn/actions/acquire_pessimistic_lock.rs', () => {
  test('test_overwrite_pessimistic_lock: only a larger for_update_ts rewrites the lock', () => {
    const e = new MvccTestEngine();
    e.acquirePessimisticLock('k1', 'k1', 1, 2);
    expect(e.locked('k1', 1).forUpdateTs).toBe(2n);
    e.acquirePessimisticLock('k1', 'k1', 1, 1);
    expect(e.locked('k1', 1).forUpdateTs).toBe(2n);
    e.acquirePessimisticLock('k1', 'k1', 1, 3);
    expect(e.locked('k1', 1).forUpdateTs).toBe(3n);
  });

  test.each([
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ])(
    'test_repeated_request_check_should_not_exist (return_values %s, check_existence %s)',
    (needValue, checkExistence) => {
      const e = new MvccTestEngine();
      const key = `k${Number(needValue) * 2 + Number(checkExistence)}`;
      const repeat = (ts: number) =>
        e.acquirePessimisticLock(key, key, ts, ts, {
          shouldNotExist: true,
          ttl: 1000,
          needValue,
          checkExistence,
          minCommitTs: ts + 5,
        });
      const pessimisticPrewrite = (ts: number, op: kvrpcpb.Op, value = '') =>
        e.prewrite(key, key, ts, { op, value, forUpdateTs: ts, pessimisticAction: DO_PESSIMISTIC_CHECK });
      const noValue = (r: ReturnType<typeof repeat>) =>
        r.kind === 'value' ? r.value === undefined : r.kind === 'existence' ? !r.exists : r.kind === 'empty';

      e.acquirePessimisticLock(key, key, 10, 10);
      expect(noValue(repeat(10))).toBe(true);
      pessimisticPrewrite(10, kvrpcpb.Op.Lock);
      e.commit(key, 10, 19);

      e.acquirePessimisticLock(key, key, 20, 20);
      expect(noValue(repeat(20))).toBe(true);
      pessimisticPrewrite(20, kvrpcpb.Op.Put, 'v1');
      e.commit(key, 20, 29);

      e.acquirePessimisticLock(key, key, 30, 30);
      expect(e.err(() => repeat(30)).kind).toBe('AlreadyExist');
      pessimisticPrewrite(30, kvrpcpb.Op.Lock);
      e.commit(key, 30, 39);

      e.acquirePessimisticLock(key, key, 40, 40);
      expect(e.err(() => repeat(40)).kind).toBe('AlreadyExist');
      pessimisticPrewrite(40, kvrpcpb.Op.Del);
      e.commit(key, 40, 49);

      e.acquirePessimisticLock(key, key, 50, 50);
      expect(noValue(repeat(50))).toBe(true);
      pessimisticPrewrite(50, kvrpcpb.Op.Lock);
      e.commit(key, 50, 59);

      e.acquirePessimisticLock(key, key, 60, 60);
      expect(noValue(repeat(60))).toBe(true);
    },
  );

  test('test_lock_with_conflict_should_not_exist', () => {
    const e = new MvccTestEngine();
    const withConflict = (startTs: number, forUpdateTs: number) =>
      e.acquirePessimisticLock('k1', 'k1', startTs, forUpdateTs, {
        shouldNotExist: true,
        allowLockWithConflict: true,
        ttl: 1,
      });
    e.prewritePut('k1', 'v1', 'k1', 20);
    e.commit('k1', 20, 30);
    expect(e.err(() => withConflict(10, 10)).kind).toBe('WriteConflict');
    expect(e.lockOf('k1')).toBeUndefined();

    e.acquirePessimisticLock('k1', 'k1', 10, 30);
    expect(e.err(() => withConflict(10, 10)).kind).toBe('WriteConflict');
    expect(e.locked('k1', 10).forUpdateTs).toBe(30n);

    e.acquirePessimisticLock('k1', 'k1', 10, 40);
    expect(e.err(() => withConflict(10, 10)).kind).toBe('WriteConflict');
    expect(e.locked('k1', 10).forUpdateTs).toBe(40n);

    e.prewrite('k1', 'k1', 10, {
      op: kvrpcpb.Op.Del,
      forUpdateTs: 40,
      pessimisticAction: DO_PESSIMISTIC_CHECK,
    });
    e.commit('k1', 10, 60);
    expect(e.lockOf('k1')).toBeUndefined();

    expect(withConflict(50, 50)).toEqual({ kind: 'lockedWithConflict', value: undefined, conflictTs: 60n });
    expect(e.locked('k1', 50)).toMatchObject({ lockType: LockType.Pessimistic, forUpdateTs: 60n });
  });
});
