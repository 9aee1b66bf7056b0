import { MemBuffer } from '../src/index.js';
import { Arena, reserve } from '../src/membuffer/arena.js';
import { ValueLog } from '../src/membuffer/value-log.js';

// client-go internal/unionstore/arena/arena_test.go tests its block list (a value larger than a
// block, the 128 MiB block cap); the arena here is one resizable buffer, so its tests pin growth,
// the copy into a larger reservation, and big values.

describe('arena_test.go', () => {
  test('TestBigValue: a value larger than the first reservation, then a rollback over it', () => {
    let resized = 0;
    const log = new ValueLog(() => {
      resized++;
    });
    const first = new Uint8Array(3 << 20).fill(7);
    const a = log.append(1, 0, first);
    expect(log.valueLength(a)).toBe(3 << 20);
    const cp = log.tail;
    const b = log.append(2, a, new Uint8Array(5 << 20).fill(9));
    expect(log.previous(b)).toBe(a);
    expect(log.leaf(b)).toBe(2);
    log.truncate(cp);
    expect(log.tail).toBe(cp);
    // The first value survived the copies into larger reservations.
    expect(log.value(a).every((x) => x === 7)).toBe(true);
    expect(resized).toBeGreaterThan(0);
  });

  test('TestValueLargeThanBlock: values of every size read back', () => {
    const log = new ValueLog(() => {});
    const addrs = [1, 4096, 3000, 0, 5, 8].map(
      (n, i) => [n, log.append(i + 1, 0, new Uint8Array(n).fill(n & 0xff))] as const,
    );
    for (const [n, addr] of addrs) {
      const v = log.value(addr);
      expect(v.length).toBe(n);
      expect(v.every((x) => x === (n & 0xff))).toBe(true);
    }
    // Walking down from the tail visits every record.
    const seen: number[] = [];
    for (let addr = log.tail; addr > 0; addr = log.below(addr)) seen.push(log.valueLength(addr));
    expect(seen).toEqual([8, 5, 0, 3000, 4096, 1]);
  });

  test('growth doubles while small, then adds an eighth, keeping contents and addresses', () => {
    const sizes: number[] = [];
    const arena = new Arena(1, () => sizes.push(arena.capacityBytes));
    expect(arena.capacityBytes).toBe(0);
    const first = arena.alloc(2);
    expect(first).toBe(1);
    arena.i32[first] = 42;
    let last = first;
    while (arena.capacityBytes < 8 << 20) last = arena.alloc(1000);
    expect(arena.i32[first]).toBe(42);
    expect(sizes[0]).toBe(4096);
    expect(sizes[1]).toBe(8192);
    for (let i = 1; i < sizes.length; i++) {
      const prev = sizes[i - 1]!;
      // Never more than double; past 256 KiB, 64 KiB or an eighth more (page-rounded), whichever is larger.
      expect(sizes[i]!).toBeLessThanOrEqual(prev * 2);
      if (prev >= 256 * 1024) {
        expect(sizes[i]! - prev).toBeLessThanOrEqual(Math.max(65536, Math.ceil(prev / 8 / 4096) * 4096));
      }
    }
    expect(last).toBeGreaterThan(first);
    // Committed but unused stays under an eighth of the total.
    expect(arena.capacityBytes - arena.top * 4).toBeLessThan(arena.capacityBytes / 8 + 4096);
    arena.reset();
    expect(arena.capacityBytes).toBe(0);
    expect(arena.top).toBe(1);
    expect(sizes.at(-1)).toBe(0);
  });

  test('a reservation larger than V8 allows falls back to a smaller one', () => {
    // V8 caps a resizable buffer at 4 GiB: 8 GiB is refused with a RangeError, 2 GiB is not.
    const buffer = reserve(4096, 2 ** 33);
    expect(buffer.byteLength).toBe(4096);
    expect(buffer.maxByteLength).toBe(2 ** 31);
    expect(() => reserve(2 ** 33, 2 ** 33)).toThrow('Invalid array buffer');
  });

  test('an arena refuses to pass 2^31 words', () => {
    const arena = new Arena(0, () => {});
    expect(() => arena.alloc(2 ** 31)).toThrow(RangeError);
  });

  test('a buffer holding a big entry reports it in memoryBytes and releases it on reset', () => {
    const buffer = new MemBuffer();
    buffer.set(new Uint8Array([1]), new Uint8Array(5 << 20));
    expect(buffer.memoryBytes).toBeGreaterThan(5 << 20);
    buffer.reset();
    expect(buffer.memoryBytes).toBe(0);
  });
});

describe('Arena first block', () => {
  it('starts in a plain 4 KiB buffer and keeps its words when it outgrows it', () => {
    let resizes = 0;
    const arena = new Arena(1, () => resizes++);
    const a = arena.alloc(100);
    for (let i = 0; i < 100; i++) arena.i32[a + i] = i * 7;
    expect(arena.capacityBytes).toBe(4096);
    expect((arena.i32.buffer as ArrayBuffer & { resizable: boolean }).resizable).toBe(false);
    const b = arena.alloc(5000);
    expect(arena.capacityBytes).toBeGreaterThanOrEqual((b + 5000) * 4);
    expect((arena.i32.buffer as ArrayBuffer & { resizable: boolean }).resizable).toBe(true);
    for (let i = 0; i < 100; i++) expect(arena.i32[a + i]).toBe(i * 7);
    expect(resizes).toBe(2);
  });
});
