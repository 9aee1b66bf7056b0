import type { ExecDetailsOptions, RequestOptions } from '@tikv/common';

/**
 * Options every {@link RawClient} call takes as its last argument. `onDetails` receives the
 * call's execution details (RPCs by command, backoff by kind, retries, region errors) when it
 * settles; nothing is collected without it.
 */
export interface RawCallOptions extends RequestOptions, ExecDetailsOptions {
  /**
   * Column family for this call (client-go `SetColumnFamily` as an option); TiKV knows
   * `default`, `lock` and `write` (API V1 only).
   * @defaultValue the client's `columnFamily`
   */
  readonly columnFamily?: string | undefined;
}

/** Options of {@link RawClient.put}. */
export interface RawPutOptions extends RawCallOptions {
  /** Time to live in seconds; 0 means forever. Needs a TTL-enabled cluster (API V2). @defaultValue 0 */
  readonly ttlSeconds?: number | undefined;
}

/** Options of {@link RawClient.batchPut}. */
export interface RawBatchPutOptions extends RawCallOptions {
  /**
   * Time to live in seconds: one for every pair, or one per pair (aligned with the pairs).
   * 0 means forever. @defaultValue 0
   */
  readonly ttlSeconds?: number | readonly number[] | undefined;
}

/** Options of {@link RawClient.scan} and {@link RawClient.reverseScan}. */
export interface RawScanOptions extends RawCallOptions {
  /** Most pairs returned, at most `MAX_RAW_SCAN_LIMIT` (10 240). @defaultValue 10240 */
  readonly limit?: number | undefined;
  /** Return keys only: every value is a zero-length array. @defaultValue false */
  readonly keyOnly?: boolean | undefined;
}

/** Options of {@link RawClient.scanIter}. */
export interface RawScanIterOptions extends RawCallOptions {
  /** Pairs fetched per request, at most 10 240. @defaultValue 1024 */
  readonly pageSize?: number | undefined;
  /** Return keys only. @defaultValue false */
  readonly keyOnly?: boolean | undefined;
  /**
   * Walk downwards, with `reverseScan`'s bounds: keys `< startKey` and `>= endKey`.
   * @defaultValue false
   */
  readonly reverse?: boolean | undefined;
}

/** Options of {@link RawClient.batchScan}. */
export interface RawBatchScanOptions extends RawCallOptions {
  /** Most pairs returned per range, at most 10 240. @defaultValue 10240 */
  readonly eachLimit?: number | undefined;
  /** Return keys only. @defaultValue false */
  readonly keyOnly?: boolean | undefined;
}
