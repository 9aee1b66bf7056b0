import { isTiKVError, PD_ERROR_TYPE_NAMES, PdError, type PdErrorType, TiKVError } from '@tikv/common';
import { ClientError, Status } from 'nice-grpc';

/** PD header error types worth retrying after a backoff (the server may recover or a new leader answer). */
const RETRYABLE_PD_ERROR_TYPES: ReadonlySet<PdErrorType> = new Set<PdErrorType>([
  'UNKNOWN',
  'NOT_BOOTSTRAPPED',
  'DATA_COMPACTED',
]);

/** gRPC status codes worth retrying (possibly on another PD member). */
const RETRYABLE_STATUS: ReadonlySet<Status> = new Set<Status>([
  Status.UNAVAILABLE,
  Status.DEADLINE_EXCEEDED,
  Status.RESOURCE_EXHAUSTED,
  Status.ABORTED,
  Status.UNKNOWN,
  Status.INTERNAL,
  Status.CANCELLED,
]);

/** The shape of a PD response header (`pdpb.ResponseHeader`). */
export interface PdResponseHeaderLike {
  readonly clusterId: bigint;
  readonly error?: { readonly type: number; readonly message: string } | undefined;
}

/**
 * Converts a PD response header into a typed error: the header's error as a `PdError`
 * (retryable for `UNKNOWN`, `NOT_BOOTSTRAPPED` and `DATA_COMPACTED`), or
 * a retryable `PdError` when the response comes from another cluster.
 *
 * @param header - the response header, if any
 * @param clusterId - the cluster id this client belongs to (0n: not known yet)
 * @param retryableTypes - header error types marked retryable (calls whose header errors are
 *   refusals, like the GC states API, pass an empty set)
 * @returns the error, or undefined for a good response
 */
export function errorFromHeader(
  header: PdResponseHeaderLike | undefined,
  clusterId: bigint,
  retryableTypes: ReadonlySet<PdErrorType> = RETRYABLE_PD_ERROR_TYPES,
): PdError | undefined {
  if (header === undefined) return undefined;
  const e = header.error;
  if (e !== undefined && e.type !== 0) {
    const type: PdErrorType = PD_ERROR_TYPE_NAMES[e.type] ?? 'UNKNOWN';
    return new PdError(type, e.message, { retryable: retryableTypes.has(type) });
  }
  if (clusterId !== 0n && header.clusterId !== 0n && header.clusterId !== clusterId) {
    return new PdError(
      'UNKNOWN',
      `cluster id mismatch: response from ${header.clusterId}, client of ${clusterId}`,
      {
        retryable: true,
      },
    );
  }
  return undefined;
}

/** Tells whether a gRPC error reports a method the server does not implement. */
export function isUnimplemented(e: unknown): boolean {
  return e instanceof ClientError && e.code === Status.UNIMPLEMENTED;
}

/**
 * Normalises an error from a PD call: the caller's abort reason passes unchanged, typed
 * errors pass as they are, gRPC failures become `RPC_ERROR` (retryable for transient status
 * codes) and anything else a retryable `RPC_ERROR`.
 *
 * @param e - the caught error
 * @param what - the call, for the message
 * @param callerSignal - the caller's own signal (its abort is never wrapped)
 */
export function toPdCallError(e: unknown, what: string, callerSignal?: AbortSignal): unknown {
  if (callerSignal?.aborted === true) return callerSignal.reason;
  if (isTiKVError(e)) return e;
  if (e instanceof ClientError) {
    return new TiKVError('RPC_ERROR', `${what}: ${Status[e.code]} ${e.details}`, {
      retryable: RETRYABLE_STATUS.has(e.code),
      cause: e,
    });
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new TiKVError('RPC_ERROR', `${what}: ${msg}`, { retryable: true, cause: e });
}

/** Whether a PD call error may succeed when retried. */
export function isRetryablePdError(e: unknown): boolean {
  return isTiKVError(e) && e.retryable;
}
