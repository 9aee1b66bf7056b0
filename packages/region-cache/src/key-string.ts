/**
 * A key as a Latin-1 string: one char per byte, so native string comparison
 * orders keys exactly as bytewise comparison does, and much faster.
 *
 * @internal
 */
export function keyToString(key: Uint8Array): string {
  const n = key.length;
  if (n > 64) return Buffer.from(key.buffer, key.byteOffset, n).toString('latin1');
  let s = '';
  for (let i = 0; i < n; i++) s += String.fromCharCode(key[i] as number);
  return s;
}

/** Orders Latin-1 key strings. @internal */
export function compareKeyStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
