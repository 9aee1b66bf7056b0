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
export class WriteConflictError extends KeyError {
  override name = 'WriteConflictError';
  declare readonly code: 'WRITE_CONFLICT';
  /** Start ts of the transaction that met the conflict. */
  readonly startTs: bigint;
  /** Start ts of the conflicting transaction. */
  readonly conflictStartTs: bigint;
  /** Commit ts of the conflicting write. */
  readonly conflictCommitTs: bigint;
  /** The conflicting key. */
  readonly key: Uint8Array;
  /** The primary key of the transaction that met the conflict. */
  readonly primary: Uint8Array;
  /** Why the conflict was reported. */
  readonly reason: WriteConflictReason;

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
      options,
      true,
    );
    this.startTs = fields.startTs;
    this.conflictStartTs = fields.conflictStartTs;
    this.conflictCommitTs = fields.conflictCommitTs;
    this.key = fields.key;
    this.primary = fields.primary;
    this.reason = fields.reason;
  }
}

/** The key is locked by another transaction: resolve the lock or wait, then retry. */
export class KeyIsLockedError extends KeyError {
  override name = 'KeyIsLockedError';
  declare readonly code: 'KEY_IS_LOCKED';
  /** The lock found on the key. */
  readonly lock: LockInfo;

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
      options,
      true,
    );
    this.lock = lock;
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
export class DeadlockError extends KeyError {
  override name = 'DeadlockError';
  declare readonly code: 'DEADLOCK';
  /** Start ts of the transaction holding the lock. */
  readonly lockTs: bigint;
  /** The key this transaction tried to lock. */
  readonly lockKey: Uint8Array;
  /** Hash of the key already held that closes the cycle. */
  readonly deadlockKeyHash: bigint;
  /** The key already held that closes the cycle. */
  readonly deadlockKey: Uint8Array;
  /** The wait-for chain forming the cycle. */
  readonly waitChain: readonly WaitForEntry[];

  /**
   * @param fields - the deadlock's fields
   * @param options - debug info, retryable override, cause
   */
  constructor(fields: DeadlockFields, options: KeyErrorOptions = {}) {
    super(
      'DEADLOCK',
      `deadlock { lockTs: ${fields.lockTs}, lockKey: ${formatKey(fields.lockKey)}, ` +
        `deadlockKeyHash: ${fields.deadlockKeyHash}, waitChain: ${fields.waitChain?.length ?? 0} entries }`,
      options,
      false,
    );
    this.lockTs = fields.lockTs;
    this.lockKey = fields.lockKey;
    this.deadlockKeyHash = fields.deadlockKeyHash;
    this.deadlockKey = fields.deadlockKey ?? new Uint8Array(0);
    this.waitChain = fields.waitChain ?? [];
  }
}

/** An insert (or a not-exists assertion) met an existing key. */
export class AlreadyExistsError extends KeyError {
  override name = 'AlreadyExistsError';
  declare readonly code: 'ALREADY_EXISTS';
  /** The existing key. */
  readonly key: Uint8Array;

  /**
   * @param key - the existing key
   * @param options - debug info, retryable override, cause
   */
  constructor(key: Uint8Array, options: KeyErrorOptions = {}) {
    super('ALREADY_EXISTS', `key already exists { key: ${formatKey(key)} }`, options, false);
    this.key = key;
  }
}

/** Neither the primary lock nor a commit or rollback record of the transaction exists. */
export class TxnNotFoundError extends KeyError {
  override name = 'TxnNotFoundError';
  declare readonly code: 'TXN_NOT_FOUND';
  /** The transaction's start ts. */
  readonly startTs: bigint;
  /** The transaction's primary key. */
  readonly primaryKey: Uint8Array;

