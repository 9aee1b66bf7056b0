import { FlagsOp, KeyFlags, MemBuffer } from '../src/index.js';
import { ArtCursor } from '../src/membuffer/art-cursor.js';
import { LEAF_KEY, MAX_IN_NODE_PREFIX } from '../src/membuffer/art-layout.js';
import { ArtTree } from '../src/membuffer/art-tree.js';
import { b, copy, drain, str } from './helpers.js';

// Ports of client-go internal/unionstore/art/art_test.go, art_iterator_test.go, art_node_test.go and
// art_snapshot_test.go, and rbt/rbt_test.go's cases that are not memdb_test.go's.

const noop = (): void => {};
const encodeInt = (n: number): Uint8Array => str(String(n).padStart(10, '0'));
const concat = (a: Uint8Array, ...rest: number[]): Uint8Array => Uint8Array.from([...a, ...rest]);

describe('art_test.go', () => {
  test('TestSimple', () => {
    const tree = new MemBuffer();
    for (let i = 0; i < 256; i++) {
      const key = b(i);
      expect(tree.get(key)).toBeUndefined();
      tree.set(key, key);
      expect(copy(tree.get(key))).toEqual(key);
    }
  });

  test('TestSubNode', () => {
    const tree = new MemBuffer();
    for (const k of ['a', 'aa', 'aaa']) tree.set(str(k), str(k));
    for (const k of ['a', 'aa', 'aaa']) expect(copy(tree.get(str(k)))).toEqual(str(k));
  });

  test('TestBenchKey', () => {
    const buffer = new MemBuffer();
    const cnt = 100000;
    for (let k = 0; k < cnt; k++) buffer.set(encodeInt(k), encodeInt(k));
    const wrong: number[] = [];
    const decoder = new TextDecoder();
    for (let k = 0; k < cnt; k++) {
      const v = buffer.get(encodeInt(k));
      if (v === undefined || Number(decoder.decode(v)) !== k) wrong.push(k);
    }
    expect(wrong).toEqual([]);
  });

  test('TestLeafWithCommonPrefix', () => {
    const tree = new MemBuffer();
    tree.set(b(1, 1, 1), b(1, 1, 1));
    tree.set(b(1, 1, 2), b(1, 1, 2));
    expect(copy(tree.get(b(1, 1, 1)))).toEqual(b(1, 1, 1));
    expect(copy(tree.get(b(1, 1, 2)))).toEqual(b(1, 1, 2));
  });

  test('TestUpdateInplace', () => {
    const tree = new MemBuffer();
    tree.set(b(0), new Uint8Array(4096));
    const mem = tree.memoryBytes;
    for (let i = 0; i < 256; i++) {
      tree.set(b(0), new Uint8Array(4096).fill(i));
      // Same length, no staging: overwritten in place, the value log does not grow.
      expect(tree.memoryBytes).toBe(mem);
    }
    expect(tree.get(b(0))![0]).toBe(255);
  });

  test('TestFlag', () => {
    const tree = new MemBuffer();
    tree.setWithFlags(b(0), b(0), FlagsOp.SetPresumeKeyNotExists);
    expect(KeyFlags.hasPresumeKeyNotExists(tree.getFlags(b(0))!)).toBe(true);
    tree.setWithFlags(b(1), b(1), FlagsOp.SetKeyLocked);
    expect(KeyFlags.hasLocked(tree.getFlags(b(1))!)).toBe(true);
    // Iterators see the flags too.
    const it = tree.iter();
    expect(copy(it.key())).toEqual(b(0));
    expect(copy(it.value())).toEqual(b(0));
    expect(KeyFlags.hasPresumeKeyNotExists(it.flags())).toBe(true);
    expect(KeyFlags.hasLocked(it.flags())).toBe(false);
    it.next();
    expect(copy(it.key())).toEqual(b(1));
    expect(KeyFlags.hasLocked(it.flags())).toBe(true);
    expect(KeyFlags.hasPresumeKeyNotExists(it.flags())).toBe(false);
    it.next();
    expect(it.valid).toBe(false);
  });

  test('TestLongPrefix1', () => {
    const key1 = b(
      109,
      68,
      66,
      115,
      0,
      0,
      0,
      0,
      0,
      250,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      104,
      68,
      66,
      58,
      49,
      0,
      0,
      0,
      0,
      251,
    );
    const key2 = b(
      109,
      68,
      66,
      115,
      0,
      0,
      0,
      0,
      0,
      250,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      105,
      68,
      66,
      58,
      49,
      0,
      0,
      0,
      0,
      251,
    );
    const buffer = new MemBuffer();
    buffer.set(key1, b(1));
    buffer.set(key2, b(2));
    expect(copy(buffer.get(key1))).toEqual(b(1));
    expect(copy(buffer.get(key2))).toEqual(b(2));
    buffer.set(key2, b(3));
    expect(copy(buffer.get(key2))).toEqual(b(3));
  });

  test('TestLongPrefix2', () => {
    const head = [0, 97, 0, 0, 0, 0, 0, 0, 0, 248, 0, 0, 0, 0, 0, 0, 0];
    const key1 = b(...head, 108, 127, 255, 255, 255, 255, 255, 255, 255);
    const key2 = b(...head, 108, 127, 255, 255, 255, 255, 255, 255, 254);
    const key3 = b(...head, 108, 127, 255, 255, 255, 255, 255, 255, 253);
    const key4 = b(...head, 76);
    const key5 = b(...head, 108, 127, 255, 255, 255, 255, 255, 255, 252);
    const tree = new MemBuffer();
    for (const k of [key1, key2, key3, key4, key5, key4]) tree.set(k, k);
    for (const k of [key1, key2, key3, key4, key5]) expect(copy(tree.get(k))).toEqual(k);
  });

  test('TestFlagOnlyKey', () => {
    const tree = new MemBuffer();
    tree.updateFlags(b(0), FlagsOp.SetAssertNone);
    const flags = tree.getFlags(b(0));
    expect(flags).toBeDefined();
    expect(KeyFlags.hasAssertionFlags(flags!)).toBe(false);
    expect(tree.get(b(0))).toBeUndefined();
  });

  test('TestSearchPrefixMisatch', () => {
    const tree = new MemBuffer();
    tree.set(b(1, 1, 1, 1, 1, 1), b(1, 1, 1, 1, 1, 1));
    tree.set(b(1, 1, 1, 1, 1, 2), b(1, 1, 1, 1, 1, 2));
    expect(tree.get(b(1, 1, 1, 3, 1, 1))).toBeUndefined();
  });

  test('TestSearchOptimisticMismatch', () => {
    const tree = new MemBuffer();
    const prefix = new Uint8Array(22);
    tree.set(concat(prefix, 1), prefix);
    tree.set(concat(prefix, 2), prefix);
    // Matches the 20 in-node prefix bytes, but not the whole key.
    expect(tree.get(concat(new Uint8Array(21), 1, 1))).toBeUndefined();
  });

  test('TestExpansion', () => {
    // Expand a leaf.
    const tree = new ArtTree(noop);
    const prefix = new Uint8Array(MAX_IN_NODE_PREFIX);
    tree.insert(concat(prefix, 1, 1, 1, 1));
    let root = tree.debugNode(tree.root);
    expect(root.children[0]!.ref).toBeLessThan(0); // a leaf
    tree.insert(concat(prefix, 1, 1, 1, 2));
    root = tree.debugNode(tree.root);
    const oldAddr = root.children[0]!.ref;
    expect(oldAddr).toBeGreaterThan(0);
    let n4 = tree.debugNode(oldAddr);
    expect(n4.kind).toBe('node4');
    expect(n4.count).toBe(2);
    expect(n4.prefixLength).toBe(22);
    expect(n4.children.map((c) => c.byte)).toEqual([1, 2]);
    expect(copy(tree.key(-n4.children[0]!.ref))).toEqual(concat(prefix, 1, 1, 1, 1));
    expect(copy(tree.key(-n4.children[1]!.ref))).toEqual(concat(prefix, 1, 1, 1, 2));

    // Expand a node: the new node4 becomes the parent of the old one.
    tree.insert(concat(prefix, 1, 255, 2));
    root = tree.debugNode(tree.root);
    const newAddr = root.children[0]!.ref;
    expect(newAddr).toBeGreaterThan(0);
    expect(newAddr).not.toBe(oldAddr);
    n4 = tree.debugNode(newAddr);
    expect(n4.kind).toBe('node4');
    expect(n4.count).toBe(2);
    expect(n4.prefixLength).toBe(20);
    expect(n4.children.map((c) => c.byte)).toEqual([1, 255]);
    expect(n4.children[0]!.ref).toBe(oldAddr);
    const old = tree.debugNode(oldAddr);
    expect(old.prefixLength).toBe(1);
    expect([...old.prefix]).toEqual([1]);
    expect(copy(tree.key(-n4.children[1]!.ref))).toEqual(concat(prefix, 1, 255, 2));
  });

  test('node growth: node4 -> node16 -> node48 -> node256 keeps every child, and outgrown nodes are reused', () => {
    const tree = new ArtTree(noop);
    const kinds: string[] = [];
    for (let i = 0; i < 256; i++) {
      tree.insert(b(7, i));
      kinds.push(tree.debugNode(tree.debugNode(tree.root).children[0]!.ref).kind);
    }
    expect(kinds[3]).toBe('node4');
    expect(kinds[4]).toBe('node16');
    expect(kinds[16]).toBe('node48');
    expect(kinds[48]).toBe('node256');
    const n256 = tree.debugNode(tree.debugNode(tree.root).children[0]!.ref);
    expect(n256.count).toBe(256);
    expect(n256.children.map((c) => [...tree.key(-c.ref)])).toEqual(
      Array.from({ length: 256 }, (_, i) => [7, i]),
    );
    for (let i = 0; i < 256; i++) expect(tree.search(b(7, i))).not.toBe(0);
    // The freed node4/16/48 are reused by the next nodes of their size: growing a second
    // subtree to a node48 takes memory for its 48 leaves (3 words each) and nothing else.
    const before = tree.usedBytes;
    for (let i = 0; i < 48; i++) tree.insert(b(8, i));
    expect(tree.debugNode(tree.debugNode(tree.root).children[1]!.ref).kind).toBe('node48');
    expect(tree.usedBytes - before).toBe(48 * 3 * 4);
    // The next node48 has no freed one left to take.
    for (let i = 0; i < 17; i++) tree.insert(b(9, i));
    expect(tree.usedBytes - before).toBeGreaterThan((48 + 17) * 3 * 4);
  });

  test('TestDiscardValues', () => {
    const tree = new MemBuffer();
    tree.set(b(1), b(2));
    const it = tree.iter(undefined, undefined, { includeFlagsOnly: true });
    const handle = it.handle;
    expect(copy(tree.valueByHandle(handle))).toEqual(b(2));
    expect(copy(tree.keyByHandle(handle))).toEqual(b(1));
    expect(tree.flagsByHandle(handle)).toBe(0);
    tree.discardValues();
    expect(tree.valueByHandle(handle)).toBeUndefined();
    expect(copy(tree.keyByHandle(handle))).toEqual(b(1));
    expect(() => tree.get(b(3))).toThrow('discarded');
    expect(() => tree.set(b(3), b(4))).toThrow('discarded');
    // An iterator opened before still walks keys and flags, not values.
    expect(copy(it.key())).toEqual(b(1));
    expect(() => it.value()).toThrow('discarded');
    expect(tree.getFlags(b(1))).toBe(0);
    tree.reset();
    tree.set(b(3), b(4));
    expect(copy(tree.get(b(3)))).toEqual(b(4));
  });
});

