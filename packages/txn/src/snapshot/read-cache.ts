/**
 * A snapshot's cache of values read, bounded in bytes, least recently used out first (client-go
 * `KVSnapshot.mu.cached`, which is unbounded; ours keeps a budget). A `Map` keeps the order: a
 * hit moves its entry to the end, eviction takes from the front. A snapshot per read (a common
 * pattern) makes one per read, so it is kept this small rather than a general-purpose LRU.
 *
 * @internal
 */
export class ReadCache {
  readonly #entries = new Map<string, Uint8Array>();
  /**
   * The commit ts of the entries read with one (`need_commit_ts`), apart: most reads do not ask
   * for it, and a value-only map keeps their entries as small as before.
   */
  readonly #commitTs = new Map<string, bigint>();
  readonly #maxBytes: number;
  readonly #overheadBytes: number;
  #bytes = 0;

  /**
   * @param maxBytes - the budget: keys, values and `overheadBytes` per entry
   * @param overheadBytes - what an entry costs beyond its key and value
   */
  constructor(maxBytes: number, overheadBytes: number) {
    this.#maxBytes = maxBytes;
    this.#overheadBytes = overheadBytes;
  }

  /** Entries held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Bytes held, by the budget's measure. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The value of `key`, made the most recently used; undefined when absent. */
  get(key: string): Uint8Array | undefined {
    const entries = this.#entries;
    const v = entries.get(key);
    if (v !== undefined) {
      entries.delete(key);
      entries.set(key, v);
    }
    return v;
  }

  /** The commit ts stored with `key`'s entry; `0n` when it was read without one (or is not held). */
  commitTsOf(key: string): bigint {
    return this.#commitTs.get(key) ?? 0n;
  }

  /**
   * Stores `value` for `key`, evicting the least recently used past the budget. An entry larger
   * than the budget is not kept.
   *
   * @param commitTs - the value's commit ts when the read returned it; `0n` for unknown
   */
  set(key: string, value: Uint8Array, commitTs = 0n): void {
    this.delete(key);
    const size = this.#sizeOf(key, value);
    if (size > this.#maxBytes) return;
    this.#entries.set(key, value);
    if (commitTs > 0n) this.#commitTs.set(key, commitTs);
    this.#bytes += size;
    if (this.#bytes <= this.#maxBytes) return;
    for (const [k, v] of this.#entries) {
      this.#entries.delete(k);
      this.#commitTs.delete(k);
      this.#bytes -= this.#sizeOf(k, v);
      if (this.#bytes <= this.#maxBytes) return;
    }
  }

  /** Drops `key`'s entry. */
  delete(key: string): void {
    const v = this.#entries.get(key);
    if (v === undefined) return;
    this.#entries.delete(key);
    this.#commitTs.delete(key);
    this.#bytes -= this.#sizeOf(key, v);
  }

  /** Drops every entry. */
  clear(): void {
    this.#entries.clear();
    this.#commitTs.clear();
    this.#bytes = 0;
  }

  #sizeOf(key: string, value: Uint8Array): number {
    return key.length + value.length + this.#overheadBytes;
  }
}
