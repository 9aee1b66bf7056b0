import { compareKeys, TiKVError } from '@tikv/common';
import { ArtCursor } from './art-cursor.js';
import type { BufferState } from './buffer-state.js';
import type { KeyFlags } from './key-flags.js';

/**
 * A cursor over the entries of a {@link MemBuffer} or of its snapshot, in key order (client-go's
 * `unionstore.Iterator`): test {@link valid}, read the current entry, call {@link next}.
 *
 * Writes to the buffer while an iterator is open are allowed (client-go forbids them): the next
 * {@link next} continues from the first key after the current one, in the buffer's state at that
 * time. Keys and values are views into the buffer's memory: a value view may change with the
 * next write, so copy what must outlive it (`slice()`). A `reset` of the buffer ends every
 * iterator: their methods then throw.
 */
export interface MemBufferIterator {
  /** Whether the iterator is on an entry. */
  readonly valid: boolean;
  /** The current key (a view). */
  key(): Uint8Array;
  /**
   * The current value (a view): zero-length for a delete, `undefined` for a flags-only entry
   * (only iterators that include them return one).
   */
  value(): Uint8Array | undefined;
  /** Whether the current entry has a value (false for a flags-only entry). */
  hasValue(): boolean;
  /** The current key's flags. */
  flags(): KeyFlags;
  /** The current entry's handle (see `MemBuffer.keyByHandle`). */
  readonly handle: number;
  /** Moves to the next entry; throws when the iterator is not {@link valid}. */
  next(): void;
}

/** How an iterator was asked for. Internal. */
export interface IteratorShape {
  readonly lower: Uint8Array | undefined;
  readonly upper: Uint8Array | undefined;
  readonly reverse: boolean;
  /** Include flags-only entries (client-go `IterWithFlags`). */
  readonly includeFlagsOnly: boolean;
  /** Leave deletes out. */
  readonly skipDeletes: boolean;
  /** Read at this value-log position (a snapshot); -1 reads the current values. */
  readonly snapshotPosition: number;
  /** For a snapshot: whether it still reads (its iterators throw once not). */
  readonly snapshotValid: (() => boolean) | undefined;
}

/** The iterator implementation. Internal: created by `MemBuffer` and its snapshots. */
export class BufferIterator implements MemBufferIterator {
  readonly #state: BufferState;
  readonly #shape: IteratorShape;
  readonly #cursor: ArtCursor;
  readonly #generation: number;
  #writeSeq: number;
  /** The leaf the walk stops at (the first one out of range), or 0. */
  #end = 0;
  #leaf = 0;
  /** For a snapshot: the value record read at the snapshot position. */
  #record = 0;

  constructor(state: BufferState, shape: IteratorShape) {
    this.#state = state;
    this.#shape = shape;
    this.#cursor = new ArtCursor(state.tree);
    this.#generation = state.generation;
    this.#writeSeq = state.writeSeq;
    const { lower, upper } = shape;
    if (lower !== undefined && upper !== undefined && compareKeys(lower, upper) >= 0) return;
    this.#position(undefined);
    this.#advance();
  }

  get valid(): boolean {
    return (
      this.#leaf !== 0 &&
      this.#generation === this.#state.generation &&
      (this.#shape.snapshotValid === undefined || this.#shape.snapshotValid())
    );
  }

  get handle(): number {
    this.#check();
    return this.#leaf;
  }

  key(): Uint8Array {
    this.#check();
    return this.#state.tree.key(this.#leaf);
  }

  value(): Uint8Array | undefined {
    this.#check();
    if (this.#state.valuesDiscarded) throw new TiKVError('INTERNAL', 'the membuffer values were discarded');
    const record = this.#shape.snapshotPosition >= 0 ? this.#record : this.#state.tree.valueAddr(this.#leaf);
    return record === 0 ? undefined : this.#state.log.value(record);
  }

  hasValue(): boolean {
    this.#check();
    return this.#shape.snapshotPosition >= 0 || this.#state.tree.valueAddr(this.#leaf) !== 0;
  }

  flags(): KeyFlags {
    this.#check();
    return this.#state.tree.flags(this.#leaf);
  }

  next(): void {
    this.#check();
    if (this.#writeSeq !== this.#state.writeSeq) {
      // The tree changed under the cursor: walk again from the current key (leaves never move).
      this.#writeSeq = this.#state.writeSeq;
      const current = this.#leaf;
      this.#position(this.#state.tree.key(current));
      const again = this.#step();
      if (again !== current) throw new TiKVError('INTERNAL', 'membuffer iterator lost its position');
    }
    this.#advance();
  }

  #check(): void {
    if (this.#generation !== this.#state.generation) {
      throw new TiKVError('INTERNAL', 'the membuffer was reset while an iterator was open');
    }
    if (this.#shape.snapshotValid !== undefined && !this.#shape.snapshotValid()) {
      throw new TiKVError(
        'INTERNAL',
        'the membuffer snapshot is no longer valid: its staging was released or cleaned up',
      );
    }
    if (this.#leaf === 0) throw new TiKVError('INTERNAL', 'membuffer iterator is finished');
  }

  /** Seeks the cursor to the range start, or to `from` (inclusive) when given, and finds the end leaf. */
  #position(from: Uint8Array | undefined): void {
    const { lower, upper, reverse } = this.#shape;
    const tree = this.#state.tree;
    const end = new ArtCursor(tree);
    if (!reverse) {
      if (from !== undefined) this.#cursor.seekAtLeast(from);
      else if (lower !== undefined) this.#cursor.seekAtLeast(lower);
      else this.#cursor.seekFirst();
      if (upper !== undefined) {
        end.seekAtLeast(upper);
        this.#end = end.next();
      } else {
        this.#end = 0;
      }
    } else {
      if (from !== undefined) {
        // At most `from`: the largest leaf below the key right after it.
        const after = new Uint8Array(from.length + 1);
        after.set(from);
        this.#cursor.seekBelow(after);
      } else if (upper !== undefined) this.#cursor.seekBelow(upper);
      else this.#cursor.seekLast();
      if (lower !== undefined) {
        end.seekBelow(lower);
        this.#end = end.prev();
      } else {
        this.#end = 0;
      }
    }
  }

  #step(): number {
    return this.#shape.reverse ? this.#cursor.prev() : this.#cursor.next();
  }

  #advance(): void {
    const tree = this.#state.tree;
    const { includeFlagsOnly, skipDeletes, snapshotPosition } = this.#shape;
    const log = this.#state.log;
    for (;;) {
      const leaf = this.#step();
      if (leaf === 0 || leaf === this.#end) {
        this.#leaf = 0;
        return;
      }
      if (tree.isDeleted(leaf)) continue;
      const record = tree.valueAddr(leaf);
      if (snapshotPosition >= 0) {
        const visible = record === 0 ? 0 : log.atPosition(record, snapshotPosition);
        if (visible === 0 || (skipDeletes && log.valueLength(visible) === 0)) continue;
        this.#record = visible;
      } else if (record === 0) {
        if (!includeFlagsOnly) continue;
      } else if (skipDeletes && log.valueLength(record) === 0) {
        continue;
      }
      this.#leaf = leaf;
      return;
    }
  }
}
