import { Arena } from './arena.js';
import {
  BITMAP,
  childAt,
  childPosition,
  INPLACE,
  KEYS,
  LEAF_DELETED,
  LEAF_KEY,
  LEAF_META,
  LEAF_VALUE,
  MAX_IN_NODE_PREFIX,
  META,
  minimumLeaf,
  N4_CHILDREN,
  N4_WORDS,
  N16_CHILDREN,
  N16_WORDS,
  N48_CHILDREN,
  N48_INDEX,
  N48_WORDS,
  N256_CHILDREN,
  N256_WORDS,
  NO_CHILD,
  NODE4,
  NODE16,
  NODE48,
  PREFIX,
  PREFIX_LEN,
} from './art-layout.js';

/** What {@link ArtTree.debugNode} reports about an inner node (tests only). */
export interface ArtNodeView {
  readonly kind: 'node4' | 'node16' | 'node48' | 'node256';
  readonly count: number;
  readonly prefixLength: number;
  /** The in-node prefix bytes (at most 20). */
  readonly prefix: Uint8Array;
  /** The children in key order: key byte and child reference. */
  readonly children: readonly { readonly byte: number; readonly ref: number }[];
  readonly inplace: number;
}

/**
 * The keys of the buffer: an adaptive radix tree in one {@link Arena} (client-go's `art.ART`
 * without the values, which live in the value log). Leaves are never removed: a key rolled back
 * by a staging cleanup stays as a leaf marked deleted, so a leaf's address is a stable handle
 * until {@link reset}. Inner nodes grow node4 → node16 → node48 → node256 and the outgrown one is
 * reused for the next node of its size.
 */
export class ArtTree {
  readonly #arena: Arena;
  #root = 0;
  // Free lists of outgrown nodes, linked through their prefix-length word.
  #free4 = 0;
  #free16 = 0;
  #free48 = 0;
  /** The leaf of the last search or insert: writes and reads of one key in a row skip the walk. */
  #lastLeaf = 0;
  #hits = 0;
  #misses = 0;
  #created = false;

  /** @param onResize - called after the committed size changed */
  constructor(onResize: () => void) {
    // Word 0 is reserved so that address 0 means "none".
    this.#arena = new Arena(1, onResize);
  }

  /** The words view of the tree's arena (re-read after any insert). */
  get i32(): Int32Array {
    return this.#arena.i32;
  }

  /** The bytes view of the tree's arena (re-read after any insert). */
  get u8(): Uint8Array {
    return this.#arena.u8;
  }

  /** The root node (0 while empty). */
  get root(): number {
    return this.#root;
  }

  /** Committed bytes. */
  get capacityBytes(): number {
    return this.#arena.capacityBytes;
  }

  /** Bytes handed out to nodes and leaves so far. */
  get usedBytes(): number {
    return this.#arena.top * 4;
  }

  /** Searches that the last-leaf cache answered. */
  get cacheHits(): number {
    return this.#hits;
  }

  /** Searches that walked the tree. */
  get cacheMisses(): number {
    return this.#misses;
  }

  /** Whether the last {@link insert} created its leaf. */
  get created(): boolean {
    return this.#created;
  }

  /** Drops every node and leaf. */
  reset(): void {
    this.#arena.reset();
    this.#root = 0;
    this.#free4 = 0;
    this.#free16 = 0;
    this.#free48 = 0;
    this.#lastLeaf = 0;
  }

  // ---- leaves ----

  /** The leaf's key length. */
  keyLength(leaf: number): number {
    return this.#arena.i32[leaf + LEAF_META]! & 0xffff;
  }

  /** The leaf's key as a view into the arena (stable until {@link reset}, but re-read after inserts). */
  key(leaf: number): Uint8Array {
    const at = (leaf + LEAF_KEY) * 4;
    return this.#arena.u8.subarray(at, at + (this.#arena.i32[leaf + LEAF_META]! & 0xffff));
  }

