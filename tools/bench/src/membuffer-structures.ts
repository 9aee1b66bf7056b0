/**
 * The ordered maps the membuffer benchmark compares, behind one small interface: the
 * transaction `MemBuffer` of `@tikv/txn`, the plain sorted-array baseline (binary search +
 * splice, or append then sort), and `sorted-btree` (the ordered-map library the region cache
 * and the mock cluster use) holding copied `Uint8Array` keys and values.
 */
import { compareKeys } from '@tikv/common';
import { MemBuffer } from '@tikv/txn';
import * as btreeModule from 'sorted-btree';

type BTree<K, V> = btreeModule.default<K, V>;
type BTreeConstructor = new <K, V>(entries?: [K, V][], compare?: (a: K, b: K) => number) => BTree<K, V>;
// sorted-btree is CommonJS with `exports.default`: under Node's ESM loader the namespace's
// `default` is `module.exports`, whose `default` is the class.
const d: unknown = (btreeModule as unknown as { readonly default: unknown }).default;
const BTreeClass = (
  typeof d === 'function' ? d : (d as { readonly default: unknown }).default
) as BTreeConstructor;

/** Entries of the benchmark: 16-byte random keys, 64-byte random values. */
export interface Dataset {
  readonly keys: readonly Uint8Array[];
  readonly values: readonly Uint8Array[];
  /** The keys in ascending order (views of the same bytes). */
  readonly sortedKeys: readonly Uint8Array[];
}

export const KEY_BYTES = 16;
export const VALUE_BYTES = 64;

/** Makes `n` entries from a seeded generator; keys and values are views into two flat buffers. */
export function makeDataset(n: number, seed = 0x9e3779b9): Dataset {
  let s = seed >>> 0 || 1;
  const fill = (out: Uint8Array): Uint8Array => {
    for (let i = 0; i < out.length; i += 4) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      out[i] = s;
      out[i + 1] = s >>> 8;
      out[i + 2] = s >>> 16;
      out[i + 3] = s >>> 24;
    }
    return out;
  };
  const keyBytes = fill(new Uint8Array(n * KEY_BYTES));
  const valueBytes = fill(new Uint8Array(n * VALUE_BYTES));
  const keys = Array.from({ length: n }, (_, i) => keyBytes.subarray(i * KEY_BYTES, (i + 1) * KEY_BYTES));
  const values = Array.from({ length: n }, (_, i) =>
    valueBytes.subarray(i * VALUE_BYTES, (i + 1) * VALUE_BYTES),
  );
  return { keys, values, sortedKeys: keys.slice().sort(compareKeys) };
}

/** What the benchmark does to each structure. */
export interface OrderedMap {
  set(key: Uint8Array, value: Uint8Array): void;
  get(key: Uint8Array): Uint8Array | undefined;
  /** Visits every entry in key order; returns the bytes seen (so the work is not optimised away). */
  scan(): number;
  /** Opens a savepoint. */
  staging(): void;
  /** Rolls back to the savepoint. */
  cleanup(): void;
  /** Called once after a bulk load in random order (the sorted array sorts there). */
  finishLoad(): void;
}

/** The transaction buffer. */
export class MemBufferMap implements OrderedMap {
  readonly buffer = new MemBuffer({ totalSizeLimitBytes: Number.POSITIVE_INFINITY });
  #handle = 0;
  set(key: Uint8Array, value: Uint8Array): void {
    this.buffer.set(key, value);
  }
  get(key: Uint8Array): Uint8Array | undefined {
    return this.buffer.get(key);
  }
  scan(): number {
    let n = 0;
    for (const it = this.buffer.iter(); it.valid; it.next()) n += it.key().length + it.value()!.length;
    return n;
  }
  staging(): void {
    this.#handle = this.buffer.staging();
  }
  cleanup(): void {
    this.buffer.cleanup(this.#handle);
  }
  finishLoad(): void {}
}

/** An undo log for the structures without savepoints: the value each first write replaced. */
type UndoLog = { key: Uint8Array; previous: Uint8Array | undefined }[];

/**
 * The baseline: two parallel sorted JS arrays of copied keys and values. `set` appends when the
 * key sorts last, else binary search + splice; a random-order bulk load appends and sorts once
 * (`finishLoad`), the cheapest way to fill a sorted array.
 */
export class SortedArrayMap implements OrderedMap {
  keys: Uint8Array[] = [];
  values: Uint8Array[] = [];
  #loading = false;
  #undo: UndoLog | undefined;

