import { decodeUvarint, decodeVarint, encodeUvarint } from '@tikv/common';

/** One scratch buffer shared by every writer: encoding is synchronous, `finish` copies out. */
let scratch = new Uint8Array(1024);
let scratchView = new DataView(scratch.buffer);

/**
 * Appends bytes as TiKV's `Vec<u8>` encoders do. Writers share one scratch buffer (a record is
 * encoded and copied out before the next starts), so encoding allocates only the result.
 */
export class ByteWriter {
  #len = 0;

  constructor() {
    this.#len = 0;
  }

  #reserve(n: number): void {
    if (this.#len + n <= scratch.length) return;
    const next = new Uint8Array(Math.max(scratch.length * 2, this.#len + n));
    next.set(scratch.subarray(0, this.#len));
    scratch = next;
    scratchView = new DataView(next.buffer);
  }

  byte(b: number): this {
    this.#reserve(1);
    scratch[this.#len++] = b;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.#reserve(b.length);
    scratch.set(b, this.#len);
    this.#len += b.length;
    return this;
  }

  /** `encode_u64`: 8 bytes big-endian. */
  u64(v: bigint): this {
    this.#reserve(8);
    scratchView.setBigUint64(this.#len, v);
    this.#len += 8;
    return this;
  }

  /** `encode_var_u64`: an unsigned LEB128 varint. */
  varU64(v: bigint | number): this {
    if (typeof v === 'bigint' && v > 0x1f_ffff_ffff_ffffn) return this.bytes(encodeUvarint(v));
    let n = Number(v);
    this.#reserve(10);
    while (n >= 0x80) {
      scratch[this.#len++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    scratch[this.#len++] = n;
    return this;
  }

  /** `encode_compact_bytes`: a zigzag varint length, then the bytes. */
  compactBytes(b: Uint8Array): this {
    // The zigzag form of a non-negative length n is 2n.
    this.varU64(b.length * 2);
    return this.bytes(b);
  }

  finish(): Uint8Array {
    return scratch.slice(0, this.#len);
  }
}

/**
 * Reads what {@link ByteWriter} writes; every read past the end throws a RangeError. It walks one
 * position over the input: a lock or write record is decoded for every key a scan or a resolve
 * touches, and a sub-array (or an 8-byte copy for a u64) per field showed as a third of a
 * region-wide `KvResolveLock`'s time, most of it garbage collection.
 */
export class ByteReader {
  readonly #input: Uint8Array;
  #at = 0;

  constructor(input: Uint8Array) {
    this.#input = input;
  }

  get empty(): boolean {
    return this.#at >= this.#input.length;
  }

  byte(): number {
    const b = this.#input[this.#at];
    if (b === undefined) throw new RangeError('record ends early');
    this.#at++;
    return b;
  }

  take(n: number): Uint8Array {
    if (this.#input.length - this.#at < n) throw new RangeError('record ends early');
    const out = this.#input.slice(this.#at, this.#at + n);
    this.#at += n;
    return out;
  }

  u64(): bigint {
    const b = this.#input;
    const i = this.#at;
    if (b.length - i < 8) throw new RangeError('record ends early');
    const hi =
      (b[i] as number) * 0x100_0000 +
      (((b[i + 1] as number) << 16) | ((b[i + 2] as number) << 8) | (b[i + 3] as number));
    const lo =
      (b[i + 4] as number) * 0x100_0000 +
      (((b[i + 5] as number) << 16) | ((b[i + 6] as number) << 8) | (b[i + 7] as number));
    this.#at = i + 8;
    return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
  }

  varU64(): bigint {
    const n = this.#smallUvarint();
    if (n !== undefined) return BigInt(n);
    const { value, rest } = decodeUvarint(this.#input.subarray(this.#at));
    this.#at = this.#input.length - rest.length;
    return value;
  }

  compactBytes(): Uint8Array {
    const at = this.#at;
    const zigzag = this.#smallUvarint();
    // The zigzag form of a non-negative length n is 2n; anything else goes the long way.
    if (zigzag !== undefined && zigzag % 2 === 0) return this.take(zigzag / 2);
    this.#at = at;
    const { value, rest } = decodeVarint(this.#input.subarray(at));
    this.#at = this.#input.length - rest.length;
    return this.take(Number(value));
  }

  /**
   * A varint of at most seven bytes (49 bits, exact as a number), consumed; undefined, with
   * nothing consumed, for a longer or truncated one (the bigint decoder handles and reports those).
   */
  #smallUvarint(): number | undefined {
    const b = this.#input;
    const stop = Math.min(b.length, this.#at + 7);
    let value = 0;
    let scale = 1;
    for (let i = this.#at; i < stop; i++) {
      const byte = b[i] as number;
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) {
        this.#at = i + 1;
        return value;
      }
      scale *= 0x80;
    }
    return undefined;
  }
}

/** Prefix of an inlined short value in lock and write records. */
export const SHORT_VALUE_PREFIX = 0x76; // 'v'
/** Values up to this length are inlined in the lock or write record (`SHORT_VALUE_MAX_LEN`). */
export const SHORT_VALUE_MAX_LEN = 255;

/** Whether TiKV inlines `value` in the record instead of writing it to the default CF. */
export function isShortValue(value: Uint8Array): boolean {
  return value.length <= SHORT_VALUE_MAX_LEN;
}

/**
 * Where the last real change (PUT or DELETE) of a key sits, as TiKV records it in LOCK and
 * ROLLBACK write records and in locks: `unknown` (not recorded), `notExist` (no earlier version
 * or the last one is a DELETE), or `exist` with its commit ts and the estimated number of
 * versions to skip to reach it.
 */
export type LastChange =
  | { readonly kind: 'unknown' }
  | { readonly kind: 'notExist' }
  | { readonly kind: 'exist'; readonly ts: bigint; readonly versions: bigint };

export const LAST_CHANGE_UNKNOWN: LastChange = Object.freeze({ kind: 'unknown' });
export const LAST_CHANGE_NOT_EXIST: LastChange = Object.freeze({ kind: 'notExist' });

/** `LastChange::make_exist`. */
export function lastChangeExist(ts: bigint, versions: bigint): LastChange {
  return { kind: 'exist', ts, versions };
}

/** `LastChange::to_parts`: (0, 0) unknown, (0, 1) not exist, (ts, n) exist. */
export function lastChangeToParts(c: LastChange): [bigint, bigint] {
  if (c.kind === 'exist') return [c.ts, c.versions];
  return [0n, c.kind === 'notExist' ? 1n : 0n];
}

/** `LastChange::from_parts`. */
export function lastChangeFromParts(ts: bigint, versions: bigint): LastChange {
  if (ts === 0n) return versions > 0n ? LAST_CHANGE_NOT_EXIST : LAST_CHANGE_UNKNOWN;
  return lastChangeExist(ts, versions);
}

/** Tag of the last-change field, the same in lock and write records. */
const LAST_CHANGE_PREFIX = 0x6c; // 'l'

/**
 * Writes the fields lock and write records encode alike: the short value (when there is one)
 * right after the record's head.
 */
export function writeShortValue(w: ByteWriter, value: Uint8Array | undefined): void {
  if (value !== undefined) w.byte(SHORT_VALUE_PREFIX).byte(value.length).bytes(value);
}

/** Writes the last-change field of a lock or write record, unless it is unknown. */
export function writeLastChange(w: ByteWriter, c: LastChange): void {
  if (c.kind === 'unknown') return;
  const [ts, versions] = lastChangeToParts(c);
  w.byte(LAST_CHANGE_PREFIX).u64(ts).varU64(versions);
}

/** The fields lock and write records share. */
export interface SharedFields {
  shortValue: Uint8Array | undefined;
  lastChange: LastChange;
  txnSource: bigint;
}

/**
 * Reads the optional fields of a lock or write record up to its end: the ones both share (the
 * short value, the last change, and the txn source, whose tag differs: `s` in a lock, `S` in a
 * write) here, the others through `readOwn`, which returns false for a tag it does not know.
 * An unknown tag ends the parse, as in TiKV.
 *
 * @param r - the reader, after the record's head
 * @param into - the record being decoded
 * @param txnSourceTag - the record's txn source tag
 * @param readOwn - reads one field of the record's own, given its tag
 */
export function readRecordFields(
  r: ByteReader,
  into: SharedFields,
  txnSourceTag: number,
  readOwn: (tag: number) => boolean,
): void {
  while (!r.empty) {
    const tag = r.byte();
    if (tag === SHORT_VALUE_PREFIX) into.shortValue = r.take(r.byte());
    else if (tag === LAST_CHANGE_PREFIX) into.lastChange = lastChangeFromParts(r.u64(), r.varU64());
    else if (tag === txnSourceTag) into.txnSource = r.varU64();
    else if (!readOwn(tag)) return;
  }
}

/** Writes the txn source field of a lock or write record (under its tag), unless it is 0. */
export function writeTxnSource(w: ByteWriter, tag: number, txnSource: bigint): void {
  if (txnSource !== 0n) w.byte(tag).varU64(txnSource);
}

/**
 * The record kind whose letter is `flag`: TiKV writes a lock's or a write's kind as the byte of
 * its letter (`P`ut, `D`elete, `L`ock, ...).
 *
 * @param kinds - the letters the record may start with
 * @param flag - the record's first byte
 * @param what - `lock` or `write`, for the error
 * @throws RangeError for any other byte
 */
export function kindOfFlag<K extends string>(kinds: ReadonlySet<K>, flag: number, what: string): K {
  const kind = String.fromCharCode(flag) as K;
  if (!kinds.has(kind)) throw new RangeError(`bad format ${what}: flag ${flag}`);
  return kind;
}
