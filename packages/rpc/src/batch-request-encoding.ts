import { tikvpb } from '@tikv/proto';
import type { BatchRequestCmd } from './tikv-commands.js';

/** Wire tag of `BatchCommandsRequest.requests` (field 1, length-delimited). */
const TAG_REQUESTS = 0x0a;
/** Wire tag of `BatchCommandsRequest.request_ids` (field 2, packed). */
const TAG_REQUEST_IDS = 0x12;

/**
 * Encodes one command as a `BatchCommandsRequest.Request` message. Done when the caller sends, as
 * client-go's `encodeRequestCmd` does, so a request that cannot be encoded fails its caller alone
 * instead of the stream it would have shared.
 *
 * @param cmd - the command
 * @returns the message bytes
 */
export function encodeBatchItem(cmd: BatchRequestCmd): Uint8Array {
  // Taken while in use: an encode that throws leaves its half-written writer behind.
  const reused = spareWriter;
  spareWriter = undefined;
  const writer = tikvpb.BatchCommandsRequest_Request.encode({ cmd }, reused);
  const bytes = writer.finish();
  if (bytes.length <= MAX_SPARE_WRITER_BYTES) spareWriter = writer;
  return bytes;
}

/**
 * The command inside an encoded `BatchCommandsRequest.Request`: its one field is the `cmd`
 * oneof, so the item is a tag, a length and the command's own request message, which is what
 * the command's unary method takes. No copy.
 *
 * @param item - bytes from {@link encodeBatchItem}
 * @returns a view of the command's request message
 */
export function commandBytesOf(item: Uint8Array): Uint8Array {
  let pos = 0;
  while ((item[pos++] as number) & 0x80); // the field tag
  let length = 0;
  let scale = 1;
  for (;;) {
    const b = item[pos++] as number;
    length += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) break;
    scale *= 128;
  }
  return item.subarray(pos, pos + length);
}

type ProtoWriter = ReturnType<typeof tikvpb.BatchCommandsRequest_Request.encode>;

/**
 * A writer kept between encodes: `finish()` copies the bytes out and rewinds it, so its buffer
 * serves the next request instead of a fresh zeroed one per request.
 */
let spareWriter: ProtoWriter | undefined;
/** A writer that grew past this (a large batch put) is dropped rather than kept. */
const MAX_SPARE_WRITER_BYTES = 64 * 1024;

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

function writeVarint(buf: Buffer, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v % 128) | 0x80;
    v = Math.floor(v / 128);
  }
  buf[pos++] = v;
  return pos;
}

/**
 * Builds a `BatchCommandsRequest` from pre-encoded items and consecutive request ids, copying each
 * item once into a single buffer.
 *
 * @param items - the encoded `BatchCommandsRequest.Request` messages
 * @param firstId - the first request id; item `i` gets `firstId + i`
 * @returns the encoded message
 */
export function encodeBatchRequest(items: readonly Uint8Array[], firstId: number): Buffer {
  const n = items.length;
  let size = 0;
  for (let i = 0; i < n; i++) {
    const len = (items[i] as Uint8Array).length;
    size += 1 + varintSize(len) + len;
  }
  let idsSize = 0;
  for (let i = 0; i < n; i++) idsSize += varintSize(firstId + i);
  if (n > 0) size += 1 + varintSize(idsSize) + idsSize;
  const buf = Buffer.allocUnsafe(size);
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const item = items[i] as Uint8Array;
    buf[pos++] = TAG_REQUESTS;
    pos = writeVarint(buf, pos, item.length);
    buf.set(item, pos);
    pos += item.length;
  }
  if (n > 0) {
    buf[pos++] = TAG_REQUEST_IDS;
    pos = writeVarint(buf, pos, idsSize);
    for (let i = 0; i < n; i++) pos = writeVarint(buf, pos, firstId + i);
  }
  return buf;
}
