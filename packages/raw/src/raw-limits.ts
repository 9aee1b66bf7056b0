/**
 * The limits client-go's `rawkv` package and TiKV apply to raw requests. Each one is a default
 * of {@link RawClientOptions} or a hard check made before anything is sent.
 */

/** Most pairs one `scan` / `reverseScan` may ask for (client-go `MaxRawKVScanLimit`). */
export const MAX_RAW_SCAN_LIMIT = 10_240;

/** Most keys in one RawBatchGet / RawBatchDelete request (client-go `rawBatchPairCount`). */
export const RAW_BATCH_PAIR_COUNT = 512;

/** Bytes (keys plus values) after which a RawBatchPut request is cut (client-go `rawBatchPutSize`). */
export const RAW_BATCH_PUT_SIZE_BYTES = 16 * 1024;

/** Backoff budget of one raw operation, in milliseconds (client-go `rawkvMaxBackoff`). */
export const RAW_MAX_BACKOFF_MS = 20_000;

/** TiKV's default `storage.max-key-size`: longer keys are refused by the server. */
export const MAX_KEY_SIZE_BYTES = 8 * 1024;

/** TiKV's default `raftstore.raft-entry-max-size`: a larger write cannot be proposed. */
export const MAX_ENTRY_SIZE_BYTES = 8 * 1024 * 1024;

/** Pairs fetched per request by `scanIter` unless told otherwise. */
export const DEFAULT_SCAN_PAGE_SIZE = 1024;

/** `Context.maxExecutionDurationMs` of raw writes (client-go `MaxWriteExecutionTime`: 30 s - 10 s). */
export const MAX_WRITE_EXECUTION_MS = 20_000;
