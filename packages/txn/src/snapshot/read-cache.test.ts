import { ReadCache } from './read-cache.js';

const v = (n: number): Uint8Array => new Uint8Array(n);

describe('ReadCache', () => {
  test('keeps values within the budget, least recently used out first', () => {
    // Each entry: a 1-char key, a 4-byte value, 5 bytes overhead = 10 bytes; room for 3.
    const c = new ReadCache(30, 5);
    c.set('a', v(4));
    c.set('b', v(4));
    c.set('c', v(4));
    expect([c.size, c.bytes]).toEqual([3, 30]);
    expect(c.get('a')).toEqual(v(4)); // a is now the most recent: b goes first
    c.set('d', v(4));
    expect(c.get('b')).toBeUndefined();
    expect([c.get('a'), c.get('c'), c.get('d')].every((x) => x !== undefined)).toBe(true);
    expect(c.bytes).toBe(30);
  });

  test('replacing a value re-counts it; an entry over the budget is not kept', () => {
    const c = new ReadCache(30, 5);
    c.set('a', v(4));
    c.set('a', v(10));
    expect([c.size, c.bytes]).toEqual([1, 16]);
    c.set('b', v(100));
    expect(c.get('b')).toBeUndefined();
    expect(c.size).toBe(1);
    // A large entry evicts as many as it needs.
    c.set('c', v(4));
    c.set('d', v(20));
    expect(c.get('a')).toBeUndefined();
    expect(c.get('c')).toBeUndefined();
    expect(c.bytes).toBe(26);
  });

  test('delete and clear', () => {
    const c = new ReadCache(100, 0);
    c.set('a', v(1));
    c.set('b', v(2));
    c.delete('a');
    c.delete('zz');
    expect([c.size, c.bytes]).toEqual([1, 3]);
    c.clear();
    expect([c.size, c.bytes]).toEqual([0, 0]);
  });
});

describe('ReadCache commit ts', () => {
  test('keeps the commit ts with its entry and drops it with the entry', () => {
    const c = new ReadCache(20, 5);
    c.set('a', v(4), 7n);
    c.set('b', v(4));
    expect([c.commitTsOf('a'), c.commitTsOf('b'), c.commitTsOf('zz')]).toEqual([7n, 0n, 0n]);
    // A value stored again without a commit ts forgets the old one.
    c.set('a', v(4));
    expect(c.commitTsOf('a')).toBe(0n);
    c.set('a', v(4), 8n);
    // Eviction (b, then a, the least recently used) takes the commit ts along.
    c.set('c', v(9), 9n);
    expect(c.get('a')).toBeUndefined();
    expect(c.commitTsOf('a')).toBe(0n);
    expect(c.commitTsOf('c')).toBe(9n);
    c.delete('c');
    expect(c.commitTsOf('c')).toBe(0n);
    c.set('d', v(1), 3n);
    c.clear();
    expect(c.commitTsOf('d')).toBe(0n);
  });
});