describe('art_iterator_test.go', () => {
  test.each([4, 16, 48, 256])('TestIterateNodeCapacity (%i)', (capacity) => {
    const tree = new MemBuffer();
    for (let i = 0; i < capacity; i++) tree.set(b(i), b(i));
    const check = (
      start: Uint8Array | undefined,
      end: Uint8Array | undefined,
      from: number,
      to: number,
    ): void => {
      const expected = Array.from({ length: to - from + 1 }, (_, i) => from + i);
      const it = tree.iter(start, end);
      const handles: number[] = [];
      const keys: number[] = [];
      for (; it.valid; it.next()) {
        expect(copy(it.value())).toEqual(copy(it.key()));
        keys.push(it.key()[0]!);
        handles.push(it.handle);
      }
      expect(keys).toEqual(expected);
      expect(() => it.next()).toThrow('finished');
      expect(handles.map((h) => tree.keyByHandle(h)[0])).toEqual(expected);
      expect(handles.map((h) => tree.valueByHandle(h)![0])).toEqual(expected);
      const rit = tree.iter(start, end, { reverse: true });
      const rkeys: number[] = [];
      for (; rit.valid; rit.next()) rkeys.push(rit.key()[0]!);
      expect(rkeys).toEqual(expected.slice().reverse());
      expect(() => rit.next()).toThrow('finished');
    };
    check(undefined, undefined, 0, capacity - 1);
    const mid = capacity / 2;
    check(b(mid), undefined, mid, capacity - 1); // the lower bound is inclusive
    check(undefined, b(mid), 0, mid - 1); // the upper bound is exclusive
  });

  test.each([4, 16, 48, 256])('TestIterSeekLeaf (%i)', (capacity) => {
    const tree = new ArtTree(noop);
    for (let i = 0; i < capacity; i++) tree.insert(b(i));
    for (let i = 0; i < capacity; i++) {
      const cursor = new ArtCursor(tree);
      cursor.seekAtLeast(b(i));
      expect(cursor.debugFrames().length).toBeGreaterThan(0);
      const leaf = cursor.next();
      expect([...tree.key(leaf)]).toEqual([i]);
    }
  });

  test('TestMultiLevelIterate', () => {
    const tree = new MemBuffer();
    // Every key is a prefix of the next: in-place leaves all the way down.
    const keys = Array.from({ length: 20 }, (_, i) => new Uint8Array(i + 1));
    for (const k of keys) tree.set(k, k);
    const forward = drain(tree.iter());
    expect(forward.map((e) => e.key.length)).toEqual(keys.map((k) => k.length));
    expect(forward.every((e) => e.value!.length === e.key.length)).toBe(true);
    const backward = drain(tree.iter(undefined, undefined, { reverse: true }));
    expect(backward.map((e) => e.key.length)).toEqual(keys.map((k) => k.length).reverse());
    const handles: number[] = [];
    for (const it = tree.iter(); it.valid; it.next()) handles.push(it.handle);
    expect(handles.map((h) => tree.keyByHandle(h).length)).toEqual(keys.map((k) => k.length));
  });

  test('TestSeekMeetLeaf', () => {
    let tree = new MemBuffer();
    tree.set(b(1), b(1));
    let it = tree.iter(b(1), b(1, 1));
    expect(copy(it.key())).toEqual(b(1));
    expect(copy(it.value())).toEqual(b(1));
    it.next();
    expect(it.valid).toBe(false);
    tree.set(b(2), b(2));
    it = tree.iter(b(1, 1), b(2, 2), { reverse: true });
    expect(copy(it.key())).toEqual(b(2));
    it.next();
    expect(it.valid).toBe(false);

    tree = new MemBuffer();
    tree.set(b(1, 1), b(1, 1));
    it = tree.iter(b(1, 0, 0), b(1, 2, 0));
    expect(copy(it.key())).toEqual(b(1, 1));
    it.next();
    expect(it.valid).toBe(false);
  });

  test.each([
    ['node4', 4],
    ['node16', 16],
    ['node48', 48],
    ['node256', 49],
  ])('TestSeekInExistNode (%s)', (kind, cnt) => {
    const tree = new ArtTree(noop);
    for (let i = 0; i < cnt; i++) tree.insert(b(2 * i));
    expect(tree.debugNode(tree.root).kind).toBe(kind);
    for (let i = 0; i < cnt - 1; i++) {
      const cursor = new ArtCursor(tree);
      cursor.seekAtLeast(b(2 * i + 1));
      // node4/16 are positioned by child index, node48/256 by key byte (client-go's idxes).
      expect(cursor.debugFrames()).toEqual([
        [tree.root, kind === 'node4' || kind === 'node16' ? i : 2 * i + 1],
      ]);
      expect([...tree.key(cursor.next())]).toEqual([2 * i + 2]);
      const back = new ArtCursor(tree);
      back.seekBelow(b(2 * i + 1));
      expect([...tree.key(back.prev())]).toEqual([2 * i]);
    }
  });

  test('TestIterateHandle', () => {
    const tree = new MemBuffer();
    const h = tree.staging();
    tree.set(b(1), b(2));
    const it = tree.iter(undefined, undefined, { includeFlagsOnly: true });
    const handle = it.handle;
    expect(copy(tree.keyByHandle(handle))).toEqual(b(1));
    expect(copy(tree.valueByHandle(handle))).toEqual(b(2));
    tree.cleanup(h);
    // The handle still names the key; the value is gone.
    expect(copy(tree.keyByHandle(handle))).toEqual(b(1));
    expect(tree.valueByHandle(handle)).toBeUndefined();
  });

  test('TestSeekPrefixMismatch', () => {
    const tree = new MemBuffer();
    const shortPrefix = new Uint8Array(10).fill(1);
    const longPrefix = new Uint8Array(30).fill(2);
    const keys = [
      concat(shortPrefix, 1),
      concat(shortPrefix, 2),
      concat(longPrefix, 3),
      concat(longPrefix, 4),
    ];
    for (const k of keys) tree.set(k, k);
    const it = tree.iter(concat(shortPrefix.subarray(0, 9), 0), concat(longPrefix.subarray(0, 29), 3));
    expect(drain(it).map((e) => e.key)).toEqual(keys);
  });

  test.each([
    ['node4', 0],
    ['node16', 5],
    ['node48', 17],
    ['node256', 49],
  ])('TestIterSeekNoResult (%s)', (_kind, child) => {
    const tree = new MemBuffer();
    for (let i = 0; i < child; i++) tree.set(b(1, i), b(1, i));
    tree.set(b(1, 100), b(1, 100));
    tree.set(b(1, 200), b(1, 200));
    expect(tree.iter(b(1, 100, 1), b(1, 200)).valid).toBe(false);
    expect(tree.iter(b(1, 100, 1), b(1, 200), { reverse: true }).valid).toBe(false);
  });

  test('seeks into prefixes longer than a node keeps (read from the leaves)', () => {
    const tree = new MemBuffer();
    const long = new Uint8Array(40).fill(5);
    const keys = [concat(long, 1), concat(long, 2), concat(long, 3)];
    for (const k of keys) tree.set(k, k);
    // Bounds that differ from the shared 40-byte prefix past the in-node 20 bytes.
    const below = long.slice();
    below[30] = 4;
    const above = long.slice();
    above[30] = 6;
    expect(drain(tree.iter(below, above)).map((e) => e.key)).toEqual(keys);
    expect(drain(tree.iter(above)).length).toBe(0);
    expect(drain(tree.iter(undefined, below)).length).toBe(0);
    expect(drain(tree.iter(below, above, { reverse: true })).map((e) => e.key)).toEqual(
      keys.slice().reverse(),
    );
    expect(drain(tree.iter(undefined, below, { reverse: true })).length).toBe(0);
    expect(drain(tree.iter(above, undefined, { reverse: true })).length).toBe(0);
    // A bound that ends inside the prefix.
    expect(drain(tree.iter(long.subarray(0, 25))).map((e) => e.key)).toEqual(keys);
    expect(drain(tree.iter(undefined, long.subarray(0, 25), { reverse: true })).length).toBe(0);
    // A key that splits the long prefix past 20 bytes.
    const split = long.slice();
    split[25] = 9;
    tree.set(split, split);
    expect(drain(tree.iter()).map((e) => e.key)).toEqual([...keys, split]);
    expect(copy(tree.get(keys[1]!))).toEqual(keys[1]);
  });
});

