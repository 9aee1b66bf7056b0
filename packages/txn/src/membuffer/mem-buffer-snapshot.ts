import { TiKVError } from '@tikv/common';
import type { BufferState } from './buffer-state.js';
import { BufferIterator, type MemBufferIterator } from './mem-buffer-iterator.js';

/** Options of {@link MemBufferSnapshot.iter}. */
export interface MemBufferSnapshotIterOptions {
  /** Walk from the largest key down. @defaultValue false */
  readonly reverse?: boolean;
}

/**
 * The buffer as it was before its outermost open staging (client-go `MemBuffer.GetSnapshot`):
 * reads that must not see the current statement's writes. Taken with no staging open, it is the
 * buffer as of now, until the next write.
 *
 * A snapshot stays valid while the outermost staging it was taken under stays open; once that
 * staging is released or cleaned up (or the buffer is written with no staging open, reverted
 * below it, or reset) its reads throw and its iterators turn invalid. Writes inside the staging
 * do not disturb it, not even an open iterator.
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
   * is open), deletes included (zero-length values).
   */
  iter(lower?: Uint8Array, upper?: Uint8Array, options?: MemBufferSnapshotIterOptions): MemBufferIterator;
}

/** The snapshot implementation. Internal. */
export class BufferSnapshot implements MemBufferSnapshot {
  readonly #state: BufferState;
  readonly #position: number;
  readonly #snapshotSeq: number;

  constructor(state: BufferState) {
    this.#state = state;
    this.#position = state.snapshotPosition();
    this.#snapshotSeq = state.snapshotSeq;
  }

  get valid(): boolean {
    return this.#snapshotSeq === this.#state.snapshotSeq;
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
      snapshotPosition: this.#position,
      snapshotSeq: this.#snapshotSeq,
    });
  }

  #check(): void {
    if (!this.valid) {
      throw new TiKVError(
        'INTERNAL',
        'the membuffer snapshot is no longer valid: its staging was released or cleaned up',
      );
    }
  }
}
