import { FlagsOp, KeyFlags, MemBuffer } from '../src/index.js';
import { ArtCursor } from '../src/membuffer/art-cursor.js';
import {
  childAt,
  KEYS,
  LEAF_KEY,
  MAX_IN_NODE_PREFIX,
  minimumLeaf,
  NO_CHILD,
  nextBit,
  nextChildPosition,
  POS_AFTER,
  POS_INPLACE,
  positionAbove,
  positionBelow,
  prevBit,
  prevChildPosition,
} from '../src/membuffer/art-layout.js';
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

describe('art_node_test.go (node operations through the tree)', () => {
  // client-go drives its node allocator and node methods directly. Ours are private to ArtTree,
  // so each case builds the node shape it needs through inserts and reads it back with
  // debugNode and the layout helpers the iterators use.

  /** The inner node at the end of `path` (child bytes from the root). */
  function nodeAt(tree: ArtTree, path: readonly number[]): number {
    let n = tree.root;
    for (const c of path) {
      const child = tree.debugNode(n).children.find((x) => x.byte === c);
      expect(child).toBeDefined();
      n = child!.ref;
      expect(n).toBeGreaterThan(0);
    }
    return n;
  }

  const kinds = [
    ['node4', 0],
    ['node16', 5],
    ['node48', 17],
    ['node256', 49],
  ] as const;

  test('TestAllocNode: nodes and leaves allocated in bulk keep their own contents as the arena grows', () => {
    const tree = new ArtTree(noop);
    // Per kind, `cnt` nodes: under [kind, i >> 8, i & 255] a prefix of i % 20 bytes, then
    // enough children for the kind (growing the nodes in the arena many times over).
    const cnt = 600;
    const childCount = [
      (i: number) => 2 + (i % 3),
      (i: number) => 5 + (i % 12),
      (i: number) => 17 + (i % 32),
    ];
    const childCount256 = (i: number): number => 49 + (i % 16);
    const counts = [...childCount, childCount256];
    const pad = (i: number): number[] =>
      Array.from({ length: i % MAX_IN_NODE_PREFIX }, (_, j) => (i + j) & 255);
    for (let kind = 0; kind < 4; kind++) {
      for (let i = 0; i < cnt; i++) {
        const head = [kind, i >> 8, i & 255, ...pad(i)];
        for (let c = 0; c < counts[kind]!(i); c++) tree.insert(b(...head, c));
      }
    }
    // Leaves keyed by a decimal string.
    const leaves = Array.from({ length: cnt }, (_, i) => tree.insert(str(`k${i}`)));
    const names = ['node4', 'node16', 'node48', 'node256'];
    for (let kind = 0; kind < 4; kind++) {
      for (let i = 0; i < cnt; i++) {
        const view = tree.debugNode(nodeAt(tree, [kind, i >> 8, i & 255]));
        expect(view.kind).toBe(names[kind]);
        expect(view.count).toBe(counts[kind]!(i));
        expect(view.prefixLength).toBe(i % MAX_IN_NODE_PREFIX);
        expect([...view.prefix]).toEqual(pad(i));
        expect(view.inplace).toBe(0);
      }
    }
    for (const [i, leaf] of leaves.entries()) {
      expect(new TextDecoder().decode(tree.key(leaf))).toBe(`k${i}`);
    }
    // A fresh node of each kind starts with no children, prefix or in-place leaf; a reused
    // (outgrown) node is cleared the same way: the second subtree below reuses the freed ones.
    for (const [name, fillers] of kinds) {
      const t = new ArtTree(noop);
      for (let round = 0; round < 2; round++) {
        for (let c = 0; c < Math.max(fillers, 2); c++) t.insert(b(round, 9, 9, c));
        const view = t.debugNode(nodeAt(t, [round]));
        expect(view.kind).toBe(name);
        expect(view.prefixLength).toBe(2);
        expect(view.inplace).toBe(0);
        expect(view.children.map((c) => c.byte)).toEqual(
          Array.from({ length: Math.max(fillers, 2) }, (_, c) => c),
        );
      }
    }
  });

  test.each(kinds)(
    'TestNodePrefix (%s): a prefix is matched up to its first mismatch, past 20 bytes from the leaves',
    (name, fillers) => {
      // Simple match: a node whose prefix is [1, 2, 3, 4, 5] (under root byte 9).
      const build = (prefix: number[]): ArtTree => {
        const tree = new ArtTree(noop);
        for (let c = 0; c < Math.max(fillers, 2); c++) tree.insert(b(9, ...prefix, 100 + c));
        return tree;
      };
      const prefix = [1, 2, 3, 4, 5];
      const matchAt = (tree: ArtTree, key: number[], path: number[]): number => {
        // Inserting a key splits the node exactly where the key stops matching its prefix: the
        // new parent keeps the matched bytes.
        tree.insert(b(...key));
        const parent = tree.debugNode(nodeAt(tree, path));
        return parent.prefixLength;
      };
      let tree = build(prefix);
      const view = tree.debugNode(nodeAt(tree, [9]));
      expect(view.kind).toBe(fillers === 0 ? 'node4' : name);
      expect(view.prefixLength).toBe(5);
      // Mismatch at index 3 ([1, 2, 3, 9]): the split node keeps [1, 2, 3].
      expect(matchAt(tree, [9, 1, 2, 3, 9, 9], [9])).toBe(3);
      // Mismatch at index 0.
      tree = build(prefix);
      expect(tree.debugNode(nodeAt(tree, [9])).prefixLength).toBe(5);
      tree.insert(b(9, 6, 1));
      const split0 = tree.debugNode(nodeAt(tree, [9]));
      expect(split0.prefixLength).toBe(0);
      expect(split0.children.map((c) => c.byte)).toEqual([1, 6]);
      // A key shorter than the prefix ends inside it: it becomes the in-place leaf of the split.
      tree = build(prefix);
      const shortLeaf = tree.insert(b(9, 1, 2, 3, 4));
      const split4 = tree.debugNode(nodeAt(tree, [9]));
      expect(split4.prefixLength).toBe(4);
      expect(-split4.inplace).toBe(shortLeaf);
      // A full match descends without splitting.
      tree = build(prefix);
      tree.insert(b(9, 1, 2, 3, 4, 5, 1));
      expect(tree.debugNode(nodeAt(tree, [9])).prefixLength).toBe(5);

      // Deep match: a prefix of 21 bytes, of which the node keeps 20; byte 21 is read from a leaf.
      // Once right under the root's child, once deeper (below a node that a sibling key splits off).
      for (const depthPad of [0, 10]) {
        const zeros = (n: number): number[] => new Array<number>(n).fill(0);
        const lead = depthPad > 0 ? [...new Array<number>(depthPad).fill(7), 0] : [];
        const deep = [...zeros(MAX_IN_NODE_PREFIX), 1];
        const matchKey = [9, ...lead, ...deep, 22, 33];
        const mismatchKey = [9, ...lead, ...zeros(MAX_IN_NODE_PREFIX), 11, 22];
        const path = depthPad > 0 ? [9, 0] : [9];
        tree = build([...lead, ...deep]);
        if (depthPad > 0) tree.insert(b(9, ...lead.slice(0, -1), 50));
        const prefixOf = (t: ArtTree): number => t.debugNode(nodeAt(t, path)).prefixLength;
        expect(prefixOf(tree)).toBe(MAX_IN_NODE_PREFIX + 1);
        tree.insert(b(...matchKey));
        expect(prefixOf(tree)).toBe(MAX_IN_NODE_PREFIX + 1); // matched all 21 bytes: no split
        tree.insert(b(...mismatchKey));
        // Mismatch at byte 21 of the prefix (past the in-node part): split after 20 of them.
        expect(prefixOf(tree)).toBe(MAX_IN_NODE_PREFIX);
        for (const k of [matchKey, mismatchKey]) expect([...tree.key(tree.search(b(...k)))]).toEqual(k);
      }
    },
  );

  test.each([
    ['node4', 4],
    ['node16', 16],
  ] as const)(
    'TestOrderedChild (%s): key bytes stay sorted whatever order children are added in',
    (name, cap) => {
      const keysOf = (tree: ArtTree, n: number): number[] => {
        const count = tree.debugNode(n).count;
        return [...tree.u8.subarray((n + KEYS) * 4, (n + KEYS) * 4 + count)];
      };
      for (const order of ['ascending', 'descending'] as const) {
        const tree = new ArtTree(noop);
        // cap 16 starts as a node16 after its 5th child; check from then on.
        for (let i = 0; i < cap; i++) {
          const c = order === 'ascending' ? i : 255 - i;
          tree.insert(b(c));
          const root = tree.debugNode(tree.root);
          expect(root.count).toBe(i + 1);
          if (cap === 16 && i < 4) continue;
          expect(root.kind).toBe(name);
          const expected = Array.from({ length: i + 1 }, (_, j) => (order === 'ascending' ? j : 255 - i + j));
          expect(keysOf(tree, tree.root)).toEqual(expected);
        }
      }
    },
  );

  test('TestNextPrevPresentIdx: the presence bitmap finds the next and previous child', () => {
    // The bitmap on its own: one child at 128.
    const bitmap = new Int32Array(8);
    expect(nextBit(bitmap, 0, 0)).toBe(NO_CHILD);
    expect(prevBit(bitmap, 0, 0)).toBe(NO_CHILD);
    const mid = 128;
    bitmap[mid >>> 5]! |= 1 << (mid & 31);
    for (let i = 0; i < 256; i++) {
      expect(nextBit(bitmap, 0, i)).toBe(i > mid ? NO_CHILD : mid);
      expect(prevBit(bitmap, 0, i)).toBe(i >= mid ? mid : NO_CHILD);
    }
    // In node48 and node256: children at 0..fillers-1 and 128; positions are key bytes.
    for (const [name, fillers] of [
      ['node48', 17],
      ['node256', 49],
    ] as const) {
      const tree = new ArtTree(noop);
      for (let c = 0; c < fillers; c++) tree.insert(b(c));
      tree.insert(b(mid));
      const n = tree.root;
      expect(tree.debugNode(n).kind).toBe(name);
      const i32 = tree.i32;
      for (let i = fillers; i < 256; i++) {
        // The next child after position i, the previous before it.
        expect(nextChildPosition(i32, n, i - 1)).toBe(i > mid ? NO_CHILD : mid);
        expect(prevChildPosition(i32, n, i + 1)).toBe(i >= mid ? mid : fillers - 1);
      }
      expect(nextChildPosition(i32, n, POS_INPLACE)).toBe(0);
      expect(prevChildPosition(i32, n, POS_AFTER)).toBe(mid);
    }
  });

  test.each(kinds)(
    'TestReplaceChild (%s): a leaf child replaced by the node that splits it keeps the count',
    (name, fillers) => {
      const tree = new ArtTree(noop);
      for (let c = 0; c < fillers; c++) tree.insert(b(200 + c));
      const old = tree.insert(b(1, 2, 3, 4, 5));
      const before = tree.debugNode(tree.root);
      expect(before.kind).toBe(name === 'node4' ? 'node4' : name);
      expect(before.children.find((c) => c.byte === 1)!.ref).toBe(-old);
      // A second key under byte 1: the leaf is replaced in place by a node4 holding both.
      const added = tree.insert(b(1, 2, 3, 4, 4));
      const after = tree.debugNode(tree.root);
      expect(after.kind).toBe(before.kind);
      expect(after.count).toBe(before.count);
      const replaced = after.children.find((c) => c.byte === 1)!.ref;
      expect(replaced).toBeGreaterThan(0);
      const n4 = tree.debugNode(replaced);
      expect(n4.children.map((c) => [c.byte, -c.ref])).toEqual([
        [4, added],
        [5, old],
      ]);
      // The other children are where they were.
      expect(after.children.filter((c) => c.byte !== 1)).toEqual(before.children.filter((c) => c.byte !== 1));
    },
  );

  test.each(kinds)('TestMinimumNode (%s): the leftmost leaf, the in-place leaf first', (name, fillers) => {
    const tree = new ArtTree(noop);
    for (let c = 0; c < fillers; c++) tree.insert(b(130 + c));
    const present: [number, number][] = [];
    for (let c = 0; c < fillers; c++) present.push([130 + c, tree.search(b(130 + c))]);
    for (const c of [255, 127, 63, 0]) {
      const leaf = tree.insert(b(c));
      present.push([c, leaf]);
      present.sort((x, y) => x[0] - y[0]);
      expect(tree.debugNode(tree.root).kind).toBe(name);
      expect(minimumLeaf(tree.i32, tree.u8, tree.root)).toBe(present[0]![1]);
    }
    // The empty key is the root's in-place leaf, and comes first.
    const inplace = tree.insert(new Uint8Array(0));
    expect(-tree.debugNode(tree.root).inplace).toBe(inplace);
    expect(minimumLeaf(tree.i32, tree.u8, tree.root)).toBe(inplace);
  });
});

