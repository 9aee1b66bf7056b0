import type { kvrpcpb, tikvpb } from '@tikv/proto';

/** A command a `BatchCommands` request can carry (`BatchCommandsRequest.Request.cmd`). */
type BatchRequestArm = NonNullable<tikvpb.BatchCommandsRequest_Request['cmd']>;
/** A response arm of `BatchCommandsResponse.Response.cmd`. */
type BatchResponseArm = NonNullable<tikvpb.BatchCommandsResponse_Response['cmd']>;

/** Commands that exist only as unary `tikvpb.Tikv` methods, with their request messages. */
type UnaryOnlyArm =
  | { $case: 'RawGetKeyTTL'; value: kvrpcpb.RawGetKeyTTLRequest }
  | { $case: 'RawCompareAndSwap'; value: kvrpcpb.RawCASRequest }
  | { $case: 'RawChecksum'; value: kvrpcpb.RawChecksumRequest }
  | { $case: 'UnsafeDestroyRange'; value: kvrpcpb.UnsafeDestroyRangeRequest }
  | { $case: 'PhysicalScanLock'; value: kvrpcpb.PhysicalScanLockRequest }
  | { $case: 'SplitRegion'; value: kvrpcpb.SplitRegionRequest }
  | { $case: 'MvccGetByKey'; value: kvrpcpb.MvccGetByKeyRequest }
  | { $case: 'MvccGetByStartTs'; value: kvrpcpb.MvccGetByStartTsRequest }
  | { $case: 'GetStoreSafeTS'; value: kvrpcpb.StoreSafeTSRequest }
  | { $case: 'GetLockWaitInfo'; value: kvrpcpb.GetLockWaitInfoRequest }
  | { $case: 'Compact'; value: kvrpcpb.CompactRequest };

/** The responses of {@link UnaryOnlyArm}. */
type UnaryOnlyResponseArm =
  | { $case: 'RawGetKeyTTL'; value: kvrpcpb.RawGetKeyTTLResponse }
  | { $case: 'RawCompareAndSwap'; value: kvrpcpb.RawCASResponse }
  | { $case: 'RawChecksum'; value: kvrpcpb.RawChecksumResponse }
  | { $case: 'UnsafeDestroyRange'; value: kvrpcpb.UnsafeDestroyRangeResponse }
  | { $case: 'PhysicalScanLock'; value: kvrpcpb.PhysicalScanLockResponse }
  | { $case: 'SplitRegion'; value: kvrpcpb.SplitRegionResponse }
  | { $case: 'MvccGetByKey'; value: kvrpcpb.MvccGetByKeyResponse }
  | { $case: 'MvccGetByStartTs'; value: kvrpcpb.MvccGetByStartTsResponse }
  | { $case: 'GetStoreSafeTS'; value: kvrpcpb.StoreSafeTSResponse }
  | { $case: 'GetLockWaitInfo'; value: kvrpcpb.GetLockWaitInfoResponse }
  | { $case: 'Compact'; value: kvrpcpb.CompactResponse };

/**
 * One TiKV command, tagged like the arms of `tikvpb.BatchCommandsRequest.Request.cmd`
 * (`{ $case: 'RawGet', value: kvrpcpb.RawGetRequest }`) and extended with the unary-only
 * commands (`RawGetKeyTTL`, `RawCompareAndSwap`, `SplitRegion`, ...). It has the same shape as
 * `@tikv/rpc`'s `TikvRequest`, so either passes for the other.
 */
export type CodecRequest = BatchRequestArm | UnaryOnlyArm;

/** The response of a {@link CodecRequest}: the arm with the same `$case`. */
export type CodecResponse = BatchResponseArm | UnaryOnlyResponseArm;

/** The `$case` of every command. */
export type CodecCommand = CodecRequest['$case'];
