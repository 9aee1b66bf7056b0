/**
 * A growable block of 32-bit words in one `ArrayBuffer`, addressed by word index: the storage
 * under the buffer's tree and value log (client-go's `arena` package).
 *
 * A JS object or `Uint8Array` per entry costs ~100 bytes of heap, more than a typical key and
 * value together, so the buffer keeps everything here and hands out numbers. The buffer is a
 * resizable `ArrayBuffer`: growing it commits more of a reserved range in place, so addresses
 * never move and no copy doubles the footprint; only when the reservation itself runs out is the
 * data copied once into a four times larger one.
 */

interface ResizableBuffer extends ArrayBuffer {
  resize(byteLength: number): void;
  readonly maxByteLength: number;
  readonly resizable: boolean;
}
type ResizableBufferConstructor = new (
  byteLength: number,
  options: { maxByteLength: number },
) => ResizableBuffer;
const Resizable = ArrayBuffer as unknown as ResizableBufferConstructor;

/** The first commit, in bytes (client-go's first arena block is 4 KiB too). */
const INITIAL_BYTES = 4 * 1024;
/**
 * The first reservation, in bytes: small, so that the many small transactions of a busy client
 * hold little address space until the garbage collector frees them (V8 does not count a
 * reservation, only the bytes committed when the buffer is created).
 */
const INITIAL_RESERVATION_BYTES = 1024 * 1024;
/**
 * The reservation an arena moves to once it outgrows the first: the largest V8 allows, so a
 * big transaction copies its arena once (at 1 MiB) and never again. Re-reserving in steps would
 * copy at each and, worse, each new buffer's committed bytes count as fresh external memory for
 * V8, which answers with full garbage collections.
 */
const LARGE_RESERVATION_BYTES = 2 ** 32;
/** Commits grow by at least this many bytes... */
const MIN_GROWTH_BYTES = 64 * 1024;
/** ...or by this fraction of the committed size (1/8: at most 12.5% committed but unused). */
const GROWTH_SHIFT = 3;
/** The largest arena: V8's largest resizable buffer (4 GiB). */
export const MAX_ARENA_BYTES = LARGE_RESERVATION_BYTES;

/** Word-addressed storage; see the module comment. */
export class Arena {
  #buffer: ResizableBuffer | undefined;
  /** Words view (length-tracking: it follows `resize`). */
  #i32: Int32Array = new Int32Array(0);
  /** Bytes view of the same memory. */
  #u8: Uint8Array = new Uint8Array(0);
  /** The next free word. */
  #top = 0;
  readonly #onResize: () => void;

  /**
   * @param reservedWords - words allocated at the start and never handed out (address 0 then
   *   means null)
   * @param onResize - called after the committed size changed
   */
  constructor(
    readonly reservedWords: number,
    onResize: () => void,
  ) {
    this.#top = reservedWords;
    this.#onResize = onResize;
  }

  /** The words view; it changes only when the arena is re-reserved or reset (re-read after {@link alloc}). */
  get i32(): Int32Array {
    return this.#i32;
  }

  /** The bytes view; it changes only when the arena is re-reserved or reset (re-read after {@link alloc}). */
  get u8(): Uint8Array {
    return this.#u8;
  }

  /** The next free word: everything below it is allocated. */
  get top(): number {
    return this.#top;
  }

  /** Committed bytes: the arena's memory footprint. */
  get capacityBytes(): number {
    return this.#buffer === undefined ? 0 : this.#u8.byteLength;
  }

  /**
   * Allocates `words` contiguous words (zero-filled if never used before) and returns the index
   * of the first.
   *
   * @param words - how many words
   * @returns the address of the first word
   */
  alloc(words: number): number {
    const addr = this.#top;
    const end = addr + words;
    if (end * 4 > this.capacityBytes) this.#grow(end * 4);
    this.#top = end;
    return addr;
  }