describe('art_iterator_test.go (positions)', () => {
  test.each([
    ['node4', 0],
    ['node16', 5],
    ['node48', 17],
    ['node256', 49],
  ] as const)('TestSeekToIdx (%s): seeking a missing byte lands on the next child', (name, fillers) => {
    const tree = new ArtTree(noop);
    tree.insert(b(10));
    for (let c = 0; c < fillers; c++) tree.insert(b(200 + c));
    const n = tree.root;
    expect(tree.debugNode(n).kind).toBe(name);
    const i32 = tree.i32;
    const u8 = tree.u8;
    const indexed = name === 'node4' || name === 'node16';
    const seek = (c: number): number => nextChildPosition(i32, n, positionBelow(i32, u8, n, c));
    // Below the only low child: lands on it (index 0, or its byte for node48/256).
    expect(seek(1)).toBe(indexed ? 0 : 10);
    expect([...tree.key(-childAt(i32, u8, n, seek(1)))]).toEqual([10]);
    // Past it: the next child, or none.
    if (fillers === 0) expect(seek(11)).toBe(NO_CHILD);
    else expect([...tree.key(-childAt(i32, u8, n, seek(11)))]).toEqual([200]);
    expect(seek(255)).toBe(NO_CHILD);
    // And backwards: the last child below a missing byte.
    const seekBack = (c: number): number => prevChildPosition(i32, n, positionAbove(i32, u8, n, c));
    expect([...tree.key(-childAt(i32, u8, n, seekBack(11)))]).toEqual([10]);
    expect(seekBack(1)).toBe(NO_CHILD);
  });
});
