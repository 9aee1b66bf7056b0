import type { Backoffer } from '@tikv/common';
import type { RegionVerId } from '@tikv/region-cache';
import type { RegionRequestOptions } from './request-options.js';
import type { ResponseFor, TikvRequest } from './tikv-commands.js';

/**
 * Sends one request to one region version, handling the region errors it can handle in place
 * (client-go `RegionRequestSender.SendReq`). {@link RegionRequestSender} implements it; the
 * {@link RegionExecutor} takes any object of this shape, so a test can pass a fake.
 *
 * When a region error has to go back to the caller (the keys must be located again:
 * EpochNotMatch, RegionNotFound, KeyNotInRegion, the region gone from the cache...), the
 * response resolves with `value.regionError` set and the cache already corrected.
 */
export interface RegionSender {
  /**
   * @param backoffer - the retry budget, signal and deadline of the operation
   * @param request - a `{ $case, value }` command
   * @param region - the region version the request's keys were located in
   * @param options - replica and stale read, request source, priority, isolation, resource
   *   group, execution duration, per-call `signal` and `timeoutMs`
   * @returns the response arm matching the request
   */
  sendRequest<R extends TikvRequest>(
    backoffer: Backoffer,
    request: R,
    region: RegionVerId,
    options?: RegionRequestOptions,
  ): Promise<ResponseFor<R>>;
}
