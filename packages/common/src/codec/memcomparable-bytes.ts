import { CodecError } from '../errors/client-errors.js';
import type { Decoded } from './decoded.js';

/** Bytes per group of the memcomparable encoding. */
export const ENC_GROUP_SIZE = 8;
/** The marker of a full group; a group with `n` pad bytes has marker `0xFF - n`. */
export const ENC_MARKER = 0xff;
/** The pad byte of the ascending encoding. */
export const ENC_PAD = 0x00;

/**
 * The length of `encodeBytes` output for an input of `length` bytes.
 *
 * @param length - the input length
 * @returns `(floor(length / 8) + 1) * 9`
 */
export function encodedBytesLength(length: number): number {
  return (Math.floor(length / ENC_GROUP_SIZE) + 1) * (ENC_GROUP_SIZE + 1);
}

/**
 * Encodes bytes so that the encodings sort (bytewise) like the inputs: the
 * memcomparable format of TiDB and TiKV. The input is cut into groups of 8
 * bytes, the last padded with zeros; each group is followed by a marker,
 * `0xFF` minus the number of pad bytes. Region keys from PD are in this form
 * (API V1 transactional keys).
 *
 * @example
 * ```ts
 * encodeBytes(new Uint8Array([]));        // 00 00 00 00 00 00 00 00 F7
 * encodeBytes(new Uint8Array([1, 2, 3])); // 01 02 03 00 00 00 00 00 FA
 * ```
 * @param data - the bytes to encode
 * @returns a new array holding the encoding
 */
export function encodeBytes(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(encodedBytesLength(data.length));
  let w = 0;
  for (let i = 0; i <= data.length; i += ENC_GROUP_SIZE) {
    const remain = data.length - i;
    const take = Math.min(remain, ENC_GROUP_SIZE);
    out.set(data.subarray(i, i + take), w);
    w += ENC_GROUP_SIZE; // pad bytes are already zero
    out[w++] = ENC_MARKER - (ENC_GROUP_SIZE - take);
  }
  return out;
}

/**
 * Encodes bytes so that the encodings sort in the reverse order of the
 * inputs: the bitwise complement of {@link encodeBytes}.
 *
 * @param data - the bytes to encode
 * @returns a new array holding the encoding
 */
export function encodeBytesDesc(data: Uint8Array): Uint8Array {
  const out = encodeBytes(data);
  for (let i = 0; i < out.length; i++) out[i] = ~out[i]! & 0xff;
  return out;
}

function decode(input: Uint8Array, desc: boolean): Decoded<Uint8Array> {
  const groups = Math.floor(input.length / (ENC_GROUP_SIZE + 1));
  const out = new Uint8Array(groups * ENC_GROUP_SIZE);
  let r = 0;
  let w = 0;
  for (;;) {
    if (input.length - r < ENC_GROUP_SIZE + 1) {
      throw new CodecError(
        `insufficient bytes to decode value: ${input.length - r} left at offset ${r}, a group needs 9`,
        {
          offset: r,
        },
      );
    }
    const markerByte = input[r + ENC_GROUP_SIZE]!;
    const padCount = desc ? markerByte : ENC_MARKER - markerByte;
    if (padCount > ENC_GROUP_SIZE) {
      throw new CodecError(
        `invalid marker byte 0x${markerByte.toString(16)} at offset ${r + ENC_GROUP_SIZE}`,
        {
          offset: r + ENC_GROUP_SIZE,
        },
      );
    }
    const realSize = ENC_GROUP_SIZE - padCount;
    for (let i = 0; i < realSize; i++) {
      const b = input[r + i]!;
      out[w++] = desc ? ~b & 0xff : b;
    }
    if (padCount !== 0) {
      const padByte = desc ? ENC_MARKER : ENC_PAD;
      for (let i = realSize; i < ENC_GROUP_SIZE; i++) {
        if (input[r + i] !== padByte) {
          throw new CodecError(`invalid padding byte 0x${input[r + i]!.toString(16)} at offset ${r + i}`, {
            offset: r + i,
          });
        }
      }
      r += ENC_GROUP_SIZE + 1;
      break;
    }
    r += ENC_GROUP_SIZE + 1;
  }
  return { value: w === out.length ? out : out.slice(0, w), rest: input.subarray(r) };
}

/**
 * Decodes one value written by {@link encodeBytes} from the front of `input`.
 *
 * @param input - the encoded bytes (possibly followed by more data)
 * @returns the decoded bytes and the rest of the input
 * @throws CodecError when a group is truncated or a marker or pad byte is invalid
 */
export function decodeBytes(input: Uint8Array): Decoded<Uint8Array> {
  return decode(input, false);
}

/**
 * Decodes one value written by {@link encodeBytesDesc} from the front of `input`.
 *
 * @param input - the encoded bytes (possibly followed by more data)
 * @returns the decoded bytes and the rest of the input
 * @throws CodecError when a group is truncated or a marker or pad byte is invalid
 */
export function decodeBytesDesc(input: Uint8Array): Decoded<Uint8Array> {
  return decode(input, true);
}
