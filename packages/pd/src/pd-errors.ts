import { isTiKVError, PD_ERROR_TYPE_NAMES, PdError, type PdErrorType, RpcError } from '@tikv/common';
import { ClientError, Status } from 'nice-grpc';

/**
 * PD header error types worth retrying after a backoff. Read from PD's server
 * (`server/grpc_service.go`, `pkg/utils/grpcutil/cluster.go`): `NOT_BOOTSTRAPPED` (also sent
 * while the cluster id is not ready) passes once the cluster starts. `UNKNOWN` carries PD's
 * refusals (overlapping ranges, an unknown store, a GC or scatter refusal) and is final, like
 * `REGION_NOT_FOUND`, `INVALID_VALUE` and the others.
 */
const RETRYABLE_PD_ERROR_TYPES: ReadonlySet<PdErrorType> = new Set<PdErrorType>(['NOT_BOOTSTRAPPED']);

/**
 * Header error types worth retrying on region lookups and scans: PD answers `REGION_NOT_FOUND`
 * there when it is not (yet) the serving leader and its region syncer is not running (seen on
 * `QueryRegion` while PD re-campaigns after a pause; PD's router client says the same), so the
 * lookup is retried after a member check. Elsewhere (scatter, operators) it is final.
 */
export const REGION_LOOKUP_RETRYABLE_TYPES: ReadonlySet<PdErrorType> = new Set<PdErrorType>([
  'NOT_BOOTSTRAPPED',
  'REGION_NOT_FOUND',
]);

/**
 * gRPC status codes of a unary PD call worth retrying (possibly on another PD member): PD
 * answers `UNAVAILABLE` for "not leader" and "server not started", `RESOURCE_EXHAUSTED` when
 * rate limited, `DEADLINE_EXCEEDED` for a forwarding timeout; `INTERNAL`, `CANCELLED` and
 * `ABORTED` come from a broken transport. `UNKNOWN` is an error PD's handler returned (a
 * failed scatter or split, a storage error) and is not retried: PD says nothing more.
 */
const RETRYABLE_STATUS: ReadonlySet<Status> = new Set<Status>([
  Status.UNAVAILABLE,
  Status.DEADLINE_EXCEEDED,
  Status.RESOURCE_EXHAUSTED,
  Status.ABORTED,
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
 * (retryable only for `NOT_BOOTSTRAPPED`), or a retryable `PdError` when the response comes
 * from another cluster.
 *
 * @param header - the response header, if any
 * @param clusterId - the cluster id this client belongs to (0n: not known yet)
 * @param retryableTypes - header error types marked retryable (default: `NOT_BOOTSTRAPPED`)
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

/** One attempt's own deadline, for {@link toPdCallError}. */
export interface PdAttemptDeadline {
  /** Aborts when the attempt's time is up (it may also follow the caller's signal). */
  readonly signal: AbortSignal;
  /** The per-attempt timeout, in ms, for the message. */
  readonly timeoutMs: number;
}

/** The PD call an error came from, for {@link toPdCallError}. */
export interface PdCallSite {
  /** The call, for the message (`GetStore`, `GetMembers http://pd-1:2379`). */
  readonly what: string;
  /** The RPC's name, the error's `command`, when `what` says more. @defaultValue `what` */
  readonly command?: string | undefined;
  /** The PD URL the call went to: the `address` of the `RpcError`. */
  readonly address: string;
  /** The caller's own signal (its abort is never wrapped). */
  readonly callerSignal?: AbortSignal | undefined;
  /** The attempt's own deadline, when it has one. */
  readonly attempt?: PdAttemptDeadline | undefined;
}

/**
 * Normalises an error from a PD call: the caller's abort reason passes unchanged, an attempt
 * cut by its own deadline becomes a retryable `RpcError`, typed errors pass as they are, gRPC
 * failures become an `RpcError` (retryable for transient status codes) and anything else a
 * retryable `RpcError`.
 *
 * @param e - the caught error
 * @param call - the call, the PD URL, the caller's signal and the attempt's deadline
 */
export function toPdCallError(e: unknown, call: PdCallSite): unknown {
  const { what, address } = call;
  const command = call.command ?? what;
  if (call.callerSignal?.aborted === true) return call.callerSignal.reason;
  const attempt = call.attempt;
  if (attempt?.signal.aborted === true) return attemptTimeoutError(call, attempt.timeoutMs, e);
  if (isTiKVError(e)) return e;
  if (e instanceof ClientError) {
    return new RpcError(`${what}: ${Status[e.code]} ${cleanGrpcDetails(e.details)}`, {
      address,
      command,
      grpcCode: e.code,
      requestSent: true,
      retryable: RETRYABLE_STATUS.has(e.code),
      cause: e,
    });
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new RpcError(`${what}: ${msg}`, {
    address,
    command,
    requestSent: true,
    retryable: true,
    cause: e,
  });
}

/** Whether a PD call error may succeed when retried. */
export function isRetryablePdError(e: unknown): boolean {
  return isTiKVError(e) && e.retryable;
}

/**
 * gRPC's details without grpc-js's connection boilerplate: `"No connection established. Last
 * error: Error: connect ECONNREFUSED 127.0.0.1:1. Resolution note: "` becomes `"no connection:
 * connect ECONNREFUSED 127.0.0.1:1"`. Formatting only; nothing is classified by it.
 *
 * @param details - a `ClientError`'s details
 * @returns the cleaned text
 */
export function cleanGrpcDetails(details: string): string {
  return details
    .replace(/\.?\s*Resolution note:\s*$/, '')
    .replace(/^No connection established\. Last error: (?:Error: )?/, 'no connection: ')
    .replace(/\.$/, '')
    .trim();
}

/**
 * The error of one attempt that got no answer within the per-attempt timeout: a retryable
 * `RpcError` (the caller's own deadline is what is final, not an attempt's).
 *
 * @param call - the call and the PD URL
 * @param timeoutMs - the per-attempt timeout
 * @param cause - what the attempt rejected with
 */
export function attemptTimeoutError(call: PdCallSite, timeoutMs: number, cause: unknown): RpcError {
  return new RpcError(`${call.what}: no answer within ${timeoutMs} ms`, {
    address: call.address,
    command: call.command ?? call.what,
    requestSent: true,
    retryable: true,
    cause,
  });
}

/**
 * Whether a `GetStore` error says the store does not exist. PD answers an unknown id with a
 * header error of type `UNKNOWN` and the message `invalid store ID <id>, not found`; it has no
 * better type for it, so this is classified by message text (as client-go's
 * `isStoreNotFoundError` does).
 *
 * @param e - the error of a `GetStore` call
 */
export function isStoreNotFound(e: unknown): boolean {
  return (
    isTiKVError(e, 'PD_ERROR') &&
    e.pdErrorType === 'UNKNOWN' &&
    /invalid store ID \d+, not found/.test(e.message)
  );
}
