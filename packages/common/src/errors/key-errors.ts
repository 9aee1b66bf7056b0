import { formatKey } from '../keys/key-format.js';
import type { LockInfo, WaitForEntry } from './lock-info.js';
import { TiKVError } from './tikv-error.js';

/** The codes of the {@link KeyError} family, one per kvrpcpb.KeyError arm plus `KEY_ERROR`. */
export type KeyErrorCode =
  | 'WRITE_CONFLICT'
  | 'KEY_IS_LOCKED'
  | 'DEADLOCK'
  | 'ALREADY_EXISTS'
  | 'TXN_NOT_FOUND'
  | 'COMMIT_TS_EXPIRED'
  | 'COMMIT_TS_TOO_LARGE'
  | 'ASSERTION_FAILED'
  | 'TXN_LOCK_NOT_FOUND'
  | 'PRIMARY_MISMATCH'
  | 'LOCK_UPGRADE_CONFLICT'
  | 'SHARED_LOCK_LOST'
  | 'TXN_RETRYABLE'
  | 'TXN_ABORTED'
  | 'KEY_ERROR';

/** Options shared by every {@link KeyError}. */
export interface KeyErrorOptions extends ErrorOptions {
  /** The server's `debug_info` (MVCC state of the keys involved), unchanged. */
  readonly debugInfo?: unknown;
  /** Overrides the subclass's default retryable flag. */
  readonly retryable?: boolean;
}

function superOptions(options: KeyErrorOptions, retryable: boolean): { retryable: boolean; cause?: unknown } {
  return {
    retryable: options.retryable ?? retryable,
    ...('cause' in options ? { cause: options.cause } : {}),
  };
}

/**
 * A per-key error returned by TiKV (kvproto `kvrpcpb.KeyError`). The subclasses
 * carry the fields of each arm; a KeyError whose arm this client does not know
 * has code `KEY_ERROR`.
 */
export class KeyError extends TiKVError {
  override name = 'KeyError';
  declare readonly code: KeyErrorCode;
  /** The server's `debug_info`, unchanged (undefined when absent). */
  readonly debugInfo: unknown;

  /**
   * @param code - the arm's code
   * @param message - the message, keeping the server's detail
   * @param options - debug info, retryable override, cause
   * @param defaultRetryable - the retryable flag when `options` does not set one
   */
  constructor(code: KeyErrorCode, message: string, options: KeyErrorOptions = {}, defaultRetryable = false) {
    super(code, message, superOptions(options, defaultRetryable));
    this.debugInfo = options.debugInfo;
  }
}

/** The constructor of a {@link KeyError} that carries fields `F`. */
type KeyErrorWithFields<F extends object> = new (
  code: KeyErrorCode,
  message: string,
  fields: F,
  options: KeyErrorOptions,
  defaultRetryable: boolean,
) => KeyError & Readonly<F>;

/** Copies the fields of one wire arm onto the error, once, for every subclass. */
class ArmKeyError extends KeyError {
  constructor(
    code: KeyErrorCode,
    message: string,
    fields: object,
    options: KeyErrorOptions,
    defaultRetryable: boolean,
  ) {
    super(code, message, options, defaultRetryable);
    Object.assign(this, fields);
  }
}

/**
 * The base of a {@link KeyError} subclass that carries the fields of one `kvrpcpb.KeyError` arm:
 * the base copies them onto the error, so the subclass declares neither the fields (their types
 * and docs come from its `XxxFields` interface) nor their assignments.
 *
 * @typeParam F - the fields
 * @returns the base class
 */
function keyErrorWith<F extends object>(): KeyErrorWithFields<F> {
  return ArmKeyError as unknown as KeyErrorWithFields<F>;
}

