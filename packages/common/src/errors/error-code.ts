/**
 * The closed set of error codes every {@link TiKVError} carries.
 *
 * Classify errors by `code` (or by a protocol field on a subclass), never by
 * message text: messages keep the server's detail and may change.
 *
 * @remarks
 * The object maps each code to itself so call sites can write either
 * `ErrorCode.WRITE_CONFLICT` or the string literal `'WRITE_CONFLICT'`.
 */
export const ErrorCode = Object.freeze({
  /** A region error returned by TiKV (errorpb.Error); see `RegionError`. */
  REGION_ERROR: 'REGION_ERROR',
  /** kvrpcpb.KeyError `conflict`: another transaction wrote the key. */
  WRITE_CONFLICT: 'WRITE_CONFLICT',
  /** kvrpcpb.KeyError `locked`: the key is locked by another transaction. */
  KEY_IS_LOCKED: 'KEY_IS_LOCKED',
  /** kvrpcpb.KeyError `deadlock`: a pessimistic lock would form a cycle. */
  DEADLOCK: 'DEADLOCK',
  /** kvrpcpb.KeyError `already_exist`: an insert met an existing key. */
  ALREADY_EXISTS: 'ALREADY_EXISTS',
  /** kvrpcpb.KeyError `txn_not_found`: the primary lock and its record are both gone. */
  TXN_NOT_FOUND: 'TXN_NOT_FOUND',
  /** kvrpcpb.KeyError `commit_ts_expired`: the commit ts is below the lock's min commit ts. */
  COMMIT_TS_EXPIRED: 'COMMIT_TS_EXPIRED',
  /** kvrpcpb.KeyError `commit_ts_too_large`: the computed commit ts exceeds the caller's limit. */
  COMMIT_TS_TOO_LARGE: 'COMMIT_TS_TOO_LARGE',
  /** kvrpcpb.KeyError `assertion_failed`: a mutation's existence assertion did not hold. */
  ASSERTION_FAILED: 'ASSERTION_FAILED',
  /** kvrpcpb.KeyError `txn_lock_not_found`: the transaction's lock on the key is missing. */
  TXN_LOCK_NOT_FOUND: 'TXN_LOCK_NOT_FOUND',
  /** kvrpcpb.KeyError `primary_mismatch`: a status check reached a lock whose primary differs. */
  PRIMARY_MISMATCH: 'PRIMARY_MISMATCH',
  /** kvrpcpb.KeyError `lock_upgrade_conflict`: a shared-lock upgrade conflicted with another. */
  LOCK_UPGRADE_CONFLICT: 'LOCK_UPGRADE_CONFLICT',
  /** kvrpcpb.KeyError `shared_lock_lost`: the transaction lost its shared-lock ownership. */
  SHARED_LOCK_LOST: 'SHARED_LOCK_LOST',
  /** kvrpcpb.KeyError `retryable`: the server says the transaction may be restarted. */
  TXN_RETRYABLE: 'TXN_RETRYABLE',
  /** kvrpcpb.KeyError `abort`: the server says the transaction must be aborted. */
  TXN_ABORTED: 'TXN_ABORTED',
  /** A kvrpcpb.KeyError with no arm this client knows. */
  KEY_ERROR: 'KEY_ERROR',
  /** The outcome of a commit is unknown: it may or may not have been applied. */
  UNDETERMINED: 'UNDETERMINED',
  /** PD returned an error in its response header; see `PdError`. */
  PD_ERROR: 'PD_ERROR',
  /** No PD endpoint answered while connecting; see `PdUnreachableError`. */
  PD_UNREACHABLE: 'PD_UNREACHABLE',
  /** The operation's own deadline (`timeoutMs`) passed. */
  DEADLINE_EXCEEDED: 'DEADLINE_EXCEEDED',
  /** The backoff sleep budget of one operation is used up. */
  BACKOFF_EXCEEDED: 'BACKOFF_EXCEEDED',
  /** A caller passed an invalid argument or option. */
  INVALID_ARGUMENT: 'INVALID_ARGUMENT',
  /** Encoded input is malformed (truncated group, bad marker or padding, overflow). */
  CODEC_ERROR: 'CODEC_ERROR',
  /** The client (or the component) was closed. */
  CLIENT_CLOSED: 'CLIENT_CLOSED',
  /** A scan asked for more entries than the server-side limit allows. */
  MAX_SCAN_LIMIT_EXCEEDED: 'MAX_SCAN_LIMIT_EXCEEDED',
  /** A transport failure talking to TiKV or PD (for example a gRPC status). */
  RPC_ERROR: 'RPC_ERROR',
  /** The transaction is too large (too many or too big mutations). */
  TXN_TOO_LARGE: 'TXN_TOO_LARGE',
  /** A key is larger than the allowed size. */
  KEY_TOO_LARGE: 'KEY_TOO_LARGE',
  /** A key-value entry is larger than the allowed size. */
  ENTRY_TOO_LARGE: 'ENTRY_TOO_LARGE',
  /** GC advanced past the transaction's start ts; the transaction cannot continue. */
  TXN_ABORTED_BY_GC: 'TXN_ABORTED_BY_GC',
  /** Waiting for a pessimistic lock timed out. */
  LOCK_WAIT_TIMEOUT: 'LOCK_WAIT_TIMEOUT',
  /** A pessimistic lock was not acquired and the request asked not to wait. */
  LOCK_ACQUIRE_FAILED_NO_WAIT: 'LOCK_ACQUIRE_FAILED_NO_WAIT',
  /** An operation was called on a transaction that is no longer valid. */
  INVALID_TXN: 'INVALID_TXN',
  /** A read timestamp is ahead of every timestamp the oracle has handed out. */
  FUTURE_TS_READ: 'FUTURE_TS_READ',
  /** The client's API version (V1 or V2) is not the one the cluster's storage runs with. */
  API_VERSION_MISMATCH: 'API_VERSION_MISMATCH',
  /** A store already has as many requests in flight as the client's store limit allows. */
  STORE_TOKEN_LIMIT: 'STORE_TOKEN_LIMIT',
  /** The server or the client does not support the requested feature. */
  NOT_SUPPORTED: 'NOT_SUPPORTED',
  /**
   * A request's resource group had no request units to spend within the longest wait allowed
   * (PD client `ErrClientResourceGroupThrottled`).
   */
  RESOURCE_GROUP_THROTTLED: 'RESOURCE_GROUP_THROTTLED',
  /** An internal invariant broke; a bug in the client or an unexpected response. */
  INTERNAL: 'INTERNAL',
} as const);

/** One of the {@link ErrorCode} strings. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

const ALL_CODES: ReadonlySet<string> = new Set<string>(Object.values(ErrorCode));

/**
 * Tells whether a value is one of the known {@link ErrorCode} strings.
 *
 * @param value - any value
 * @returns true when `value` is a member of the closed code set
 */
export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && ALL_CODES.has(value);
}
