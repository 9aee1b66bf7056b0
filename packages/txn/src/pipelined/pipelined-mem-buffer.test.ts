import { keyToLatin1, TiKVError } from '@tikv/common';
import type { MemBuffer } from '../membuffer/mem-buffer.js';
import { type BufferBatchGetter, type FlushFn, PipelinedMemBuffer } from './pipelined-mem-buffer.js';
import type { PipelinedOptions } from './pipelined-options.js';

// client-go's constants scaled down (10000 keys, 16 MiB, 128 MiB): the same shape, a fraction of
// the memory.
const MIN_KEYS = 100;
const MIN_SIZE = 64 * 1024;
const FORCE_SIZE = 1024 * 1024;
const SCALED = { minFlushKeys: MIN_KEYS, minFlushSizeBytes: MIN_SIZE, forceFlushSizeBytes: FORCE_SIZE };

const enc = new TextEncoder();
const k = (s: string | number): Uint8Array => enc.encode(String(s));
const bytes = (n: number): Uint8Array => new Uint8Array(Math.max(1, n));

const emptyGetter: BufferBatchGetter = async () => new Map();

/** Flushes that wait for the test to let each one go (client-go's `blockCh`). */
class Gates {
  readonly #waiting: (() => void)[] = [];
  #open = false;
  readonly flushed: { generation: bigint; keys: number }[] = [];

