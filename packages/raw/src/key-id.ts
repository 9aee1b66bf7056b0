/**
 * A string that identifies a key's bytes, usable as a `Map` key (one char per byte).
 *
 * @param key - the key
 * @returns its latin1 string
 * @internal
 */
export function keyId(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}
