import { InvalidArgumentError } from '@tikv/common';

/** How keys and values are read from the command line and printed: `utf8`, `hex` or `base64`. */
export const Encoding = Object.freeze({ UTF8: 'utf8', HEX: 'hex', BASE64: 'base64' } as const);
/** One of {@link Encoding}'s values. */
export type Encoding = (typeof Encoding)[keyof typeof Encoding];

const utf8Strict = new TextDecoder('utf-8', { fatal: true });
const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;
const BASE64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Bytes of a key or value given on the command line.
 *
 * @param text - the argument
 * @param encoding - how to read it (UTF-8 takes the text as it is)
 * @param what - the argument's name, for the error message
 * @throws InvalidArgumentError when the text is not valid in the encoding
 */
export function decodeInput(text: string, encoding: Encoding, what: string): Uint8Array {
  switch (encoding) {
    case Encoding.HEX: {
      const digits = text.startsWith('0x') || text.startsWith('0X') ? text.slice(2) : text;
      if (!HEX_RE.test(digits)) {
        throw new InvalidArgumentError(
          `${what} must be hexadecimal (an even number of digits), got '${text}'`,
        );
      }
      return new Uint8Array(Buffer.from(digits, 'hex'));
    }
    case Encoding.BASE64: {
      if (text.length % 4 !== 0 || !BASE64_RE.test(text)) {
        throw new InvalidArgumentError(`${what} must be base64, got '${text}'`);
      }
      return new Uint8Array(Buffer.from(text, 'base64'));
    }
    default:
      return new TextEncoder().encode(text);
  }
}

/** Length of the UTF-8 sequence a lead byte starts (0 for a byte that cannot lead one). */
function sequenceLength(lead: number): number {
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

/** Whether a decoded character prints as itself (no control, format or separator character). */
function printable(ch: string): boolean {
  return !/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Co}\p{Cn}]/u.test(ch);
}

const hex2 = (b: number): string => `\\x${b.toString(16).padStart(2, '0')}`;

/**
 * Bytes as readable text: printable ASCII and valid printable UTF-8 as themselves, a backslash
 * doubled, `\n` `\r` `\t` as such, every other byte as `\xNN`. Two different byte strings never
 * print the same.
 *
 * @param bytes - the key or value
 */
export function escapeBytes(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      if (b === 0x5c) out += '\\\\';
      else if (b === 0x0a) out += '\\n';
      else if (b === 0x0d) out += '\\r';
      else if (b === 0x09) out += '\\t';
      else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
      else out += hex2(b);
      i++;
      continue;
    }
    const n = sequenceLength(b);
    if (n > 0 && i + n <= bytes.length) {
      let ch: string | undefined;
      try {
        ch = utf8Strict.decode(bytes.subarray(i, i + n));
      } catch {
        ch = undefined;
      }
      if (ch !== undefined && printable(ch)) {
        out += ch;
        i += n;
        continue;
      }
    }
    out += hex2(b);
    i++;
  }
  return out;
}

/**
 * Bytes as printed output in the chosen encoding (UTF-8: {@link escapeBytes}).
 *
 * @param bytes - the key or value
 * @param encoding - the output encoding
 */
export function encodeOutput(bytes: Uint8Array, encoding: Encoding): string {
  switch (encoding) {
    case Encoding.HEX:
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
    case Encoding.BASE64:
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
    default:
      return escapeBytes(bytes);
  }
}
