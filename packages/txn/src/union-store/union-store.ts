import {
  compareKeys,
  type ExecDetailsOptions,
  invalidArgument,
  type RequestOptions,
  throwIfAborted,
} from '@tikv/common';
import type { KvPair } from '../kv-pair.js';
import type { MemBuffer } from '../membuffer/mem-buffer.js';
import type { ValueEntry } from '../value-entry.js';
import type { SnapshotIterateOptions, SnapshotReader } from './snapshot-reader.js';

/** Options of {@link UnionStore.scan}. */
export interface UnionScanOptions extends SnapshotIterateOptions {
  /** The most pairs to return. @defaultValue no limit */
  readonly limit?: number | undefined;
}

/**
 * A transaction's reads: its own writes (the {@link MemBuffer}) over the data committed before
 * it started (the {@link SnapshotReader}), client-go's `KVUnionStore` and `UnionIter`.
 *
 * A buffered value wins over the snapshot's; a buffered delete hides the snapshot's key; a
 * flags-only buffered key reads through to the snapshot. Returned keys and values are copies.
 */
export class UnionStore {
  /** The transaction's buffer. */
  readonly buffer: MemBuffer;
  /** The snapshot under it. */
  readonly snapshot: SnapshotReader;

  /**
   * @param buffer - the transaction's buffer
   * @param snapshot - the committed data it reads through to
   */
  constructor(buffer: MemBuffer, snapshot: SnapshotReader) {
    this.buffer = buffer;
    this.snapshot = snapshot;
  }

  /**
   * The key's value: the buffer's, else the snapshot's (client-go `KVUnionStore.Get`).
   *
   * @param key - the key
   * @param options - abort signal and timeout of the snapshot read
   * @returns the value, or `undefined` when absent or deleted in the buffer
   */
  async get(key: Uint8Array, options?: RequestOptions & ExecDetailsOptions): Promise<Uint8Array | undefined> {
    const buffered = this.buffer.get(key);
    if (buffered !== undefined) return buffered.length === 0 ? undefined : buffered.slice();
    const value = await this.snapshot.get(key, options);
    // An empty value does not exist for a transaction: it is how the buffer marks a delete.
    return value === undefined || value.length === 0 ? undefined : value;
  }

