import {
  type Backoffer,
  BackoffKinds,
  isKeyError,
  isTiKVError,
  type RpcError,
  regionErrorFromWire,
  type WireRegionError,
} from '@tikv/common';
import type { RegionBatch, RegionExecutor, RegionRequestOptions, ResponseFor, TikvRequest } from '@tikv/rpc';

/** A region version, as batches carry it. */
type RegionVerId = RegionBatch<unknown>['region'];

/** The name of the kind the region request sender backs off with after a failed RPC. */
const TIKV_RPC = BackoffKinds.tikvRPC.name;
/** How deep a cause chain is followed. */
const MAX_CAUSE_DEPTH = 8;

/**
 * How many times `bo` backed off after a failed RPC. The region request sender retries a failed
 * RPC in place after a `tikvRPC` backoff, so a count that grew across one `sendRequest` means
 * some attempt of it failed in transport: client-go's `sender.GetRPCError() != nil`.
 *
 * @internal
 */
export function rpcFailureCount(bo: Backoffer): number {
  return bo.backoffTimes.get(TIKV_RPC) ?? 0;
}

/**
 * The latest failed RPC recorded on `bo` (the cause an undetermined outcome reports).
 *
 * @internal
 */
export function latestRpcFailure(bo: Backoffer): unknown {
  const records = bo.latestErrors();
  for (let i = records.length - 1; i >= 0; i--) {
    const r = records[i];
    if (r !== undefined && r.kind === TIKV_RPC) return r.error;
  }
  return undefined;
}

/**
 * Whether a request that failed with `error` may have been executed by TiKV: a transport failure
 * after the request was sent, a timeout, an abort while it was in flight. An error that carries
 * TiKV's answer (a region error, a key error), or a transport failure before sending, says it was
 * not. Anything else is taken as "may have": a wrong "not applied" would lose a commit.
 *
 * @internal
 */
export function mayHaveBeenApplied(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; depth < MAX_CAUSE_DEPTH && e !== undefined && e !== null; depth++) {
    if (isTiKVError(e, 'RPC_ERROR')) return (e as RpcError).requestSent;
    if (isTiKVError(e, 'REGION_ERROR') || isKeyError(e)) return false;
    e = (e as { cause?: unknown }).cause;
  }
  return true;
}

/** A response with a region error, whatever its type. */
type WithRegionError = { readonly regionError?: WireRegionError | undefined };

/** What {@link sendToRegion} got back. @internal */
export type RegionAnswer<R extends TikvRequest> =
  | { readonly response: ResponseFor<R>; readonly regionError?: undefined }
  | { readonly response?: undefined; readonly regionError: WireRegionError };

/**
 * Sends one request of a batch to its region and hands back the response or its region error,
 * without backing off: the executor's `sendToRegion` with the region error kept, because 2PC
 * tells `UndeterminedResult` apart from the rest (client-go `handleRegionErr`). Back off with
 * {@link backOffRegionError} before returning `'regionError'`.
 *
 * @internal
 */
export async function sendToRegion<R extends TikvRequest>(
  exec: RegionExecutor,
  bo: Backoffer,
  region: RegionVerId,
  request: R,
  options: RegionRequestOptions,
): Promise<RegionAnswer<R>> {
  const response = await exec.sender.sendRequest(bo, request, region, options);
  const regionError = (response.value as WithRegionError).regionError;
  if (regionError === undefined || regionError === null) return { response };
  return { regionError };
}

/**
 * Backs off after a region error the sender handed back (`regionMiss`, as the executor's
 * `sendToRegion` does), before the batch's keys are located again.
 *
 * @internal
 */
export function backOffRegionError(bo: Backoffer, region: RegionVerId, wire: WireRegionError): Promise<void> {
  return bo.backoff(BackoffKinds.regionMiss, regionErrorFromWire(wire, { regionId: region.id }));
}
