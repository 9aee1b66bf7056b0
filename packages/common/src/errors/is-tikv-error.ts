import type { ApiVersionMismatchError } from './api-version-mismatch-error.js';
import type {
  BackoffBudgetExceededError,
  ClientClosedError,
  CodecError,
  DeadlineExceededError,
  InvalidArgumentError,
  MaxScanLimitExceededError,
  PdError,
  StoreTokenLimitError,
  UndeterminedError,
} from './client-errors.js';
import type { ErrorCode } from './error-code.js';
import type {
  AlreadyExistsError,
  AssertionFailedError,
  CommitTsExpiredError,
  CommitTsTooLargeError,
  DeadlockError,
  KeyError,
  KeyIsLockedError,
  LockUpgradeConflictError,
  PrimaryMismatchError,
  RetryableKeyError,
  SharedLockLostError,
  TxnAbortedError,
  TxnLockNotFoundError,
  TxnNotFoundError,
  WriteConflictError,
} from './key-errors.js';
import type { PdUnreachableError } from './pd-unreachable-error.js';
import type { RegionError } from './region-error.js';
import type { EntryTooLargeError, KeyTooLargeError } from './size-errors.js';
import { hasTiKVErrorBrand, type TiKVError } from './tikv-error.js';

/** The error class that goes with each code that has a dedicated subclass. */
export interface ErrorClassByCode {
  REGION_ERROR: RegionError;
  WRITE_CONFLICT: WriteConflictError;
  KEY_IS_LOCKED: KeyIsLockedError;
  DEADLOCK: DeadlockError;
  ALREADY_EXISTS: AlreadyExistsError;
  TXN_NOT_FOUND: TxnNotFoundError;
  COMMIT_TS_EXPIRED: CommitTsExpiredError;
  COMMIT_TS_TOO_LARGE: CommitTsTooLargeError;
  ASSERTION_FAILED: AssertionFailedError;
  TXN_LOCK_NOT_FOUND: TxnLockNotFoundError;
  PRIMARY_MISMATCH: PrimaryMismatchError;
  LOCK_UPGRADE_CONFLICT: LockUpgradeConflictError;
  SHARED_LOCK_LOST: SharedLockLostError;
  TXN_RETRYABLE: RetryableKeyError;
  TXN_ABORTED: TxnAbortedError;
  KEY_ERROR: KeyError;
  UNDETERMINED: UndeterminedError;
  PD_ERROR: PdError;
  PD_UNREACHABLE: PdUnreachableError;
  DEADLINE_EXCEEDED: DeadlineExceededError;
  BACKOFF_EXCEEDED: BackoffBudgetExceededError;
  INVALID_ARGUMENT: InvalidArgumentError;
  CODEC_ERROR: CodecError;
  CLIENT_CLOSED: ClientClosedError;
  MAX_SCAN_LIMIT_EXCEEDED: MaxScanLimitExceededError;
  STORE_TOKEN_LIMIT: StoreTokenLimitError;
  KEY_TOO_LARGE: KeyTooLargeError;
  ENTRY_TOO_LARGE: EntryTooLargeError;
  API_VERSION_MISMATCH: ApiVersionMismatchError;
}

/** The error type {@link isTiKVError} narrows to for a code. */
export type ErrorForCode<C extends ErrorCode> = C extends keyof ErrorClassByCode
  ? ErrorClassByCode[C]
  : TiKVError;

/**
 * Tells whether a value is a {@link TiKVError} (optionally of one code). The
 * check reads a registered-symbol brand, so it also recognises errors created
 * by another copy of this package.
 *
 * @example
 * ```ts
 * try { await txn.commit(); } catch (e) {
 *   if (isTiKVError(e, 'WRITE_CONFLICT')) return retryAfter(e.conflictCommitTs);
 * }
 * ```
 * @param value - any value, typically a caught error
 * @param code - when given, the code the error must have
 * @returns true when `value` is a TiKVError (with that code)
 */
export function isTiKVError(value: unknown): value is TiKVError;
export function isTiKVError<C extends ErrorCode>(value: unknown, code: C): value is ErrorForCode<C>;
export function isTiKVError(value: unknown, code?: ErrorCode): boolean {
  return hasTiKVErrorBrand(value) && (code === undefined || value.code === code);
}

/**
 * Tells whether a value is a {@link TiKVError} whose `retryable` flag is set.
 *
 * @param value - any value
 * @returns true for retryable TiKV errors
 */
export function isRetryableError(value: unknown): boolean {
  return hasTiKVErrorBrand(value) && value.retryable === true;
}

/**
 * Tells whether a value is one of the {@link KeyError} family.
 *
 * @param value - any value
 * @returns true for key errors
 */
export function isKeyError(value: unknown): value is KeyError {
  if (!hasTiKVErrorBrand(value)) return false;
  switch (value.code) {
    case 'WRITE_CONFLICT':
    case 'KEY_IS_LOCKED':
    case 'DEADLOCK':
    case 'ALREADY_EXISTS':
    case 'TXN_NOT_FOUND':
    case 'COMMIT_TS_EXPIRED':
    case 'COMMIT_TS_TOO_LARGE':
    case 'ASSERTION_FAILED':
    case 'TXN_LOCK_NOT_FOUND':
    case 'PRIMARY_MISMATCH':
    case 'LOCK_UPGRADE_CONFLICT':
    case 'SHARED_LOCK_LOST':
    case 'TXN_RETRYABLE':
    case 'TXN_ABORTED':
    case 'KEY_ERROR':
      return true;
    default:
      return false;
  }
}
