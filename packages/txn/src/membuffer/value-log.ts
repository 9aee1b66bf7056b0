import { Arena } from './arena.js';

/**
 * The value log: every value the buffer was given, appended in order, each record linking to the
 * value it replaced (client-go's `MemdbVlog`). A staging handle or checkpoint is a position in
 * the log; rolling back walks the records after it, newest first, and re-points each key at the
 * value it had before; reading at a snapshot walks a key's chain back to the first record at or
 * below the snapshot's position.
 *
 * Record layout, in 32-bit words: the value's bytes (padded to a word), then `[length, previous
 * record, leaf]`. A record's address is the word just past its end, so the log can be walked
 * backwards from any position; address 0 is null (no record ends there).
 */

const HEADER_WORDS = 3;

/** Words the value bytes of `length` take. */
function valueWords(length: number): number {
  return (length + 3) >>> 2;
}

/** The value log; see the module comment. */
export class ValueLog {
  readonly #arena: Arena;

  /** @param onResize - called after the committed size changed */
  constructor(onResize: () => void) {
    this.#arena = new Arena(0, onResize);
  }

  /** The position after the newest record: a checkpoint. */
  get tail(): number {
    return this.#arena.top;
  }

  /** Bytes of records written (up to the tail). */
  get usedBytes(): number {
    return this.#arena.top * 4;
  }

  /** Committed bytes. */
  get capacityBytes(): number {
    return this.#arena.capacityBytes;
  }

  /**
   * Appends a value.
   *
   * @param leaf - the leaf (tree address) the value belongs to
   * @param previous - the record it replaces, or 0
   * @param value - the value bytes (zero-length for a delete)
   * @returns the new record's address
   */
  append(leaf: number, previous: number, value: Uint8Array): number {
    const words = valueWords(value.length);
    const start = this.#arena.alloc(words + HEADER_WORDS);
    this.#arena.u8.set(value, start * 4);
    const addr = start + words + HEADER_WORDS;
    const i32 = this.#arena.i32;
    i32[addr - 3] = value.length;
    i32[addr - 2] = previous;
    i32[addr - 1] = leaf;
    return addr;
  }

  /** The length of the record's value (0: a delete). */
  valueLength(addr: number): number {
    return this.#arena.i32[addr - 3]!;
  }

  /** The record this one replaced, or 0. */
  previous(addr: number): number {
    return this.#arena.i32[addr - 2]!;
  }

  /** The leaf the record belongs to. */
  leaf(addr: number): number {
    return this.#arena.i32[addr - 1]!;
  }

  /** The record just below this one in the log. */
  below(addr: number): number {
    return addr - HEADER_WORDS - valueWords(this.#arena.i32[addr - 3]!);
  }

  /**
   * The record's value as a view into the log: valid until the buffer is next written.
   *
   * @param addr - a record
   * @returns the value bytes (zero-length for a delete)
   */
  value(addr: number): Uint8Array {
    const i32 = this.#arena.i32;
    const length = i32[addr - 3]!;
    const start = (addr - HEADER_WORDS - valueWords(length)) * 4;
    return this.#arena.u8.subarray(start, start + length);
  }

  /** Overwrites the record's value with one of the same length. */
  overwrite(addr: number, value: Uint8Array): void {
    const start = (addr - HEADER_WORDS - valueWords(value.length)) * 4;
    this.#arena.u8.set(value, start);
  }

  /**
   * The newest record in `addr`'s chain at or below `position` (0 when none): the value a
   * snapshot taken at `position` sees.
   *
   * @param addr - a key's newest record
   * @param position - a log position
   * @returns the record, or 0
   */
  atPosition(addr: number, position: number): number {
    const i32 = this.#arena.i32;
    let a = addr;
    while (a > position) a = i32[a - 2]!;
    return a;
  }

  /** Drops every record above `position`. */
  truncate(position: number): void {
    this.#arena.truncate(position);
  }

  /** Releases the memory. */
  reset(): void {
    this.#arena.reset();
  }
}
