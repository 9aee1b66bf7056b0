import { invalidArgument, keyToLatin1, type RequestOptions } from '@tikv/common';
import type { KvPair } from '../kv-pair.js';
import type { SnapshotIterateOptions, SnapshotReader } from '../union-store/snapshot-reader.js';
import { type UnionScanOptions, unionIterate } from '../union-store/union-store.js';
import type { ValueEntry } from '../value-entry.js';
import type { PipelinedMemBuffer } from './pipelined-mem-buffer.js';

/**
 * A pipelined transaction's reads (client-go's `KVUnionStore` over a `PipelinedMemDB`): its own
 * writes, wherever they are (the mutable buffer, the generation being flushed, TiKV's flushed
 * locks), over the data committed before it started.
 *
 * `get` and `batchGet` ask TiKV (`KvBufferBatchGet`) only for keys inside the flushed keys' range
 * that the buffer does not hold; `batchGet` remembers the answers until the next flush. Scans
 * merge the two buffers over `flushed` (the snapshot with the flushed writes merged in).
 * Returned keys and values are copies.
 *
 * @internal
 */
export class PipelinedUnionStore {
  readonly #buffer: PipelinedMemBuffer;
  readonly #snapshot: SnapshotReader;
  readonly #flushed: SnapshotReader;

  /**
   * @param buffer - the pipelined buffer
   * @param snapshot - the committed data
   * @param flushed - the committed data with the flushed writes merged in (for scans)
   */
  constructor(buffer: PipelinedMemBuffer, snapshot: SnapshotReader, flushed: SnapshotReader) {
    this.#buffer = buffer;
    this.#snapshot = snapshot;
    this.#flushed = flushed;
  }

  /** The key's value: the transaction's write, else the snapshot's. */
  async get(key: Uint8Array, options?: RequestOptions): Promise<Uint8Array | undefined> {
    const own = await this.#buffer.get(key, options);
    if (own !== undefined) return own.length === 0 ? undefined : own;
    const value = await this.#snapshot.get(key, options);
    return value === undefined || value.length === 0 ? undefined : value;
  }

  /** The values of several keys, aligned with `keys`. */
  async batchGet(keys: readonly Uint8Array[], options?: RequestOptions): Promise<(Uint8Array | undefined)[]> {
    const own = await this.#buffer.batchGet(keys, options);
    const out: (Uint8Array | undefined)[] = new Array(keys.length);
    const missing: Uint8Array[] = [];
    const missingAt: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as Uint8Array;
      const v = own.get(keyToLatin1(key));
      if (v === undefined) {
        missing.push(key);
        missingAt.push(i);
      } else {
        out[i] = v.length === 0 ? undefined : v;
      }
    }
    if (missing.length > 0) {
      const values = await this.#snapshot.batchGet(missing, options);
      for (let j = 0; j < missing.length; j++) {
        const v = values[j];
        out[missingAt[j] as number] = v === undefined || v.length === 0 ? undefined : v;
      }
    }
    return out;
  }

  /**
   * {@link get} with the value's commit ts: the transaction's own write (buffered or flushed) is
   * uncommitted, with commit ts `0n` (client-go's buffer tier); else the snapshot's entry.
   */
  async getEntry(key: Uint8Array, options?: RequestOptions): Promise<ValueEntry | undefined> {
    const own = await this.#buffer.get(key, options);
    if (own !== undefined) return own.length === 0 ? undefined : { value: own, commitTs: 0n };
    const entry = await this.#snapshot.getEntry(key, options);
    return entry === undefined || entry.value.length === 0 ? undefined : entry;
  }

  /** {@link batchGet} with each value's commit ts, as {@link getEntry} gives it. */
  async batchGetEntries(
    keys: readonly Uint8Array[],
    options?: RequestOptions,
  ): Promise<(ValueEntry | undefined)[]> {
    const own = await this.#buffer.batchGet(keys, options);
    const out: (ValueEntry | undefined)[] = new Array(keys.length);
    const missing: Uint8Array[] = [];
    const missingAt: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as Uint8Array;
      const v = own.get(keyToLatin1(key));
      if (v === undefined) {
        missing.push(key);
        missingAt.push(i);
      } else if (v.length > 0) {
        out[i] = { value: v, commitTs: 0n };
      }
    }
    if (missing.length > 0) {
      const entries = await this.#snapshot.batchGetEntries(missing, options);
      for (let j = 0; j < missing.length; j++) {
        const e = entries[j];
        out[missingAt[j] as number] = e === undefined || e.value.length === 0 ? undefined : e;
      }
    }
    return out;
  }

  /** The pairs of `[lower, upper)` in key order, every layer of writes merged over the snapshot. */
  iterate(lower: Uint8Array, upper: Uint8Array, options?: SnapshotIterateOptions): AsyncGenerator<KvPair> {
    const flushing = this.#buffer.flushingBuffer;
    const below: SnapshotReader =
      flushing === undefined
        ? this.#flushed
        : { ...this.#flushed, iterate: (l, u, o) => unionIterate(flushing, this.#flushed, l, u, o) };
    return unionIterate(this.#buffer.current, below, lower, upper, options);
  }

  /** {@link iterate} collected, up to `limit` pairs. */
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