/** Why TiKV reported a write conflict (kvproto `WriteConflict.Reason`). */
export const WriteConflictReason = Object.freeze({
  Unknown: 'Unknown',
  Optimistic: 'Optimistic',
  PessimisticRetry: 'PessimisticRetry',
  SelfRolledBack: 'SelfRolledBack',
  RcCheckTs: 'RcCheckTs',
  LazyUniquenessCheck: 'LazyUniquenessCheck',
  NotLockedKeyConflict: 'NotLockedKeyConflict',
} as const);
/** One of the {@link WriteConflictReason} names. */
export type WriteConflictReason = (typeof WriteConflictReason)[keyof typeof WriteConflictReason];

/** Fields of a {@link WriteConflictError}. */
export interface WriteConflictFields {
  /** Start ts of the transaction that met the conflict. */
  readonly startTs: bigint;
  /** Start ts of the conflicting transaction. */
  readonly conflictStartTs: bigint;
  /** Commit ts of the conflicting write (0 when it is a lock). */
  readonly conflictCommitTs: bigint;
  /** The conflicting key. */
  readonly key: Uint8Array;
  /** The primary key of the transaction that met the conflict. */
  readonly primary: Uint8Array;
  /** Why the conflict was reported. */
  readonly reason: WriteConflictReason;
}

/** Another transaction wrote the key after this one started. Retryable by restarting the transaction. */
export class WriteConflictError extends keyErrorWith<WriteConflictFields>() {
  override name = 'WriteConflictError';
  declare readonly code: 'WRITE_CONFLICT';

  /**
   * @param fields - the conflict's fields
   * @param options - debug info, retryable override, cause
   */
  constructor(fields: WriteConflictFields, options: KeyErrorOptions = {}) {
    super(
      'WRITE_CONFLICT',
      `write conflict { startTs: ${fields.startTs}, conflictStartTs: ${fields.conflictStartTs}, ` +
        `conflictCommitTs: ${fields.conflictCommitTs}, key: ${formatKey(fields.key)}, ` +
        `primary: ${formatKey(fields.primary)}, reason: ${fields.reason} }`,
      fields,
      options,
      true,
    );
  }
}

/** The key is locked by another transaction: resolve the lock or wait, then retry. */
export class KeyIsLockedError extends keyErrorWith<{
  /** The lock found on the key. */
  readonly lock: LockInfo;
}>() {
  override name = 'KeyIsLockedError';
  declare readonly code: 'KEY_IS_LOCKED';

  /**
   * @param lock - the lock
   * @param options - debug info, retryable override, cause
   */
  constructor(lock: LockInfo, options: KeyErrorOptions = {}) {
    super(
      'KEY_IS_LOCKED',
      `key is locked { key: ${formatKey(lock.key)}, primary: ${formatKey(lock.primary)}, ` +
        `lockVersion: ${lock.lockVersion}, lockTtlMs: ${lock.lockTtlMs}, txnSize: ${lock.txnSize}, ` +
        `lockType: ${lock.lockType}, useAsyncCommit: ${lock.useAsyncCommit}, minCommitTs: ${lock.minCommitTs} }`,
      { lock },
      options,
      true,
    );
  }
}

/** Fields of a {@link DeadlockError}. */
export interface DeadlockFields {
  /** Start ts of the transaction holding the lock that would be waited for. */
  readonly lockTs: bigint;
  /** The key this transaction tried to lock. */
  readonly lockKey: Uint8Array;
  /** Hash of the key already held that closes the cycle. */
  readonly deadlockKeyHash: bigint;
  /** The key already held that closes the cycle (may be empty on older servers). */
  readonly deadlockKey?: Uint8Array;
  /** The wait-for chain forming the cycle. */
  readonly waitChain?: readonly WaitForEntry[];
}

/**
 * Acquiring a pessimistic lock would deadlock. Not retryable unless the caller
 * marks it so (client-go's `ErrDeadlock.IsRetryable`).
 */
export class DeadlockError extends keyErrorWith<Required<DeadlockFields>>() {
  override name = 'DeadlockError';
  declare readonly code: 'DEADLOCK';

