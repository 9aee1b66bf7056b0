import { kvrpcpb } from '@tikv/proto';
import { ConcurrencyManager } from './concurrency-manager.js';
import { LockType, newLock } from './lock-record.js';
import { isMvccError } from './mvcc-error.js';
import { MvccReader } from './mvcc-reader.js';
import { b, MvccTestEngine } from './mvcc-test-util.js';
import { PointGetter } from './point-getter.js';
import { Scanner, type ScanResult } from './scanner.js';
import { encodeTxnKey, TS_MAX } from './txn-key.js';
import { TxnReads } from './txn-reads.js';

const SI = kvrpcpb.IsolationLevel.SI;
const RC = kvrpcpb.IsolationLevel.RC;
const RC_CHECK_TS = kvrpcpb.IsolationLevel.RCCheckTS;

function getter(
  e: MvccTestEngine,
  ts: number,
  o: { bypass?: number[]; access?: number[]; isolation?: kvrpcpb.IsolationLevel } = {},
) {
  return new PointGetter(e.engine, {
    ts: BigInt(ts),
    isolation: o.isolation ?? SI,
    bypassLocks: new Set((o.bypass ?? []).map(BigInt)),
    accessLocks: new Set((o.access ?? []).map(BigInt)),
  });
}

const str = (v: Uint8Array | undefined) => (v === undefined ? undefined : Buffer.from(v).toString());
const pairs = (rs: ScanResult[]) =>
  rs.map((r) => ('error' in r ? `!${r.error.kind}` : `${Buffer.from(r.key)}=${Buffer.from(r.value)}`));

/** The data set of TiKV's point_getter `new_sample_engine`. */
function sampleEngine(): MvccTestEngine {
  const e = new MvccTestEngine();
  e.prewritePut('foo1', 'foo1v', 'foo1', 2);
  e.commit('foo1', 2, 3);
  e.prewritePut('foo2', 'foo2v', 'foo2', 2);
  e.commit('foo2', 2, 3);
  e.prewritePut('bar', 'barv', 'bar', 4);
  e.commit('bar', 4, 5);
  e.prewriteDelete('foo2', 'foo2', 6);
  e.commit('foo2', 6, 7);
  e.prewritePut('box', 'boxv', 'box', 8);
  e.commit('box', 8, 9);
  e.prewriteDelete('zz', 'zz', 10);
  e.commit('zz', 10, 11);
  return e;
}

