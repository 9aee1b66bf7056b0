import { ConcurrencyManager } from './concurrency-manager.js';
import { FlashbackNotPreparedError, flashbackToVersion, prepareFlashback } from './flashback.js';
import { b, MvccTestEngine } from './mvcc-test-util.js';
import { TxnCommands } from './txn-commands.js';
import { WriteType } from './write-record.js';

function setup() {
  const e = new MvccTestEngine();
  const cmds = new TxnCommands(e.engine, new ConcurrencyManager());
  /** Both phases over [key, key + 0x00): returns whether phase two wrote anything. */
  const flashback = (key: string, version: number, startTs: number, commitTs: number) => {
    const r = {
      start: b(key),
      end: Buffer.concat([b(key), Buffer.of(0)]),
      startTs: BigInt(startTs),
      version: BigInt(version),
    };
    prepareFlashback(cmds, r);
    const before = e.writeAt(key, commitTs);
    flashbackToVersion(cmds, r, BigInt(commitTs));
    return before === undefined && e.writeAt(key, commitTs) !== undefined;
  };
  return { e, cmds, flashback };
}

describe('src/storage/txn/actions/flashback_to_version.rs', () => {
  test('test_flashback_write_to_version', () => {
    const { e, flashback } = setup();
    e.prewritePut('k', 'v1', 'k', 1);
    e.commit('k', 1, 2);
    e.prewritePut('k', 'v2', 'k', 4);
    e.rollback('k', 4, false);
    e.prewriteDelete('k', 'k', 6);
    e.rollback('k', 6, false);
    e.prewriteDelete('k', 'k', 8);
    e.commit('k', 8, 9);
    e.prewritePut('k', 'v2', 'k', 11);
    e.commit('k', 11, 12);
    expect(e.getString('k', 13)).toBe('v2');
    const cases: [number, string | undefined][] = [
      [1, undefined],
      [2, 'v1'],
      [5, 'v1'],
      [7, 'v1'],
      [10, undefined],
      [13, 'v2'],
      [27, undefined],
    ];
    let ts = 13;
    for (const [version, expected] of cases) {
      expect(flashback('k', version, ts + 1, ts + 2)).toBe(true);
      expect(e.getString('k', ts + 3)).toBe(expected);
      ts += 3;
    }
  });

  test('test_flashback_write_to_version_deleted', () => {
    const { e, flashback } = setup();
    e.prewritePut('k', 'v', 'k', 1);
    e.commit('k', 1, 2);
    e.prewriteDelete('k', 'k', 3);
    e.commit('k', 3, 4);
    expect(flashback('k', 1, 5, 6)).toBe(true);
    e.written('k', 5, 6, WriteType.Delete);
    expect(e.get('k', 6)).toBeUndefined();
  });

  test('test_flashback_write_to_version_pessimistic: locks are rolled back by their own ts', () => {
    const { e, flashback } = setup();
    e.prewritePut('k', 'v1', 'k', 10);
    e.commit('k', 10, 15);
    e.prewritePut('k', 'v2', 'k', 20);
    e.commit('k', 20, 25);
    e.acquirePessimisticLock('k', 'k', 30, 30);
    expect(flashback('k', 17, 35, 40)).toBe(true);
    expect(e.rolledBack('k', 30)).toBe(true);
    expect(e.err(() => e.pessimisticPrewritePut('k', 'v3', 'k', 30, 30)).kind).toBe(
      'PessimisticLockNotFound',
    );
    expect(e.getString('k', 45)).toBe('v1');
  });

  test('test_duplicated_flashback_write_to_version and test_duplicated_prewrite_flashback_key', () => {
    const { e, flashback } = setup();
    const long = 'x'.repeat(256);
    e.prewritePut('k', long, 'k', 1);
    e.commit('k', 1, 2);
    e.prewritePut('k', 'v', 'k', 3);
    e.commit('k', 3, 4);
    expect(flashback('k', 2, 5, 6)).toBe(true);
    expect(e.getString('k', 7)).toBe(long);
    // Again with the same start and commit ts: nothing more is written.
    expect(flashback('k', 2, 5, 6)).toBe(false);
    expect(e.getString('k', 7)).toBe(long);
  });

  test('phase two without phase one is refused; commit_ts must pass start_ts', () => {
    const { e, cmds } = setup();
    e.prewritePut('k', 'v', 'k', 1);
    e.commit('k', 1, 2);
    const r = { start: b('k'), end: new Uint8Array(0), startTs: 5n, version: 1n };
    expect(() => flashbackToVersion(cmds, r, 6n)).toThrow(FlashbackNotPreparedError);
    expect(e.err(() => flashbackToVersion(cmds, r, 5n)).kind).toBe('InvalidTxnTso');
    prepareFlashback(cmds, r);
    // The flashback lock's primary is the encoded key, as TiKV writes it.
    expect(Buffer.from(e.locked('k', 5).primary).toString('hex')).toBe('6b00000000000000f8');
  });
});
