import { MAX_WRITE_EXECUTION_MS } from '@tikv/common';
import type { RegionRequestOptions } from '@tikv/rpc';

/**
 * The limits client-go's `rawkv` package applies to raw requests. Each one is a default of
 * {@link RawClientOptions} or a hard check made before anything is sent. The limits TiKV applies
 * to every client (key and entry sizes, write execution time) live in `@tikv/common`.
 */

/** Most pairs one `scan` / `reverseScan` may ask for (client-go `MaxRawKVScanLimit`). */
export const MAX_RAW_SCAN_LIMIT = 10_240;

/** Most keys in one RawBatchGet / RawBatchDelete request (client-go `rawBatchPairCount`). */
export const RAW_BATCH_PAIR_COUNT = 512;

/** Bytes (keys plus values) after which a RawBatchPut request is cut (client-go `rawBatchPutSize`). */
export const RAW_BATCH_PUT_SIZE_BYTES = 16 * 1024;

/** Backoff budget of one raw operation, in milliseconds (client-go `rawkvMaxBackoff`). */
export const RAW_MAX_BACKOFF_MS = 20_000;

/** Pairs fetched per request by `scanIter` unless told otherwise. */
export const DEFAULT_SCAN_PAGE_SIZE = 1024;

/** The request options of every write: TiKV's write execution limit, as client-go sets it. @internal */
export const WRITE: RegionRequestOptions = Object.freeze({ maxExecutionDurationMs: MAX_WRITE_EXECUTION_MS });