describe('src/storage/mvcc/reader/point_getter.rs', () => {
  test('test_basic_1 / test_tombstone: versions, deletes and missing keys', () => {
    const e = sampleEngine();
    const g = getter(e, 200);
    expect(str(g.get(b('foo1')))).toBe('foo1v');
    expect(g.get(b('foo2'))).toBeUndefined();
    expect(str(g.get(b('bar')))).toBe('barv');
    expect(g.get(b('zz'))).toBeUndefined();
    expect(g.get(b('foo'))).toBeUndefined();
    expect(str(getter(e, 5).get(b('foo2')))).toBe('foo2v');
    expect(getter(e, 2).get(b('foo1'))).toBeUndefined();
  });

  test('test_locked: SI reads see locks at or below ts; RC does not', () => {
    const e = sampleEngine();
    e.prewritePut('foo1', 'new', 'foo1', 20);
    expect(
      isMvccError(
        (() => {
          try {
            getter(e, 30).get(b('foo1'));
          } catch (x) {
            return x;
          }
        })(),
        'KeyIsLocked',
      ),
    ).toBe(true);
    expect(str(getter(e, 15).get(b('foo1')))).toBe('foo1v');
    expect(str(getter(e, 30, { isolation: RC }).get(b('foo1')))).toBe('foo1v');
    // Pessimistic and LOCK-type locks never block a read.
    e.acquirePessimisticLock('bar', 'bar', 20, 20);
    e.prewriteLock('box', 'box', 20);
    expect(str(getter(e, 30).get(b('bar')))).toBe('barv');
    expect(str(getter(e, 30).get(b('box')))).toBe('boxv');
  });

  test('test_get_latest_value: a ts = max read of a 2PC primary is not blocked', () => {
    const e = new MvccTestEngine();
    e.prewritePut('k', 'v1', 'k', 10);
    e.commit('k', 10, 11);
    e.prewritePut('k', 'v2', 'k', 20);
    expect(str(new PointGetter(e.engine, { ts: TS_MAX, isolation: SI }).get(b('k')))).toBe('v1');
    e.prewritePut('s', 'v', 'k', 20);
    expect(() => new PointGetter(e.engine, { ts: TS_MAX, isolation: SI }).get(b('s'))).toThrow();
  });

  test('test_get_bypass_locks', () => {
    const e = new MvccTestEngine();
    e.prewritePut('foo', 'bar', 'foo', 10);
    e.commit('foo', 10, 20);
    e.prewriteDelete('foo', 'foo', 30);
    expect(str(getter(e, 60, { bypass: [30, 40, 50] }).get(b('foo')))).toBe('bar');
    expect(() => getter(e, 60, { bypass: [31, 29] }).get(b('foo'))).toThrow();
  });

  test('test_get_access_locks', () => {
    const e = new MvccTestEngine();
    e.prewritePut('foo', 'bar', 'foo', 10);
    expect(str(getter(e, 20, { access: [10] }).get(b('foo')))).toBe('bar');
    e.commit('foo', 10, 15);
    const long = 'v'.repeat(256);
    e.prewritePut('foo', long, 'foo', 20);
    expect(str(getter(e, 30, { access: [20] }).get(b('foo')))).toBe(long);
    e.commit('foo', 20, 25);
    e.prewriteDelete('foo', 'foo', 30);
    expect(getter(e, 40, { access: [30] }).get(b('foo'))).toBeUndefined();
    e.commit('foo', 30, 35);
    e.prewritePut('foo', 'bar', 'foo', 50);
    expect(getter(e, 45, { access: [50] }).get(b('foo'))).toBeUndefined();
  });

  test('test_point_get_check_rc_ts: RCCheckTS fails on locks and on newer versions', () => {
    const e = new MvccTestEngine();
    e.prewritePut('k1', 'v1', 'k1', 1);
    e.commit('k1', 1, 2);
    e.prewritePut('k1', 'v2', 'k1', 5);
    e.commit('k1', 5, 6);
    e.prewritePut('k2', 'v', 'k2', 5);
    expect(str(getter(e, 10, { isolation: RC_CHECK_TS }).get(b('k1')))).toBe('v2');
    let err: unknown;
    try {
      getter(e, 4, { isolation: RC_CHECK_TS }).get(b('k1'));
    } catch (x) {
      err = x;
    }
    expect(isMvccError(err, 'WriteConflict') && err.detail.conflictCommitTs).toBe(6n);
    try {
      getter(e, 10, { isolation: RC_CHECK_TS }).get(b('k2'));
    } catch (x) {
      err = x;
    }
    expect(isMvccError(err, 'WriteConflict') && err.detail.conflictStartTs).toBe(5n);
  });

  test('test_point_get_load_commit_ts and LOCK/ROLLBACK records are skipped', () => {
    const e = new MvccTestEngine();
    e.prewritePut('k', 'v', 'k', 10);
    e.commit('k', 10, 20);
    for (let i = 0; i < 10; i++) {
      e.prewriteLock('k', 'k', 30 + i * 2);
      e.commit('k', 30 + i * 2, 31 + i * 2);
    }
    e.rollback('k', 60, true);
    const entry = new PointGetter(e.engine, { ts: 100n, isolation: SI }).getEntry(b('k'), true);
    expect(entry).toEqual({ value: b('v'), commitTs: 20n });
    // The last LOCK record points straight at the PUT.
    expect(e.writeAt('k', 49)?.lastChange).toEqual({ kind: 'exist', ts: 20n, versions: 10n });
  });

  test('test_point_get_check_gc_fence: a record whose fence is at or below ts is stale', () => {
    const e = new MvccTestEngine();
    e.prewritePut('k', 'v', 'k', 10);
    e.commit('k', 10, 20);
    e.cleanup('k', 20, 0); // overlapped rollback with gc_fence 0
    expect(str(getter(e, 30).get(b('k')))).toBe('v');
  });

  test('test_met_newer_ts_data', () => {
    const e = new MvccTestEngine();
    e.prewritePut('k', 'v', 'k', 10);
    e.commit('k', 10, 20);
    const g1 = new PointGetter(e.engine, { ts: 15n, isolation: SI, checkHasNewerTsData: true });
    g1.get(b('k'));
    expect(g1.metNewerTsData).toBe('met');
    const g2 = new PointGetter(e.engine, { ts: 25n, isolation: SI, checkHasNewerTsData: true });
    g2.get(b('k'));
    expect(g2.metNewerTsData).toBe('notMetYet');
  });
});

