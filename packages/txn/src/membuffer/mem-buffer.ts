import {
  EntryTooLargeError,
  InvalidArgumentError,
  invalidArgument,
  KeyTooLargeError,
  type Resolved,
  TiKVError,
  TxnTooLargeError,
} from '@tikv/common';
import { MAX_ARENA_BYTES } from './arena.js';
import { MAX_KEY_LENGTH } from './art-layout.js';
import { BufferState } from './buffer-state.js';
import { applyFlagsOp, type FlagsOp, type KeyFlags, PERSISTENT_KEY_FLAGS } from './key-flags.js';
import { BufferIterator, type MemBufferIterator } from './mem-buffer-iterator.js';
import { type MemBufferLimits, type MemBufferOptions, resolveMemBufferLimits } from './mem-buffer-options.js';
import { BufferSnapshot, type MemBufferSnapshot } from './mem-buffer-snapshot.js';

/** Arena bytes one write may take beyond its key or value: a node256, a node4, headers. */
const ARENA_WRITE_HEADROOM = 2048;

/** The flag every value write clears unless its ops set it again (client-go's temporary flag). */
const NEED_CONSTRAINT_CHECK_IN_PREWRITE = 1 << 11;

/** Options of {@link MemBuffer.iter}. */
export interface MemBufferIterOptions {
  /** Walk from the largest key down. @defaultValue false */
  readonly reverse?: boolean | undefined;
  /** Also stop on flags-only entries (client-go `IterWithFlags`). @defaultValue false */
  readonly includeFlagsOnly?: boolean | undefined;
  /** Leave deletes (zero-length values) out. @defaultValue false */
  readonly skipDeletes?: boolean | undefined;
}

/** A position of the buffer to roll back to with {@link MemBuffer.revertToCheckpoint}. */
export interface MemBufferCheckpoint {
  /** The value-log position. */
  readonly position: number;
  /** The buffer's reset count when it was taken (a checkpoint does not survive a reset). */
  readonly generation: number;
}

/**
 * The write buffer of one transaction (client-go `unionstore.MemDB`, its adaptive radix tree):
 * an ordered map from byte keys to values with per-key flags, nested stagings that roll back,
 * size limits, and iteration and snapshots in key order.
 *
 * - A delete is stored as an entry with a zero-length value (a tombstone) that hides the key in
 *   reads merged over a snapshot, so a value may not be empty (client-go `ErrCannotSetNilValue`).
 * - Flags live beside the value; {@link updateFlags} on an absent key creates a flags-only
 *   entry, which reads treat as absent.
 * - {@link staging} opens a nested savepoint: {@link release} keeps what was written since,
 *   {@link cleanup} rolls the values back. Flags are not rolled back (as in client-go), except
 *   that a key whose value the cleanup removes entirely keeps only its persistent flags (a held
 *   pessimistic lock), and disappears when it has none.
 * - Keys and values are kept in two large arenas, not one object per entry: a million 16-byte
 *   keys with 64-byte values take well under twice their raw 80 MB (see the package README).
 *
 * Values returned by reads are views into the buffer's memory, valid until its next write; copy
 * them (`slice()`) to keep them. The buffer is not safe for use from several workers.
 */
export class MemBuffer {
  readonly #state: BufferState;
  #entryLimit: number;
  #totalLimit: number;
  #onMemoryChange: ((bytes: number) => void) | undefined;
  #len = 0;
  #size = 0;
  #dirty = false;

  /** @param options - size limits and the memory footprint hook */
  constructor(options?: MemBufferOptions) {
    const limits = resolveMemBufferLimits(options);
    this.#entryLimit = limits.entrySizeLimitBytes;
    this.#totalLimit = limits.totalSizeLimitBytes;
    this.#onMemoryChange = options?.onMemoryFootprintChange;
    this.#state = new BufferState(() => this.#onMemoryChange?.(this.memoryBytes));
  }

  // ---- size and state ----

  /** The number of keys in the buffer, flags-only keys and deletes included (client-go `Len`). */
  get len(): number {
    return this.#len;
  }

  /** The buffer's size in bytes: every key plus its current value (client-go `Size`). */
  get sizeBytes(): number {
    return this.#size;
  }

  /** The buffer's memory footprint in bytes: what its arenas hold (client-go `Mem`). */
  get memoryBytes(): number {
    return this.#state.tree.capacityBytes + this.#state.log.capacityBytes;
  }

