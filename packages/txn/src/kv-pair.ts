/** A key and its value, as the transactional client returns them. */
export interface KvPair {
  /** The key. */
  readonly key: Uint8Array;
  /** The value; a zero-length array in every pair of a key-only read. */
  readonly value: Uint8Array;
}
