/**
 * The memory layout of the adaptive radix tree (client-go's `art` package), shared by the tree
 * and its iterators. Everything lives in one word-addressed {@link Arena}; a node or leaf is the
 * address of its first word.
 *
 * A child reference is one signed 32-bit word: `0` none, `> 0` an inner node at that address,
 * `< 0` a leaf at the negated address.
 *
 * Inner node header (words): `[kind | count << 8, prefix length, in-place leaf ref, prefix bytes
 * (20)]`. The in-place leaf is the key that ends exactly at this node (a prefix of every other key
 * under it). A prefix longer than 20 bytes keeps only its first 20 bytes in the node; the rest is
 * read from any leaf below (they all share it), as in client-go.
 *
 * Leaf (words): `[value record, key length | flags << 16 | deleted << 31, key bytes...]`.
 */

export const NODE4 = 1;
export const NODE16 = 2;
export const NODE48 = 3;
export const NODE256 = 4;

/** `kind | count << 8`. */
export const META = 0;
export const PREFIX_LEN = 1;
export const INPLACE = 2;
/** First word of the in-node prefix bytes. */
export const PREFIX = 3;
/** Bytes of prefix kept in a node (client-go `maxInNodePrefixLen`). */
export const MAX_IN_NODE_PREFIX = 20;

/** node4 and node16: sorted key bytes from this word, then the children. */
export const KEYS = 8;
export const N4_CHILDREN = 9;
export const N4_WORDS = 13;
export const N16_CHILDREN = 12;
export const N16_WORDS = 28;
/** node48 and node256: a 256-bit presence bitmap (8 words) from this word. */
export const BITMAP = 8;
/** node48: 256 bytes mapping a key byte to its child slot + 1 (0 = absent). */
export const N48_INDEX = 16;
export const N48_CHILDREN = 80;
export const N48_WORDS = 128;
export const N256_CHILDREN = 16;
export const N256_WORDS = 272;

/** Leaf: the address of the current value record (0: none, a flags-only key). */
export const LEAF_VALUE = 0;
/** Leaf: `key length | flags << 16`, sign bit = deleted. */
export const LEAF_META = 1;
/** Leaf: first word of the key bytes. */
export const LEAF_KEY = 2;
/** The leaf-meta bit that marks a leaf whose key was rolled back out of the buffer. */
export const LEAF_DELETED = 1 << 31;

/** The longest key the tree stores (client-go `MaxKeyLen`): its length must fit 16 bits. */
export const MAX_KEY_LENGTH = 0xffff;

/** Position sentinels of an iterator frame: before every child, and the in-place leaf. */
export const POS_BEFORE = -2;
export const POS_INPLACE = -1;
/** Position sentinel: after every child (the start of a reverse walk). */
export const POS_AFTER = 0x7fffffff;
/** No child in the asked direction. */
export const NO_CHILD = -3;

/**
 * The position of the first present bit of `bitmap` (8 words from `at`) at or after `from`, or
 * {@link NO_CHILD}.
 */
export function nextBit(i32: Int32Array, at: number, from: number): number {
  if (from > 255) return NO_CHILD;
  let w = from >>> 5;
  let bits = i32[at + w]! & (-1 << (from & 31));
  for (;;) {
    if (bits !== 0) return (w << 5) + (31 - Math.clz32(bits & -bits));
    if (++w === 8) return NO_CHILD;
    bits = i32[at + w]!;
  }
}

/**
 * The position of the last present bit of `bitmap` (8 words from `at`) at or before `from`, or
 * {@link NO_CHILD}.
 */
export function prevBit(i32: Int32Array, at: number, from: number): number {
  if (from < 0) return NO_CHILD;
  let w = from >>> 5;
  const shift = 31 - (from & 31);
  let bits = (i32[at + w]! << shift) >>> shift;
  for (;;) {
    if (bits !== 0) return (w << 5) + 31 - Math.clz32(bits);
    if (--w < 0) return NO_CHILD;
    bits = i32[at + w]!;
  }
}

/**
 * The position of child `c` in node `n` (an index for node4/16, the byte for node48/256), or
 * {@link NO_CHILD}.
 */
