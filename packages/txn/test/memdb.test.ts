import { EntryTooLargeError, isTiKVError, KeyTooLargeError, TxnTooLargeError } from '@tikv/common';
import { FlagsOp, KeyFlags, MemBuffer, type MemBufferIterator } from '../src/index.js';
import { b, be32, copy, deriveAndFill, drain, fillDB, fromBe32, str } from './helpers.js';

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

/** Keys and values of an iterator with 4-byte keys and values, as numbers. */
function pairs(it: MemBufferIterator): { keys: number[]; values: number[] } {
  const keys: number[] = [];
  const values: number[] = [];
  for (; it.valid; it.next()) {
    keys.push(fromBe32(it.key()));
    values.push(fromBe32(it.value()!));
  }
  return { keys, values };
}

// Ports of client-go internal/unionstore/memdb_test.go. client-go runs each case against its
// RBT and ART memdbs; here there is one buffer (the ART design).

const unlimited = (): MemBuffer => new MemBuffer({ totalSizeLimitBytes: Number.POSITIVE_INFINITY });

describe('memdb_test.go', () => {
  test('TestGetSet', () => {
    const db = new MemBuffer();
    const cnt = 10000;
    fillDB(db, cnt);
    const got = Array.from({ length: cnt }, (_, i) => fromBe32(db.get(be32(i))!));
    expect(got).toEqual(range(0, cnt));
  });

  test('TestIterator', () => {
    const db = new MemBuffer();
    const cnt = 10000;
    fillDB(db, cnt);
    const forward = pairs(db.iter());
    expect(forward.keys).toEqual(range(0, cnt));
    expect(forward.values).toEqual(range(0, cnt));
    const backward = pairs(db.iter(undefined, undefined, { reverse: true }));
    expect(backward.keys).toEqual(range(0, cnt).reverse());
    expect(backward.values).toEqual(range(0, cnt).reverse());
    const bound = 400;
    expect(pairs(db.iter(undefined, be32(bound))).keys).toEqual(range(0, bound));
    expect(pairs(db.iter(be32(bound), undefined, { reverse: true })).keys).toEqual(
      range(bound, cnt).reverse(),
    );
  });

  test('TestDiscard', () => {
    const db = new MemBuffer();
    const cnt = 10000;
    const base = deriveAndFill(db, 0, cnt, 0);
    const sz = db.sizeBytes;
    db.cleanup(deriveAndFill(db, 0, cnt, 1));
    expect(db.len).toBe(cnt);
    expect(db.sizeBytes).toBe(sz);
    expect(range(0, cnt).map((i) => fromBe32(db.get(be32(i))!))).toEqual(range(0, cnt));
    const forward = pairs(db.iter());
    expect(forward.keys).toEqual(range(0, cnt));
    expect(forward.values).toEqual(range(0, cnt));
    const backward = pairs(db.iter(undefined, undefined, { reverse: true }));
    expect(backward.keys).toEqual(range(0, cnt).reverse());
    expect(backward.values).toEqual(range(0, cnt).reverse());
    db.cleanup(base);
    expect(range(0, cnt).filter((i) => db.get(be32(i)) !== undefined)).toEqual([]);
    expect(db.iter().valid).toBe(false);
    expect(db.len).toBe(0);
    expect(db.sizeBytes).toBe(0);
  });

  test('TestFlushOverwrite', () => {
    const db = new MemBuffer();
    const cnt = 10000;
    db.release(deriveAndFill(db, 0, cnt, 0));
    const sz = db.sizeBytes;
    db.release(deriveAndFill(db, 0, cnt, 1));
    expect(db.len).toBe(cnt);
    expect(db.sizeBytes).toBe(sz);
    expect(range(0, cnt).map((i) => fromBe32(db.get(be32(i))!))).toEqual(range(1, cnt + 1));
    const forward = pairs(db.iter());
    expect(forward.keys).toEqual(range(0, cnt));
    expect(forward.values).toEqual(range(1, cnt + 1));
    const backward = pairs(db.iter(undefined, undefined, { reverse: true }));
    expect(backward.keys).toEqual(range(0, cnt).reverse());
    expect(backward.values).toEqual(range(1, cnt + 1).reverse());
  });

  test('TestComplexUpdate', () => {
    const db = new MemBuffer();
    const keep = 3000;
    const overwrite = 6000;
    const insert = 9000;
    db.release(deriveAndFill(db, 0, overwrite, 0));
    expect(db.len).toBe(overwrite);
    db.release(deriveAndFill(db, keep, insert, 1));
    expect(db.len).toBe(insert);
    expect(range(0, insert).map((i) => fromBe32(db.get(be32(i))!))).toEqual(
      range(0, insert).map((i) => (i >= keep ? i + 1 : i)),
    );
  });

  test('TestNestedSandbox', () => {
    const db = new MemBuffer();
    const h0 = deriveAndFill(db, 0, 200, 0);
    const h1 = deriveAndFill(db, 0, 100, 1);
    const h2 = deriveAndFill(db, 50, 150, 2);
    const h3 = deriveAndFill(db, 100, 120, 3);
    const h4 = deriveAndFill(db, 0, 150, 4);
    db.cleanup(h4); // discard (0..150 -> 4)
    db.release(h3); // keep (100..120 -> 3)
    db.cleanup(h2); // discard (100..120 -> 3) and (50..150 -> 2)
    db.release(h1); // keep (0..100 -> 1)
    db.release(h0); // keep (0..100 -> 1) and (0..200 -> 0)
    const expected = (i: number): number => (i < 100 ? i + 1 : i);
    for (let i = 0; i < 200; i++) expect(fromBe32(db.get(be32(i))!)).toBe(expected(i));
    let i = 0;
    for (const it = db.iter(); it.valid; it.next(), i++) {
      expect(fromBe32(it.key())).toBe(i);
      expect(fromBe32(it.value()!)).toBe(expected(i));
    }
    expect(i).toBe(200);
    i--;
    for (const it = db.iter(undefined, undefined, { reverse: true }); it.valid; it.next(), i--) {
      expect(fromBe32(it.key())).toBe(i);
      expect(fromBe32(it.value()!)).toBe(expected(i));
    }
    expect(i).toBe(-1);
  });

  test('TestOverwrite', () => {
    const db = new MemBuffer();
    const cnt = 10000;
    fillDB(db, cnt);
    const sz = db.sizeBytes;
    for (let i = 0; i < cnt; i += 3) db.set(be32(i), be32(i * 10));
    expect(db.len).toBe(cnt);
    expect(db.sizeBytes).toBe(sz);
    const expected = range(0, cnt).map((i) => (i % 3 === 0 ? i * 10 : i));
    expect(range(0, cnt).map((i) => fromBe32(db.get(be32(i))!))).toEqual(expected);
    const forward = pairs(db.iter());
    expect(forward.keys).toEqual(range(0, cnt));
    expect(forward.values).toEqual(expected);
    const backward = pairs(db.iter(undefined, undefined, { reverse: true }));
    expect(backward.values).toEqual(expected.slice().reverse());
  });

  test('TestReset', () => {
    const db = new MemBuffer();
    fillDB(db, 1000);
    const it = db.iter();
    db.reset();
    expect(db.get(b(0, 0, 0, 0))).toBeUndefined();
    expect(db.getFlags(b(0, 0, 0, 0))).toBeUndefined();
    expect(db.iter().valid).toBe(false);
    expect(db.len).toBe(0);
    expect(db.sizeBytes).toBe(0);
    expect(db.memoryBytes).toBe(0);
    expect(db.dirty).toBe(false);
    // An iterator from before the reset ends: its reads throw instead of reading freed memory.
    expect(it.valid).toBe(false);
    expect(() => it.key()).toThrow('reset');
  });

  test('TestInspectStage', () => {
    const db = new MemBuffer();
    const h1 = deriveAndFill(db, 0, 1000, 0);
    const h2 = deriveAndFill(db, 500, 1000, 1);
    for (let i = 500; i < 1500; i++) {
      // 5-byte values: not updated in place.
      const v = new Uint8Array(5);
      v.set(be32(i + 2));
      db.set(be32(i), v);
    }
    const h3 = deriveAndFill(db, 1000, 2000, 3);
    const seen = (h: number): Map<number, number> => {
      const out = new Map<number, number>();
      let repeated = 0;
      db.inspectStage(h, (key, _flags, value) => {
        if (out.has(fromBe32(key))) repeated++;
        out.set(fromBe32(key), fromBe32(value.subarray(0, 4)));
      });
      expect(repeated).toBe(0);
      return out;
    };
    const diffs = (m: Map<number, number>): [number, number][] =>
      [...m].map(([k, v]) => [k, v - k] as [number, number]).sort((x, y) => x[0] - y[0]);
    expect(diffs(seen(h3))).toEqual(range(1000, 2000).map((k) => [k, 3]));
    expect(diffs(seen(h2))).toEqual(range(500, 2000).map((k) => [k, k < 1000 ? 2 : 3]));
    db.cleanup(h3);
    db.release(h2);
    expect(diffs(seen(h1))).toEqual(range(0, 1500).map((k) => [k, k < 500 ? 0 : 2]));
    db.release(h1);
    expect(() => db.inspectStage(h1, () => {})).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });

  test('TestSelectValueHistory: the newest accepted value, newest first, minus what a cleanup dropped', () => {
    const db = new MemBuffer();
    const eq = (want: Uint8Array) => (v: Uint8Array) =>
      v.length === want.length && v.every((x, i) => x === want[i]);
    db.set(b(1), b(1));
    const h = db.staging();
    db.set(b(1), b(1, 1));
    expect(copy(db.selectValueHistory(b(1), eq(b(1))))).toEqual(b(1));
    expect(copy(db.selectValueHistory(b(1), eq(b(1, 1))))).toEqual(b(1, 1));
    expect(db.selectValueHistory(b(1), eq(b(1, 1, 1)))).toBeUndefined();
    // Newest first: the predicate sees the current value, then the one it replaced.
    const seen: number[][] = [];
    db.selectValueHistory(b(1), (v) => {
      seen.push([...v]);
      return false;
    });
    expect(seen).toEqual([[1, 1], [1]]);
    // A key the buffer does not hold: nothing to select, the predicate is not called.
    const never = jest.fn(() => true);
    expect(db.selectValueHistory(b(2), never)).toBeUndefined();
    db.updateFlags(b(3), FlagsOp.SetKeyLocked); // flags only: no value either
    expect(db.selectValueHistory(b(3), never)).toBeUndefined();
    expect(never).not.toHaveBeenCalled();
    db.cleanup(h);
    expect(copy(db.selectValueHistory(b(1), eq(b(1))))).toEqual(b(1));
    expect(db.selectValueHistory(b(1), eq(b(1, 1)))).toBeUndefined();
    // Deletes are part of the history.
    db.staging();
    db.delete(b(1));
    expect(db.selectValueHistory(b(1), (v) => v.length === 0)).toEqual(new Uint8Array(0));
    expect(copy(db.selectValueHistory(b(1), (v) => v.length > 0))).toEqual(b(1));
  });

  test('TestDirty', () => {
    let db = new MemBuffer();
    db.set(b(1), b(1));
    expect(db.dirty).toBe(true);

    db = new MemBuffer();
    let h = db.staging();
    db.set(b(1), b(1));
    db.cleanup(h);
    expect(db.dirty).toBe(false);
    h = db.staging();
    db.set(b(1), b(1));
    db.release(h);
    expect(db.dirty).toBe(true);

    // Persistent flags make the buffer dirty.
    db = new MemBuffer();
    h = db.staging();
    db.setWithFlags(b(1), b(1), FlagsOp.SetKeyLocked);
    db.cleanup(h);
    expect(db.dirty).toBe(true);

    // Non-persistent flags do not.
    db = new MemBuffer();
    h = db.staging();
    db.setWithFlags(b(1), b(1), FlagsOp.SetPresumeKeyNotExists);
    db.cleanup(h);
    expect(db.dirty).toBe(false);
  });

  describe.each([
    [
      'IterWithFlags',
      (db: MemBuffer): MemBufferIterator => db.iter(undefined, undefined, { includeFlagsOnly: true }),
    ],
    [
      'IterReverseWithFlags',
      (db: MemBuffer): MemBufferIterator =>
        db.iter(undefined, undefined, { includeFlagsOnly: true, reverse: true }),
    ],
  ])('TestFlags (%s)', (_name, iterWithFlags) => {
    test('a cleanup keeps persistent flags as flags-only keys', () => {
      const db = new MemBuffer();
      const cnt = 10000;
      const h = db.staging();
      for (let i = 0; i < cnt; i++) {
        if (i % 2 === 0)
          db.setWithFlags(be32(i), be32(i), FlagsOp.SetPresumeKeyNotExists, FlagsOp.SetKeyLocked);
        else db.setWithFlags(be32(i), be32(i), FlagsOp.SetPresumeKeyNotExists);
      }
      db.cleanup(h);
      expect(range(0, cnt).filter((i) => db.get(be32(i)) !== undefined)).toEqual([]);
      const flagsOf = range(0, cnt).map((i) => db.getFlags(be32(i)));
      expect(flagsOf.filter((f, i) => (i % 2 === 0) !== (f !== undefined))).toEqual([]);
      expect(flagsOf.filter((f) => f !== undefined && !KeyFlags.hasLocked(f))).toEqual([]);
      expect(flagsOf.filter((f) => f !== undefined && KeyFlags.hasPresumeKeyNotExists(f))).toEqual([]);
      expect(db.len).toBe(5000);
      expect(db.sizeBytes).toBe(20000);
      expect(db.iter().valid).toBe(false);
      const seen: number[] = [];
      for (const it = iterWithFlags(db); it.valid; it.next()) {
        if (it.hasValue() || it.value() !== undefined) throw new Error('a flags-only entry with a value');
        seen.push(fromBe32(it.key()));
      }
      expect(seen.sort((x, y) => x - y)).toEqual(range(0, cnt).filter((i) => i % 2 === 0));
      for (let i = 0; i < cnt; i++) db.updateFlags(be32(i), FlagsOp.DelKeyLocked);
      expect(range(0, cnt).filter((i) => db.get(be32(i)) !== undefined)).toEqual([]);
      // updateFlags creates the missing entries.
      const after = range(0, cnt).map((i) => db.getFlags(be32(i)));
      expect(after.filter((f) => f === undefined || KeyFlags.hasLocked(f))).toEqual([]);
      // Each key counted once, flags-only or not.
      expect(db.len).toBe(cnt);
      expect(db.sizeBytes).toBe(cnt * 4);
    });
  });

  describe('iterator basics (insertData/checkNewIterator)', () => {
    const testCount = 2;
    const indexStep = 2;
    const encodeInt = (n: number): Uint8Array => str(String(n).padStart(10, '0'));
    const insertData = (buffer: MemBuffer): void => {
      for (let i = 0; i < testCount; i++) buffer.set(encodeInt(i * indexStep), encodeInt(i * indexStep));
    };

    test('TestKVGetSet', () => {
      const buffer = new MemBuffer();
      insertData(buffer);
      for (let i = 0; i < testCount; i++) {
        expect(copy(buffer.get(encodeInt(i * indexStep)))).toEqual(encodeInt(i * indexStep));
      }
    });

    test('TestNewIterator', () => {
      const buffer = new MemBuffer();
      expect(buffer.iter().valid).toBe(false);
      insertData(buffer);
      for (let i = 0; i < testCount; i++) {
        const it = buffer.iter(encodeInt(i * indexStep));
        expect(copy(it.key())).toEqual(encodeInt(i * indexStep));
        expect(copy(it.value())).toEqual(encodeInt(i * indexStep));
      }
      for (let i = 0; i < testCount - 1; i++) {
        const it = buffer.iter(encodeInt(i * indexStep));
        it.next();
        expect(it.valid).toBe(true);
        expect(copy(it.key())).toEqual(encodeInt((i + 1) * indexStep));
      }
      // Seeking past the largest key.
      expect(buffer.iter(encodeInt(testCount * indexStep)).valid).toBe(false);
      // Seeking between keys lands on the next larger one.
      const it = buffer.iter(encodeInt((testCount - 1) * indexStep - 1));
      expect(it.valid).toBe(true);
      expect(copy(it.key())).toEqual(encodeInt((testCount - 1) * indexStep));
    });

    test('TestIterNextUntil', () => {
      const buffer = new MemBuffer();
      insertData(buffer);
      const it = buffer.iter();
      while (it.valid) it.next();
      expect(it.valid).toBe(false);
      // client-go: Next on a finished iterator is an error.
      expect(() => it.next()).toThrow('finished');
    });

    test('TestBasicNewIterator', () => {
      expect(new MemBuffer().iter(str('2')).valid).toBe(false);
    });

    test('TestNewIteratorMin', () => {
      const buffer = new MemBuffer();
      const kvs: [string, string][] = [
        ['DATA_test_main_db_tbl_tbl_test_record__00000000000000000001', 'lock-version'],
        ['DATA_test_main_db_tbl_tbl_test_record__00000000000000000001_0002', '1'],
        ['DATA_test_main_db_tbl_tbl_test_record__00000000000000000001_0003', 'hello'],
        ['DATA_test_main_db_tbl_tbl_test_record__00000000000000000002', 'lock-version'],
        ['DATA_test_main_db_tbl_tbl_test_record__00000000000000000002_0002', '2'],
        ['DATA_test_main_db_tbl_tbl_test_record__00000000000000000002_0003', 'hello'],
      ];
      for (const [k, v] of kvs) buffer.set(str(k), str(v));
      expect(drain(buffer.iter()).map((e) => new TextDecoder().decode(e.key))).toEqual(kvs.map(([k]) => k));
      const it = buffer.iter(str('DATA_test_main_db_tbl_tbl_test_record__00000000000000000000'));
      expect(new TextDecoder().decode(it.key())).toBe(
        'DATA_test_main_db_tbl_tbl_test_record__00000000000000000001',
      );
    });
  });

  test('TestMemDBStaging', () => {
    const buffer = new MemBuffer();
    buffer.set(str('x'), new Uint8Array(2));
    const h1 = buffer.staging();
    buffer.set(str('x'), new Uint8Array(3));
    const h2 = buffer.staging();
    buffer.set(str('yz'), new Uint8Array(1));
    expect(buffer.get(str('x'))!.length).toBe(3);
    buffer.release(h2);
    expect(buffer.get(str('yz'))!.length).toBe(1);
    buffer.cleanup(h1);
    expect(buffer.get(str('x'))!.length).toBe(2);
    expect(buffer.get(str('yz'))).toBeUndefined();
  });

  test('TestMemDBMultiLevelStaging', () => {
    const buffer = new MemBuffer();
    const key = b(0);
    for (let i = 0; i < 100; i++) {
      expect(buffer.staging()).toBe(i + 1);
      buffer.set(key, b(i));
      expect(copy(buffer.get(key))).toEqual(b(i));
    }
    for (let i = 99; i >= 0; i--) {
      let expected = i;
      if (i % 2 === 1) {
        expected = i - 1;
        buffer.cleanup(i + 1);
      } else {
        buffer.release(i + 1);
      }
      expect(copy(buffer.get(key))).toEqual(b(expected));
    }
  });

  test('TestInvalidStagingHandle', () => {
    // Handle 0 does nothing; release takes only the newest handle; cleanup takes the newest or a
    // larger one (a larger one does nothing).
    const buffer = new MemBuffer();
    let h1 = buffer.staging();
    expect(h1).toBeGreaterThan(0);
    let h2 = buffer.staging();
    expect(h2).toBeGreaterThan(0);
    expect(() => buffer.release(h2 + 1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => buffer.release(h2 - 1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    buffer.release(0);
    buffer.release(h2);
    buffer.release(0);
    buffer.release(h1);
    buffer.release(0);
    expect(buffer.stagingDepth).toBe(0);

    h1 = buffer.staging();
    h2 = buffer.staging();
    buffer.cleanup(h2 + 1);
    expect(buffer.stagingDepth).toBe(2);
    expect(() => buffer.cleanup(h2 - 1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    buffer.cleanup(0);
    buffer.cleanup(h2);
    buffer.cleanup(0);
    buffer.cleanup(h1);
    buffer.cleanup(0);
    expect(buffer.isStaging).toBe(false);
  });

  test('TestMemDBCheckpoint', () => {
    const buffer = new MemBuffer();
    const cp1 = buffer.checkpoint();
    buffer.set(str('x'), str('x'));
    const cp2 = buffer.checkpoint();
    buffer.set(str('y'), str('y'));
    const h = buffer.staging();
    buffer.set(str('z'), str('z'));
    buffer.release(h);
    for (const k of ['x', 'y', 'z']) expect(copy(buffer.get(str(k)))).toEqual(str(k));
    buffer.revertToCheckpoint(cp2);
    expect(copy(buffer.get(str('x')))).toEqual(str('x'));
    for (const k of ['y', 'z']) expect(buffer.get(str(k))).toBeUndefined();
    buffer.revertToCheckpoint(cp1);
    expect(buffer.get(str('x'))).toBeUndefined();
    expect(buffer.len).toBe(0);
    expect(buffer.sizeBytes).toBe(0);
  });

  test('TestBufferLimit', () => {
    const buffer = new MemBuffer();
    buffer.setLimits({ entrySizeLimitBytes: 500, totalSizeLimitBytes: 1000 });
    // Entry size limit.
    expect(() => buffer.set(str('x'), new Uint8Array(500))).toThrow(EntryTooLargeError);
    buffer.set(str('x'), new Uint8Array(499));
    // Entry size limit again (2 + 499 > 500).
    expect(() => buffer.set(str('yz'), new Uint8Array(499))).toThrow(EntryTooLargeError);
    buffer.delete(new Uint8Array(499));
    // Total size limit: 999 + 500 > 1000.
    let err: unknown;
    try {
      buffer.delete(new Uint8Array(500));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TxnTooLargeError);
    expect(isTiKVError(err, 'TXN_TOO_LARGE')).toBe(true);
    expect((err as TxnTooLargeError).sizeBytes).toBe(1499);
    expect((err as TxnTooLargeError).limitBytes).toBe(1000);
    // A refused write leaves the buffer as it was (client-go applies it and then reports).
    expect(buffer.sizeBytes).toBe(999);
    expect(buffer.len).toBe(2);
    expect(buffer.get(new Uint8Array(500))).toBeUndefined();
  });

  test('TestUnsetTemporaryFlag', () => {
    const buffer = new MemBuffer();
    buffer.setWithFlags(b(1), b(2), FlagsOp.SetNeedConstraintCheckInPrewrite);
    expect(KeyFlags.hasNeedConstraintCheckInPrewrite(buffer.getFlags(b(1))!)).toBe(true);
    buffer.set(b(1), b(2));
    expect(KeyFlags.hasNeedConstraintCheckInPrewrite(buffer.getFlags(b(1))!)).toBe(false);
  });

  test('TestSnapshotGetIter', () => {
    const db = new MemBuffer();
    const getters: ReturnType<MemBuffer['getSnapshot']>[] = [];
    const iters: MemBufferIterator[] = [];
    const reverseIters: MemBufferIterator[] = [];
    for (let i = 0; i < 100; i++) {
      db.set(b(0), b(i));
      db.set(b(1), b(i));
      const getter = db.getSnapshot();
      expect(copy(getter.get(b(0)))).toEqual(b(Math.min(i, 50)));
      getters.push(getter);
      const iter = getter.iter();
      expect(copy(iter.key())).toEqual(b(0));
      expect(copy(iter.value())).toEqual(b(Math.min(i, 50)));
      iters.push(iter);
      const reverseIter = getter.iter(undefined, undefined, { reverse: true });
      expect(copy(reverseIter.key())).toEqual(b(1));
      expect(copy(reverseIter.value())).toEqual(b(Math.min(i, 50)));
      reverseIters.push(reverseIter);
      // Writes after the staging are not seen by snapshot reads.
      if (i === 50) db.staging();
    }
    for (let i = 0; i < 100; i++) {
      if (i < 50) {
        // Taken with no staging open, then overwritten by a write with none open: client-go
        // reads on (seeing the overwrite); here the snapshot is no longer valid.
        expect(getters[i]!.valid).toBe(false);
        expect(() => getters[i]!.get(b(0))).toThrow('no longer valid');
        expect(iters[i]!.valid).toBe(false);
        continue;
      }
      expect(copy(getters[i]!.get(b(0)))).toEqual(b(50));
      expect(copy(iters[i]!.key())).toEqual(b(0));
      expect(copy(iters[i]!.value())).toEqual(b(50));
      expect(copy(reverseIters[i]!.key())).toEqual(b(1));
      expect(copy(reverseIters[i]!.value())).toEqual(b(50));
    }

    db.reset();
    db.updateFlags(b(255), FlagsOp.SetPresumeKeyNotExists);
    // (2, 2) ... (98, 98) before the staging.
    for (let i = 1; i < 50; i++) db.set(b(2 * i), b(2 * i));
    const h = db.staging();
    // (0, 0) (1, 2) (2, 4) ... (99, 198) in the staging.
    for (let i = 0; i < 100; i++) db.set(b(i), b(2 * i));
    const snap = db.getSnapshot();
    expect(copy(snap.get(b(2)))).toEqual(b(2));
    expect(snap.get(b(1))).toBeUndefined();
    expect(snap.get(b(254))).toBeUndefined();
    expect(snap.get(b(255))).toBeUndefined();
    const it = snap.iter();
    for (let i = 1; i < 50; i++) {
      expect(it.valid).toBe(true);
      expect(copy(it.key())).toEqual(b(2 * i));
      expect(copy(it.value())).toEqual(b(2 * i));
      it.next();
    }
    expect(it.valid).toBe(false);
    const rit = snap.iter(undefined, undefined, { reverse: true });
    for (let i = 49; i >= 1; i--) {
      expect(copy(rit.key())).toEqual(b(2 * i));
      expect(copy(rit.value())).toEqual(b(2 * i));
      rit.next();
    }
    expect(rit.valid).toBe(false);
    db.release(h);
    expect(snap.valid).toBe(false);
  });

  test('TestCleanupKeepPersistentFlag', () => {
    const db = new MemBuffer();
    const h = db.staging();
    db.setWithFlags(b(1), b(1), FlagsOp.SetKeyLocked);
    db.setWithFlags(b(2), b(2), FlagsOp.SetPresumeKeyNotExists);
    db.setWithFlags(b(3), b(3), FlagsOp.SetKeyLocked, FlagsOp.SetPresumeKeyNotExists);
    db.cleanup(h);
    // The values are rolled back.
    for (const k of [b(1), b(2), b(3)]) expect(db.get(k)).toBeUndefined();
    expect(KeyFlags.hasLocked(db.getFlags(b(1))!)).toBe(true);
    expect(db.getFlags(b(2))).toBeUndefined();
    const f3 = db.getFlags(b(3))!;
    expect(KeyFlags.hasLocked(f3)).toBe(true);
    expect(KeyFlags.hasPresumeKeyNotExists(f3)).toBe(false);
  });

  test('TestIterNoResult', () => {
    const buffer = new MemBuffer();
    buffer.set(b(1, 1), b(1, 1));
    const check = (lower: Uint8Array, upper: Uint8Array): void => {
      expect(buffer.iter(lower, upper).valid).toBe(false);
      expect(buffer.iter(lower, upper, { reverse: true }).valid).toBe(false);
    };
    // Bounds that seek to the same position.
    check(b(1, 1), b(1, 1));
    check(b(1, 0, 0), b(1, 0, 1));
    // lower > upper.
    check(b(1, 0, 1), b(1, 0, 0));
  });

  test('TestMemBufferCache', () => {
    const buffer = new MemBuffer();
    const cacheCheck = (hit: boolean, fn: () => void): void => {
      const before = buffer.cacheStats;
      fn();
      const after = buffer.cacheStats;
      expect([after.hits - before.hits, after.misses - before.misses]).toEqual(hit ? [1, 0] : [0, 1]);
    };
    cacheCheck(false, () => buffer.set(b(1), b(0)));
    cacheCheck(true, () => buffer.set(b(1), b(1)));
    cacheCheck(false, () => buffer.set(b(2), b(2)));
    cacheCheck(true, () => expect(copy(buffer.get(b(2)))).toEqual(b(2)));
    cacheCheck(false, () => expect(copy(buffer.get(b(1)))).toEqual(b(1)));
    cacheCheck(true, () => expect(copy(buffer.get(b(1)))).toEqual(b(1)));
    cacheCheck(false, () => expect(copy(buffer.get(b(2)))).toEqual(b(2)));
    cacheCheck(true, () => buffer.set(b(2), b(2, 2)));
    cacheCheck(true, () => expect(copy(buffer.get(b(2)))).toEqual(b(2, 2)));
  });

  test('TestMemDBLeafFragmentation', () => {
    const buffer = new MemBuffer();
    let h = buffer.staging();
    let mem = buffer.memoryBytes;
    for (let i = 0; i < 10; i++) {
      for (let k = 0; k < 100; k++) buffer.set(str(String(k).repeat(256)), str('value'));
      const cur = buffer.memoryBytes;
      if (mem === 0) mem = cur;
      else expect(cur).toBeLessThanOrEqual(mem);
      buffer.cleanup(h);
      h = buffer.staging();
    }
  });

  test('TestReadOnlyZeroMem', () => {
    // A read-only buffer allocates nothing.
    const buffer = new MemBuffer();
    buffer.get(b(1));
    buffer.iter().valid;
    buffer.getSnapshot();
    expect(buffer.memoryBytes).toBe(0);
  });

  test('TestKeyValueOversize', () => {
    const db = new MemBuffer();
    const key = new Uint8Array(0xffff);
    const overSizeKey = new Uint8Array(0xffff + 1);
    db.set(key, overSizeKey);
    let err: unknown;
    try {
      db.set(overSizeKey, key);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KeyTooLargeError);
    expect((err as KeyTooLargeError).sizeBytes).toBe(0xffff + 1);
    expect(copy(db.get(key))?.length).toBe(0xffff + 1);
  });

  test('TestSetMemoryFootprintChangeHook', () => {
    const db = new MemBuffer();
    let consumed = 0;
    expect(db.memoryHookSet).toBe(false);
    db.setMemoryFootprintChangeHook((bytes) => {
      consumed = bytes;
    });
    expect(db.memoryHookSet).toBe(true);
    expect(consumed).toBe(0);
    db.set(b(1), b(1));
    expect(consumed).toBeGreaterThan(0);
    expect(consumed).toBe(db.memoryBytes);
    db.reset();
    expect(consumed).toBe(0);
  });

  test.each([4, 16, 48])('TestSnapshotReaderWithWrite (%i keys)', (num) => {
    const db = new MemBuffer();
    for (let i = 0; i < num; i++) db.set(b(0, i), b(0, i));
    const h = db.staging();
    const iter = db.getSnapshot().iter(b(0, 0), b(0, 255));
    expect(copy(iter.key())).toEqual(b(0, 0));
    // Grows the node holding [0, *] (the outgrown node is freed for reuse)...
    db.set(b(0, num), b(0, num));
    // ...and reuses freed nodes.
    for (let i = 0; i < num; i++) db.set(b(1, i), b(1, i));
    for (let i = 0; i < num; i++) {
      expect(iter.valid).toBe(true);
      expect(copy(iter.key())).toEqual(b(0, i));
      iter.next();
    }
    expect(iter.valid).toBe(false);
    db.release(h);
  });

  describe('TestBatchedSnapshotIter', () => {
    test.each([3, 17, 64])('forward, %i keys', (num) => {
      const db = new MemBuffer();
      for (let i = 0; i < num; i++) db.set(b(0, i), b(0, i));
      const h = db.staging();
      const iter = db.getSnapshot().iter(b(0, 0), b(0, 255));
      expect(iter.valid).toBe(true);
      expect(copy(iter.key())).toEqual(b(0, 0));
      db.set(b(0, num), b(0, num));
      for (let i = 0; i < num; i++) db.set(b(1, i), b(1, i));
      for (let i = 0; i < num; i++) {
        expect(iter.valid).toBe(true);
        expect(copy(iter.key())).toEqual(b(0, i));
        expect(copy(iter.value())).toEqual(b(0, i));
        iter.next();
      }
      expect(iter.valid).toBe(false);
      db.release(h);
    });

    test.each([3, 17, 64])('reverse, %i keys', (num) => {
      const db = new MemBuffer();
      for (let i = 0; i < num; i++) db.set(b(0, i), b(0, i));
      const h = db.staging();
      const iter = db.getSnapshot().iter(b(0, 0), b(0, 255), { reverse: true });
      expect(copy(iter.key())).toEqual(b(0, num - 1));
      db.set(b(0, num), b(0, num));
      for (let i = 0; i < num; i++) db.set(b(1, i), b(1, i));
      for (let i = num - 1; i >= 0; i--) {
        expect(iter.valid).toBe(true);
        expect(copy(iter.key())).toEqual(b(0, i));
        expect(copy(iter.value())).toEqual(b(0, i));
        iter.next();
      }
      expect(iter.valid).toBe(false);
      db.release(h);
    });
  });

  describe('TestBatchedSnapshotIterEdgeCase', () => {
    const keysOf = (it: MemBufferIterator): number[][] => drain(it).map((e) => [...e.key]);

    test('EdgeCases', () => {
      const db = new MemBuffer();
      let h = db.staging();
      let snapshot = db.getSnapshot();
      // An empty range, and a range with nothing in it.
      expect(snapshot.iter(b(1), b(1)).valid).toBe(false);
      expect(snapshot.iter(b(0), b(1)).valid).toBe(false);
      // One element.
      db.set(b(1), b(1));
      db.release(h);
      h = db.staging();
      snapshot = db.getSnapshot();
      expect(keysOf(snapshot.iter(b(1), b(2)))).toEqual([[1]]);
      // Several elements.
      db.set(b(2), b(2));
      db.set(b(3), b(3));
      db.set(b(4), b(4));
      db.release(h);
      db.staging();
      snapshot = db.getSnapshot();
      expect(keysOf(snapshot.iter(b(2), b(4)))).toEqual([[2], [3]]);
      expect(keysOf(snapshot.iter(b(2), b(4), { reverse: true }))).toEqual([[3], [2]]);
    });

    test('BoundaryTests', () => {
      const db = new MemBuffer();
      for (const k of [b(1, 0), b(1, 2), b(1, 4), b(1, 6), b(1, 8)]) db.set(k, k);
      db.staging();
      const snapshot = db.getSnapshot();
      // Lower bound included, upper bound excluded.
      expect(keysOf(snapshot.iter(b(1, 2), b(1, 9))).map((k) => k[1])).toEqual([2, 4, 6, 8]);
      expect(keysOf(snapshot.iter(b(1, 0), b(1, 6))).map((k) => k[1])).toEqual([0, 2, 4]);
      expect(keysOf(snapshot.iter(b(1, 0), b(1, 6), { reverse: true })).map((k) => k[1])).toEqual([4, 2, 0]);
    });

    test('AlphabeticalOrder', () => {
      const db = new MemBuffer();
      const keys = [b(2), b(2, 1), b(2, 1, 1), b(2, 1, 1, 1)];
      for (const k of keys) db.set(k, k);
      db.staging();
      const snapshot = db.getSnapshot();
      expect(keysOf(snapshot.iter(b(2), b(3)))).toEqual(keys.map((k) => [...k]));
      expect(keysOf(snapshot.iter(b(2), b(3), { reverse: true }))).toEqual(keys.map((k) => [...k]).reverse());
    });

    test('BatchSizeGrowth', () => {
      const db = new MemBuffer();
      for (let i = 0; i < 100; i++) db.set(b(3, i), b(3, i));
      db.staging();
      const snapshot = db.getSnapshot();
      expect(keysOf(snapshot.iter(b(3, 0), b(3, 255))).map((k) => k[1])).toEqual(
        Array.from({ length: 100 }, (_, i) => i),
      );
      expect(keysOf(snapshot.iter(b(3, 0), b(3, 255), { reverse: true })).map((k) => k[1])).toEqual(
        Array.from({ length: 100 }, (_, i) => 99 - i),
      );
    });

    test('SnapshotChange', () => {
      const db = new MemBuffer();
      db.set(b(0), b(0));
      db.set(b(2), b(2));
      const h = db.staging();
      const snapshot = db.getSnapshot();
      db.set(b(1), b(1));
      const iter = snapshot.iter(b(0), b(255));
      expect(iter.valid).toBe(true);
      iter.next();
      expect(copy(iter.key())).toEqual(b(2));
      db.release(h);
      db.staging();
      // Releasing the staging the snapshot was taken under ends it.
      expect(iter.valid).toBe(false);
      expect(() => iter.next()).toThrow('no longer valid');
    });
  });

  test('a value may not be empty (client-go ErrCannotSetNilValue), keys must be bytes', () => {
    const db = new MemBuffer();
    expect(() => db.set(b(1), new Uint8Array(0))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => db.setWithFlags(b(1), new Uint8Array(0))).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => db.set('k' as unknown as Uint8Array, b(1))).toThrow('key must be a Uint8Array, got');
    expect(() => db.set(b(1), 'v' as unknown as Uint8Array)).toThrow('value must be a Uint8Array, got');
    expect(() => db.iter('a' as unknown as Uint8Array)).toThrow('lower must be a Uint8Array or undefined');
    expect(db.len).toBe(0);
  });

  test('a delete is a zero-length value that iterators include', () => {
    const db = unlimited();
    db.set(b(1), b(1));
    db.delete(b(1));
    db.delete(b(2));
    expect(copy(db.get(b(1)))).toEqual(new Uint8Array(0));
    expect(db.len).toBe(2);
    expect(db.sizeBytes).toBe(2);
    expect(drain(db.iter()).map((e) => [[...e.key], e.value?.length])).toEqual([
      [[1], 0],
      [[2], 0],
    ]);
  });
});
