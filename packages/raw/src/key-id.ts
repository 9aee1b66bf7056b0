/** Keys up to this length are read byte by byte into one string, avoiding a Buffer view. */
const SHORT_KEY_BYTES = 256;

/**
 * A string that identifies a key's bytes, usable as a `Map` key (one char per byte).
 *
 * @param key - the key
 * @returns its latin1 string
 * @internal
 */
export function keyId(key: Uint8Array): string {
  if (key.length <= SHORT_KEY_BYTES) {
    // `apply` reads any array-like; typed arrays are array-likes of numbers.
    return String.fromCharCode.apply(null, key as unknown as number[]);
  }
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}