describe('src/storage/mvcc/reader/scanner (forward.rs, backward.rs)', () => {
  function scanner(
    e: MvccTestEngine,
    ts: number,
    o: {
      desc?: boolean;
      lower?: string;
      upper?: string;
      isolation?: kvrpcpb.IsolationLevel;
      omitValue?: boolean;
    } = {},
  ) {
    return new Scanner(e.engine, {
      ts: BigInt(ts),
      isolation: o.isolation ?? SI,
      desc: o.desc,
      lower: o.lower === undefined ? undefined : b(o.lower),
      upper: o.upper === undefined ? undefined : b(o.upper),
      omitValue: o.omitValue,
    });
  }

  test('test_basic: forward and backward scans at a ts, with bounds', () => {
    const e = sampleEngine();
    expect(pairs(scanner(e, 200).scan(100, 0))).toEqual(['bar=barv', 'box=boxv', 'foo1=foo1v']);
    expect(pairs(scanner(e, 200, { desc: true }).scan(100, 0))).toEqual([
      'foo1=foo1v',
      'box=boxv',
      'bar=barv',
    ]);
    expect(pairs(scanner(e, 5).scan(100, 0))).toEqual(['bar=barv', 'foo1=foo1v', 'foo2=foo2v']);
    expect(pairs(scanner(e, 200, { lower: 'box', upper: 'foo2' }).scan(100, 0))).toEqual([
      'box=boxv',
      'foo1=foo1v',
    ]);
    expect(pairs(scanner(e, 200, { lower: 'box', upper: 'foo2', desc: true }).scan(100, 0))).toEqual([
      'foo1=foo1v',
      'box=boxv',
    ]);
    expect(pairs(scanner(e, 200).scan(2, 0))).toEqual(['bar=barv', 'box=boxv']);
    expect(pairs(scanner(e, 200, { omitValue: true }).scan(1, 0))).toEqual(['bar=']);
  });

  test('sample step keeps every n-th value', () => {
    const e = new MvccTestEngine();
    for (const k of ['a', 'b', 'c', 'd', 'e']) {
      e.prewritePut(k, k, k, 1);
      e.commit(k, 1, 2);
    }
    expect(pairs(scanner(e, 10).scan(10, 2))).toEqual(['a=a', 'c=c', 'e=e']);
  });

  test('test_scan_with_lock: a blocking lock yields an error for its key and the scan goes on', () => {
    const e = sampleEngine();
    e.prewritePut('box', 'new', 'box', 20);
    e.prewritePut('only-locked', 'x', 'box', 20);
    expect(pairs(scanner(e, 30).scan(100, 0))).toEqual([
      'bar=barv',
      '!KeyIsLocked',
      'foo1=foo1v',
      '!KeyIsLocked',
    ]);
    expect(pairs(scanner(e, 30, { desc: true }).scan(100, 0))).toEqual([
      '!KeyIsLocked',
      'foo1=foo1v',
      '!KeyIsLocked',
      'bar=barv',
    ]);
    expect(pairs(scanner(e, 30, { isolation: RC }).scan(100, 0))).toEqual([
      'bar=barv',
      'box=boxv',
      'foo1=foo1v',
    ]);
  });
});

describe('src/storage/mvcc/reader/reader.rs', () => {
  test('test_get_txn_commit_record', () => {
    const e = new MvccTestEngine();
    e.prewritePut('k', 'v', 'k', 10);
    e.commit('k', 10, 20);
    e.rollback('k', 15, true);
    const r = (ts: bigint) => new MvccReader(e.engine, ts).getTxnCommitRecord(b('k'));
    expect(r(10n)).toMatchObject({ kind: 'single', commitTs: 20n });
    expect(r(15n)).toMatchObject({ kind: 'single', commitTs: 15n });
    expect(r(20n)).toMatchObject({ kind: 'none', overlappedWrite: { gcFence: 0n } });
    expect(r(30n)).toEqual({ kind: 'none', overlappedWrite: undefined });
  });

  test('test_scan_locks', () => {
    const e = new MvccTestEngine();
    e.prewritePut('a', 'v', 'a', 10);
    e.prewritePut('b', 'v', 'a', 20);
    e.prewritePut('c', 'v', 'a', 30);
    const reader = new MvccReader(e.engine, 0n);
    const { locks, hasRemain } = reader.scanLocks(undefined, undefined, (_k, l) => l.ts <= 20n, 0);
    expect(locks.map((l) => Buffer.from(l.key).toString())).toEqual(['a', 'b']);
    expect(hasRemain).toBe(false);
    expect(reader.scanLocks(b('b'), undefined, () => true, 1)).toMatchObject({
      hasRemain: true,
      locks: [{ key: b('b') }],
    });
  });
});