  /** The leaf's flags. */
  flags(leaf: number): number {
    return (this.#arena.i32[leaf + LEAF_META]! >>> 16) & 0x7fff;
  }

  /** Whether the leaf's key was rolled back out of the buffer. */
  isDeleted(leaf: number): boolean {
    return this.#arena.i32[leaf + LEAF_META]! < 0;
  }

  /** Sets the leaf's flags (and clears its deleted mark). */
  setFlags(leaf: number, flags: number): void {
    const i32 = this.#arena.i32;
    i32[leaf + LEAF_META] = (i32[leaf + LEAF_META]! & 0xffff) | (flags << 16);
  }

  /** Marks the leaf deleted (flags cleared). */
  markDeleted(leaf: number): void {
    const i32 = this.#arena.i32;
    i32[leaf + LEAF_META] = (i32[leaf + LEAF_META]! & 0xffff) | LEAF_DELETED;
  }

  /** The leaf's current value record (0: none). */
  valueAddr(leaf: number): number {
    return this.#arena.i32[leaf + LEAF_VALUE]!;
  }

  /** Points the leaf at a value record. */
  setValueAddr(leaf: number, addr: number): void {
    this.#arena.i32[leaf + LEAF_VALUE] = addr;
  }

  #leafKeyEquals(leaf: number, key: Uint8Array): boolean {
    const i32 = this.#arena.i32;
    const length = key.length;
    if ((i32[leaf + LEAF_META]! & 0xffff) !== length) return false;
    const u8 = this.#arena.u8;
    const at = (leaf + LEAF_KEY) * 4;
    for (let i = 0; i < length; i++) if (u8[at + i] !== key[i]) return false;
    return true;
  }

  // ---- search and insert ----

  /**
   * The leaf of `key`, or 0 when the tree has none (a deleted leaf is returned: the caller
   * decides what it means).
   */
  search(key: Uint8Array): number {
    const last = this.#lastLeaf;
    if (last !== 0 && this.#leafKeyEquals(last, key)) {
      this.#hits++;
      return last;
    }
    this.#misses++;
    const leaf = this.#find(key);
    if (leaf !== 0) this.#lastLeaf = leaf;
    return leaf;
  }

