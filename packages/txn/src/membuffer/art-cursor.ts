import {
  childAt,
  childPosition,
  compareLeafKey,
  INPLACE,
  LEAF_KEY,
  MAX_IN_NODE_PREFIX,
  minimumLeaf,
  NO_CHILD,
  nextChildPosition,
  POS_AFTER,
  POS_BEFORE,
  POS_INPLACE,
  PREFIX,
  PREFIX_LEN,
  positionAbove,
  positionBelow,
  prevChildPosition,
} from './art-layout.js';
import type { ArtTree } from './art-tree.js';

/**
 * An in-order walk over the leaves of an {@link ArtTree} (client-go's `art` base iterator): a
 * stack of `(node, position)` frames from the root down to the current leaf. A cursor walks one
 * way: {@link seekAtLeast}/{@link seekFirst} then {@link next}, or {@link seekBelow}/
 * {@link seekLast} then {@link prev}. It is only valid while the tree is not written.
 */
export class ArtCursor {
  readonly #tree: ArtTree;
  #nodes: number[] = [];
  #positions: number[] = [];
  #top = -1;

  constructor(tree: ArtTree) {
    this.#tree = tree;
  }

  #push(node: number, position: number): void {
    const t = ++this.#top;
    this.#nodes[t] = node;
    this.#positions[t] = position;
  }

  /** Positions before the smallest leaf. */
  seekFirst(): void {
    this.#top = -1;
    if (this.#tree.root !== 0) this.#push(this.#tree.root, POS_BEFORE);
  }

  /** Positions after the largest leaf. */
  seekLast(): void {
    this.#top = -1;
    if (this.#tree.root !== 0) this.#push(this.#tree.root, POS_AFTER);
  }

  /** Positions so that {@link next} returns the smallest leaf whose key is `>= key`. */
  seekAtLeast(key: Uint8Array): void {
    this.#top = -1;
    let n = this.#tree.root;
    if (n === 0) return;
    const i32 = this.#tree.i32;
    const u8 = this.#tree.u8;
    let depth = 0;
    for (;;) {
      const prefixLength = i32[n + PREFIX_LEN]!;
      if (prefixLength !== 0) {
        const c = comparePrefix(i32, u8, n, prefixLength, key, depth);
        // Below: every key under n is smaller, the parent's frame already points past it.
        if (c < 0) return;
        if (c > 0) {
          this.#push(n, POS_BEFORE);
          return;
        }
        depth += prefixLength;
      }
      if (depth === key.length) {
        this.#push(n, POS_BEFORE);
        return;
      }
      const b = key[depth]!;
      const pos = childPosition(i32, u8, n, b);
      if (pos === NO_CHILD) {
        this.#push(n, positionBelow(i32, u8, n, b));
        return;
      }
      const child = childAt(i32, u8, n, pos);
      if (child < 0) {
        this.#push(n, compareLeafKey(i32, u8, -child, key) >= 0 ? pos - 1 : pos);
        return;
      }
      this.#push(n, pos);
      n = child;
      depth++;
    }
  }

  /** Positions so that {@link prev} returns the largest leaf whose key is `< key`. */
  seekBelow(key: Uint8Array): void {
    this.#top = -1;
    let n = this.#tree.root;
    if (n === 0) return;
    const i32 = this.#tree.i32;
    const u8 = this.#tree.u8;
    let depth = 0;
    for (;;) {
      const prefixLength = i32[n + PREFIX_LEN]!;
      if (prefixLength !== 0) {
        const c = comparePrefix(i32, u8, n, prefixLength, key, depth);
        if (c < 0) {
          this.#push(n, POS_AFTER);
          return;
        }
        // Above: every key under n is at least `key`; the parent's frame already points at it.
        if (c > 0) return;
        depth += prefixLength;
      }
      // n's in-place leaf equals `key` and its children are longer: nothing under n qualifies.
      if (depth === key.length) return;
      const b = key[depth]!;
      const pos = childPosition(i32, u8, n, b);
      if (pos === NO_CHILD) {
        this.#push(n, positionAbove(i32, u8, n, b));
        return;
      }
      const child = childAt(i32, u8, n, pos);
      if (child < 0) {
        this.#push(n, compareLeafKey(i32, u8, -child, key) < 0 ? pos + 1 : pos);
        return;
      }
      this.#push(n, pos);
      n = child;
      depth++;
    }
  }

  /** The next leaf in ascending key order, or 0 at the end. */
  next(): number {
    const i32 = this.#tree.i32;
    const u8 = this.#tree.u8;
    const nodes = this.#nodes;
    const positions = this.#positions;
    while (this.#top >= 0) {
      const t = this.#top;
      const n = nodes[t]!;
      let p = positions[t]!;
      if (p === POS_BEFORE) {
        positions[t] = POS_INPLACE;
        const inplace = i32[n + INPLACE]!;
        if (inplace !== 0) return -inplace;
        p = POS_INPLACE;
      }
      const np = nextChildPosition(i32, n, p);
      if (np === NO_CHILD) {
        this.#top--;
        continue;
      }
      positions[t] = np;
      const child = childAt(i32, u8, n, np);
      if (child < 0) return -child;
      this.#push(child, POS_BEFORE);
    }
    return 0;
  }

  /** The next leaf in descending key order, or 0 at the end. */
  prev(): number {
    const i32 = this.#tree.i32;
    const u8 = this.#tree.u8;
    const nodes = this.#nodes;
    const positions = this.#positions;
    while (this.#top >= 0) {
      const t = this.#top;
      const n = nodes[t]!;
      const p = positions[t]!;
      if (p === POS_INPLACE) {
        this.#top--;
        continue;
      }
      const np = prevChildPosition(i32, n, p);
      if (np === NO_CHILD) {
        // The in-place leaf is a prefix of every other key under n: it comes last.
        positions[t] = POS_INPLACE;
        const inplace = i32[n + INPLACE]!;
        if (inplace !== 0) return -inplace;
        this.#top--;
        continue;
      }
      positions[t] = np;
      const child = childAt(i32, u8, n, np);
      if (child < 0) return -child;
      this.#push(child, POS_AFTER);
    }
    return 0;
  }

  /** The frames from the root down, as `[node, position]` pairs (tests only). */
  debugFrames(): [number, number][] {
    const out: [number, number][] = [];
    for (let t = 0; t <= this.#top; t++) out.push([this.#nodes[t]!, this.#positions[t]!]);
    return out;
  }
}

/**
 * Compares node `n`'s whole prefix with `key` from `depth`: negative when the prefix sorts below
 * the key, positive when above (or when the key ends inside the prefix), 0 when the key holds
 * the whole prefix.
 */
function comparePrefix(
  i32: Int32Array,
  u8: Uint8Array,
  n: number,
  prefixLength: number,
  key: Uint8Array,
  depth: number,
): number {
  const available = key.length - depth;
  const limit = prefixLength < available ? prefixLength : available;
  const inNode = (n + PREFIX) * 4;
  const fromLeaf = prefixLength > MAX_IN_NODE_PREFIX ? (minimumLeaf(i32, u8, n) + LEAF_KEY) * 4 + depth : 0;
  for (let i = 0; i < limit; i++) {
    const b = i < MAX_IN_NODE_PREFIX ? u8[inNode + i]! : u8[fromLeaf + i]!;
    const d = b - key[depth + i]!;
    if (d !== 0) return d;
  }
  return prefixLength > available ? 1 : 0;
}
