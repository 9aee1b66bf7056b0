import {
  type Clock,
  compareKeys,
  keyToLatin1,
  type RequestOptions,
  type Resolved,
  systemClock,
  TiKVError,
} from '@tikv/common';
import { MemBuffer } from '../membuffer/mem-buffer.js';
import type { MemBufferLimits } from '../membuffer/mem-buffer-options.js';
import type { PipelinedOptions } from './pipelined-options.js';

/**
 * Writes one generation to TiKV (client-go `FlushFunc`); generations start at 1 and are flushed
 * one at a time, in order.
 */
export type FlushFn = (generation: bigint, buffer: MemBuffer) => Promise<void>;

/**
 * Reads keys from the transaction's flushed locks (client-go `BufferBatchGetter`, a
 * `KvBufferBatchGet`): the values by `keyToLatin1` key, zero-length for a flushed delete; a key
 * the transaction has not flushed is absent.
 */
export type BufferBatchGetter = (
  keys: readonly Uint8Array[],
  options?: RequestOptions,
) => Promise<Map<string, Uint8Array>>;

/** The flush thresholds of a {@link PipelinedMemBuffer}. */
export type FlushThresholds = Pick<
  Resolved<PipelinedOptions>,
  'minFlushKeys' | 'minFlushSizeBytes' | 'forceFlushSizeBytes'
>;

/** What a {@link PipelinedMemBuffer} is made of. */
export interface PipelinedMemBufferOptions {
  /** Sends a generation to TiKV. */
  readonly flush: FlushFn;
  /** Reads the values of flushed keys back. */
  readonly bufferBatchGet: BufferBatchGetter;
  /** When a generation is flushed. */
  readonly thresholds: FlushThresholds;
  /** The entry size limit of each generation (the total is bounded by the force threshold instead). */
  readonly limits?: MemBufferLimits | undefined;
  /** Measures the time `flush()` waits for the previous flush. @defaultValue the system clock */
  readonly clock?: Clock | undefined;
}

/** The outcome of the flush in flight. */
interface FlushRun {
  readonly done: Promise<unknown>;
  settled: boolean;
  error: unknown;
}

const ABSENT = null;

/**
 * The write buffer of a pipelined transaction (client-go `PipelinedMemDB`): writes go to a mutable
 * {@link MemBuffer}; a flush freezes it as the generation being flushed, sends it to TiKV in the
 * background with the flush function, and starts an empty one. At most one generation is in
 * flight: `flush()` skips while one is (unless the buffer passed the force threshold: then it
 * waits for it, the backpressure), and {@link flushWait} waits for it and reports its failure.
 *
 * Reads look in the mutable buffer, then the generation in flight, then (for keys already
 * flushed) TiKV's copy through the buffer batch getter; {@link batchGet} remembers what TiKV
 * answered until the next flush. Savepoints live in the mutable buffer: none may be open at a flush.
 */
export class PipelinedMemBuffer {
  readonly #o: PipelinedMemBufferOptions;
  readonly #clock: Clock;
  readonly #limits: MemBufferLimits;
  #mutable: MemBuffer;
  #flushing: MemBuffer | undefined;
  #run: FlushRun | undefined;
  #generation = 0n;
  #flushedLen = 0;
  #flushedSize = 0;
  #lower: Uint8Array | undefined;
  #upper: Uint8Array | undefined;
  /** What batchGet learned from TiKV, dropped at each flush; `null` is "not flushed". */
  #cache: Map<string, Uint8Array | typeof ABSENT> | undefined;
  /** `flush()` / `flushWait()` calls running: writes do not start a flush meanwhile. */
  #queue: Promise<unknown> = Promise.resolve();
  #queued = 0;
  #waitMs = 0;

