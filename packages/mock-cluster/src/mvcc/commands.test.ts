import { kvrpcpb } from '@tikv/proto';
import { ConcurrencyManager } from './concurrency-manager.js';
import { b, MvccTestEngine } from './mvcc-test-util.js';
import {
  MAX_TXN_WRITE_SIZE,
  type PrewriteCommand,
  RESOLVE_LOCK_BATCH_SIZE,
  TxnCommands,
} from './txn-commands.js';
import { checkSecondaryLocks, txnHeartBeat } from './txn-status-commands.js';
import { isProtectedRollback, WriteType } from './write-record.js';

function setup(maxTs = 1n) {
  const e = new MvccTestEngine();
  const cm = new ConcurrencyManager(maxTs);
  return { e, cm, cmds: new TxnCommands(e.engine, cm) };
}

const status = (s: ReturnType<typeof checkSecondaryLocks>) =>
  s.kind === 'committed' ? `committed@${s.commitTs}` : s.kind;

describe('src/storage/txn/commands/check_secondary_locks.rs', () => {
  test('test_check_async_commit_secondary_locks', () => {
    const { e, cmds } = setup();
    const check = (ts: number) => checkSecondaryLocks(cmds, [b('k1')], BigInt(ts));
    e.prewriteLock('k1', 'key', 1);
    e.commit('k1', 1, 3);
    e.rollback('k1', 5, false);
    e.prewriteLock('k1', 'key', 7);
    e.commit('k1', 7, 9);
    expect(status(check(7))).toBe('committed@9');
    expect(status(check(5))).toBe('rolledBack');
    expect(status(check(1))).toBe('committed@3');
    expect(status(check(6))).toBe('rolledBack');
    expect(isProtectedRollback(e.writeAt('k1', 6) ?? ({} as never))).toBe(true);

    e.acquirePessimisticLock('k1', 'key', 11, 11);
    expect(status(check(11))).toBe('rolledBack');
    expect(isProtectedRollback(e.writeAt('k1', 11) ?? ({} as never))).toBe(true);

    e.prewriteLock('k1', 'key', 13);
    expect(status(check(13))).toBe('locked');
    e.locked('k1', 13);

    e.commit('k1', 13, 15);
    expect(status(check(14))).toBe('rolledBack');
    expect(isProtectedRollback(e.writeAt('k1', 14) ?? ({} as never))).toBe(true);
    expect(status(check(15))).toBe('rolledBack');
    const overlapped = e.written('k1', 13, 15, WriteType.Lock);
    expect([overlapped.hasOverlappedRollback, overlapped.gcFence]).toEqual([true, 0n]);
  });
});

describe('src/storage/txn/commands/txn_heart_beat.rs', () => {
  test('test_txn_heart_beat: the TTL only grows; a missing lock is TxnNotFound', () => {
    const { e, cmds } = setup();
    e.prewritePut('k1', 'v1', 'k1', 5, { lockTtl: 100 });
    expect(txnHeartBeat(cmds, b('k1'), 5n, 90n, 0n)).toBe(100n);
    expect(txnHeartBeat(cmds, b('k1'), 5n, 110n, 0n)).toBe(110n);
    expect(e.locked('k1', 5).ttl).toBe(110n);
    expect(e.err(() => txnHeartBeat(cmds, b('k1'), 6n, 110n, 0n)).detail).toMatchObject({
      kind: 'TxnNotFound',
      startTs: 6n,
    });
    e.commit('k1', 5, 10);
    expect(e.err(() => txnHeartBeat(cmds, b('k1'), 5n, 110n, 0n)).kind).toBe('TxnNotFound');
  });
});

function prewriteCommand(
  o: Partial<PrewriteCommand> & Pick<PrewriteCommand, 'mutations' | 'primary' | 'startTs'>,
): PrewriteCommand {
  return {
    lockTtl: 3000n,
    skipConstraintCheck: false,
    forUpdateTs: 0n,
    pessimisticActions: [],
    forUpdateTsConstraints: [],
    txnSize: 0n,
    minCommitTs: 0n,
    maxCommitTs: 0n,
    secondaryKeys: undefined,
    tryOnePc: false,
    assertionLevel: kvrpcpb.AssertionLevel.Off,
    isRetryRequest: false,
    txnSource: 0n,
    ...o,
  };
}

const put = (
  key: string,
  value = 'v',
): { op: kvrpcpb.Op; key: Uint8Array; value: Uint8Array; assertion: kvrpcpb.Assertion } => ({
  op: kvrpcpb.Op.Put,
  key: b(key),
  value: b(value),
  assertion: kvrpcpb.Assertion.None,
});