export function childPosition(i32: Int32Array, u8: Uint8Array, n: number, c: number): number {
  const meta = i32[n + META]!;
  switch (meta & 0xff) {
    case NODE4:
    case NODE16: {
      const count = meta >>> 8;
      const k = (n + KEYS) * 4;
      for (let i = 0; i < count; i++) {
        const b = u8[k + i]!;
        if (b === c) return i;
        if (b > c) return NO_CHILD;
      }
      return NO_CHILD;
    }
    case NODE48:
      return u8[(n + N48_INDEX) * 4 + c] === 0 ? NO_CHILD : c;
    default:
      return i32[n + N256_CHILDREN + c] === 0 ? NO_CHILD : c;
  }
}

/** The child at a position {@link childPosition} or the next/prev helpers returned. */
export function childAt(i32: Int32Array, u8: Uint8Array, n: number, pos: number): number {
  switch (i32[n + META]! & 0xff) {
    case NODE4:
      return i32[n + N4_CHILDREN + pos]!;
    case NODE16:
      return i32[n + N16_CHILDREN + pos]!;
    case NODE48:
      return i32[n + N48_CHILDREN + u8[(n + N48_INDEX) * 4 + pos]! - 1]!;
    default:
      return i32[n + N256_CHILDREN + pos]!;
  }
}

/** The first child position after `pos` in key order, or {@link NO_CHILD}. */
export function nextChildPosition(i32: Int32Array, n: number, pos: number): number {
  const meta = i32[n + META]!;
  const kind = meta & 0xff;
  if (kind === NODE4 || kind === NODE16) {
    const p = pos < 0 ? 0 : pos + 1;
    return p < meta >>> 8 ? p : NO_CHILD;
  }
  return nextBit(i32, n + BITMAP, pos < 0 ? 0 : pos + 1);
}

/** The last child position before `pos` in key order, or {@link NO_CHILD}. */
export function prevChildPosition(i32: Int32Array, n: number, pos: number): number {
  const meta = i32[n + META]!;
  const kind = meta & 0xff;
  if (kind === NODE4 || kind === NODE16) {
    const count = meta >>> 8;
    const p = (pos > count ? count : pos) - 1;
    return p >= 0 ? p : NO_CHILD;
  }
  return prevBit(i32, n + BITMAP, (pos > 256 ? 256 : pos) - 1);
}

/**
 * For a key byte `c` that is not a child of `n`: the position just before where it would sort,
 * so that {@link nextChildPosition} yields the first child above `c`.
 */
export function positionBelow(i32: Int32Array, u8: Uint8Array, n: number, c: number): number {
  const meta = i32[n + META]!;
  const kind = meta & 0xff;
  if (kind === NODE4 || kind === NODE16) {
    const count = meta >>> 8;
    const k = (n + KEYS) * 4;
    let i = 0;
    while (i < count && u8[k + i]! < c) i++;
    return i - 1;
  }
  return c;
}

/**
 * For a key byte `c` that is not a child of `n`: the position just after where it would sort,
 * so that {@link prevChildPosition} yields the last child below `c`.
 */
export function positionAbove(i32: Int32Array, u8: Uint8Array, n: number, c: number): number {
  return positionBelow(i32, u8, n, c) + (isIndexed(i32, n) ? 1 : 0);
}

function isIndexed(i32: Int32Array, n: number): boolean {
  const kind = i32[n + META]! & 0xff;
  return kind === NODE4 || kind === NODE16;
}

/** The leftmost leaf below inner node `n` (its in-place leaf first). */
export function minimumLeaf(i32: Int32Array, u8: Uint8Array, n: number): number {
  let ref = n;
  while (ref > 0) {
    const inplace = i32[ref + INPLACE]!;
    if (inplace !== 0) return -inplace;
    ref = childAt(i32, u8, ref, nextChildPosition(i32, ref, POS_INPLACE));
  }
  return -ref;
}

/** Compares a leaf's key with `key` bytewise: negative, 0 or positive. */
export function compareLeafKey(i32: Int32Array, u8: Uint8Array, leaf: number, key: Uint8Array): number {
  const length = i32[leaf + LEAF_META]! & 0xffff;
  const at = (leaf + LEAF_KEY) * 4;
  const n = length < key.length ? length : key.length;
  for (let i = 0; i < n; i++) {
    const d = u8[at + i]! - key[i]!;
    if (d !== 0) return d;
  }
  return length - key.length;
}
