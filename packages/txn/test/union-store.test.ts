import type { RequestOptions } from '@tikv/common';
import {
  FlagsOp,
  type KvPair,
  MemBuffer,
  type SnapshotIterateOptions,
  type SnapshotReader,
  UnionStore,
  type ValueEntry,
} from '../src/index.js';
import { b, str } from './helpers.js';

// Ports of client-go internal/unionstore/union_store_test.go (and union_iter.go's cases) and
// txnkv/transaction/batch_getter_test.go, against a snapshot fake kept in a MemBuffer as
// client-go's mockSnapshot is.

/** A snapshot over committed data held in a plain sorted map; records what was asked. */
class FakeSnapshot implements SnapshotReader {
  readonly data = new MemBuffer();
  readonly gets: string[] = [];
  readonly batchGets: string[][] = [];
  closedIterators = 0;
  iterateOptions: SnapshotIterateOptions | undefined;

  put(key: string, value: string): this {
    this.data.set(str(key), str(value));
    return this;
  }

  async get(key: Uint8Array, _options?: RequestOptions): Promise<Uint8Array | undefined> {
    this.gets.push(text(key));
    return this.data.get(key)?.slice();
  }

  async batchGet(
    keys: readonly Uint8Array[],
    _options?: RequestOptions,
  ): Promise<(Uint8Array | undefined)[]> {
    this.batchGets.push(keys.map(text));
    return keys.map((k) => this.data.get(k)?.slice());
  }

  /** Every committed value of the fake has commit ts 100. */
  async getEntry(key: Uint8Array, options?: RequestOptions): Promise<ValueEntry | undefined> {
    const value = await this.get(key, options);
    return value === undefined ? undefined : { value, commitTs: 100n };
  }

  async batchGetEntries(
    keys: readonly Uint8Array[],
    options?: RequestOptions,
  ): Promise<(ValueEntry | undefined)[]> {
    const values = await this.batchGet(keys, options);
    return values.map((value) => (value === undefined ? undefined : { value, commitTs: 100n }));
  }

  async *iterate(
    lower: Uint8Array,
    upper: Uint8Array,
    options?: SnapshotIterateOptions,
  ): AsyncGenerator<KvPair> {
    this.iterateOptions = options;
    try {
      const it = this.data.iter(lower, upper.length === 0 ? undefined : upper, { reverse: options?.reverse });
      for (; it.valid; it.next()) {
        await Promise.resolve();
        yield {
          key: it.key().slice(),
          value: options?.keyOnly === true ? new Uint8Array(0) : it.value()!.slice(),
        };
      }
    } finally {
      this.closedIterators++;
    }
  }
}

const text = (x: Uint8Array): string => new TextDecoder().decode(x);
const show = (pairs: readonly KvPair[]): string[] => pairs.map((p) => `${text(p.key)}=${text(p.value)}`);
const all = new Uint8Array(0);

describe('union_store_test.go', () => {
  test('TestUnionStoreGetSet', async () => {
    const snapshot = new FakeSnapshot().put('1', '1');
    const us = new UnionStore(new MemBuffer(), snapshot);
    expect(text((await us.get(str('1')))!)).toBe('1');
    us.buffer.set(str('1'), str('2'));
    expect(text((await us.get(str('1')))!)).toBe('2');
    expect(us.buffer.sizeBytes).toBe(2);
    expect(us.buffer.len).toBe(1);
    // The buffer answered the second read.
    expect(snapshot.gets).toEqual(['1']);
  });

  test('TestUnionStoreDelete', async () => {
    const snapshot = new FakeSnapshot().put('1', '1');
    const us = new UnionStore(new MemBuffer(), snapshot);
    us.buffer.delete(str('1'));
    expect(await us.get(str('1'))).toBeUndefined();
    // A buffered delete answers without reading the snapshot.
    expect(snapshot.gets).toEqual([]);
    us.buffer.set(str('1'), str('2'));
    expect(text((await us.get(str('1')))!)).toBe('2');
  });

  test('TestUnionStoreSeek', async () => {
    const us = new UnionStore(new MemBuffer(), new FakeSnapshot().put('1', '1').put('2', '2').put('3', '3'));
    expect(show(await us.scan(all, all))).toEqual(['1=1', '2=2', '3=3']);
    expect(show(await us.scan(str('2'), all))).toEqual(['2=2', '3=3']);
    us.buffer.set(str('4'), str('4'));
    expect(show(await us.scan(str('2'), all))).toEqual(['2=2', '3=3', '4=4']);
    us.buffer.delete(str('3'));
    expect(show(await us.scan(str('2'), all))).toEqual(['2=2', '4=4']);
  });

  test('TestUnionStoreIterReverse', async () => {
    const us = new UnionStore(new MemBuffer(), new FakeSnapshot().put('1', '1').put('2', '2').put('3', '3'));
    const reverse = { reverse: true };
    expect(show(await us.scan(all, all, reverse))).toEqual(['3=3', '2=2', '1=1']);
    // client-go IterReverse(k, lower): keys < k and >= lower; here [lower, upper) descending.
    expect(show(await us.scan(str('1'), str('3'), reverse))).toEqual(['2=2', '1=1']);
    expect(show(await us.scan(all, str('3'), reverse))).toEqual(['2=2', '1=1']);
    us.buffer.set(str('0'), str('0'));
    expect(show(await us.scan(all, str('3'), reverse))).toEqual(['2=2', '1=1', '0=0']);
    us.buffer.delete(str('1'));
    expect(show(await us.scan(all, str('3'), reverse))).toEqual(['2=2', '0=0']);
    expect(show(await us.scan(str('1'), str('3'), reverse))).toEqual(['2=2']);
  });
});