describe('art_snapshot_test.go', () => {
  // TestSnapshotIteratorPreventFreeNode: client-go keeps outgrown nodes out of reuse while a
  // snapshot iterator is open. Here nodes are reused at once and an iterator re-walks from its
  // key after any write; memdb_test.go's TestSnapshotReaderWithWrite covers both.
  // TestConcurrentSnapshotIterNoRace: no threads in JS.
  test.each([4, 16, 48])('an open snapshot iterator survives the growth and reuse of nodes (%i)', (num) => {
    const tree = new MemBuffer();
    for (let i = 0; i < num; i++) tree.set(b(0, i), b(0, i));
    tree.staging();
    const it = tree.getSnapshot().iter();
    tree.set(b(0, num), b(0, num));
    for (let i = 0; i < 64; i++) tree.set(b(2, i), b(2, i));
    expect(drain(it).map((e) => e.key[1])).toEqual(Array.from({ length: num }, (_, i) => i));
  });
});

describe('rbt_test.go', () => {
  test('TestEmptyDB', () => {
    const db = new MemBuffer();
    expect(db.get(b(0))).toBeUndefined();
    expect(db.iter().valid).toBe(false);
    expect(db.iter(undefined, undefined, { reverse: true }).valid).toBe(false);
    expect(db.iter(b(0xff)).valid).toBe(false);
    expect(db.getSnapshot().iter().valid).toBe(false);
  });
});