describe('concurrency manager and the read path', () => {
  test('reads bump max_ts (stale reads do not) and check memory locks', () => {
    const e = new MvccTestEngine();
    const cm = new ConcurrencyManager();
    const reads = new TxnReads(e.engine, cm);
    reads.get(b('k'), { ts: 50n, isolation: SI });
    expect(cm.maxTs).toBe(50n);
    reads.get(b('k'), { ts: 80n, isolation: SI, staleRead: true });
    expect(cm.maxTs).toBe(50n);
    cm.updateMaxTs(TS_MAX);
    expect(cm.maxTs).toBe(50n);
    const release = cm.lockKey(
      encodeTxnKey(b('k')),
      b('k'),
      newLock({ lockType: LockType.Put, primary: b('k'), ts: 40n, ttl: 10n }),
    );
    expect(cm.globalMinLockTs()).toBe(40n);
    expect(() => reads.get(b('k'), { ts: 60n, isolation: SI })).toThrow();
    expect(() => reads.scan({ ts: 60n, isolation: SI, limit: 10, sampleStep: 0 })).toThrow();
    expect(reads.batchGet([b('j')], { ts: 60n, isolation: SI })).toEqual([]);
    release();
    expect(reads.get(b('k'), { ts: 60n, isolation: SI })).toBeUndefined();
  });
});

describe('replica reads (need_check_locks_in_replica_read)', () => {
  test('a ts = max replica read is blocked by a memory lock of a 2PC primary, not by its persisted lock', () => {
    const e = new MvccTestEngine();
    e.prewritePut('k', 'v1', 'k', 10);
    e.commit('k', 10, 11);
    e.prewritePut('k', 'v2', 'k', 20);
    const cm = new ConcurrencyManager();
    const reads = new TxnReads(e.engine, cm);
    const o = { ts: TS_MAX, isolation: SI, replicaRead: true };
    expect(Buffer.from(reads.get(b('k'), o)?.value ?? []).toString()).toBe('v1');
    const release = cm.lockKey(
      encodeTxnKey(b('k')),
      b('k'),
      newLock({ lockType: LockType.Put, primary: b('k'), ts: 30n, ttl: 10n }),
    );
    expect(() => reads.get(b('k'), o)).toThrow();
    expect(Buffer.from(reads.get(b('k'), { ...o, replicaRead: false })?.value ?? []).toString()).toBe('v1');
    release();
  });
});

describe('src/storage/mvcc/reader/point_getter.rs (last_change)', () => {
  test('test_point_get_load_commit_ts_with_ge_seek_bound_lock_versions_above_delete', () => {
    const e = new MvccTestEngine();
    e.prewritePut('k', 'v', 'k', 1);
    e.commit('k', 1, 1);
    e.prewriteDelete('k', 'k', 2);
    e.commit('k', 2, 2);
    const lockCount = 9; // SEEK_BOUND + 1
    for (let t = 3; t <= lockCount + 2; t++) {
      e.prewriteLock('k', 'k', t);
      e.commit('k', t, t);
    }
    const top = e.writeAt('k', lockCount + 2);
    expect(top?.lastChange.kind).toBe('exist');
    if (top?.lastChange.kind === 'exist') {
      expect(top.lastChange.ts).toBe(2n);
      expect(top.lastChange.versions >= 8n).toBe(true);
    }
    expect(
      new PointGetter(e.engine, { ts: BigInt(lockCount + 12), isolation: SI }).getEntry(b('k'), true),
    ).toBeUndefined();
  });

  test('test_point_get_non_exist_skip_lock: LOCK records of a key that never existed say so', () => {
    const e = new MvccTestEngine();
    for (let start = 1; start < 30; start += 2) {
      e.prewriteLock('k', 'k', start);
      e.commit('k', start, start + 1);
    }
    expect(e.writeAt('k', 30)?.lastChange).toEqual({ kind: 'notExist' });
    expect(e.get('k', 40)).toBeUndefined();
  });
});