  /**
   * Moves the top back to `top`: the words above it are free for reuse (their bytes are not
   * cleared). Used to roll the value log back.
   *
   * @param top - a top this arena had before
   */
  truncate(top: number): void {
    this.#top = top;
  }

  /** Releases the memory; the arena starts again empty. */
  reset(): void {
    const had = this.#buffer !== undefined;
    this.#buffer = undefined;
    this.#i32 = new Int32Array(0);
    this.#u8 = new Uint8Array(0);
    this.#top = this.reservedWords;
    if (had) this.#onResize();
  }

  #grow(neededBytes: number): void {
    if (neededBytes > MAX_ARENA_BYTES)
      throw new RangeError(`buffer arena cannot grow to ${neededBytes} bytes`);
    const current = this.capacityBytes;
    // Double while small, then grow by an eighth: few resizes, little committed slack.
    const step =
      current < MIN_GROWTH_BYTES * 4 ? current : Math.max(MIN_GROWTH_BYTES, current >>> GROWTH_SHIFT);
    const next = Math.min(
      alignUp(Math.max(current + step, neededBytes, INITIAL_BYTES), 4096),
      MAX_ARENA_BYTES,
    );
    const buffer = this.#buffer;
    if (buffer?.resizable === true && next <= buffer.maxByteLength) {
      buffer.resize(next);
    } else if (buffer === undefined && next <= INITIAL_BYTES) {
      // Most transactions fit the first 4 KiB: a plain buffer costs a fraction of a reservation
      // (which maps address space), and a transaction that outgrows it copies 4 KiB once.
      const [slab, offset] = takeInitialBlock();
      this.#buffer = slab as ResizableBuffer;
      this.#i32 = new Int32Array(slab, offset, INITIAL_BYTES >>> 2);
      this.#u8 = new Uint8Array(slab, offset, INITIAL_BYTES);
    } else {
      const fresh = reserveResizable(
        next,
        buffer?.resizable === true ? LARGE_RESERVATION_BYTES : INITIAL_RESERVATION_BYTES,
      );
      const i32 = new Int32Array(fresh);
      if (buffer !== undefined) i32.set(this.#i32.subarray(0, this.#top));
      this.#buffer = fresh;
      this.#i32 = i32;
      this.#u8 = new Uint8Array(fresh);
    }
    this.#onResize();
  }
}

/** Initial blocks cut from one plain buffer: one allocation serves several transactions. */
const SLAB_BYTES = 16 * INITIAL_BYTES;
let slab: ArrayBuffer | undefined;
let slabOffset = SLAB_BYTES;

/**
 * A fresh (zeroed, never handed out before) {@link INITIAL_BYTES} block: the slab and its
 * offset. A slab is freed once no arena holds a block of it.
 */
function takeInitialBlock(): [ArrayBuffer, number] {
  if (slab === undefined || slabOffset >= SLAB_BYTES) {
    slab = new ArrayBuffer(SLAB_BYTES);
    slabOffset = 0;
  }
  const offset = slabOffset;
  slabOffset += INITIAL_BYTES;
  return [slab, offset];
}

/**
 * A resizable buffer of `bytes`, reserving `wanted` (or less, where the system refuses that much).
 *
 * @internal
 */
export function reserve(bytes: number, wanted: number): ArrayBuffer & { readonly maxByteLength: number } {
  return reserveResizable(bytes, wanted);
}

function reserveResizable(bytes: number, wanted: number): ResizableBuffer {
  let max = Math.max(wanted, bytes);
  for (;;) {
    try {
      return new Resizable(bytes, { maxByteLength: max });
    } catch (e) {
      // Address space or overcommit limits: settle for less headroom. (By name: the error may
      // come from another realm's ArrayBuffer, as under jest.)
      if ((e as { name?: unknown } | null)?.name !== 'RangeError' || max <= bytes) throw e;
      max = Math.max(bytes, alignUp(max / 4, 4096));
    }
  }
}

function alignUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