  #find(key: Uint8Array): number {
    let ref = this.#root;
    if (ref === 0) return 0;
    const i32 = this.#arena.i32;
    const u8 = this.#arena.u8;
    const keyLength = key.length;
    let depth = 0;
    while (ref > 0) {
      const n = ref;
      const prefixLength = i32[n + PREFIX_LEN]!;
      if (prefixLength !== 0) {
        if (depth + prefixLength > keyLength) return 0;
        // Past 20 bytes the prefix is matched optimistically; the leaf comparison settles it.
        const check = prefixLength < MAX_IN_NODE_PREFIX ? prefixLength : MAX_IN_NODE_PREFIX;
        const p = (n + PREFIX) * 4;
        for (let i = 0; i < check; i++) if (u8[p + i] !== key[depth + i]) return 0;
        depth += prefixLength;
      }
      if (depth === keyLength) {
        ref = i32[n + INPLACE]!;
        break;
      }
      ref = findChild(i32, u8, n, key[depth]!);
      depth++;
    }
    if (ref >= 0) return 0;
    return this.#leafKeyEquals(-ref, key) ? -ref : 0;
  }

  /**
   * The leaf of `key`, created (with no value and no flags) when the tree has none;
   * {@link created} tells which.
   */
  insert(key: Uint8Array): number {
    const last = this.#lastLeaf;
    if (last !== 0 && this.#leafKeyEquals(last, key)) {
      this.#hits++;
      this.#created = false;
      return last;
    }
    this.#misses++;
    const leaf = this.#insert(key);
    this.#lastLeaf = leaf;
    return leaf;
  }

  #insert(key: Uint8Array): number {
    this.#created = false;
    if (this.#root === 0) this.#root = this.#allocNode(NODE4);
    const keyLength = key.length;
    let prev = 0;
    let prevByte = 0;
    let cur = this.#root;
    let depth = 0;
    for (;;) {
      const i32 = this.#arena.i32;
      const prefixLength = i32[cur + PREFIX_LEN]!;
      if (prefixLength !== 0) {
        const mismatch = this.#prefixMismatch(cur, prefixLength, key, depth);
        if (mismatch < prefixLength) {
          return this.#splitPrefix(key, depth, mismatch, prev, prevByte, cur, prefixLength);
        }
        depth += prefixLength;
      }
      if (depth === keyLength) {
        const inplace = i32[cur + INPLACE]!;
        if (inplace !== 0) return -inplace;
        const leaf = this.#newLeaf(key);
        this.#arena.i32[cur + INPLACE] = -leaf;
        return leaf;
      }
      const c = key[depth]!;
      const next = findChild(i32, this.#arena.u8, cur, c);
      if (next === 0) {
        const leaf = this.#newLeaf(key);
        const grown = this.#addChild(cur, c, -leaf);
        if (grown !== cur) this.#replaceInParent(prev, prevByte, grown);
        return leaf;
      }
      if (next < 0) {
        if (this.#leafKeyEquals(-next, key)) return -next;
        return this.#splitLeaf(key, depth + 1, cur, c, -next);
      }
      prev = cur;
      prevByte = c;
      cur = next;
      depth++;
    }
  }

  /** How many of the node's prefix bytes `key` matches from `depth` (the whole prefix, not just the in-node part). */
  #prefixMismatch(n: number, prefixLength: number, key: Uint8Array, depth: number): number {
    const u8 = this.#arena.u8;
    const available = key.length - depth;
    const inNode = Math.min(prefixLength, MAX_IN_NODE_PREFIX, available);
    const p = (n + PREFIX) * 4;
    let i = 0;
    while (i < inNode && u8[p + i] === key[depth + i]) i++;
    if (i < inNode || prefixLength <= MAX_IN_NODE_PREFIX || i === available) return i;
    // The rest of the prefix is only in the leaves.
    const leafKeyAt = (minimumLeaf(this.#arena.i32, u8, n) + LEAF_KEY) * 4 + depth;
    const limit = Math.min(prefixLength, available);
    while (i < limit && u8[leafKeyAt + i] === key[depth + i]) i++;
    return i;
  }

  /** Splits node `cur`'s prefix at `mismatch`: a new node4 takes the common part, `cur` and the new leaf hang under it. */
  #splitPrefix(
    key: Uint8Array,
    depth: number,
    mismatch: number,
    prev: number,
    prevByte: number,
    cur: number,
    prefixLength: number,
  ): number {
    const parent = this.#allocNode(NODE4);
    const leaf = this.#newLeaf(key);
    const i32 = this.#arena.i32;
    const u8 = this.#arena.u8;
    this.#setPrefix(parent, key, depth, mismatch);
    // The old node keeps the prefix bytes after the one that now indexes it in the new parent.
    const rest = prefixLength - mismatch - 1;
    const curPrefix = (cur + PREFIX) * 4;
    let nodeByte: number;
    if (prefixLength <= MAX_IN_NODE_PREFIX) {
      nodeByte = u8[curPrefix + mismatch]!;
      u8.copyWithin(curPrefix, curPrefix + mismatch + 1, curPrefix + prefixLength);
    } else {
      const leafKeyAt = (minimumLeaf(i32, u8, cur) + LEAF_KEY) * 4 + depth;
      nodeByte = u8[leafKeyAt + mismatch]!;
      const keep = Math.min(rest, MAX_IN_NODE_PREFIX);
      u8.copyWithin(curPrefix, leafKeyAt + mismatch + 1, leafKeyAt + mismatch + 1 + keep);
    }
    i32[cur + PREFIX_LEN] = rest;
    this.#addChild(parent, nodeByte, cur);
    const at = depth + mismatch;
    if (at === key.length) i32[parent + INPLACE] = -leaf;
    else this.#addChild(parent, key[at]!, -leaf);
    this.#replaceInParent(prev, prevByte, parent);
    return leaf;
  }

  /** Replaces leaf `old` (child `parentByte` of `parent`) with a node4 holding it and the new key's leaf. */
  #splitLeaf(key: Uint8Array, depth: number, parent: number, parentByte: number, old: number): number {
    const node = this.#allocNode(NODE4);
    const leaf = this.#newLeaf(key);
    const i32 = this.#arena.i32;
    const u8 = this.#arena.u8;
    const oldLength = i32[old + LEAF_META]! & 0xffff;
    const oldAt = (old + LEAF_KEY) * 4;
    const limit = Math.min(oldLength, key.length);
    let common = depth;
    while (common < limit && u8[oldAt + common] === key[common]) common++;
    this.#setPrefix(node, key, depth, common - depth);
    if (oldLength === common) i32[node + INPLACE] = -old;
    else this.#addChild(node, u8[oldAt + common]!, -old);
    if (key.length === common) this.#arena.i32[node + INPLACE] = -leaf;
    else this.#addChild(node, key[common]!, -leaf);
    this.#replaceChild(parent, parentByte, node);
    return leaf;
  }

  #setPrefix(n: number, key: Uint8Array, from: number, length: number): void {
    this.#arena.i32[n + PREFIX_LEN] = length;
    const keep = Math.min(length, MAX_IN_NODE_PREFIX);
    this.#arena.u8.set(key.subarray(from, from + keep), (n + PREFIX) * 4);
  }

  #replaceInParent(prev: number, prevByte: number, node: number): void {
    if (prev === 0) this.#root = node;
    else this.#replaceChild(prev, prevByte, node);
  }

  #newLeaf(key: Uint8Array): number {
    const leaf = this.#arena.alloc(LEAF_KEY + ((key.length + 3) >>> 2));
    const i32 = this.#arena.i32;
    i32[leaf + LEAF_VALUE] = 0;
    i32[leaf + LEAF_META] = key.length;
    this.#arena.u8.set(key, (leaf + LEAF_KEY) * 4);
    this.#created = true;
    return leaf;
  }

  // ---- inner nodes ----

  #allocNode(kind: number): number {
    let n: number;
    const free =
      kind === NODE4 ? this.#free4 : kind === NODE16 ? this.#free16 : kind === NODE48 ? this.#free48 : 0;
    if (free !== 0) {
      n = free;
      const next = this.#arena.i32[n + PREFIX_LEN]!;
      if (kind === NODE4) this.#free4 = next;
      else if (kind === NODE16) this.#free16 = next;
      else this.#free48 = next;
      if (kind === NODE48) this.#arena.i32.fill(0, n + BITMAP, n + N48_CHILDREN);
    } else {
      n = this.#arena.alloc(
        kind === NODE4 ? N4_WORDS : kind === NODE16 ? N16_WORDS : kind === NODE48 ? N48_WORDS : N256_WORDS,
      );
    }
    const i32 = this.#arena.i32;
    i32[n + META] = kind;
    i32[n + PREFIX_LEN] = 0;
    i32[n + INPLACE] = 0;
    return n;
  }

  #freeNode(n: number, kind: number): void {
    const i32 = this.#arena.i32;
    if (kind === NODE4) {
      i32[n + PREFIX_LEN] = this.#free4;
      this.#free4 = n;
    } else if (kind === NODE16) {
      i32[n + PREFIX_LEN] = this.#free16;
      this.#free16 = n;
    } else {
      i32[n + PREFIX_LEN] = this.#free48;
      this.#free48 = n;
    }
  }

  /** Adds child `ref` under byte `c` (absent in `n`); returns the node that now holds the children (`n`, or the larger node it grew into). */
  #addChild(n: number, c: number, ref: number): number {
    const i32 = this.#arena.i32;
    const meta = i32[n + META]!;
    const kind = meta & 0xff;
    const count = meta >>> 8;
    if (kind === NODE4 || kind === NODE16) {
      const cap = kind === NODE4 ? 4 : 16;
      if (count === cap) return this.#addChild(this.#grow(n, kind, count), c, ref);
      const u8 = this.#arena.u8;
      const keys = (n + KEYS) * 4;
      const children = n + (kind === NODE4 ? N4_CHILDREN : N16_CHILDREN);
      let i = count;
      while (i > 0 && u8[keys + i - 1]! > c) {
        u8[keys + i] = u8[keys + i - 1]!;
        i32[children + i] = i32[children + i - 1]!;
        i--;
      }
      u8[keys + i] = c;
      i32[children + i] = ref;
    } else if (kind === NODE48) {
      if (count === 48) return this.#addChild(this.#grow(n, kind, count), c, ref);
      // Slots fill in order: a node never loses a child.
      this.#arena.u8[(n + N48_INDEX) * 4 + c] = count + 1;
      i32[n + N48_CHILDREN + count] = ref;
      i32[n + BITMAP + (c >>> 5)]! |= 1 << (c & 31);
    } else {
      i32[n + N256_CHILDREN + c] = ref;
      i32[n + BITMAP + (c >>> 5)]! |= 1 << (c & 31);
    }
    i32[n + META] = kind | ((count + 1) << 8);
    return n;
  }

  /** Moves a full node into the next larger kind and frees it. */
  #grow(n: number, kind: number, count: number): number {
    const bigger = this.#allocNode(kind + 1);
    const i32 = this.#arena.i32;
    const u8 = this.#arena.u8;
    // Header: prefix length, in-place leaf, prefix bytes.
    i32.copyWithin(bigger + PREFIX_LEN, n + PREFIX_LEN, n + KEYS);
    i32[bigger + META] = (kind + 1) | (count << 8);
    if (kind === NODE4) {
      i32[bigger + KEYS] = i32[n + KEYS]!;
      i32.copyWithin(bigger + N16_CHILDREN, n + N4_CHILDREN, n + N4_CHILDREN + 4);
    } else if (kind === NODE16) {
      const keys = (n + KEYS) * 4;
      const index = (bigger + N48_INDEX) * 4;
      for (let i = 0; i < count; i++) {
        const c = u8[keys + i]!;
        u8[index + c] = i + 1;
        i32[bigger + BITMAP + (c >>> 5)]! |= 1 << (c & 31);
        i32[bigger + N48_CHILDREN + i] = i32[n + N16_CHILDREN + i]!;
      }
    } else {
      const index = (n + N48_INDEX) * 4;
      for (let c = 0; c < 256; c++) {
        const slot = u8[index + c]!;
        if (slot !== 0) i32[bigger + N256_CHILDREN + c] = i32[n + N48_CHILDREN + slot - 1]!;
      }
      i32.copyWithin(bigger + BITMAP, n + BITMAP, n + BITMAP + 8);
    }
    this.#freeNode(n, kind);
    return bigger;
  }

  #replaceChild(n: number, c: number, ref: number): void {
    const i32 = this.#arena.i32;
    const u8 = this.#arena.u8;
    const pos = childPosition(i32, u8, n, c);
    switch (i32[n + META]! & 0xff) {
      case NODE4:
        i32[n + N4_CHILDREN + pos] = ref;
        break;
      case NODE16:
        i32[n + N16_CHILDREN + pos] = ref;
        break;
      case NODE48:
        i32[n + N48_CHILDREN + u8[(n + N48_INDEX) * 4 + c]! - 1] = ref;
        break;
      default:
        i32[n + N256_CHILDREN + c] = ref;
    }
  }

  /** Describes an inner node (tests only). */
  debugNode(n: number): ArtNodeView {
    const i32 = this.#arena.i32;
    const u8 = this.#arena.u8;
    const meta = i32[n + META]!;
    const kinds = ['node4', 'node16', 'node48', 'node256'] as const;
    const children: { byte: number; ref: number }[] = [];
    for (let c = 0; c < 256; c++) {
      const pos = childPosition(i32, u8, n, c);
      if (pos !== NO_CHILD) children.push({ byte: c, ref: childAt(i32, u8, n, pos) });
    }
    const prefixLength = i32[n + PREFIX_LEN]!;
    const p = (n + PREFIX) * 4;
    return {
      kind: kinds[(meta & 0xff) - 1]!,
      count: meta >>> 8,
      prefixLength,
      prefix: u8.slice(p, p + Math.min(prefixLength, MAX_IN_NODE_PREFIX)),
      children,
      inplace: i32[n + INPLACE]!,
    };
  }
}

/** The child of `n` under byte `c`, or 0. */
function findChild(i32: Int32Array, u8: Uint8Array, n: number, c: number): number {
  const meta = i32[n + META]!;
  switch (meta & 0xff) {
    case NODE4: {
      const k = (n + KEYS) * 4;
      const count = meta >>> 8;
      for (let i = 0; i < count; i++) if (u8[k + i] === c) return i32[n + N4_CHILDREN + i]!;
      return 0;
    }
    case NODE16: {
      const k = (n + KEYS) * 4;
      const count = meta >>> 8;
      for (let i = 0; i < count; i++) {
        const b = u8[k + i]!;
        if (b === c) return i32[n + N16_CHILDREN + i]!;
        if (b > c) return 0;
      }
      return 0;
    }
    case NODE48: {
      const slot = u8[(n + N48_INDEX) * 4 + c]!;
      return slot === 0 ? 0 : i32[n + N48_CHILDREN + slot - 1]!;
    }
    default:
      return i32[n + N256_CHILDREN + c]!;
  }
}