describe('union_iter.go', () => {
  const setup = (): UnionStore => {
    const snapshot = new FakeSnapshot().put('a', 's').put('c', 's').put('e', 's').put('g', 's');
    const us = new UnionStore(new MemBuffer(), snapshot);
    us.buffer.set(str('b'), str('m')); // only in the buffer
    us.buffer.set(str('c'), str('m')); // in both: the buffer wins
    us.buffer.delete(str('e')); // deleted in the buffer: hidden
    us.buffer.delete(str('f')); // a delete of a key the snapshot lacks: skipped
    us.buffer.updateFlags(str('g'), FlagsOp.SetKeyLocked); // flags only: read through
    us.buffer.updateFlags(str('h'), FlagsOp.SetKeyLocked); // flags only, absent below: nothing
    return us;
  };

  test('merges both directions: buffer wins, deletes hide, flags-only keys read through', async () => {
    const us = setup();
    expect(show(await us.scan(all, all))).toEqual(['a=s', 'b=m', 'c=m', 'g=s']);
    expect(show(await us.scan(all, all, { reverse: true }))).toEqual(['g=s', 'c=m', 'b=m', 'a=s']);
    expect(show(await us.scan(str('b'), str('g')))).toEqual(['b=m', 'c=m']);
    expect(show(await us.scan(str('b'), str('g'), { reverse: true }))).toEqual(['c=m', 'b=m']);
    expect(text((await us.get(str('g')))!)).toBe('s');
    expect(await us.get(str('h'))).toBeUndefined();
    expect(await us.get(str('f'))).toBeUndefined();
  });

  test('key-only scans leave every value empty, and pass keyOnly to the snapshot', async () => {
    const us = setup();
    const pairs = await us.scan(all, all, { keyOnly: true });
    expect(pairs.map((p) => text(p.key))).toEqual(['a', 'b', 'c', 'g']);
    expect(pairs.every((p) => p.value.length === 0)).toBe(true);
    expect((us.snapshot as FakeSnapshot).iterateOptions?.keyOnly).toBe(true);
  });

  test('a limit stops the walk and closes the snapshot iterator', async () => {
    const us = setup();
    expect(show(await us.scan(all, all, { limit: 2 }))).toEqual(['a=s', 'b=m']);
    expect(show(await us.scan(all, all, { limit: 3, reverse: true }))).toEqual(['g=s', 'c=m', 'b=m']);
    expect((us.snapshot as FakeSnapshot).closedIterators).toBe(2);
    await expect(us.scan(all, all, { limit: 0 })).rejects.toThrow('options.limit must be an integer >= 1');
    await expect(us.scan(all, all, { limit: 1.5 })).rejects.toThrow('options.limit must be an integer >= 1');
  });

  test('returned pairs are copies: later writes do not change them', async () => {
    const us = setup();
    const pairs = await us.scan(all, all);
    const value = await us.get(str('c'));
    us.buffer.set(str('c'), str('x')); // same length: written in place
    us.buffer.set(str('b'), str('y'));
    expect(show(pairs)).toEqual(['a=s', 'b=m', 'c=m', 'g=s']);
    expect(text(value!)).toBe('m');
  });

  test('a write during the walk is seen when it lands ahead of it', async () => {
    const us = setup();
    const seen: string[] = [];
    for await (const p of us.iterate(all, all)) {
      seen.push(`${text(p.key)}=${text(p.value)}`);
      if (text(p.key) === 'b') {
        us.buffer.set(str('d'), str('new')); // ahead: seen
        us.buffer.set(str('a0'), str('new')); // behind: not seen
        us.buffer.delete(str('g')); // ahead: hides the snapshot's key
      }
    }
    expect(seen).toEqual(['a=s', 'b=m', 'c=m', 'd=new']);
  });

  test('an aborted signal stops the walk', async () => {
    const us = setup();
    const controller = new AbortController();
    const reason = new Error('stop');
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const p of us.iterate(all, all, { signal: controller.signal })) {
          seen.push(text(p.key));
          controller.abort(reason);
        }
      })(),
    ).rejects.toBe(reason);
    expect(seen).toEqual(['a']);
    expect((us.snapshot as FakeSnapshot).closedIterators).toBe(1);
    const aborted = AbortSignal.abort(reason);
    await expect(us.scan(all, all, { signal: aborted })).rejects.toBe(reason);
  });

  test('an error from the snapshot propagates and closes nothing twice', async () => {
    const broken: SnapshotReader = {
      get: async () => undefined,
      batchGet: async (keys) => keys.map(() => undefined),
      getEntry: async () => undefined,
      batchGetEntries: async (keys) => keys.map(() => undefined),
      async *iterate() {
        yield { key: str('a'), value: str('s') };
        throw new Error('region unavailable');
      },
    };
    const us = new UnionStore(new MemBuffer(), broken);
    us.buffer.set(str('b'), str('m'));
    await expect(us.scan(all, all)).rejects.toThrow('region unavailable');
  });

  test('an empty value from the snapshot reads as absent', async () => {
    const empty: SnapshotReader = {
      get: async () => new Uint8Array(0),
      batchGet: async (keys) => keys.map(() => new Uint8Array(0)),
      getEntry: async () => ({ value: new Uint8Array(0), commitTs: 5n }),
      batchGetEntries: async (keys) => keys.map(() => ({ value: new Uint8Array(0), commitTs: 5n })),
      async *iterate() {},
    };
    const us = new UnionStore(new MemBuffer(), empty);
    expect(await us.get(b(1))).toBeUndefined();
    expect(await us.batchGet([b(1)])).toEqual([undefined]);
    expect(await us.getEntry(b(1))).toBeUndefined();
    expect(await us.batchGetEntries([b(1)])).toEqual([undefined]);
  });

  test("entries: a buffered value has commit ts 0n, a buffered delete is absent, the rest is the snapshot's", async () => {
    const snapshot = new FakeSnapshot().put('a', 'a0').put('b', 'b0').put('c', 'c0');
    const us = new UnionStore(new MemBuffer(), snapshot);
    us.buffer.set(str('a'), str('a1'));
    us.buffer.delete(str('b'));
    expect(await us.getEntry(str('a'))).toEqual({ value: str('a1'), commitTs: 0n });
    expect(await us.getEntry(str('b'))).toBeUndefined();
    expect(await us.getEntry(str('c'))).toEqual({ value: str('c0'), commitTs: 100n });
    expect(await us.getEntry(str('d'))).toBeUndefined();
    // The buffer answers a and b without a snapshot read.
    expect(snapshot.gets).toEqual(['c', 'd']);
    expect(await us.batchGetEntries([str('a'), str('b'), str('c'), str('d'), str('a')])).toEqual([
      { value: str('a1'), commitTs: 0n },
      undefined,
      { value: str('c0'), commitTs: 100n },
      undefined,
      { value: str('a1'), commitTs: 0n },
    ]);
    expect(snapshot.batchGets).toEqual([['c', 'd']]);
    // The buffer's value is a copy.
    const e = await us.getEntry(str('a'));
    e!.value[0] = 0;
    expect(us.buffer.get(str('a'))).toEqual(str('a1'));
  });
});