  /**
   * @param fields - the deadlock's fields
   * @param options - debug info, retryable override, cause
   */
  constructor(fields: DeadlockFields, options: KeyErrorOptions = {}) {
    super(
      'DEADLOCK',
      `deadlock { lockTs: ${fields.lockTs}, lockKey: ${formatKey(fields.lockKey)}, ` +
        `deadlockKeyHash: ${fields.deadlockKeyHash}, waitChain: ${fields.waitChain?.length ?? 0} entries }`,
      {
        lockTs: fields.lockTs,
        lockKey: fields.lockKey,
        deadlockKeyHash: fields.deadlockKeyHash,
        deadlockKey: fields.deadlockKey ?? new Uint8Array(0),
        waitChain: fields.waitChain ?? [],
      },
      options,
      false,
    );
  }
}

/** The key of an {@link AlreadyExistsError} or a {@link TxnLockNotFoundError}. */
interface KeyField {
  /** The key. */
  readonly key: Uint8Array;
}

/** Options of an {@link AlreadyExistsError}. */
export interface AlreadyExistsOptions extends KeyErrorOptions {
  /** The value the transaction was inserting (not on the wire; see {@link AlreadyExistsError.value}). */
  readonly value?: Uint8Array | undefined;
}

/** An insert (or a not-exists assertion) met an existing key. */
export class AlreadyExistsError extends keyErrorWith<KeyField>() {
  override name = 'AlreadyExistsError';
  declare readonly code: 'ALREADY_EXISTS';
  /**
   * The value the transaction was writing to the key when TiKV found it existing (client-go
   * `ErrKeyExist.Value`, not part of the protocol): a pipelined flush fills it from the generation
   * it flushed, for a duplicate-entry message; undefined otherwise.
   */
  readonly value: Uint8Array | undefined;

  /**
   * @param key - the existing key
   * @param options - debug info, retryable override, cause, the value being inserted
   */
  constructor(key: Uint8Array, options: AlreadyExistsOptions = {}) {
    super('ALREADY_EXISTS', `key already exists { key: ${formatKey(key)} }`, { key }, options, false);
    this.value = options.value;
  }
}

/** Fields of a {@link TxnNotFoundError}. */
export interface TxnNotFoundFields {
  /** The transaction's start ts. */
  readonly startTs: bigint;
  /** The transaction's primary key. */
  readonly primaryKey: Uint8Array;
}

/** Neither the primary lock nor a commit or rollback record of the transaction exists. */
export class TxnNotFoundError extends keyErrorWith<TxnNotFoundFields>() {
  override name = 'TxnNotFoundError';
  declare readonly code: 'TXN_NOT_FOUND';

  /**
   * @param fields - start ts and primary key
   * @param options - debug info, retryable override, cause
   */
  constructor(fields: TxnNotFoundFields, options: KeyErrorOptions = {}) {
    super(
      'TXN_NOT_FOUND',
      `txn ${fields.startTs} not found { primaryKey: ${formatKey(fields.primaryKey)} }`,
      fields,
      options,
      false,
    );
  }
}

/** Fields of a {@link CommitTsExpiredError}. */
export interface CommitTsExpiredFields {
  /** The transaction's start ts. */
  readonly startTs: bigint;
  /** The commit ts that was refused. */
  readonly attemptedCommitTs: bigint;
  /** The key whose lock refused it. */
  readonly key: Uint8Array;
  /** The lock's min commit ts. */
  readonly minCommitTs: bigint;
}

/** The commit ts is below the lock's min commit ts: commit again with a newer ts. */
export class CommitTsExpiredError extends keyErrorWith<CommitTsExpiredFields>() {
  override name = 'CommitTsExpiredError';
  declare readonly code: 'COMMIT_TS_EXPIRED';

