import { TiKVError } from '@tikv/common';
import type { BufferState } from './buffer-state.js';
import { BufferIterator, type MemBufferIterator } from './mem-buffer-iterator.js';

/** Options of {@link MemBufferSnapshot.iter}. */
export interface MemBufferSnapshotIterOptions {
  /** Walk from the largest key down. @defaultValue false */
  readonly reverse?: boolean | undefined;
  /** Leave deletes (zero-length values) out. @defaultValue false */
  readonly skipDeletes?: boolean | undefined;
}

/**
 * The buffer as it was when a staging was opened (client-go `MemBuffer.GetSnapshot`, which reads
 * at the outermost one): reads that must not see the writes made since, such as the current
 * statement's. Taken with no staging open, it is the buffer as of now, until the next write.
 *
 * A snapshot stays valid while its staging stays open: writes inside it, and inside stagings
 * nested in it, do not disturb it, not even an open iterator. Once the staging is released or
 * cleaned up (or the buffer is reverted below it, or reset) its reads throw and its iterators turn
 * invalid.
 */
export interface MemBufferSnapshot {
  /** Whether reads still work. */
  readonly valid: boolean;
  /**
   * The key's value at the snapshot (a view): zero-length for a delete, `undefined` when the
   * snapshot has no value for the key.
   */
  get(key: Uint8Array): Uint8Array | undefined;
  /**
   * Iterates the snapshot's entries with `lower <= key < upper` (a bound left `undefined` or empty
   * is open), deletes included (zero-length values) unless `skipDeletes`.
   */
  iter(lower?: Uint8Array, upper?: Uint8Array, options?: MemBufferSnapshotIterOptions): MemBufferIterator;
}

/** The snapshot implementation. Internal. */
export class BufferSnapshot implements MemBufferSnapshot {
  readonly #state: BufferState;
  readonly #position: number;
  readonly #generation: number;
  /** The staging it reads at (1-based), or 0 for the state when it was taken. */
  readonly #handle: number;
  /** That staging's id, or the snapshot sequence when there is none. */
  readonly #id: number;
  readonly #validFn = (): boolean => this.valid;

  /**
   * @param state - the buffer's state
   * @param handle - an open staging handle, or 0 for the current state (no staging open)
   */
  constructor(state: BufferState, handle: number) {
    this.#state = state;
    this.#handle = handle;
    this.#generation = state.generation;
    if (handle === 0) {
      this.#position = state.log.tail;
      this.#id = state.snapshotSeq;
    } else {
      this.#position = state.stages[handle - 1]!;
      this.#id = state.stageIds[handle - 1]!;
    }
  }

  get valid(): boolean {
    const state = this.#state;
    if (state.generation !== this.#generation) return false;
    return this.#handle === 0
      ? state.snapshotSeq === this.#id
      : state.stageIds[this.#handle - 1] === this.#id;
  }

  get(key: Uint8Array): Uint8Array | undefined {
    this.#check();
    const { tree, log } = this.#state;
    const leaf = tree.search(key);
    if (leaf === 0) return undefined;
    const record = tree.valueAddr(leaf);
    if (record === 0) return undefined;
    const visible = log.atPosition(record, this.#position);
    return visible === 0 ? undefined : log.value(visible);
  }

  iter(lower?: Uint8Array, upper?: Uint8Array, options?: MemBufferSnapshotIterOptions): MemBufferIterator {
    this.#check();
    return new BufferIterator(this.#state, {
      lower: lower === undefined || lower.length === 0 ? undefined : lower.slice(),
      upper: upper === undefined || upper.length === 0 ? undefined : upper.slice(),
      reverse: options?.reverse ?? false,
      includeFlagsOnly: false,
      skipDeletes: options?.skipDeletes ?? false,
      snapshotPosition: this.#position,
      snapshotValid: this.#validFn,
    });
  }

  #check(): void {
    if (this.#state.valuesDiscarded) throw new TiKVError('INTERNAL', 'the membuffer values were discarded');
    if (!this.valid) {
      throw new TiKVError(
        'INTERNAL',
        'the membuffer snapshot is no longer valid: its staging was released or cleaned up',
      );
    }
  }
}