  /**
   * @param fields - start ts and primary key
   * @param options - debug info, retryable override, cause
   */
  constructor(
    fields: { readonly startTs: bigint; readonly primaryKey: Uint8Array },
    options: KeyErrorOptions = {},
  ) {
    super(
      'TXN_NOT_FOUND',
      `txn ${fields.startTs} not found { primaryKey: ${formatKey(fields.primaryKey)} }`,
      options,
    );
    this.startTs = fields.startTs;
    this.primaryKey = fields.primaryKey;
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
export class CommitTsExpiredError extends KeyError {
  override name = 'CommitTsExpiredError';
  declare readonly code: 'COMMIT_TS_EXPIRED';
  /** The transaction's start ts. */
  readonly startTs: bigint;
  /** The commit ts that was refused. */
  readonly attemptedCommitTs: bigint;
  /** The key whose lock refused it. */
  readonly key: Uint8Array;
  /** The lock's min commit ts. */
  readonly minCommitTs: bigint;

  /**
   * @param fields - the error's fields
   * @param options - debug info, retryable override, cause
   */
  constructor(fields: CommitTsExpiredFields, options: KeyErrorOptions = {}) {
    super(
      'COMMIT_TS_EXPIRED',
      `commit ts expired { startTs: ${fields.startTs}, attemptedCommitTs: ${fields.attemptedCommitTs}, ` +
        `minCommitTs: ${fields.minCommitTs}, key: ${formatKey(fields.key)} }`,
      options,
      true,
    );
    this.startTs = fields.startTs;
    this.attemptedCommitTs = fields.attemptedCommitTs;
    this.key = fields.key;
    this.minCommitTs = fields.minCommitTs;
  }
}

/** The commit ts TiKV computed is larger than the limit the client gave. */
export class CommitTsTooLargeError extends KeyError {
  override name = 'CommitTsTooLargeError';
  declare readonly code: 'COMMIT_TS_TOO_LARGE';
  /** The computed commit ts. */
  readonly commitTs: bigint;

  /**
   * @param commitTs - the computed commit ts
   * @param options - debug info, retryable override, cause
   */
  constructor(commitTs: bigint, options: KeyErrorOptions = {}) {
    super('COMMIT_TS_TOO_LARGE', `commit ts ${commitTs} is too large`, options);
    this.commitTs = commitTs;
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
export class AssertionFailedError extends KeyError {
  override name = 'AssertionFailedError';
  declare readonly code: 'ASSERTION_FAILED';
  /** The transaction's start ts. */
  readonly startTs: bigint;
  /** The key whose assertion failed. */
  readonly key: Uint8Array;
  /** The assertion that failed. */
  readonly assertion: Assertion;
  /** Start ts of the existing version. */
  readonly existingStartTs: bigint;
  /** Commit ts of the existing version. */
  readonly existingCommitTs: bigint;

  /**
   * @param fields - the error's fields
   * @param options - debug info, retryable override, cause
   */
  constructor(fields: AssertionFailedFields, options: KeyErrorOptions = {}) {
    super(
      'ASSERTION_FAILED',
      `assertion failed { startTs: ${fields.startTs}, key: ${formatKey(fields.key)}, assertion: ${fields.assertion}, ` +
        `existingStartTs: ${fields.existingStartTs}, existingCommitTs: ${fields.existingCommitTs} }`,
      options,
    );
    this.startTs = fields.startTs;
    this.key = fields.key;
    this.assertion = fields.assertion;
    this.existingStartTs = fields.existingStartTs;
    this.existingCommitTs = fields.existingCommitTs;
  }
}

/** The transaction's lock on the key is not there any more. */
export class TxnLockNotFoundError extends KeyError {
  override name = 'TxnLockNotFoundError';
  declare readonly code: 'TXN_LOCK_NOT_FOUND';
  /** The key. */
  readonly key: Uint8Array;

  /**
   * @param key - the key
   * @param options - debug info, retryable override, cause
   */
  constructor(key: Uint8Array, options: KeyErrorOptions = {}) {
    super('TXN_LOCK_NOT_FOUND', `txn lock not found { key: ${formatKey(key)} }`, options);
    this.key = key;
  }
}

/** A transaction status check reached a lock whose primary is not the key checked. */
export class PrimaryMismatchError extends KeyError {
  override name = 'PrimaryMismatchError';
  declare readonly code: 'PRIMARY_MISMATCH';
  /** The lock found. */
  readonly lock: LockInfo;

  /**
   * @param lock - the lock found
   * @param options - debug info, retryable override, cause
   */
  constructor(lock: LockInfo, options: KeyErrorOptions = {}) {
    super(
      'PRIMARY_MISMATCH',
      `primary mismatch { key: ${formatKey(lock.key)}, primary: ${formatKey(lock.primary)}, lockVersion: ${lock.lockVersion} }`,
      options,
    );
    this.lock = lock;
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
export class LockUpgradeConflictError extends KeyError {
  override name = 'LockUpgradeConflictError';
  declare readonly code: 'LOCK_UPGRADE_CONFLICT';
  /** The key. */
  readonly key: Uint8Array;
  /** This transaction's start ts. */
  readonly startTs: bigint;
  /** Start ts of the transaction that owns the upgrade. */
  readonly ownerStartTs: bigint;
  /** Why the upgrade conflicted. */
  readonly reason: LockUpgradeConflictReason;

  /**
   * @param fields - the error's fields
   * @param options - debug info, retryable override, cause
   */
  constructor(fields: LockUpgradeConflictFields, options: KeyErrorOptions = {}) {
    super(
      'LOCK_UPGRADE_CONFLICT',
      `lock upgrade conflict { key: ${formatKey(fields.key)}, startTs: ${fields.startTs}, ` +
        `ownerStartTs: ${fields.ownerStartTs}, reason: ${fields.reason} }`,
      options,
    );
    this.key = fields.key;
    this.startTs = fields.startTs;
    this.ownerStartTs = fields.ownerStartTs;
    this.reason = fields.reason;
  }
}

/** The transaction lost its shared lock on the key; it must not continue (rollback is still valid). */
export class SharedLockLostError extends KeyError {
  override name = 'SharedLockLostError';
  declare readonly code: 'SHARED_LOCK_LOST';
  /** The key. */
  readonly key: Uint8Array;
  /** The transaction's start ts. */
  readonly startTs: bigint;

  /**
   * @param fields - key and start ts
   * @param options - debug info, retryable override, cause
   */
  constructor(fields: { readonly key: Uint8Array; readonly startTs: bigint }, options: KeyErrorOptions = {}) {
    super(
      'SHARED_LOCK_LOST',
      `shared lock lost { key: ${formatKey(fields.key)}, startTs: ${fields.startTs} }`,
      options,
    );
    this.key = fields.key;
    this.startTs = fields.startTs;
  }
}

/** The server says the transaction may be restarted (kvrpcpb.KeyError `retryable`). */
export class RetryableKeyError extends KeyError {
  override name = 'RetryableKeyError';
  declare readonly code: 'TXN_RETRYABLE';
  /** The server's explanation. */
  readonly detail: string;

  /**
   * @param detail - the server's explanation
   * @param options - debug info, retryable override, cause
   */
  constructor(detail: string, options: KeyErrorOptions = {}) {
    super('TXN_RETRYABLE', `retryable: ${detail}`, options, true);
    this.detail = detail;
  }
}

/** The server says the transaction must be aborted (kvrpcpb.KeyError `abort`). */
export class TxnAbortedError extends KeyError {
  override name = 'TxnAbortedError';
  declare readonly code: 'TXN_ABORTED';
  /** The server's explanation. */
  readonly detail: string;

  /**
   * @param detail - the server's explanation
   * @param options - debug info, retryable override, cause
   */
  constructor(detail: string, options: KeyErrorOptions = {}) {
    super('TXN_ABORTED', `tikv aborts txn: ${detail}`, options);
    this.detail = detail;
  }
}
