import { decodeLock, encodeLock, LockType, lockInfoOf, newLock } from './lock-record.js';
import {
  ByteReader,
  ByteWriter,
  LAST_CHANGE_NOT_EXIST,
  lastChangeExist,
  lastChangeFromParts,
  lastChangeToParts,
} from './record-codec.js';
import { appendTs, decodeTsFrom, encodeTxnKey, isUserKeyEq, truncateTs } from './txn-key.js';
import {
  checkGcFenceAsLatestVersion,
  decodeWrite,
  encodeWrite,
  isProtectedRollback,
  newRollback,
  newWrite,
  WriteType,
} from './write-record.js';

const b = (s: string) => Buffer.from(s);

describe('txn_types/src/types.rs', () => {
  test('test_append_ts: the version is the complement of ts in big-endian after the encoded key', () => {
    const k = encodeTxnKey(b('k'));
    expect(Buffer.from(k).toString('hex')).toBe('6b00000000000000f8');
    const v = appendTs(k, 1n);
    expect(Buffer.from(v.subarray(k.length)).toString('hex')).toBe('fffffffffffffffe');
    expect(decodeTsFrom(v)).toBe(1n);
    expect(isUserKeyEq(v, k)).toBe(true);
    expect(Buffer.compare(truncateTs(v), k)).toBe(0);
    // Newer versions sort first.
    expect(Buffer.compare(appendTs(k, 10n), appendTs(k, 5n))).toBeLessThan(0);
  });

  test('test_last_change_to_from_parts', () => {
    for (const c of [lastChangeFromParts(0n, 0n), LAST_CHANGE_NOT_EXIST, lastChangeExist(100n, 3n)]) {
      const [t, n] = lastChangeToParts(c);
      expect(lastChangeFromParts(t, n)).toEqual(c);
    }
  });
});

describe('txn_types/src/lock.rs', () => {
  test('test_lock: every field survives encoding, and the layout is TiKV’s', () => {
    const plain = newLock({ lockType: LockType.Put, primary: b('pk'), ts: 1n, ttl: 10n, shortValue: b('v') });
    // 'P', compact bytes (zigzag len 2 = 4), "pk", var ts 1, var ttl 10, 'v' 1 "v"
    expect(Buffer.from(encodeLock(plain)).toString('hex')).toBe('5004706b010a760176');
    const full = newLock({
      lockType: LockType.Pessimistic,
      primary: b('pk'),
      ts: 1000n,
      ttl: 3000n,
      forUpdateTs: 1001n,
      txnSize: 16n,
      minCommitTs: 1002n,
      useAsyncCommit: true,
      secondaries: [b('s1'), b('s2')],
      rollbackTs: [5n, 6n],
      lastChange: lastChangeExist(90n, 2n),
      txnSource: 7n,
      isLockedWithConflict: true,
      generation: 3n,
    });
    expect(decodeLock(encodeLock(full))).toEqual(full);
    for (const t of [LockType.Put, LockType.Delete, LockType.Lock, LockType.Pessimistic]) {
      const l = newLock({ lockType: t, primary: b('p'), ts: 3n, ttl: 0n, lastChange: LAST_CHANGE_NOT_EXIST });
      expect(decodeLock(encodeLock(l))).toEqual(l);
    }
    expect(() => decodeLock(Uint8Array.of(0x5a))).toThrow(RangeError);
    const info = lockInfoOf(full, b('k'));
    expect(info).toMatchObject({
      lockVersion: 1000n,
      lockTtl: 3000n,
      lockForUpdateTs: 1001n,
      minCommitTs: 1002n,
    });
  });
});

describe('txn_types/src/write.rs', () => {
  test('test_write: every field survives encoding', () => {
    const w = newWrite(WriteType.Put, 5n, b('short'));
    expect(Buffer.from(encodeWrite(w)).toString('hex')).toBe('5005760573686f7274');
    const full = {
      ...newWrite(WriteType.Lock, 7n),
      hasOverlappedRollback: true,
      gcFence: 12n,
      lastChange: lastChangeExist(3n, 1n),
      txnSource: 9n,
    };
    expect(decodeWrite(encodeWrite(full))).toEqual(full);
  });

  test('test_is_protected', () => {
    expect(isProtectedRollback(newRollback(1n, true))).toBe(true);
    expect(isProtectedRollback(newRollback(1n, false))).toBe(false);
    expect(isProtectedRollback(newWrite(WriteType.Put, 1n, b('p')))).toBe(false);
  });

  test('test_check_gc_fence', () => {
    const w = (gcFence: bigint | undefined) => ({ ...newWrite(WriteType.Put, 1n), gcFence });
    expect(checkGcFenceAsLatestVersion(w(undefined), 10n)).toBe(true);
    expect(checkGcFenceAsLatestVersion(w(0n), 10n)).toBe(true);
    expect(checkGcFenceAsLatestVersion(w(5n), 10n)).toBe(false);
    expect(checkGcFenceAsLatestVersion(w(10n), 10n)).toBe(false);
    expect(checkGcFenceAsLatestVersion(w(11n), 10n)).toBe(true);
  });
});

describe('ByteReader', () => {
  test('reads back every u64 and varint width, through the number fast path and the bigint one', () => {
    const values = [
      0n,
      1n,
      127n,
      128n,
      0xffff_ffffn,
      0x1_0000_0000n,
      2n ** 49n - 1n,
      2n ** 49n,
      2n ** 63n,
      2n ** 64n - 1n,
    ];
    const w = new ByteWriter();
    for (const v of values) w.u64(v).varU64(v);
    w.compactBytes(b('key')).compactBytes(new Uint8Array(300));
    const r = new ByteReader(w.finish());
    for (const v of values) {
      expect(r.u64()).toBe(v);
      expect(r.varU64()).toBe(v);
    }
    expect(Buffer.from(r.compactBytes()).toString()).toBe('key');
    expect(r.compactBytes()).toHaveLength(300);
    expect(r.empty).toBe(true);
  });

  test('a read past the end throws, and a truncated varint is the codec’s error', () => {
    expect(() => new ByteReader(new Uint8Array(7)).u64()).toThrow('record ends early');
    expect(() => new ByteReader(new Uint8Array(0)).byte()).toThrow('record ends early');
    expect(() => new ByteReader(Uint8Array.of(0x80, 0x80)).varU64()).toThrow('insufficient bytes');
    // A length (zigzag 6 = 3) longer than what is left.
    const r = new ByteReader(Uint8Array.of(0x06, 0x61));
    expect(() => r.compactBytes()).toThrow('record ends early');
  });
});