  /**
   * The values of several keys: the buffer answers what it holds, one snapshot read the rest
   * (client-go `BufferBatchGetter`).
   *
   * @param keys - the keys (may repeat)
   * @param options - abort signal and timeout of the snapshot read
   * @returns the values aligned with `keys`, `undefined` where absent or deleted
   */
  async batchGet(
    keys: readonly Uint8Array[],
    options?: RequestOptions & ExecDetailsOptions,
  ): Promise<(Uint8Array | undefined)[]> {
    return this.#mergeBuffered(
      keys,
      (buffered) => (buffered.length === 0 ? undefined : buffered.slice()),
      async (missing) =>
        (await this.snapshot.batchGet(missing, options)).map((v) =>
          v === undefined || v.length === 0 ? undefined : v,
        ),
    );
  }

  /**
   * {@link get} with the value's commit ts: a buffered value is the transaction's own uncommitted
   * write, with commit ts `0n` (client-go's membuffer entries); else the snapshot's entry.
   *
   * @param key - the key
   * @param options - abort signal and timeout of the snapshot read
   * @returns the entry, or `undefined` when absent or deleted in the buffer
   */
  async getEntry(
    key: Uint8Array,
    options?: RequestOptions & ExecDetailsOptions,
  ): Promise<ValueEntry | undefined> {
    const buffered = this.buffer.get(key);
    if (buffered !== undefined)
      return buffered.length === 0 ? undefined : { value: buffered.slice(), commitTs: 0n };
    const entry = await this.snapshot.getEntry(key, options);
    return entry === undefined || entry.value.length === 0 ? undefined : entry;
  }

  /**
   * {@link batchGet} with each value's commit ts, as {@link getEntry} gives it.
   *
   * @param keys - the keys (may repeat)
   * @param options - abort signal and timeout of the snapshot read
   * @returns the entries aligned with `keys`, `undefined` where absent or deleted
   */
  async batchGetEntries(
    keys: readonly Uint8Array[],
    options?: RequestOptions & ExecDetailsOptions,
  ): Promise<(ValueEntry | undefined)[]> {
    return this.#mergeBuffered(
      keys,
      (buffered) => (buffered.length === 0 ? undefined : { value: buffered.slice(), commitTs: 0n }),
      async (missing) =>
        (await this.snapshot.batchGetEntries(missing, options)).map((e) =>
          e === undefined || e.value.length === 0 ? undefined : e,
        ),
    );
  }

  /**
   * Answers each key from the buffer where it holds the key (a buffered delete answers
   * `undefined` without a read) and the rest with one snapshot read, aligned with `keys`.
   */
  async #mergeBuffered<T>(
    keys: readonly Uint8Array[],
    fromBuffer: (buffered: Uint8Array) => T | undefined,
    read: (missing: Uint8Array[]) => Promise<(T | undefined)[]>,
  ): Promise<(T | undefined)[]> {
    const out: (T | undefined)[] = new Array(keys.length);
    const missing: Uint8Array[] = [];
    const missingAt: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const buffered = this.buffer.get(key);
      if (buffered === undefined) {
        missing.push(key);
        missingAt.push(i);
      } else {
        out[i] = fromBuffer(buffered);
      }
    }
    if (missing.length > 0) {
      const found = await read(missing);
      for (let j = 0; j < missing.length; j++) out[missingAt[j]!] = found[j];
    }
    return out;
  }

  /**
   * The pairs with `lower <= key < upper`, the buffer merged over the snapshot, in key order
   * (client-go `UnionIter`). An empty `upper` is unbounded.
   *
   * The buffer is read as the walk reaches each key: a write made to the buffer during the walk
   * is seen if it lands ahead of the walk's position.
   *
   * @param lower - inclusive lower bound
   * @param upper - exclusive upper bound, empty for none
   * @param options - direction, key-only, abort signal and timeout
   */
  iterate(lower: Uint8Array, upper: Uint8Array, options?: SnapshotIterateOptions): AsyncGenerator<KvPair> {
    return unionIterate(this.buffer, this.snapshot, lower, upper, options);
  }

  /**
   * {@link iterate} collected into an array, up to `limit` pairs.
   *
   * @param lower - inclusive lower bound
   * @param upper - exclusive upper bound, empty for none
   * @param options - limit, direction, key-only, abort signal and timeout
   * @returns the pairs in key order
   */
  async scan(lower: Uint8Array, upper: Uint8Array, options?: UnionScanOptions): Promise<KvPair[]> {
    const limit = options?.limit ?? Number.POSITIVE_INFINITY;
    if (!(limit === Number.POSITIVE_INFINITY || (Number.isSafeInteger(limit) && limit >= 1))) {
      throw invalidArgument('options.limit', 'an integer >= 1', options?.limit);
    }
    const out: KvPair[] = [];
    for await (const pair of this.iterate(lower, upper, options)) {
      out.push(pair);
      if (out.length >= limit) break;
    }
    return out;
  }
}

/**
 * Merges a buffer over a snapshot's pairs in `[lower, upper)` (client-go `UnionIter`): on equal
 * keys the buffer wins, a buffered delete hides the snapshot's key (and is itself left out), and
 * flags-only buffered keys are not entries. Breaking out of the loop closes the snapshot's
 * iterator.
 *
 * @param buffer - the transaction's buffer
 * @param snapshot - the committed data
 * @param lower - inclusive lower bound
 * @param upper - exclusive upper bound, empty for none
 * @param options - direction, key-only, abort signal and timeout
 */
export async function* unionIterate(
  buffer: MemBuffer,
  snapshot: SnapshotReader,
  lower: Uint8Array,
  upper: Uint8Array,
  options?: SnapshotIterateOptions,
): AsyncGenerator<KvPair> {
  const reverse = options?.reverse ?? false;
  const keyOnly = options?.keyOnly ?? false;
  const signal = options?.signal;
  throwIfAborted(signal);
  const it = buffer.iter(lower, upper, { reverse });
  const snap = snapshot.iterate(lower, upper, options)[Symbol.asyncIterator]();
  try {
    let s = await snap.next();
    for (;;) {
      throwIfAborted(signal);
      if (!it.valid) {
        if (s.done === true) return;
        yield s.value;
        s = await snap.next();
        continue;
      }
      const c = s.done === true ? -1 : compareKeys(it.key(), s.value.key) * (reverse ? -1 : 1);
      if (c > 0) {
        // The snapshot's key comes first.
        yield s.value;
        s = await snap.next();
        continue;
      }
      // The buffer's key comes first, or both hold it and the buffer wins.
      const value = it.value()!;
      const pair: KvPair | undefined =
        value.length === 0
          ? undefined
          : { key: it.key().slice(), value: keyOnly ? new Uint8Array(0) : value.slice() };
      it.next();
      if (c === 0) s = await snap.next();
      if (pair !== undefined) yield pair;
    }
  } finally {
    await snap.return?.();
  }
}
