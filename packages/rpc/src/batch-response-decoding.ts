import { BinaryReader } from '@bufbuild/protobuf/wire';
import { errorpb, kvrpcpb, tikvpb } from '@tikv/proto';

/**
 * Decoding of `BatchCommandsResponse` messages with a fast path for the responses that carry
 * lists of `KvPair`s (raw and transactional batch gets and scans).
 *
 * The generated decoder builds every `KvPair` from a default object holding two fresh empty
 * byte arrays, then replaces both, inside a recursion-depth guard (a property write and a
 * `try`/`finally` per message): for a 16-key batch get that was three quarters of its decode
 * time and a good part of the client's garbage. These decoders build each pair once. They
 * produce the same objects as the generated ones (every field present, defaults where the
 * wire has none; checked field by field against them in the tests) and hand every other
 * message and sub-message to the generated code.
 */

const EMPTY: Uint8Array = new Uint8Array(0);

/** Wire tags (field number << 3 | wire type) read here. */
const TAG = Object.freeze({
  /** `BatchCommandsResponse.responses`, `*Response.region_error`, `KvPair.error`. */
  FIELD1_LEN: 10,
  /** `BatchCommandsResponse.request_ids`, unpacked. */
  FIELD2_VARINT: 16,
  /** `BatchCommandsResponse.request_ids` packed, `*Response.pairs` / `kvs`, `KvPair.key`. */
  FIELD2_LEN: 18,
  /** `BatchCommandsResponse.transport_layer_load`. */
  FIELD3_VARINT: 24,
  /** `ScanResponse.error`, `KvPair.value`. */
  FIELD3_LEN: 26,
  /** `KvPair.commit_ts`. */
  FIELD4_VARINT: 32,
  /** `BatchCommandsResponse.health_feedback`, `BatchGetResponse.exec_details_v2`. */
  FIELD4_LEN: 34,
  /** `BatchCommandsResponse.tikv_send_time_ns`. */
  FIELD5_VARINT: 40,
  /** `BatchGetResponse.error`. */
  FIELD5_LEN: 42,
});

/** The arms of `BatchCommandsResponse.Response.cmd` decoded here, by their wire tag. */
const ARM_TAG = Object.freeze({
  Scan: (2 << 3) | 2,
  BatchGet: (7 << 3) | 2,
  RawBatchGet: (14 << 3) | 2,
  RawScan: (19 << 3) | 2,
});

/** Skips a field the fast path does not read, as the generated decoders do. */
function skip(reader: BinaryReader, tag: number): void {
  reader.skip(tag & 7, tag >>> 3);
}

/** A `KvPair` ending at `end`. */
function decodeKvPair(reader: BinaryReader, end: number): kvrpcpb.KvPair {
  let error: kvrpcpb.KeyError | undefined;
  let key: Uint8Array = EMPTY;
  let value: Uint8Array = EMPTY;
  let commitTs = 0n;
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === TAG.FIELD2_LEN) key = reader.bytes();
    else if (tag === TAG.FIELD3_LEN) value = reader.bytes();
    else if (tag === TAG.FIELD1_LEN) error = kvrpcpb.KeyError.decode(reader, reader.uint32());
    else if (tag === TAG.FIELD4_VARINT) commitTs = reader.uint64() as bigint;
    else skip(reader, tag);
  }
  return { error, key, value, commitTs };
}

/** The fields the four responses share: the region error (1) and the pairs (2). */
interface PairsResponse {
  regionError: errorpb.Error | undefined;
  pairs: kvrpcpb.KvPair[];
}

/**
 * Reads one field of a pairs response: the region error or a pair. Any other tag is left to
 * `other` (undefined: skipped).
 */
function decodePairsResponse<T extends PairsResponse>(
  reader: BinaryReader,
  end: number,
  message: T,
  other: ((tag: number, message: T) => boolean) | undefined,
): T {
  while (reader.pos < end) {
    const tag = reader.uint32();
    if (tag === TAG.FIELD2_LEN) {
      const length = reader.uint32();
      message.pairs.push(decodeKvPair(reader, reader.pos + length));
    } else if (tag === TAG.FIELD1_LEN) {
      message.regionError = errorpb.Error.decode(reader, reader.uint32());
    } else if (other === undefined || !other(tag, message)) {
      skip(reader, tag);
    }
  }
  return message;
}