describe('batch_getter_test.go', () => {
  test('TestBufferBatchGetter', async () => {
    const snapshot = new FakeSnapshot().put('a', 'a').put('b', 'b').put('c', 'c').put('d', 'd');
    const us = new UnionStore(new MemBuffer(), snapshot);
    us.buffer.set(str('a'), str('a1'));
    us.buffer.delete(str('b'));
    const keys = ['a', 'b', 'c', 'd', 'e'].map(str);
    const values = await us.batchGet(keys);
    expect(values.map((v) => (v === undefined ? undefined : text(v)))).toEqual([
      'a1',
      undefined,
      'c',
      'd',
      undefined,
    ]);
    // One snapshot read, for the keys the buffer does not hold.
    expect(snapshot.batchGets).toEqual([['c', 'd', 'e']]);
  });

  test('a batch the buffer answers entirely reads nothing below; repeated keys stay aligned', async () => {
    const snapshot = new FakeSnapshot().put('x', 'x');
    const us = new UnionStore(new MemBuffer(), snapshot);
    us.buffer.set(str('a'), str('1'));
    us.buffer.delete(str('x'));
    expect((await us.batchGet([str('a'), str('x'), str('a')])).map((v) => v && text(v))).toEqual([
      '1',
      undefined,
      '1',
    ]);
    expect(snapshot.batchGets).toEqual([]);
    expect((await us.batchGet([str('y'), str('a'), str('y')])).map((v) => v && text(v))).toEqual([
      undefined,
      '1',
      undefined,
    ]);
    expect(snapshot.batchGets).toEqual([['y', 'y']]);
  });
});
