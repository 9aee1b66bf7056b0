const HEX_DIGITS = '0123456789abcdef';

/**
 * Formats bytes as lowercase hexadecimal, two digits per byte.
 *
 * @param bytes - the bytes to format
 * @returns the hex string (empty for empty input)
 */
export function bytesToHex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += HEX_DIGITS[b >> 4]! + HEX_DIGITS[b & 0x0f]!;
  return out;
}

/**
 * Formats a key for logs and error messages the way client-go does: uppercase
 * hexadecimal, or `?` when redaction is asked for.
 *
 * @param key - the key
 * @param redact - print `?` instead of the key
 * @returns the printable form
 */
export function formatKey(key: Uint8Array, redact = false): string {
  return redact ? '?' : bytesToHex(key).toUpperCase();
}