function decodeArm(
  reader: BinaryReader,
  tag: number,
  end: number,
): tikvpb.BatchCommandsResponse_Response['cmd'] {
  switch (tag) {
    case ARM_TAG.RawBatchGet:
      return {
        $case: 'RawBatchGet',
        value: decodePairsResponse(reader, end, { regionError: undefined, pairs: [] }, undefined),
      };
    case ARM_TAG.RawScan: {
      const m = decodePairsResponse(reader, end, { regionError: undefined, pairs: [] }, undefined);
      return { $case: 'RawScan', value: { regionError: m.regionError, kvs: m.pairs } };
    }
    case ARM_TAG.BatchGet:
      return {
        $case: 'BatchGet',
        value: decodePairsResponse<kvrpcpb.BatchGetResponse>(
          reader,
          end,
          { regionError: undefined, pairs: [], execDetailsV2: undefined, error: undefined },
          (t, m) => {
            if (t === TAG.FIELD4_LEN) m.execDetailsV2 = kvrpcpb.ExecDetailsV2.decode(reader, reader.uint32());
            else if (t === TAG.FIELD5_LEN) m.error = kvrpcpb.KeyError.decode(reader, reader.uint32());
            else return false;
            return true;
          },
        ),
      };
    case ARM_TAG.Scan:
      return {
        $case: 'Scan',
        value: decodePairsResponse<kvrpcpb.ScanResponse>(
          reader,
          end,
          { regionError: undefined, pairs: [], error: undefined },
          (t, m) => {
            if (t !== TAG.FIELD3_LEN) return false;
            m.error = kvrpcpb.KeyError.decode(reader, reader.uint32());
            return true;
          },
        ),
      };
    default:
      return undefined;
  }
}

/**
 * One `BatchCommandsResponse.Response` of `length` bytes: a fast arm when it is one, else the
 * generated decoder (also when the message holds more than its one arm).
 */
function decodeResponse(reader: BinaryReader, length: number): tikvpb.BatchCommandsResponse_Response {
  const start = reader.pos;
  const end = start + length;
  if (length > 0) {
    const tag = reader.uint32();
    const armLength = reader.uint32();
    const armEnd = reader.pos + armLength;
    if (armEnd === end) {
      const cmd = decodeArm(reader, tag, armEnd);
      if (cmd !== undefined) return { cmd };
    }
  }
  reader.pos = start;
  return tikvpb.BatchCommandsResponse_Response.decode(reader, length);
}

/**
 * Decodes a `BatchCommandsResponse`: what `tikvpb.BatchCommandsResponse.decode` returns, with
 * the responses carrying pairs decoded on the fast path.
 *
 * @param bytes - the message
 * @returns the decoded message
 */
export function decodeBatchResponse(bytes: Uint8Array): tikvpb.BatchCommandsResponse {
  const reader = new BinaryReader(bytes);
  const message: tikvpb.BatchCommandsResponse = {
    responses: [],
    requestIds: [],
    transportLayerLoad: 0n,
    healthFeedback: undefined,
    tikvSendTimeNs: 0n,
  };
  const end = reader.len;
  while (reader.pos < end) {
    const tag = reader.uint32();
    switch (tag) {
      case TAG.FIELD1_LEN:
        message.responses.push(decodeResponse(reader, reader.uint32()));
        break;
      case TAG.FIELD2_LEN: {
        const idsEnd = reader.uint32() + reader.pos;
        while (reader.pos < idsEnd) message.requestIds.push(reader.uint64() as bigint);
        break;
      }
      case TAG.FIELD2_VARINT:
        message.requestIds.push(reader.uint64() as bigint);
        break;
      case TAG.FIELD3_VARINT:
        message.transportLayerLoad = reader.uint64() as bigint;
        break;
      case TAG.FIELD4_LEN:
        message.healthFeedback = kvrpcpb.HealthFeedback.decode(reader, reader.uint32());
        break;
      case TAG.FIELD5_VARINT:
        message.tikvSendTimeNs = reader.uint64() as bigint;
        break;
      default:
        skip(reader, tag);
    }
  }
  return message;
}