  /**
   * Whether the transaction wrote anything that must be committed (client-go `Dirty`): a value
   * written outside any staging or kept by releasing the outermost one, or a persistent flag.
   */
  get dirty(): boolean {
    return this.#dirty;
  }

  /** The current size limits. */
  get limits(): Resolved<MemBufferLimits> {
    return Object.freeze({ entrySizeLimitBytes: this.#entryLimit, totalSizeLimitBytes: this.#totalLimit });
  }

  /**
   * Changes the size limits (client-go `SetEntrySizeLimit`); entries already buffered are not
   * checked again.
   *
   * @param limits - the limits to change; omitted ones keep the default
   */
  setLimits(limits: MemBufferLimits): void {
    const resolved = resolveMemBufferLimits(limits);
    this.#entryLimit = resolved.entrySizeLimitBytes;
    this.#totalLimit = resolved.totalSizeLimitBytes;
  }

  /**
   * Sets the memory footprint hook (client-go `SetMemoryFootprintChangeHook`).
   *
   * @param hook - called with {@link memoryBytes} each time it changes
   */
  setMemoryFootprintChangeHook(hook: (bytes: number) => void): void {
    this.#onMemoryChange = hook;
  }

  /** Whether a memory footprint hook is set. */
  get memoryHookSet(): boolean {
    return this.#onMemoryChange !== undefined;
  }

  /** How often a lookup found its key in the last-key cache, and how often it walked the tree. */
  get cacheStats(): { readonly hits: number; readonly misses: number } {
    return { hits: this.#state.tree.cacheHits, misses: this.#state.tree.cacheMisses };
  }

  // ---- reads ----

  /**
   * The key's buffered value (a view): zero-length when the buffer holds a delete for it,
   * `undefined` when it holds no value (an absent or flags-only key).
   *
   * @param key - the key
   * @returns the value, or undefined
   */
  get(key: Uint8Array): Uint8Array | undefined {
    this.#checkValues();
    const { tree, log } = this.#state;
    const leaf = tree.search(checkKeyBytes(key));
    if (leaf === 0) return undefined;
    const record = tree.valueAddr(leaf);
    return record === 0 ? undefined : log.value(record);
  }

  /**
   * The newest value in the key's history that `predicate` accepts (client-go
   * `SelectValueHistory`): the current value first, then each value it replaced that no staging
   * rollback has dropped, deletes included (zero-length). A value overwritten in place (same
   * length, no staging open) is no longer in the history.
   *
   * @param key - the key
   * @param predicate - receives each value (a view), newest first, until it returns true
   * @returns the accepted value (a view), or `undefined` when none is accepted or the buffer holds
   *   no value for the key (the predicate is then not called)
   */
  selectValueHistory(key: Uint8Array, predicate: (value: Uint8Array) => boolean): Uint8Array | undefined {
    this.#checkValues();
    const { tree, log } = this.#state;
    const leaf = tree.search(checkKeyBytes(key));
    if (leaf === 0) return undefined;
    for (let record = tree.valueAddr(leaf); record !== 0; record = log.previous(record)) {
      const value = log.value(record);
      if (predicate(value)) return value;
    }
    return undefined;
  }

  /**
   * {@link get} for several keys.
   *
   * @param keys - the keys
   * @returns the values, aligned with `keys`
   */
  batchGet(keys: readonly Uint8Array[]): (Uint8Array | undefined)[] {
    return keys.map((k) => this.get(k));
  }

  /**
   * The key's flags, or `undefined` when the buffer does not hold the key (client-go `GetFlags`).
   *
   * @param key - the key
   * @returns the flags, or undefined
   */
  getFlags(key: Uint8Array): KeyFlags | undefined {
    const tree = this.#state.tree;
    const leaf = tree.search(checkKeyBytes(key));
    if (leaf === 0 || tree.isDeleted(leaf)) return undefined;
    return tree.flags(leaf);
  }

  /**
   * Iterates entries with `lower <= key < upper` in key order (a bound left `undefined` or empty
   * is open). Deletes are included (zero-length values); flags-only entries only when asked.
   *
   * @param lower - inclusive lower bound
   * @param upper - exclusive upper bound
   * @param options - direction and flags-only entries
   * @returns the iterator, on the first entry
   */
  iter(lower?: Uint8Array, upper?: Uint8Array, options?: MemBufferIterOptions): MemBufferIterator {
    this.#checkValues();
    return new BufferIterator(this.#state, {
      lower: openBound(lower, 'lower'),
      upper: openBound(upper, 'upper'),
      reverse: options?.reverse ?? false,
      includeFlagsOnly: options?.includeFlagsOnly ?? false,
      skipDeletes: options?.skipDeletes ?? false,
      snapshotPosition: -1,
      snapshotValid: undefined,
    });
  }

  /**
   * A read-only view of the buffer as it was when staging `handle` was opened: by default the
   * outermost open staging (client-go `GetSnapshot`), or the current state when none is open.
   * See {@link MemBufferSnapshot}.
   *
   * @param handle - an open staging handle
   * @returns the snapshot
   */
  getSnapshot(handle?: number): MemBufferSnapshot {
    this.#checkValues();
    const depth = this.#state.stages.length;
    if (handle !== undefined && !(Number.isInteger(handle) && handle >= 1 && handle <= depth)) {
      throw invalidArgument('handle', `an open staging handle (1..${depth})`, handle);
    }
    return new BufferSnapshot(this.#state, handle ?? (depth > 0 ? 1 : 0));
  }

  /**
   * Calls `fn` with every key whose newest value was written since staging `handle` was opened,
   * newest first (client-go `InspectStage`).
   *
   * @param handle - an open staging handle
   * @param fn - receives the key, its flags and its value (views)
   */
  inspectStage(handle: number, fn: (key: Uint8Array, flags: KeyFlags, value: Uint8Array) => void): void {
    const { stages, tree, log } = this.#state;
    if (!Number.isInteger(handle) || handle < 1 || handle > stages.length) {
      throw invalidArgument('handle', `an open staging handle (1..${stages.length})`, handle);
    }
    const head = stages[handle - 1]!;
    for (let addr = log.tail; addr > head; addr = log.below(addr)) {
      const leaf = log.leaf(addr);
      if (tree.valueAddr(leaf) === addr) fn(tree.key(leaf), tree.flags(leaf), log.value(addr));
    }
  }

  // ---- handles ----

  /** The key of an entry handle (from an iterator's `handle`); valid until {@link reset}. */
  keyByHandle(handle: number): Uint8Array {
    return this.#state.tree.key(handle);
  }

  /** The current value of an entry handle, or `undefined` when it has none or values were discarded. */
  valueByHandle(handle: number): Uint8Array | undefined {
    if (this.#state.valuesDiscarded) return undefined;
    const record = this.#state.tree.valueAddr(handle);
    return record === 0 ? undefined : this.#state.log.value(record);
  }

  /** The flags of an entry handle. */
  flagsByHandle(handle: number): KeyFlags {
    return this.#state.tree.flags(handle);
  }

  // ---- writes ----

  /**
   * Sets a key's value (client-go `Set`).
   *
   * @param key - the key (at most 65535 bytes)
   * @param value - the value; not empty
   * @throws InvalidArgumentError for an empty value; KeyTooLargeError, EntryTooLargeError,
   *   TxnTooLargeError past the limits (the buffer is then unchanged)
   */
  set(key: Uint8Array, value: Uint8Array): void {
    this.#write(key, checkValueBytes(value), NO_OPS);
  }

  /**
   * Sets a key's value and applies flag operations (client-go `SetWithFlags`).
   *
   * @param key - the key
   * @param value - the value; not empty
   * @param ops - flag operations, applied in order
   */
  setWithFlags(key: Uint8Array, value: Uint8Array, ...ops: FlagsOp[]): void {
    this.#write(key, checkValueBytes(value), ops);
  }

  /**
   * Buffers a delete of the key: a zero-length value (client-go `Delete`).
   *
   * @param key - the key
   */
  delete(key: Uint8Array): void {
    this.#write(key, TOMBSTONE, NO_OPS);
  }

  /**
   * Buffers a delete and applies flag operations (client-go `DeleteWithFlags`).
   *
   * @param key - the key
   * @param ops - flag operations, applied in order
   */
  deleteWithFlags(key: Uint8Array, ...ops: FlagsOp[]): void {
    this.#write(key, TOMBSTONE, ops);
  }

  /**
   * Applies flag operations to a key, creating a flags-only entry when the buffer does not hold
   * it (client-go `UpdateFlags`). Never fails on the size limits.
   *
   * @param key - the key
   * @param ops - flag operations, applied in order
   */
  updateFlags(key: Uint8Array, ...ops: FlagsOp[]): void {
    this.#write(key, undefined, ops);
  }

  #write(rawKey: Uint8Array, value: Uint8Array | undefined, ops: readonly FlagsOp[]): void {
    this.#checkValues();
    const key = checkKeyBytes(rawKey);
    const keyLength = key.length;
    if (keyLength > MAX_KEY_LENGTH) throw new KeyTooLargeError(keyLength, MAX_KEY_LENGTH);
    if (value !== undefined) {
      const entry = keyLength + value.length;
      if (entry > this.#entryLimit) throw new EntryTooLargeError(entry, this.#entryLimit);
      // Only a write that might pass the limit pays for the exact check.
      if (this.#size + entry > this.#totalLimit) this.#checkTotal(key, value);
    }
    const state = this.#state;
    const { tree, log, stages } = state;
    // An arena holds at most 4 GiB: refuse before anything changes (a leaf, two nodes, a record).
    if (tree.usedBytes + keyLength + ARENA_WRITE_HEADROOM > MAX_ARENA_BYTES) {
      throw new TxnTooLargeError(tree.usedBytes + keyLength + ARENA_WRITE_HEADROOM, MAX_ARENA_BYTES);
    }
    if (value !== undefined && log.usedBytes + value.length + ARENA_WRITE_HEADROOM > MAX_ARENA_BYTES) {
      throw new TxnTooLargeError(log.usedBytes + value.length + ARENA_WRITE_HEADROOM, MAX_ARENA_BYTES);
    }
    state.writeSeq++;
    if (stages.length === 0) {
      this.#dirty = true;
      state.snapshotSeq++;
    }
    const leaf = tree.insert(key);
    if (tree.created) {
      this.#len++;
      this.#size += keyLength;
    } else if (tree.isDeleted(leaf)) {
      // A key a cleanup rolled out comes back.
      this.#len++;
      this.#size += keyLength;
    }
    let flags = tree.flags(leaf);
    // The constraint-check flag lasts until the key's next value write (client-go).
    if (value !== undefined) flags &= ~NEED_CONSTRAINT_CHECK_IN_PREWRITE;
    for (let i = 0; i < ops.length; i++) flags = applyFlagsOp(flags, ops[i]!);
    if ((flags & PERSISTENT_KEY_FLAGS) !== 0) this.#dirty = true;
    tree.setFlags(leaf, flags);
    if (value === undefined) return;
    const old = tree.valueAddr(leaf);
    if (old !== 0) {
      const oldLength = log.valueLength(old);
      // Overwrite in place only a value no open staging can roll back to.
      if (
        oldLength === value.length &&
        oldLength > 0 &&
        (stages.length === 0 || old > stages[stages.length - 1]!)
      ) {
        log.overwrite(old, value);
        return;
      }
      this.#size += value.length - oldLength;
    } else {
      this.#size += value.length;
    }
    tree.setValueAddr(leaf, log.append(leaf, old, value));
  }

  #checkTotal(key: Uint8Array, value: Uint8Array): void {
    const { tree, log } = this.#state;
    const leaf = tree.search(key);
    let delta = value.length;
    if (leaf === 0 || tree.isDeleted(leaf)) delta += key.length;
    else {
      const old = tree.valueAddr(leaf);
      if (old !== 0) delta -= log.valueLength(old);
    }
    if (this.#size + delta > this.#totalLimit)
      throw new TxnTooLargeError(this.#size + delta, this.#totalLimit);
  }

  #checkValues(): void {
    if (this.#state.valuesDiscarded) throw new TiKVError('INTERNAL', 'the membuffer values were discarded');
  }

  // ---- staging ----

  /** Whether a staging is open. */
  get isStaging(): boolean {
    return this.#state.stages.length > 0;
  }

  /** How many stagings are open. */
  get stagingDepth(): number {
    return this.#state.stages.length;
  }

  /**
   * Opens a nested staging (a savepoint) and returns its handle: 1 for the outermost, then 2, ...
   * (client-go `Staging`).
   *
   * @returns the handle
   */
  staging(): number {
    return this.#state.openStage();
  }

  /**
   * Closes the newest staging and keeps what was written in it (client-go `Release`). Handle 0
   * does nothing.
   *
   * @param handle - the newest open handle
   * @throws InvalidArgumentError for any other handle
   */
  release(handle: number): void {
    if (handle === 0) return;
    const state = this.#state;
    const { stages, log } = state;
    if (handle !== stages.length) {
      throw invalidArgument('handle', `the newest open staging handle (${stages.length})`, handle);
    }
    state.writeSeq++;
    if (handle === 1) {
      state.snapshotSeq++;
      if (stages[0] !== log.tail) this.#dirty = true;
    }
    state.closeStage();
  }

  /**
   * Closes the newest staging and rolls back every value written since it was opened (client-go
   * `Cleanup`). Handle 0, or a handle above the open ones, does nothing.
   *
   * @param handle - the newest open handle
   * @throws InvalidArgumentError for a handle below the newest open one
   */
  cleanup(handle: number): void {
    if (handle === 0) return;
    const state = this.#state;
    const { stages, log } = state;
    if (handle > stages.length) return;
    if (handle < stages.length) {
      throw invalidArgument('handle', `the newest open staging handle (${stages.length})`, handle);
    }
    state.writeSeq++;
    if (handle === 1) state.snapshotSeq++;
    const position = stages[handle - 1]!;
    if (!this.#state.valuesDiscarded && log.tail !== position) this.#revertTo(position);
    state.closeStage();
  }

  /** The current position, to roll back to with {@link revertToCheckpoint} (client-go `Checkpoint`). */
  checkpoint(): MemBufferCheckpoint {
    return Object.freeze({ position: this.#state.log.tail, generation: this.#state.generation });
  }

  /**
   * Rolls every value written since `checkpoint` back (client-go `RevertToCheckpoint`).
   *
   * @param checkpoint - from {@link checkpoint}, since the last {@link reset}
   */
  revertToCheckpoint(checkpoint: MemBufferCheckpoint): void {
    this.#checkValues();
    const state = this.#state;
    if (checkpoint.generation !== state.generation || checkpoint.position > state.log.tail) {
      throw invalidArgument('checkpoint', 'a checkpoint of this buffer since its last reset', checkpoint);
    }
    this.#revertTo(checkpoint.position);
    state.renewStagesAbove(checkpoint.position);
    state.writeSeq++;
    // A snapshot reads at the outermost staging (or the tail): only a revert below it changes what it sees.
    if (state.stages.length === 0 || checkpoint.position < state.stages[0]!) state.snapshotSeq++;
  }

  /** Undoes the value-log records above `position`, newest first. */
  #revertTo(position: number): void {
    const { tree, log } = this.#state;
    for (let addr = log.tail; addr > position; addr = log.below(addr)) {
      const leaf = log.leaf(addr);
      const previous = log.previous(addr);
      tree.setValueAddr(leaf, previous);
      this.#size -= log.valueLength(addr);
      if (previous !== 0) {
        this.#size += log.valueLength(previous);
        continue;
      }
      // The key had no value before: it keeps its persistent flags, or leaves the buffer.
      const kept = tree.flags(leaf) & PERSISTENT_KEY_FLAGS;
      if (kept === 0) {
        tree.markDeleted(leaf);
        this.#len--;
        this.#size -= tree.keyLength(leaf);
      } else {
        tree.setFlags(leaf, kept);
      }
    }
    log.truncate(position);
  }

  // ---- whole buffer ----

  /** Empties the buffer and releases its memory (client-go `Reset`); handles, iterators and snapshots from before end. */
  reset(): void {
    const state = this.#state;
    state.tree.reset();
    state.log.reset();
    state.clearStages();
    state.writeSeq++;
    state.snapshotSeq++;
    state.generation++;
    this.#len = 0;
    this.#size = 0;
    this.#dirty = false;
    this.#state.valuesDiscarded = false;
  }

  /**
   * Releases the memory of every value (client-go `DiscardValues`), for a transaction that keeps
   * only keys and flags from here on (after its prewrite). Reads and writes then throw; keys,
   * flags and {@link keyByHandle} still work.
   */
  discardValues(): void {
    this.#state.valuesDiscarded = true;
    this.#state.log.reset();
  }
}

const NO_OPS: readonly FlagsOp[] = [];
const TOMBSTONE = new Uint8Array(0);

function checkKeyBytes(key: Uint8Array): Uint8Array {
  if (key instanceof Uint8Array) return key;
  throw invalidArgument('key', 'a Uint8Array', key);
}

function checkValueBytes(value: Uint8Array): Uint8Array {
  if (!(value instanceof Uint8Array)) throw invalidArgument('value', 'a Uint8Array', value);
  // A zero-length value is how the buffer stores a delete (client-go ErrCannotSetNilValue).
  if (value.length === 0)
    throw new InvalidArgumentError('value must not be empty: use delete() to remove a key');
  return value;
}

function openBound(bound: Uint8Array | undefined, name: string): Uint8Array | undefined {
  if (bound === undefined) return undefined;
  if (!(bound instanceof Uint8Array)) throw invalidArgument(name, 'a Uint8Array or undefined', bound);
  // Copied: the iterator re-reads its bounds when the buffer is written under it.
  return bound.length === 0 ? undefined : bound.slice();
}