test('leaf keys are laid out after two header words', () => {
  const tree = new ArtTree(noop);
  const leaf = tree.insert(str('abc'));
  expect(tree.created).toBe(true);
  expect(new TextDecoder().decode(tree.u8.subarray((leaf + LEAF_KEY) * 4, (leaf + LEAF_KEY) * 4 + 3))).toBe(
    'abc',
  );
  expect(tree.insert(str('abc'))).toBe(leaf);
  expect(tree.created).toBe(false);
});

describe('art_node_test.go', () => {
  // client-go tests its longestCommonPrefix helper directly; here the common prefix shows in the
  // node that two keys split at: under the root's child for their first byte, a node4 whose
  // prefix holds the shared bytes after that first one, indexed by the first byte that differs.
  /** The node that `k1` and `k2` split at, after inserting both into a fresh tree. */
  function splitNode(k1: Uint8Array, k2: Uint8Array) {
    const tree = new ArtTree(noop);
    tree.insert(k1);
    tree.insert(k2);
    return { tree, root: tree.debugNode(tree.root) };
  }

  test('TestLCP: two keys sharing 5 bytes split after them', () => {
    const k1 = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const k2 = Uint8Array.from([1, 2, 3, 4, 5, 7, 7, 8]);
    const { tree, root } = splitNode(k1, k2);
    expect(root.children.map((c) => c.byte)).toEqual([1]);
    const n = tree.debugNode(root.children[0]!.ref);
    expect(n.kind).toBe('node4');
    expect(n.prefixLength).toBe(4);
    expect([...n.prefix]).toEqual([2, 3, 4, 5]);
    expect(n.children.map((c) => c.byte)).toEqual([6, 7]);
    expect(copy(tree.key(-n.children[0]!.ref))).toEqual(k1);
    expect(copy(tree.key(-n.children[1]!.ref))).toEqual(k2);
  });

  test('TestKey2Chunk: a key differing at byte i shares exactly i bytes', () => {
    const key = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
    for (let i = 0; i < key.length; i++) {
      const diff = Uint8Array.from(key);
      diff[i] = 255;
      const { tree, root } = splitNode(key, diff);
      if (i === 0) {
        // Nothing in common: both hang off the root as leaves.
        expect(root.children.map((c) => c.byte)).toEqual([1, 255]);
        expect(root.children.every((c) => c.ref < 0)).toBe(true);
        continue;
      }
      const n = tree.debugNode(root.children[0]!.ref);
      expect(n.prefixLength).toBe(i - 1);
      expect([...n.prefix]).toEqual([...key.subarray(1, i)]);
      expect(n.children.map((c) => c.byte)).toEqual([key[i], 255]);
    }
  });
});