  constructor(options: PipelinedMemBufferOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#limits = {
      entrySizeLimitBytes: options.limits?.entrySizeLimitBytes,
      totalSizeLimitBytes: Infinity,
    };
    this.#mutable = new MemBuffer(this.#limits);
  }

  /** The buffer writes go to now; a flush replaces it. */
  get current(): MemBuffer {
    return this.#mutable;
  }

  /** The generation being flushed (or flushed last, until {@link flushWait}). */
  get flushingBuffer(): MemBuffer | undefined {
    return this.#flushing;
  }

  /** The last generation handed to the flush function; 0n before the first flush. */
  get generation(): bigint {
    return this.#generation;
  }

  /** Whether a flush is in flight (client-go `OnFlushing`). */
  get onFlushing(): boolean {
    return this.#run !== undefined && !this.#run.settled;
  }

  /** Entries written: flushed generations and the mutable buffer (client-go `Len`). */
  get len(): number {
    return this.#flushedLen + this.#mutable.len;
  }

  /** Bytes of keys and values written, flushed included (client-go `Size`). */
  get sizeBytes(): number {
    return this.#flushedSize + this.#mutable.sizeBytes;
  }

  /** Memory held: the mutable buffer and the generation in flight (client-go `Mem`). */
  get memoryBytes(): number {
    return this.#mutable.memoryBytes + (this.#flushing?.memoryBytes ?? 0);
  }

  /** Whether anything was written (client-go `Dirty`). */
  get dirty(): boolean {
    return this.#mutable.dirty || this.#flushedLen > 0;
  }

  /** Milliseconds `flush()` and `flushWait()` spent waiting for a flush in flight. */
  get flushWaitMs(): number {
    return this.#waitMs;
  }

  /**
   * The smallest and largest key of every generation handed to the flush function, or undefined
   * before the first non-empty one (client-go `pipelinedStart` / `pipelinedEnd`).
   */
  get flushedRange(): { readonly lower: Uint8Array; readonly upper: Uint8Array } | undefined {
    return this.#lower === undefined || this.#upper === undefined
      ? undefined
      : { lower: this.#lower, upper: this.#upper };
  }

  /** The batchGet cache entry of a key: a value, `null` (not flushed), or undefined (not cached). */
  cached(key: Uint8Array): Uint8Array | null | undefined {
    return this.#cache?.get(keyToLatin1(key));
  }

  /**
   * The buffered value of a key, without asking TiKV (client-go `GetLocal`): zero-length for a
   * delete, undefined when neither the mutable buffer nor the generation in flight holds one.
   * Returns a copy.
   */
  getLocal(key: Uint8Array): Uint8Array | undefined {
    const v = this.#mutable.get(key) ?? this.#flushing?.get(key);
    return v?.slice();
  }

  /**
   * The value this transaction wrote to a key (client-go `PipelinedMemDB.Get`): local, else the
   * batchGet cache, else TiKV's copy of a flushed key. Zero-length for a delete; undefined when
   * the transaction did not write the key.
   */
  async get(key: Uint8Array, options?: RequestOptions): Promise<Uint8Array | undefined> {
    const local = this.getLocal(key);
    if (local !== undefined) return local;
    const cached = this.cached(key);
    if (cached !== undefined) return cached ?? undefined;
    if (!this.#mayBeFlushed(key)) return undefined;
    const found = await this.#o.bufferBatchGet([key], options);
    return found.get(keyToLatin1(key));
  }

  /**
   * {@link get} of several keys (client-go `PipelinedMemDB.BatchGet`): one read of TiKV's copy for
   * the keys not held locally, and every answer cached until the next flush.
   *
   * @returns the values by `keyToLatin1` key; keys the transaction did not write are absent
   */
  async batchGet(keys: readonly Uint8Array[], options?: RequestOptions): Promise<Map<string, Uint8Array>> {
    const out = new Map<string, Uint8Array>();
    this.#cache ??= new Map();
    const cache = this.#cache;
    const remote: Uint8Array[] = [];
    for (const key of keys) {
      const id = keyToLatin1(key);
      const local = this.getLocal(key);
      if (local !== undefined) {
        out.set(id, local);
        cache.set(id, local);
      } else if (this.#mayBeFlushed(key)) {
        remote.push(key);
      } else {
        cache.set(id, ABSENT);
      }
    }
    if (remote.length === 0) return out;
    const found = await this.#o.bufferBatchGet(remote, options);
    for (const key of remote) {
      const id = keyToLatin1(key);
      const v = found.get(id);
      if (v === undefined) cache.set(id, ABSENT);
      else {
        out.set(id, v);
        cache.set(id, v);
      }
    }
    return out;
  }

  /** Whether a key is inside the range of the generations handed to the flush function. */
  #mayBeFlushed(key: Uint8Array): boolean {
    const r = this.flushedRange;
    return r !== undefined && compareKeys(key, r.lower) >= 0 && compareKeys(key, r.upper) <= 0;
  }

  /**
   * Whether the mutable buffer should be flushed (client-go `needFlush`): below the minimum size,
   * or below the minimum key count and the force threshold, no; with a flush in flight, only
   * at the force threshold.
   */
  needFlush(): boolean {
    const t = this.#o.thresholds;
    const size = this.#mutable.memoryBytes;
    if (size < t.minFlushSizeBytes || (this.#mutable.len < t.minFlushKeys && size < t.forceFlushSizeBytes)) {
      return false;
    }
    return !(this.onFlushing && size < t.forceFlushSizeBytes);
  }

  /**
   * Starts a flush after a write when one is due and can start without waiting: nothing in flight,
   * no savepoint open, no `flush()` call running, the previous flush did not fail (its failure is
   * left for the next `flush()`, `flushWait()` or commit).
   *
   * @returns whether a flush started
   */
  maybeFlush(): boolean {
    if (this.#queued > 0 || this.#mutable.isStaging || this.onFlushing || !this.needFlush()) return false;
    const run = this.#run;
    if (run !== undefined && this.#flushing !== undefined && run.error !== undefined) return false;
    this.#cache = undefined;
    this.#start();
    return true;
  }

  /**
   * Flushes the mutable buffer when due, or always with `force` (client-go `Flush`). When a
   * previous flush is in flight it waits for it first (only reached at the force threshold
   * unless forced); its failure is thrown, and the transaction must not go on.
   *
   * @param force - flush whatever the thresholds say
   * @returns whether a flush started
   * @throws TiKVError `INVALID_TXN` with a savepoint open; the failure of the previous flush
   */
  flush(force = false): Promise<boolean> {
    return this.#serial(() => this.#flush(force));
  }

  /**
   * Waits for the flush in flight and throws its failure (client-go `FlushWait`). Afterwards
   * reads of that generation go to TiKV's copy.
   */
  flushWait(): Promise<void> {
    return this.#serial(() => this.#wait());
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    this.#queued++;
    const p = this.#queue.then(fn);
    this.#queue = p.then(
      () => this.#queued--,
      () => this.#queued--,
    );
    return p;
  }

  async #flush(force: boolean): Promise<boolean> {
    this.#cache = undefined;
    if (this.#mutable.isStaging) {
      throw new TiKVError('INVALID_TXN', 'a pipelined transaction cannot flush while a savepoint is open');
    }
    if (!force && !this.needFlush()) return false;
    if (this.#flushing !== undefined) {
      const error = await this.#settle();
      if (error !== undefined) {
        this.#flushing = undefined;
        throw error;
      }
    }
    this.#start();
    return true;
  }

  async #wait(): Promise<void> {
    if (this.#flushing === undefined) return;
    const error = await this.#settle();
    this.#flushing = undefined;
    if (error !== undefined) throw error;
  }

  /** Waits for the run in flight, timing the wait; resolves with its failure. */
  async #settle(): Promise<unknown> {
    const run = this.#run;
    if (run === undefined) return undefined;
    if (!run.settled) {
      const t0 = this.#clock.now();
      await run.done;
      this.#waitMs += Math.max(0, this.#clock.now() - t0);
    }
    return run.error;
  }

  /** Freezes the mutable buffer as the next generation and flushes it in the background. */
  #start(): void {
    const db = this.#mutable;
    this.#flushing = db;
    this.#flushedLen += db.len;
    this.#flushedSize += db.sizeBytes;
    this.#mutable = new MemBuffer(this.#limits);
    this.#generation++;
    this.#widen(db);
    const generation = this.#generation;
    const run: FlushRun = { done: Promise.resolve(), settled: false, error: undefined };
    const flush = this.#o.flush;
    (run as { done: Promise<unknown> }).done = (async () => {
      try {
        await flush(generation, db);
      } catch (e) {
        run.error = e ?? new TiKVError('INTERNAL', 'pipelined flush failed');
      } finally {
        run.settled = true;
      }
    })();
    this.#run = run;
  }

  /** Widens the flushed range by a generation's first and last keys. */
  #widen(db: MemBuffer): void {
    const first = db.iter(undefined, undefined, { includeFlagsOnly: true });
    if (!first.valid) return;
    const lower = first.key().slice();
    const last = db.iter(undefined, undefined, { includeFlagsOnly: true, reverse: true });
    const upper = last.key().slice();
    if (this.#lower === undefined || compareKeys(lower, this.#lower) < 0) this.#lower = lower;
    if (this.#upper === undefined || compareKeys(upper, this.#upper) > 0) this.#upper = upper;
  }

  // ---- savepoints: the mutable buffer's (none may be open at a flush) ----

  /** Opens a savepoint in the mutable buffer (client-go `Staging`). */
  staging(): number {
    return this.#mutable.staging();
  }

  /** Keeps the newest savepoint's writes (client-go `Release`). */
  release(handle: number): void {
    this.#mutable.release(handle);
  }

  /** Undoes the newest savepoint's writes (client-go `Cleanup`). */
  cleanup(handle: number): void {
    this.#mutable.cleanup(handle);
  }
}