  /**
   * @param fields - the error's fields
   * @param options - debug info, retryable override, cause
   */
  constructor(fields: CommitTsExpiredFields, options: KeyErrorOptions = {}) {
    super(
      'COMMIT_TS_EXPIRED',
      `commit ts expired { startTs: ${fields.startTs}, attemptedCommitTs: ${fields.attemptedCommitTs}, ` +
        `minCommitTs: ${fields.minCommitTs}, key: ${formatKey(fields.key)} }`,
      fields,
      options,
      true,
    );
  }
}

/** The commit ts TiKV computed is larger than the limit the client gave. */
export class CommitTsTooLargeError extends keyErrorWith<{
  /** The computed commit ts. */
  readonly commitTs: bigint;
}>() {
  override name = 'CommitTsTooLargeError';
  declare readonly code: 'COMMIT_TS_TOO_LARGE';

  /**
   * @param commitTs - the computed commit ts
   * @param options - debug info, retryable override, cause
   */
  constructor(commitTs: bigint, options: KeyErrorOptions = {}) {
    super('COMMIT_TS_TOO_LARGE', `commit ts ${commitTs} is too large`, { commitTs }, options, false);
  }
}

/** Existence assertions of a mutation (kvproto `kvrpcpb.Assertion`). */
export const Assertion = Object.freeze({ None: 'None', Exist: 'Exist', NotExist: 'NotExist' } as const);
/** One of the {@link Assertion} names. */
export type Assertion = (typeof Assertion)[keyof typeof Assertion];

/** Fields of an {@link AssertionFailedError}. */
export interface AssertionFailedFields {
  /** The transaction's start ts. */
  readonly startTs: bigint;
  /** The key whose assertion failed. */
  readonly key: Uint8Array;
  /** The assertion that failed. */
  readonly assertion: Assertion;
  /** Start ts of the existing version (0 when none). */
  readonly existingStartTs: bigint;
  /** Commit ts of the existing version (0 when none). */
  readonly existingCommitTs: bigint;
}

/** A mutation's existence assertion was evaluated as false. */
export class AssertionFailedError extends keyErrorWith<AssertionFailedFields>() {
  override name = 'AssertionFailedError';
  declare readonly code: 'ASSERTION_FAILED';

  /**
   * @param fields - the error's fields
   * @param options - debug info, retryable override, cause
   */
  constructor(fields: AssertionFailedFields, options: KeyErrorOptions = {}) {
    super(
      'ASSERTION_FAILED',
      `assertion failed { startTs: ${fields.startTs}, key: ${formatKey(fields.key)}, assertion: ${fields.assertion}, ` +
        `existingStartTs: ${fields.existingStartTs}, existingCommitTs: ${fields.existingCommitTs} }`,
      fields,
      options,
      false,
    );
  }
}

/** The transaction's lock on the key is not there any more. */
export class TxnLockNotFoundError extends keyErrorWith<KeyField>() {
  override name = 'TxnLockNotFoundError';
  declare readonly code: 'TXN_LOCK_NOT_FOUND';

  /**
   * @param key - the key
   * @param options - debug info, retryable override, cause
   */
  constructor(key: Uint8Array, options: KeyErrorOptions = {}) {
    super('TXN_LOCK_NOT_FOUND', `txn lock not found { key: ${formatKey(key)} }`, { key }, options, false);
  }
}

/** A transaction status check reached a lock whose primary is not the key checked. */
export class PrimaryMismatchError extends keyErrorWith<{
  /** The lock found. */
  readonly lock: LockInfo;
}>() {
  override name = 'PrimaryMismatchError';
  declare readonly code: 'PRIMARY_MISMATCH';

  /**
   * @param lock - the lock found
   * @param options - debug info, retryable override, cause
   */
  constructor(lock: LockInfo, options: KeyErrorOptions = {}) {
    super(
      'PRIMARY_MISMATCH',
      `primary mismatch { key: ${formatKey(lock.key)}, primary: ${formatKey(lock.primary)}, lockVersion: ${lock.lockVersion} }`,
      { lock },
      options,
      false,
    );
  }
}