  readonly flush: FlushFn = async (generation, db) => {
    if (!this.#open) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    this.flushed.push({ generation, keys: db.len });
  };

  /** Lets the oldest waiting flush finish (client-go `blockCh <- struct{}{}`). */
  async releaseOne(): Promise<void> {
    while (this.#waiting.length === 0) await new Promise((r) => setImmediate(r));
    this.#waiting.shift()?.();
  }

  /** Lets every flush finish, now and later (client-go `close(blockCh)`). */
  openAll(): void {
    this.#open = true;
    for (const w of this.#waiting.splice(0)) w();
  }
}

function buffer(flush: FlushFn, thresholds: Partial<PipelinedOptions> = SCALED, getter = emptyGetter) {
  return new PipelinedMemBuffer({
    flush,
    bufferBatchGet: getter,
    thresholds: { ...SCALED, ...thresholds } as Required<typeof SCALED>,
  });
}

/** Whether a promise settled after the pending callbacks ran. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return done;
}

describe('PipelinedMemBuffer (client-go PipelinedMemDB)', () => {
  test('TestPipelinedFlushTrigger: flushes only with both enough keys and enough memory', async () => {
    const gates = new Gates();
    // Enough keys, too little memory: no flush.
    let db = buffer(gates.flush);
    let avg = Math.trunc(MIN_SIZE / MIN_KEYS / 3);
    for (let i = 0; i < MIN_KEYS; i++) {
      const key = k(i);
      db.current.set(key, bytes(avg - key.length - 1));
      expect(await db.flush(false)).toBe(false);
      expect(db.onFlushing).toBe(false);
    }
    expect(db.current.len).toBe(MIN_KEYS);
    expect(db.current.memoryBytes).toBeLessThan(MIN_SIZE);

    // Enough memory, too few keys: no flush.
    avg = Math.trunc(MIN_SIZE / MIN_KEYS / 2);
    db = buffer(gates.flush);
    for (let i = 0; i < MIN_KEYS - 1; i++) {
      const key = k(i);
      db.current.set(key, bytes(avg * 2 - key.length + 1));
      expect(await db.flush(false)).toBe(false);
      expect(db.onFlushing).toBe(false);
    }
    expect(db.current.len).toBeLessThan(MIN_KEYS);
    expect(db.current.memoryBytes).toBeGreaterThan(MIN_SIZE);
    expect(db.current.memoryBytes).toBeLessThan(FORCE_SIZE);

    // Both: the last write's flush starts one.
    db = buffer(gates.flush);
    for (let i = 0; i < MIN_KEYS; i++) {
      const key = k(i);
      db.current.set(key, bytes(avg * 2 - key.length + 1));
      const flushed = await db.flush(false);
      expect(flushed).toBe(i === MIN_KEYS - 1);
      expect(db.onFlushing).toBe(i === MIN_KEYS - 1);
    }
    expect(db.current.len).toBe(0);
    expect(db.current.sizeBytes).toBe(0);
    // The generation in flight counts in the totals.
    expect(db.len).toBe(MIN_KEYS);
    expect(db.sizeBytes).toBe(db.flushingBuffer?.sizeBytes);
    gates.openAll();
    await db.flushWait();
  });

  test('TestPipelinedFlushSkip: a due flush is skipped while one is in flight', async () => {
    const gates = new Gates();
    const db = buffer(gates.flush);
    const fill = (from: number) => {
      for (let i = 0; i < MIN_KEYS; i++) {
        const key = k(from + i);
        db.current.set(key, bytes(Math.trunc(MIN_SIZE / MIN_KEYS) - key.length + 1));
      }
    };
    fill(0);
    expect(await db.flush(false)).toBe(true);
    expect(db.onFlushing).toBe(true);
    expect(db.current.len).toBe(0);
    expect(db.current.sizeBytes).toBe(0);
    fill(MIN_KEYS);
    expect(await db.flush(false)).toBe(false);
    expect(db.current.len).toBe(MIN_KEYS);
    gates.openAll();
    await db.flushWait();
    // Once it is done, the next one goes.
    expect(await db.flush(false)).toBe(true);
    expect(db.current.len).toBe(0);
    expect(db.len).toBe(2 * MIN_KEYS);
    await db.flushWait();
  });

  test('TestPipelinedFlushBlock: past the force threshold a flush waits for the one in flight', async () => {
    const gates = new Gates();
    const db = buffer(gates.flush);
    for (let i = 0; i < MIN_KEYS; i++) {
      const key = k(i);
      db.current.set(key, bytes(Math.trunc(MIN_SIZE / MIN_KEYS) - key.length + 1));
    }
    expect(await db.flush(false)).toBe(true);
    expect(db.onFlushing).toBe(true);
    expect(db.current.len).toBe(0);
    for (let i = 0; i < MIN_KEYS - 1; i++) {
      const key = k(MIN_KEYS + i);
      db.current.set(key, bytes(Math.trunc(FORCE_SIZE / (MIN_KEYS - 1)) - key.length + 1));
    }
    expect(db.current.memoryBytes).toBeGreaterThan(FORCE_SIZE);
    const second = db.flush(false);
    expect(await settled(second)).toBe(false);
    expect(db.onFlushing).toBe(true);
    await gates.releaseOne(); // the first flush is done
    expect(await second).toBe(true); // the second one started
    expect(db.onFlushing).toBe(true);
    gates.openAll();
    await db.flushWait();
    expect(gates.flushed.map((f) => f.generation)).toEqual([1n, 2n]);
  });

  test('TestPipelinedFlushGet: the generation in flight is read locally, a flushed one remotely', async () => {
    const gates = new Gates();
    const db = buffer(gates.flush);
    db.current.set(k('key'), k('value'));
    const fill = () => {
      for (let i = 0; i < MIN_KEYS; i++) {
        const key = k(i);
        db.current.set(key, bytes(Math.trunc(MIN_SIZE / MIN_KEYS) - key.length + 1));
      }
    };
    fill();
    expect(await db.get(k('key'))).toEqual(k('value'));
    expect(await db.flush(false)).toBe(true);
    expect(db.onFlushing).toBe(true);
    // Not in the mutable buffer any more, but still read.
    expect(db.current.get(k('key'))).toBeUndefined();
    expect(await db.get(k('key'))).toEqual(k('value'));
    await gates.releaseOne();
    fill();
    expect(await db.flush(false)).toBe(true);
    expect(db.onFlushing).toBe(true);
    // Flushed to TiKV: only the (here empty) buffer batch getter could answer.
    expect(await db.get(k('key'))).toBeUndefined();
    gates.openAll();
    await db.flushWait();
  });

  test('TestPipelinedFlushSize: len and size count every generation', async () => {
    const db = buffer(async () => {});
    let size = 0;
    let keys = 0;
    const fill = (from: number) => {
      for (let i = 0; i < MIN_KEYS; i++) {
        const key = k(from + i);
        const value = bytes(Math.trunc(MIN_SIZE / MIN_KEYS) - key.length + 1);
        keys++;
        size += key.length + value.length;
        db.current.set(key, value);
        expect(db.len).toBe(keys);
        expect(db.sizeBytes).toBe(size);
      }
    };
    fill(0);
    expect(await db.flush(false)).toBe(true);
    expect(db.current.len).toBe(0);
    expect(db.current.sizeBytes).toBe(0);
    expect(db.len).toBe(keys);
    expect(db.sizeBytes).toBe(size);
    fill(MIN_KEYS);
    expect(await db.flush(true)).toBe(true);
    expect(db.len).toBe(keys);
    expect(db.sizeBytes).toBe(size);
    await db.flushWait();
  });

  test('TestPipelinedFlushGeneration: generations count from 1', async () => {
    const seen: bigint[] = [];
    const db = buffer(async (generation) => {
      seen.push(generation);
    });
    for (let i = 0; i < 100; i++) {
      db.current.set(new Uint8Array([i]), new Uint8Array([i]));
      await db.flush(true);
      await db.flushWait();
      expect(seen[i]).toBe(BigInt(i + 1));
    }
    expect(db.generation).toBe(100n);
  });

  test('TestPipelinedAdjustFlushCondition: the thresholds decide, the force threshold over the key count', async () => {
    const none = async () => {};
    let db = buffer(none, {});
    db.current.set(k('key'), k('value'));
    expect(await db.flush(false)).toBe(false);

    // Even one key flushes.
    db = buffer(none, { minFlushKeys: 1, minFlushSizeBytes: 1 });
    db.current.set(k('key'), k('value'));
    expect(await db.flush(false)).toBe(true);
    await db.flushWait();

    // Two keys needed.
    db = buffer(none, { minFlushKeys: 2, minFlushSizeBytes: 1 });
    db.current.set(k('key'), k('value'));
    expect(await db.flush(false)).toBe(false);
    await db.flushWait();

    // Two keys needed, but the force threshold is reached.
    db = buffer(none, { minFlushKeys: 2, minFlushSizeBytes: 1, forceFlushSizeBytes: 2 });
    db.current.set(k('key'), k('value'));
    expect(await db.flush(false)).toBe(true);
    await db.flushWait();
  });

  test('TestMemBufferBatchGetCache: batchGet caches what TiKV answered until the next flush', async () => {
    const remote = new Map<string, Uint8Array>();
    const getter: BufferBatchGetter = async (keys) => {
      const m = new Map<string, Uint8Array>();
      for (const key of keys) {
        const v = remote.get(keyToLatin1(key));
        if (v !== undefined) m.set(keyToLatin1(key), v);
      }
      return m;
    };
    const flush: FlushFn = async (_g, db: MemBuffer) => {
      for (const it = db.iter(); it.valid; it.next())
        remote.set(keyToLatin1(it.key()), it.value()?.slice() ?? new Uint8Array(0));
    };
    const db = buffer(flush, SCALED, getter);
    const mustFlush = async () => {
      expect(await db.flush(true)).toBe(true);
      // The flush function runs to its end before the flush settles.
      await new Promise((r) => setImmediate(r));
    };
    db.current.set(k('k1'), k('v11'));
    await mustFlush();
    db.current.set(k('k2'), k('v21'));
    await mustFlush();
    // mutable: [], in flight: [k2], remote: [k1, k2]
    expect(db.getLocal(k('k1'))).toBeUndefined();
    expect(db.getLocal(k('k2'))).toEqual(k('v21'));
    const m = await db.batchGet([k('k1'), k('k2')]);
    expect(m).toEqual(
      new Map([
        [keyToLatin1(k('k1')), k('v11')],
        [keyToLatin1(k('k2')), k('v21')],
      ]),
    );
    expect(db.cached(k('k1'))).toEqual(k('v11'));
    expect(db.cached(k('k2'))).toEqual(k('v21'));
    expect(db.cached(k('k3'))).toBeUndefined();
    // A key not flushed is cached as such.
    expect((await db.batchGet([k('k3')])).size).toBe(0);
    expect(db.cached(k('k3'))).toBeNull();

    db.current.delete(k('k1'));
    db.current.set(k('k2'), k('v22'));
    db.current.delete(k('k3'));
    await mustFlush();
    expect(db.cached(k('k1'))).toBeUndefined(); // the flush dropped the cache
    const m2 = await db.batchGet([k('k1'), k('k2'), k('k3'), k('k4')]);
    expect(m2).toEqual(
      new Map([
        [keyToLatin1(k('k1')), new Uint8Array(0)],
        [keyToLatin1(k('k2')), k('v22')],
        [keyToLatin1(k('k3')), new Uint8Array(0)],
      ]),
    );
    expect(db.cached(k('k1'))).toEqual(new Uint8Array(0));
    expect(db.cached(k('k2'))).toEqual(k('v22'));
    expect(db.cached(k('k3'))).toEqual(new Uint8Array(0));
    expect(db.cached(k('k4'))).toBeNull();
    await db.flushWait();
  });

  test('a failed flush is thrown by the next flush and by flushWait, and stops writes from flushing', async () => {
    const db = buffer(
      async () => {
        throw new TiKVError('INTERNAL', 'boom');
      },
      { minFlushKeys: 1, minFlushSizeBytes: 1, forceFlushSizeBytes: 1 },
    );
    db.current.set(k('a'), k('1'));
    expect(db.maybeFlush()).toBe(true);
    await new Promise((r) => setImmediate(r));
    db.current.set(k('b'), k('2'));
    expect(db.maybeFlush()).toBe(false);
    await expect(db.flush(true)).rejects.toThrow('boom');
    // The failure is consumed: the next one flushes (and fails) again.
    await expect(db.flush(true)).resolves.toBe(true);
    await expect(db.flushWait()).rejects.toThrow('boom');
    await expect(db.flushWait()).resolves.toBeUndefined();
  });

  test('refuses to flush with a savepoint open; savepoints live in the mutable buffer', async () => {
    const db = buffer(async () => {});
    const h = db.staging();
    db.current.set(k('a'), k('1'));
    expect(db.maybeFlush()).toBe(false);
    await expect(db.flush(true)).rejects.toBeInstanceOf(TiKVError);
    db.cleanup(h);
    expect(db.getLocal(k('a'))).toBeUndefined();
    const h2 = db.staging();
    db.current.set(k('b'), k('2'));
    db.release(h2);
    expect(db.dirty).toBe(true);
    expect(await db.flush(true)).toBe(true);
    await db.flushWait();
    expect(db.flushedRange?.lower).toEqual(k('b'));
    expect(db.flushWaitMs).toBeGreaterThanOrEqual(0);
    expect(db.memoryBytes).toBeGreaterThanOrEqual(0);
  });
});