describe('src/storage/txn/commands/prewrite.rs', () => {
  test('test_prewrite_1pc: 1PC commits in place at max(max_ts, start_ts) + 1', () => {
    const { e, cmds } = setup(20n);
    const out = cmds.prewrite(
      prewriteCommand({ mutations: [put('k1'), put('k2')], primary: b('k1'), startTs: 10n, tryOnePc: true }),
    );
    expect(out).toMatchObject({ locks: [], onePcCommitTs: 21n, minCommitTs: 0n });
    expect(e.lockOf('k1')).toBeUndefined();
    e.written('k1', 10, 21, WriteType.Put);
    e.written('k2', 10, 21, WriteType.Put);
  });

  test('test_prewrite_1pc: a conflicting lock fails the whole 1PC prewrite without writing', () => {
    const { e, cmds } = setup(20n);
    e.prewritePut('k2', 'x', 'k2', 5);
    const out = cmds.prewrite(
      prewriteCommand({ mutations: [put('k1'), put('k2')], primary: b('k1'), startTs: 10n, tryOnePc: true }),
    );
    expect(out.locks.map((l) => l.kind)).toEqual(['KeyIsLocked']);
    expect(out.onePcCommitTs).toBe(0n);
    expect(e.lockOf('k1')).toBeUndefined();
  });

  test('test_prewrite_1pc and async commit fall back to 2PC when max_commit_ts is too small', () => {
    const { e, cmds } = setup(100n);
    const one = cmds.prewrite(
      prewriteCommand({
        mutations: [put('a1'), put('a2')],
        primary: b('a1'),
        startTs: 10n,
        tryOnePc: true,
        maxCommitTs: 50n,
      }),
    );
    expect(one).toMatchObject({ locks: [], onePcCommitTs: 0n, minCommitTs: 0n });
    expect(e.locked('a1', 10)).toMatchObject({ useOnePc: false, useAsyncCommit: false });
    e.locked('a2', 10);
    const ac = cmds.prewrite(
      prewriteCommand({
        mutations: [put('b1'), put('b2')],
        primary: b('b1'),
        startTs: 20n,
        secondaryKeys: [b('b2')],
        maxCommitTs: 50n,
      }),
    );
    expect(ac).toMatchObject({ locks: [], minCommitTs: 0n });
    expect(e.locked('b1', 20).useAsyncCommit).toBe(false);
    expect(e.locked('b2', 20).useAsyncCommit).toBe(false);
  });

  test('a prewrite of an already committed transaction succeeds without writing (check_committed_record_on_err)', () => {
    const { e, cmds } = setup();
    cmds.prewrite(prewriteCommand({ mutations: [put('k')], primary: b('k'), startTs: 10n }));
    cmds.commit([b('k')], 10n, 20n);
    e.prewritePut('k', 'later', 'k', 30);
    e.commit('k', 30, 40);
    const again = cmds.prewrite(prewriteCommand({ mutations: [put('k')], primary: b('k'), startTs: 10n }));
    expect(again.locks).toEqual([]);
    expect(e.lockOf('k')).toBeUndefined();
  });

  test('is_retry_request: a resent pessimistic prewrite of a committed transaction writes nothing', () => {
    const { e, cmds } = setup();
    const SKIP = kvrpcpb.PrewriteRequest_PessimisticAction.SKIP_PESSIMISTIC_CHECK;
    const cmd = prewriteCommand({
      mutations: [put('k')],
      primary: b('k'),
      startTs: 10n,
      forUpdateTs: 10n,
      pessimisticActions: [SKIP],
    });
    cmds.prewrite(cmd);
    cmds.commit([b('k')], 10n, 20n);
    // Without is_retry_request the constraint check is skipped and a stray lock would be written;
    // with it TiKV finds the commit record and answers success.
    const retried = cmds.prewrite({ ...cmd, isRetryRequest: true });
    expect(retried.locks).toEqual([]);
    expect(e.lockOf('k')).toBeUndefined();
    cmds.prewrite(cmd);
    expect(e.locked('k', 10).lockType).toBe('P');
  });

  test('an out-of-range for_update_ts_constraints index fails the prewrite', () => {
    const { cmds } = setup();
    expect(() =>
      cmds.prewrite(
        prewriteCommand({
          mutations: [put('k')],
          primary: b('k'),
          startTs: 10n,
          forUpdateTs: 10n,
          forUpdateTsConstraints: [{ index: 3, expectedForUpdateTs: 1n }],
        }),
      ),
    ).toThrow(
      'prewrite request invalid: for_update_ts constraint set for index 3 while 1 mutations were given',
    );
  });
});

