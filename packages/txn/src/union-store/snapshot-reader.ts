import type { ExecDetailsOptions, RequestOptions } from '@tikv/common';
import type { KvPair } from '../kv-pair.js';
import type { ValueEntry } from '../value-entry.js';

/** Options of {@link SnapshotReader.iterate}. */
export interface SnapshotIterateOptions extends RequestOptions, ExecDetailsOptions {
  /** Walk from the largest key down. @defaultValue false */
  readonly reverse?: boolean | undefined;
  /** Leave the values out: every pair's value is zero-length. @defaultValue false */
  readonly keyOnly?: boolean | undefined;
}

/**
 * What the transaction's read path needs from the data committed before it started: the
 * transaction's snapshot (client-go's `uSnapshot` of the union store). A `Snapshot` of this
 * package satisfies it; a test can pass a small fake.
 *
 * Keys are raw (the caller's, without an API V2 keyspace prefix): the reader encodes them.
 */
export interface SnapshotReader {
  /**
   * The key's value, or `undefined` when it has none.
   *
   * @param key - the key
   * @param options - abort signal and timeout
   */
  get(key: Uint8Array, options?: RequestOptions & ExecDetailsOptions): Promise<Uint8Array | undefined>;
  /**
   * The values of several keys.
   *
   * @param keys - the keys (may repeat)
   * @param options - abort signal and timeout
   * @returns the values aligned with `keys`, `undefined` where absent
   */
  batchGet(
    keys: readonly Uint8Array[],
    options?: RequestOptions & ExecDetailsOptions,
  ): Promise<(Uint8Array | undefined)[]>;
  /**
   * The key's value and its commit ts, or `undefined` when it has none.
   *
   * @param key - the key
   * @param options - abort signal and timeout
   * @throws TiKVError `NOT_SUPPORTED` when the value's commit ts is not known
   */
  getEntry(key: Uint8Array, options?: RequestOptions & ExecDetailsOptions): Promise<ValueEntry | undefined>;
  /**
   * The values of several keys with their commit ts.
   *
   * @param keys - the keys (may repeat)
   * @param options - abort signal and timeout
   * @returns the entries aligned with `keys`, `undefined` where absent
   * @throws TiKVError `NOT_SUPPORTED` when a value's commit ts is not known
   */
  batchGetEntries(
    keys: readonly Uint8Array[],
    options?: RequestOptions & ExecDetailsOptions,
  ): Promise<(ValueEntry | undefined)[]>;
  /**
   * The pairs with `lower <= key < upper` in key order (ascending, or descending with
   * `reverse`); an empty `upper` is unbounded. Breaking out of the loop stops the reads.
   *
   * @param lower - inclusive lower bound
   * @param upper - exclusive upper bound, empty for none
   * @param options - direction, key-only, abort signal and timeout
   */
  iterate(lower: Uint8Array, upper: Uint8Array, options?: SnapshotIterateOptions): AsyncIterable<KvPair>;
}
