import { kvrpcpb } from '@tikv/proto';
import { MvccTestEngine } from './mvcc-test-util.js';
import { Scanner, type ScanResult } from './scanner.js';

const hex = (k: Uint8Array) => Buffer.from(k).toString('hex');

/** TiKV's `check_scan_result`: key=value per pair, key=locked for a lock error. */
function results(rs: ScanResult[]): string[] {
  return rs.map((r) => {
    if ('error' in r) {
      const d = r.error.detail;
      return d.kind === 'KeyIsLocked' ? `${hex(d.info.key)}=locked` : `!${d.kind}`;
    }
    return `${hex(r.key)}=${hex(r.value)}`;
  });
}

function scan(
  e: MvccTestEngine,
  ts: number,
  o: { desc: boolean; bypass?: number[]; access?: number[] },
): string[] {
  return results(
    new Scanner(e.engine, {
      ts: BigInt(ts),
      isolation: kvrpcpb.IsolationLevel.SI,
      desc: o.desc,
      bypassLocks: new Set((o.bypass ?? []).map(BigInt)),
      accessLocks: new Set((o.access ?? []).map(BigInt)),
    }).scan(100, 0),
  );
}

const k = (i: number) => String.fromCharCode(i);
const pair = (key: string, value: string | undefined) =>
  `${Buffer.from(key, 'latin1').toString('hex')}=${value === undefined ? 'locked' : Buffer.from(value, 'latin1').toString('hex')}`;

describe('src/storage/mvcc/reader/scanner/mod.rs', () => {
  test.each([[false], [true]])('test_scan_with_lock_and_write (desc %s)', (desc) => {
    const ordered = (xs: string[]) => (desc ? [...xs].reverse() : xs);
    const write = (e: MvccTestEngine, ts: number, key: string, value: string) => {
      e.prewritePut(key, value, key, ts);
      e.commit(key, ts, ts);
    };
    const lock = (e: MvccTestEngine, ts: number, key: string) => e.prewritePut(key, 'lock', key, ts);
    let e = new MvccTestEngine();
    write(e, 5, 'a', 'a_value');
    lock(e, 4, 'b');
    expect(scan(e, 10, { desc })).toEqual(ordered([pair('a', 'a_value'), pair('b', undefined)]));
    e = new MvccTestEngine();
    write(e, 4, 'a', 'a_value');
    lock(e, 5, 'a');
    expect(scan(e, 10, { desc })).toEqual([pair('a', undefined)]);
    e = new MvccTestEngine();
    lock(e, 5, 'a');
    write(e, 4, 'b', 'b_value');
    expect(scan(e, 10, { desc })).toEqual(ordered([pair('a', undefined), pair('b', 'b_value')]));
    e = new MvccTestEngine();
    lock(e, 4, 'a');
    expect(scan(e, 10, { desc })).toEqual([pair('a', undefined)]);
    e = new MvccTestEngine();
    write(e, 4, 'a', 'a_value');
    expect(scan(e, 10, { desc })).toEqual([pair('a', 'a_value')]);
  });

  test.each([[false], [true]])('test_scan_bypass_locks (desc %s)', (desc) => {
    const e = new MvccTestEngine();
    for (let i = 0; i < 5; i++) {
      e.prewritePut(k(i), `v${k(i)}`, k(i), 10);
      e.commit(k(i), 10, 20);
    }
    for (let i = 0; i < 5; i++) e.prewritePut(k(i), `v${k(i)}`, k(i), 30 + i * 10);
    const expected = [
      pair(k(0), `v${k(0)}`),
      pair(k(1), undefined),
      pair(k(2), `v${k(2)}`),
      pair(k(3), undefined),
      pair(k(4), `v${k(4)}`),
    ];
    expect(scan(e, 65, { desc, bypass: [30, 41, 50] })).toEqual(desc ? expected.reverse() : expected);
  });

  test.each([
    [false, false],
    [false, true],
    [true, false],
    [true, true],
  ])('test_scan_access_locks (desc %s, delete_bound %s)', (desc, deleteBound) => {
    const e = new MvccTestEngine();
    for (let i = 0; i <= 8; i++) {
      e.prewritePut(k(i), `v${k(i)}`, k(i), 10);
      e.commit(k(i), 10, 20);
    }
    if (deleteBound) e.prewriteDelete(k(0), k(0), 30);
    else e.prewritePut(k(0), `v${k(0)}${k(0)}`, k(0), 30);
    e.prewritePut(k(1), `v${k(1)}${k(1)}`, k(1), 40);
    e.prewriteDelete(k(2), k(2), 50);
    e.prewriteLock(k(3), k(3), 60);
    e.prewritePut(k(4), `v${k(4)}${k(4)}`, k(4), 70);
    e.prewritePut(k(5), `v${k(5)}${k(5)}`, k(5), 80);
    e.prewritePut(k(6), `v${k(6)}${k(6)}`, k(6), 100);
    if (deleteBound) e.prewriteDelete(k(8), k(8), 90);
    else e.prewritePut(k(8), `v${k(8)}${k(8)}`, k(8), 90);
    let expected = [
      pair(k(0), `v${k(0)}${k(0)}`),
      pair(k(1), `v${k(1)}${k(1)}`),
      pair(k(3), `v${k(3)}`),
      pair(k(4), undefined),
      pair(k(5), `v${k(5)}`),
      pair(k(6), `v${k(6)}`),
      pair(k(7), `v${k(7)}`),
      pair(k(8), `v${k(8)}${k(8)}`),
    ];
    if (deleteBound) expected = expected.slice(1, -1);
    expect(scan(e, 95, { desc, bypass: [80], access: [30, 40, 50, 60, 90] })).toEqual(
      desc ? expected.reverse() : expected,
    );
  });
});
