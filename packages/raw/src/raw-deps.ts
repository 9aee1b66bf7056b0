import type { Backoffer, RequestOptions } from '@tikv/common';
import type { GroupedKeys, KeyLocation, RegionVerId } from '@tikv/region-cache';
import type { ResponseFor, TikvRequest } from '@tikv/rpc';

/** Per-send options the raw client passes to its {@link RawRequestSender}. */
export interface RawSendOptions extends RequestOptions {
  /** `Context.maxExecutionDurationMs`: TiKV gives up on the request after this long. */
  readonly maxExecutionDurationMs?: number;
}

/**
 * What the raw client needs from `@tikv/rpc`'s `RegionRequestSender`: fill in the region
 * context, send, and handle region errors in place. When a region error has to go back to the
 * caller (the keys must be re-located), the response resolves with `value.regionError` set
 * and the cache already corrected; the client then backs off (`regionMiss`) and retries.
 */
export interface RawRequestSender {
  /**
   * @param backoffer - the operation's backoffer (budget, deadline, abort)
   * @param request - a `{ $case, value }` command
   * @param region - the region version the keys were located in
   * @param options - per-send options
   * @returns the response arm matching the request
   */
  sendRequest<R extends TikvRequest>(
    backoffer: Backoffer,
    request: R,
    region: RegionVerId,
    options?: RawSendOptions,
  ): Promise<ResponseFor<R>>;
}

/**
 * What the raw client needs from `@tikv/region-cache`'s `RegionCache` (keys in the user's key
 * space; the keyspace codec sits below it).
 */
export interface RawRegionLocator {
  /** The region holding `key`. */
  locateKey(key: Uint8Array, options?: RequestOptions): Promise<KeyLocation>;
  /** The region with `startKey < key <= endKey` (an empty key is +infinity), for reverse scans. */
  locateEndKey(key: Uint8Array, options?: RequestOptions): Promise<KeyLocation>;
  /** The keys grouped by region, in order of first appearance. */
  groupKeysByRegion(keys: readonly Uint8Array[], options?: RequestOptions): Promise<GroupedKeys>;
}
