import { type ByteMap, compareBytes, createByteMap } from './ordered-map.js';

/**
 * The column families of a TiKV store. Raw KV lives in `default` (or the one a request names in
 * API V1); the transactional MVCC keeps data in `default`, locks in `lock` and commit records in
 * `write`, each key suffixed with its version the way TiKV encodes it.
 */
export const ColumnFamily = Object.freeze({ Default: 'default', Lock: 'lock', Write: 'write' } as const);
/** A column family name. */
export type ColumnFamily = (typeof ColumnFamily)[keyof typeof ColumnFamily];

/** All column families, in TiKV's order. */
export const COLUMN_FAMILIES: readonly ColumnFamily[] = Object.freeze([
  ColumnFamily.Default,
  ColumnFamily.Lock,
  ColumnFamily.Write,
]);

/** One key/value entry of a column family. */
export interface EngineEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
}

/** Bounds and direction of a column-family scan. */
export interface ScanBounds {
  /** Inclusive lower bound; empty or undefined means unbounded. */
  readonly lower?: Uint8Array | undefined;
  /** Exclusive upper bound; empty or undefined means unbounded. */
  readonly upper?: Uint8Array | undefined;
  /** Iterate from the upper bound down. */
  readonly reverse?: boolean;
}

function isUnbounded(k: Uint8Array | undefined): k is undefined {
  return k === undefined || k.length === 0;
}

/** One ordered column family: a byte-ordered map from key to value. */
export class ColumnFamilyStore {
  readonly #tree: ByteMap<Uint8Array> = createByteMap<Uint8Array>();

  /** Number of keys stored. */
  get size(): number {
    return this.#tree.size;
  }

  /** The value stored at `key`, or undefined. */
  get(key: Uint8Array): Uint8Array | undefined {
    return this.#tree.get(key);
  }

  /**
   * Stores `value` at `key`, replacing any previous value. Both arrays are copied (as plain
   * `Uint8Array`s even from a `Buffer`; the copy constructor, where `Uint8Array.from` iterated).
   */
  put(key: Uint8Array, value: Uint8Array): void {
    this.#tree.set(new Uint8Array(key), new Uint8Array(value));
  }

  /** Removes `key`; returns whether it existed. */
  delete(key: Uint8Array): boolean {
    return this.#tree.delete(key);
  }

  /** Removes every key in `[start, end)` (an empty `end` means to the end); returns the count. */
  deleteRange(start: Uint8Array, end: Uint8Array): number {
    if (end.length === 0) {
      let n = 0;
      const doomed: Uint8Array[] = [];
      for (const [k] of this.#tree.entries(start)) doomed.push(k);
      for (const k of doomed) if (this.#tree.delete(k)) n++;
      return n;
    }
    if (compareBytes(start, end) >= 0) return 0;
    return this.#tree.deleteRange(start, end, false);
  }

  /** Iterates entries within `bounds`, ascending or descending. */
  *scan(bounds: ScanBounds = {}): IterableIterator<EngineEntry> {
    const { lower, upper } = bounds;
    if (bounds.reverse) {
      const it = isUnbounded(upper)
        ? this.#tree.entriesReversed()
        : this.#tree.entriesReversed(upper, undefined, true);
      for (const [key, value] of it) {
        if (!isUnbounded(lower) && compareBytes(key, lower) < 0) return;
        yield { key, value };
      }
      return;
    }
    const it = isUnbounded(lower) ? this.#tree.entries() : this.#tree.entries(lower);
    for (const [key, value] of it) {
      if (!isUnbounded(upper) && compareBytes(key, upper) >= 0) return;
      yield { key, value };
    }
  }
}

/**
 * The storage engine shared by every mock store: one ordered map per column family. Replication
 * is instantaneous in the mock, so all peers of a region read and write the same engine; what
 * differs between stores is only which requests the region checks let through.
 */
export class KvEngine {
  readonly #cfs: Record<ColumnFamily, ColumnFamilyStore> = {
    default: new ColumnFamilyStore(),
    lock: new ColumnFamilyStore(),
    write: new ColumnFamilyStore(),
  };

  /** The store of one column family. */
  cf(name: ColumnFamily): ColumnFamilyStore {
    return this.#cfs[name];
  }
}
