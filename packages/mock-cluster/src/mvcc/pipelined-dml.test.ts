import { kvrpcpb } from '@tikv/proto';
import { ConcurrencyManager } from './concurrency-manager.js';
import type { MvccError } from './mvcc-error.js';
import { b, MvccTestEngine } from './mvcc-test-util.js';
import { bufferBatchGet, flush } from './pipelined-dml.js';
import { TxnCommands } from './txn-commands.js';

function setup() {
  const e = new MvccTestEngine();
  const cmds = new TxnCommands(e.engine, new ConcurrencyManager());
  const flushPut = (
    key: string,
    value: string,
    startTs: number,
    generation: number,
    o: { op?: kvrpcpb.Op; assertion?: kvrpcpb.Assertion } = {},
  ): MvccError[] =>
    flush(cmds, {
      mutations: [{ op: o.op ?? kvrpcpb.Op.Put, key: b(key), value: b(value), assertion: o.assertion ?? 0 }],
      primary: b(key),
      startTs: BigInt(startTs),
      generation: BigInt(generation),
      lockTtl: 3000n,
      assertionLevel: kvrpcpb.AssertionLevel.Strict,
      isRetryRequest: false,
      txnSource: 0n,
    });
  return { e, cmds, flushPut };
}

describe('src/storage/txn/commands/flush.rs', () => {
  test('test_flush', () => {
    const { e, flushPut } = setup();
    expect(flushPut('key', 'value', 1, 1)).toEqual([]);
    expect(e.locked('key', 1)).toMatchObject({ generation: 1n, minCommitTs: 2n });
    e.commit('key', 1, 2);
    expect(e.getString('key', 2)).toBe('value');
  });

  test('test_write_conflict', () => {
    const { e, flushPut } = setup();
    flushPut('key', 'value', 1, 1);
    expect(flushPut('key', 'value', 2, 2)[0]?.kind).toBe('KeyIsLocked');
    expect(e.err(() => e.acquirePessimisticLock('key', 'key', 2, 2)).kind).toBe('KeyIsLocked');
    expect(e.err(() => e.prewritePut('key', 'value', 'key', 2)).kind).toBe('KeyIsLocked');
    e.acquirePessimisticLock('key2', 'key2', 1, 1);
    expect(flushPut('key2', 'value', 2, 3)[0]?.kind).toBe('KeyIsLocked');
    e.prewritePut('key3', 'v', 'key3', 1);
    expect(flushPut('key3', 'value', 2, 4)[0]?.kind).toBe('KeyIsLocked');
  });

  test('test_flush_overwrite', () => {
    const { e, flushPut } = setup();
    flushPut('key', 'value', 1, 1);
    flushPut('key', 'value2', 1, 2);
    e.commit('key', 1, 2);
    expect(e.getString('key', 3)).toBe('value2');
  });

  test('test_flush_out_of_order', () => {
    const { e, flushPut } = setup();
    expect(e.err(() => flushPut('key', 'value', 1, 0)).message).toContain(
      'generation should be greater than 0',
    );
    flushPut('key', 'value', 1, 2);
    flushPut('key', 'value2', 1, 1);
    e.commit('key', 1, 2);
    expect(e.getString('key', 3)).toBe('value');
  });

  test('test_flushed_existence_check', () => {
    const { e, flushPut } = setup();
    flushPut('key', 'value', 1, 1);
    expect(e.err(() => flushPut('key', 'value', 1, 2, { op: kvrpcpb.Op.Insert })).detail).toMatchObject({
      kind: 'AlreadyExist',
      existingStartTs: 1n,
    });
    e.commit('key', 1, 2);
    expect(e.err(() => flushPut('key', 'value', 3, 1, { op: kvrpcpb.Op.Insert })).detail).toMatchObject({
      kind: 'AlreadyExist',
      existingStartTs: 1n,
    });
  });

  test('test_flush_overwrite_assertion', () => {
    const { e, flushPut } = setup();
    flushPut('key', 'value', 1, 1, { assertion: kvrpcpb.Assertion.NotExist });
    flushPut('key', 'value2', 1, 2, { assertion: kvrpcpb.Assertion.Exist });
    e.commit('key', 1, 2);
    expect(e.getString('key', 3)).toBe('value2');
  });

  test('buffer batch get reads the transaction’s own flushed locks only', () => {
    const { e, cmds, flushPut } = setup();
    flushPut('a', 'va', 10, 1);
    flushPut('long', 'x'.repeat(300), 10, 1);
    flush(cmds, {
      mutations: [{ op: kvrpcpb.Op.Del, key: b('d'), value: new Uint8Array(0), assertion: 0 }],
      primary: b('a'),
      startTs: 10n,
      generation: 1n,
      lockTtl: 0n,
      assertionLevel: kvrpcpb.AssertionLevel.Off,
      isRetryRequest: false,
      txnSource: 0n,
    });
    flushPut('other', 'v', 11, 1);
    const got = bufferBatchGet(cmds, [b('a'), b('d'), b('long'), b('other'), b('none')], 10n);
    expect(got.map((p) => [Buffer.from(p.key).toString(), p.value.length])).toEqual([
      ['a', 2],
      ['d', 0],
      ['long', 300],
    ]);
    e.acquirePessimisticLock('p', 'p', 10, 10);
    expect(() => bufferBatchGet(cmds, [b('p')], 10n)).toThrow('pipelined-dml');
  });
});