  /** Appends without ordering until {@link finishLoad}. */
  startLoad(): void {
    this.#loading = true;
  }

  #index(key: Uint8Array): number {
    let lo = 0;
    let hi = this.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.keys[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  set(key: Uint8Array, value: Uint8Array): void {
    if (this.#loading) {
      this.keys.push(key.slice());
      this.values.push(value.slice());
      return;
    }
    const n = this.keys.length;
    const i = n > 0 && compareKeys(this.keys[n - 1]!, key) < 0 ? n : this.#index(key);
    const found = i < n && compareKeys(this.keys[i]!, key) === 0;
    this.#undo?.push({ key: key.slice(), previous: found ? this.values[i] : undefined });
    if (found) {
      this.values[i] = value.slice();
    } else if (i === n) {
      this.keys.push(key.slice());
      this.values.push(value.slice());
    } else {
      this.keys.splice(i, 0, key.slice());
      this.values.splice(i, 0, value.slice());
    }
  }

  #remove(key: Uint8Array): void {
    const i = this.#index(key);
    this.keys.splice(i, 1);
    this.values.splice(i, 1);
  }

  get(key: Uint8Array): Uint8Array | undefined {
    const i = this.#index(key);
    return i < this.keys.length && compareKeys(this.keys[i]!, key) === 0 ? this.values[i] : undefined;
  }

  scan(): number {
    let n = 0;
    for (let i = 0; i < this.keys.length; i++) n += this.keys[i]!.length + this.values[i]!.length;
    return n;
  }

  staging(): void {
    this.#undo = [];
  }

  cleanup(): void {
    const undo = this.#undo ?? [];
    this.#undo = undefined;
    for (let i = undo.length - 1; i >= 0; i--) {
      const { key, previous } = undo[i]!;
      if (previous === undefined) this.#remove(key);
      else this.values[this.#index(key)] = previous;
    }
  }

  finishLoad(): void {
    if (!this.#loading) return;
    this.#loading = false;
    const order = this.keys.map((_, i) => i).sort((a, b) => compareKeys(this.keys[a]!, this.keys[b]!));
    this.keys = order.map((i) => this.keys[i]!);
    this.values = order.map((i) => this.values[i]!);
  }
}

/** `sorted-btree` with copied `Uint8Array` keys and values, savepoints by undo log. */
export class BTreeMap implements OrderedMap {
  readonly tree: BTree<Uint8Array, Uint8Array> = new BTreeClass<Uint8Array, Uint8Array>(
    undefined,
    compareKeys,
  );
  #undo: UndoLog | undefined;
  set(key: Uint8Array, value: Uint8Array): void {
    if (this.#undo !== undefined) this.#undo.push({ key: key.slice(), previous: this.tree.get(key) });
    this.tree.set(key.slice(), value.slice());
  }
  get(key: Uint8Array): Uint8Array | undefined {
    return this.tree.get(key);
  }
  scan(): number {
    let n = 0;
    this.tree.forEachPair((k: Uint8Array, v: Uint8Array) => {
      n += k.length + v.length;
    });
    return n;
  }
  staging(): void {
    this.#undo = [];
  }
  cleanup(): void {
    const undo = this.#undo ?? [];
    this.#undo = undefined;
    for (let i = undo.length - 1; i >= 0; i--) {
      const { key, previous } = undo[i]!;
      if (previous === undefined) this.tree.delete(key);
      else this.tree.set(key, previous);
    }
  }
  finishLoad(): void {}
}

/** The structures by name. */
export const STRUCTURES = {
  membuffer: () => new MemBufferMap(),
  'sorted-array': () => new SortedArrayMap(),
  'sorted-btree': () => new BTreeMap(),
} as const;

export type StructureName = keyof typeof STRUCTURES;

/** Loads every entry of `data` in random order (the sorted array appends, then sorts once). */
export function loadRandom(map: OrderedMap, data: Dataset): void {
  if (map instanceof SortedArrayMap) map.startLoad();
  const { keys, values } = data;
  for (let i = 0; i < keys.length; i++) map.set(keys[i]!, values[i]!);
  map.finishLoad();
}