describe('src/storage/mod.rs', () => {
  test('test_resolve_lock: a region-wide resolve of 1 to 2 * RESOLVE_LOCK_BATCH_SIZE + 1 locks leaves only other transactions’ locks', () => {
    const { e, cmds } = setup();
    // Transaction 99's locks are never resolved.
    cmds.prewrite(
      prewriteCommand({ mutations: [put('ta'), put('tb'), put('tc')], primary: b('tc'), startTs: 99n }),
    );
    const counts = [
      1,
      RESOLVE_LOCK_BATCH_SIZE,
      RESOLVE_LOCK_BATCH_SIZE - 1,
      RESOLVE_LOCK_BATCH_SIZE + 1,
      RESOLVE_LOCK_BATCH_SIZE * 2,
      RESOLVE_LOCK_BATCH_SIZE * 2 - 1,
      RESOLVE_LOCK_BATCH_SIZE * 2 + 1,
    ];
    let ts = 100n;
    for (const n of counts) {
      for (const rollback of [false, true]) {
        const keys = Array.from({ length: n }, (_x, i) => `tx${String(i).padStart(8, '0')}`);
        cmds.prewrite(
          prewriteCommand({ mutations: keys.map((k) => put(k, 'foo')), primary: b('tx'), startTs: ts }),
        );
        cmds.resolveLock({ txnStatus: new Map([[ts, rollback ? 0n : ts + 5n]]) });
        const left = cmds.scanLock(ts, new Uint8Array(0), new Uint8Array(0), 0);
        expect(left.map((l) => [Buffer.from(l.key).toString(), l.lockVersion])).toEqual([
          ['ta', 99n],
          ['tb', 99n],
          ['tc', 99n],
        ]);
        const last = keys[n - 1] as string;
        if (rollback) expect(e.writeAt(last, ts)?.writeType).toBe(WriteType.Rollback);
        else expect(e.writeAt(last, ts + 5n)?.writeType).toBe(WriteType.Put);
        ts += 10n;
      }
    }
  });

  test('a write reaching MAX_TXN_WRITE_SIZE ends the batch early and the next read phase goes on from its key', () => {
    const { e, cmds } = setup();
    // 600 locks with 200-byte values, inlined in the commit records: a write passes 32 KiB after
    // about 140 of them, so 5 batches where the batch size alone would make 3.
    const value = 'x'.repeat(200);
    const keys = Array.from({ length: 600 }, (_x, i) => `big${String(i).padStart(4, '0')}`);
    cmds.prewrite(
      prewriteCommand({ mutations: keys.map((k) => put(k, value)), primary: b('big0000'), startTs: 10n }),
    );
    const released: number[] = [];
    cmds.onReleased = (r) => released.push(r.length);
    cmds.resolveLock({ txnStatus: new Map([[10n, 20n]]) });
    expect(cmds.scanLock(30n, new Uint8Array(0), new Uint8Array(0), 0)).toEqual([]);
    for (const k of keys) expect(e.writeAt(k, 20n)?.writeType).toBe(WriteType.Put);
    // One write per batch, each cut by its size.
    expect(released.length).toBeGreaterThanOrEqual(4);
    expect(released.reduce((a, x) => a + x, 0)).toBe(600);
    expect(Math.max(...released)).toBeLessThan(RESOLVE_LOCK_BATCH_SIZE);
    expect(MAX_TXN_WRITE_SIZE).toBe(32 * 1024);
  });

  test('a commit ts not above a lock’s start ts is InvalidTxnTso; earlier batches stay written', () => {
    const { e, cmds } = setup();
    const keys = Array.from(
      { length: RESOLVE_LOCK_BATCH_SIZE + 1 },
      (_x, i) => `iv${String(i).padStart(4, '0')}`,
    );
    cmds.prewrite(
      prewriteCommand({ mutations: keys.map((k) => put(k)), primary: b('iv0000'), startTs: 10n }),
    );
    // The one after the first batch belongs to a transaction whose commit ts is refused.
    cmds.prewrite(prewriteCommand({ mutations: [put('iw')], primary: b('iw'), startTs: 50n }));
    expect(
      e.err(() =>
        cmds.resolveLock({
          txnStatus: new Map([
            [10n, 20n],
            [50n, 40n],
          ]),
        }),
      ).kind,
    ).toBe('InvalidTxnTso');
    expect(e.writeAt(keys[0] as string, 20n)?.writeType).toBe(WriteType.Put);
    expect(e.locked('iw', 50).ts).toBe(50n);
  });
});
