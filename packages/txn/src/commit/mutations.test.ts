import { InvalidArgumentError, isTiKVError } from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import { FlagsOp, KeyFlags } from '../membuffer/key-flags.js';
import { MemBuffer } from '../membuffer/mem-buffer.js';
import { type BuildMutationsOptions, buildMutations } from './mutations.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const b = (s: string) => enc.encode(s);
const opts = (o: Partial<BuildMutationsOptions> = {}): BuildMutationsOptions => ({
  pessimistic: false,
  assertionLevel: 'off',
  filter: undefined,
  primaryKey: undefined,
  ...o,
});
const { Op, Assertion } = kvrpcpb;
const view = (db: MemBuffer, o?: Partial<BuildMutationsOptions>) => {
  const set = buildMutations(db, opts(o));
  return {
    set,
    rows: set.mutations.map((m) => [dec.decode(m.key), m.op, dec.decode(m.value)]),
  };
};

describe('initKeysAndMutations (2pc.go)', () => {
  test('values, deletes and locks become Put, Del and Lock; flags-only keys without a lock are left out', () => {
    const db = new MemBuffer();
    db.set(b('a'), b('1'));
    db.delete(b('b'));
    db.updateFlags(b('c'), FlagsOp.SetKeyLocked);
    db.updateFlags(b('d'), FlagsOp.SetAssertExist);
    db.updateFlags(b('e'), FlagsOp.SetKeyLocked, FlagsOp.SetKeyLockedInShareMode);
    db.set(b('f'), b('2'));
    const { set, rows } = view(db);
    expect(rows).toEqual([
      ['a', Op.Put, '1'],
      ['b', Op.Del, ''],
      ['c', Op.Lock, ''],
      ['e', Op.SharedLock, ''],
      ['f', Op.Put, '2'],
    ]);
    expect(set.counts).toEqual({ puts: 2, dels: 1, locks: 2, sharedLocks: 1, checks: 0 });
    expect(set.sizeBytes).toBe(2 + 1 + 1 + 1 + 2);
    expect(set.hasSharedLocks).toBe(true);
    expect(dec.decode(set.primary?.key)).toBe('a');
  });

  test('presumed absent: Insert for a value, CheckNotExists (prewrite-only) for a delete of an optimistic txn', () => {
    const db = new MemBuffer();
    db.setWithFlags(b('i'), b('v'), FlagsOp.SetPresumeKeyNotExists);
    db.setWithFlags(b('c'), b('v'), FlagsOp.SetPresumeKeyNotExists);
    db.delete(b('c'));
    const { set, rows } = view(db);
    expect(rows).toEqual([
      ['c', Op.CheckNotExists, ''],
      ['i', Op.Insert, 'v'],
    ]);
    expect(set.hasNoNeedCommitKeys).toBe(true);
    expect(set.mutations.map((m) => m.prewriteOnly)).toEqual([true, false]);
    // The buffer remembers it (client-go sets the flag for the commit phase).
    expect(KeyFlags.hasPrewriteOnly(db.getFlags(b('c')) as number)).toBe(true);
    // A CheckNotExists is never the primary.
    expect(dec.decode(set.primary?.key)).toBe('i');
    // A pessimistic transaction deletes it instead.
    expect(view(db, { pessimistic: true }).rows[0]).toEqual(['c', Op.Del, '']);
  });

  test('a deleted newly inserted key: nothing, or its lock when it holds one', () => {
    const db = new MemBuffer();
    db.setWithFlags(b('n'), b('v'), FlagsOp.SetNewlyInserted);
    db.delete(b('n'));
    db.setWithFlags(b('m'), b('v'), FlagsOp.SetNewlyInserted, FlagsOp.SetKeyLocked);
    db.delete(b('m'));
    expect(view(db).rows).toEqual([['m', Op.Lock, '']]);
  });

  test('TestFlagsInMemBufferMutations (2pc_test.go): assertions and pessimistic actions from the flags', () => {
    const db = new MemBuffer();
    const cases: [string, FlagsOp[], number][] = [
      ['a', [], Assertion.None],
      ['b', [FlagsOp.SetAssertExist], Assertion.Exist],
      ['c', [FlagsOp.SetAssertNotExist], Assertion.NotExist],
      ['d', [FlagsOp.SetAssertUnknown], Assertion.None],
      ['e', [FlagsOp.SetAssertExist, FlagsOp.SetKeyLocked], Assertion.Exist],
      ['f', [FlagsOp.SetAssertNotExist, FlagsOp.SetNeedConstraintCheckInPrewrite], Assertion.NotExist],
    ];
    for (const [k, ops] of cases) db.setWithFlags(b(k), b('v'), ...ops);
    const fast = buildMutations(db, opts({ assertionLevel: 'fast' })).mutations;
    expect(fast.map((m) => m.assertion)).toEqual(cases.map((c) => c[2]));
    // Level off: no assertion is sent.
    expect(buildMutations(db, opts()).mutations.every((m) => m.assertion === Assertion.None)).toBe(true);
    const {
      SKIP_PESSIMISTIC_CHECK: SKIP,
      DO_PESSIMISTIC_CHECK: CHECK,
      DO_CONSTRAINT_CHECK: CONSTRAINT,
    } = kvrpcpb.PrewriteRequest_PessimisticAction;
    expect(fast.map((m) => m.pessimisticAction)).toEqual([SKIP, SKIP, SKIP, SKIP, SKIP, CONSTRAINT]);
    const pessimistic = buildMutations(db, opts({ pessimistic: true })).mutations;
    expect(pessimistic.map((m) => m.pessimisticAction)).toEqual([SKIP, SKIP, SKIP, SKIP, CHECK, CONSTRAINT]);
    expect(buildMutations(db, opts()).needConstraintCheckInPrewrite).toBe(true);
  });

  test('a filter leaves writes out, but keeps the lock of a locked key', () => {
    const db = new MemBuffer();
    db.set(b('a'), b('1'));
    db.setWithFlags(b('b'), b('2'), FlagsOp.SetKeyLocked);
    db.delete(b('c'));
    db.set(b('d'), b('4'));
    const seen: string[] = [];
    const filter = (key: Uint8Array, value: Uint8Array) => {
      seen.push(dec.decode(key));
      return dec.decode(key) !== 'd' && value.length >= 0;
    };
    expect(view(db, { filter }).rows).toEqual([
      ['b', Op.Lock, '2'],
      ['d', Op.Put, '4'],
    ]);
    expect(seen).toEqual(['a', 'b', 'c', 'd']);
  });

  test('the given primary key; it must be one of the mutations', () => {
    const db = new MemBuffer();
    db.set(b('a'), b('1'));
    db.set(b('b'), b('2'));
    expect(dec.decode(view(db, { primaryKey: b('b') }).set.primary?.key)).toBe('b');
    expect(() => view(db, { primaryKey: b('z') })).toThrow(InvalidArgumentError);
  });

  describe('TestSharedLockCommitterIncompatibilities (txn_test.go)', () => {
    test('RejectSharedLockPrimaryKey', () => {
      const db = new MemBuffer();
      db.updateFlags(b('shared-key'), FlagsOp.SetKeyLocked, FlagsOp.SetKeyLockedInShareMode);
      const call = () => buildMutations(db, opts({ primaryKey: b('shared-key') }));
      expect(call).toThrow('shared-locked key cannot be the primary');
      try {
        call();
      } catch (e) {
        expect(isTiKVError(e, 'NOT_SUPPORTED')).toBe(true);
      }
      // Nothing else to choose: no primary without the given one either.
      expect(() => buildMutations(db, opts())).toThrow('shared-locked key');
    });

    test('a shared lock beside another key: the other is the primary', () => {
      const db = new MemBuffer();
      db.updateFlags(b('a-shared'), FlagsOp.SetKeyLocked, FlagsOp.SetKeyLockedInShareMode);
      db.updateFlags(b('primary-key'), FlagsOp.SetKeyLocked);
      const set = buildMutations(db, opts());
      expect(dec.decode(set.primary?.key)).toBe('primary-key');
      expect(set.hasSharedLocks).toBe(true);
    });
  });

  test('an empty buffer: no mutations, no primary', () => {
    const set = buildMutations(new MemBuffer(), opts());
    expect(set.mutations).toEqual([]);
    expect(set.primary).toBeUndefined();
  });

  test('every key a CheckNotExists: the first stands in as primary', () => {
    const db = new MemBuffer();
    for (const k of ['x', 'y']) {
      db.setWithFlags(b(k), b('v'), FlagsOp.SetPresumeKeyNotExists);
      db.delete(b(k));
    }
    expect(dec.decode(buildMutations(db, opts()).primary?.key)).toBe('x');
  });
  test('checkAssertionByPessimisticLockResults: the first assertion a lock answer contradicts', () => {
    const db = new MemBuffer();
    // Locked, the value found: asserting absence contradicts it.
    db.set(b('a'), b('1'));
    db.updateFlags(b('a'), FlagsOp.SetKeyLocked, FlagsOp.SetKeyLockedValueExists, FlagsOp.SetAssertNotExist);
    // Locked, no value found: asserting existence contradicts it.
    db.set(b('b'), b('2'));
    db.updateFlags(b('b'), FlagsOp.SetKeyLocked, FlagsOp.SetKeyLockedValueNotExists, FlagsOp.SetAssertExist);
    // Agreeing answers, and an assertion on a key without a lock.
    db.set(b('c'), b('3'));
    db.updateFlags(b('c'), FlagsOp.SetKeyLocked, FlagsOp.SetKeyLockedValueExists, FlagsOp.SetAssertExist);
    db.set(b('d'), b('4'));
    db.updateFlags(b('d'), FlagsOp.SetAssertNotExist);
    expect(view(db, { pessimistic: true, assertionLevel: 'fast' }).set.assertionFromLocks).toEqual({
      key: b('a'),
      assertion: 'NotExist',
    });
    expect(view(db, { pessimistic: true, assertionLevel: 'off' }).set.assertionFromLocks).toBeUndefined();
    // Optimistic transactions learn nothing from locks.
    expect(view(db, { pessimistic: false, assertionLevel: 'strict' }).set.assertionFromLocks).toBeUndefined();
    const onlyB = new MemBuffer();
    onlyB.set(b('b'), b('2'));
    onlyB.updateFlags(
      b('b'),
      FlagsOp.SetKeyLocked,
      FlagsOp.SetKeyLockedValueNotExists,
      FlagsOp.SetAssertExist,
    );
    expect(view(onlyB, { pessimistic: true, assertionLevel: 'strict' }).set.assertionFromLocks).toEqual({
      key: b('b'),
      assertion: 'Exist',
    });
  });
});