/** Why a shared-lock upgrade conflicted (kvproto `LockUpgradeConflict.Reason`). */
export const LockUpgradeConflictReason = Object.freeze({
  Unknown: 'Unknown',
  DuplicateInFlight: 'DuplicateInFlight',
  SecondUpgrader: 'SecondUpgrader',
} as const);
/** One of the {@link LockUpgradeConflictReason} names. */
export type LockUpgradeConflictReason =
  (typeof LockUpgradeConflictReason)[keyof typeof LockUpgradeConflictReason];

/** Fields of a {@link LockUpgradeConflictError}. */
export interface LockUpgradeConflictFields {
  /** The key. */
  readonly key: Uint8Array;
  /** This transaction's start ts. */
  readonly startTs: bigint;
  /** Start ts of the transaction that owns the upgrade. */
  readonly ownerStartTs: bigint;
  /** Why the upgrade conflicted. */
  readonly reason: LockUpgradeConflictReason;
}

/** A shared-lock upgrade conflicted with another upgrade of the same key. */
export class LockUpgradeConflictError extends keyErrorWith<LockUpgradeConflictFields>() {
  override name = 'LockUpgradeConflictError';
  declare readonly code: 'LOCK_UPGRADE_CONFLICT';

  /**
   * @param fields - the error's fields
   * @param options - debug info, retryable override, cause
   */
  constructor(fields: LockUpgradeConflictFields, options: KeyErrorOptions = {}) {
    super(
      'LOCK_UPGRADE_CONFLICT',
      `lock upgrade conflict { key: ${formatKey(fields.key)}, startTs: ${fields.startTs}, ` +
        `ownerStartTs: ${fields.ownerStartTs}, reason: ${fields.reason} }`,
      fields,
      options,
      false,
    );
  }
}

/** Fields of a {@link SharedLockLostError}. */
export interface SharedLockLostFields {
  /** The key. */
  readonly key: Uint8Array;
  /** The transaction's start ts. */
  readonly startTs: bigint;
}

/** The transaction lost its shared lock on the key; it must not continue (rollback is still valid). */
export class SharedLockLostError extends keyErrorWith<SharedLockLostFields>() {
  override name = 'SharedLockLostError';
  declare readonly code: 'SHARED_LOCK_LOST';

  /**
   * @param fields - key and start ts
   * @param options - debug info, retryable override, cause
   */
  constructor(fields: SharedLockLostFields, options: KeyErrorOptions = {}) {
    super(
      'SHARED_LOCK_LOST',
      `shared lock lost { key: ${formatKey(fields.key)}, startTs: ${fields.startTs} }`,
      fields,
      options,
      false,
    );
  }
}

/** The server's explanation of a {@link RetryableKeyError} or a {@link TxnAbortedError}. */
interface DetailField {
  /** The server's explanation. */
  readonly detail: string;
}

/** The server says the transaction may be restarted (kvrpcpb.KeyError `retryable`). */
export class RetryableKeyError extends keyErrorWith<DetailField>() {
  override name = 'RetryableKeyError';
  declare readonly code: 'TXN_RETRYABLE';

  /**
   * @param detail - the server's explanation
   * @param options - debug info, retryable override, cause
   */
  constructor(detail: string, options: KeyErrorOptions = {}) {
    super('TXN_RETRYABLE', `retryable: ${detail}`, { detail }, options, true);
  }
}

/** The server says the transaction must be aborted (kvrpcpb.KeyError `abort`). */
export class TxnAbortedError extends keyErrorWith<DetailField>() {
  override name = 'TxnAbortedError';
  declare readonly code: 'TXN_ABORTED';

  /**
   * @param detail - the server's explanation
   * @param options - debug info, retryable override, cause
   */
  constructor(detail: string, options: KeyErrorOptions = {}) {
    super('TXN_ABORTED', `tikv aborts txn: ${detail}`, { detail }, options, false);
  }
}
