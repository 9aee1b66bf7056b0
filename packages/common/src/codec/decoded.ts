/** The result of decoding one value from the front of a byte array. */
export interface Decoded<T> {
  /** The decoded value. */
  readonly value: T;
  /** The bytes after the value (a view of the input, not a copy). */
  readonly rest: Uint8Array;
}
