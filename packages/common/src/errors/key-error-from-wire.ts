import {
  AlreadyExistsError,
  type Assertion,
  AssertionFailedError,
  CommitTsExpiredError,
  CommitTsTooLargeError,
  DeadlockError,
  KeyError,
  type KeyErrorOptions,
  KeyIsLockedError,
  LockUpgradeConflictError,
  type LockUpgradeConflictReason,
  PrimaryMismatchError,
  RetryableKeyError,
  SharedLockLostError,
  TxnAbortedError,
  TxnLockNotFoundError,
  TxnNotFoundError,
  WriteConflictError,
  type WriteConflictReason,
} from './key-errors.js';
import { type LockInfo, makeLockInfo, OP_NAMES, type Op, type WaitForEntry } from './lock-info.js';

/** A 64-bit wire integer: `bigint` from ts-proto's `forceLong=bigint`, or a `number`. */
export type WireU64 = bigint | number;
/** A wire enum: its number, or its name when generated with string enums. */
export type WireEnum = number | string;

/** The shape of kvproto `kvrpcpb.LockInfo` this client reads (ts-proto field names). */
export interface WireLockInfo {
  readonly primaryLock?: Uint8Array;
  readonly lockVersion?: WireU64;
  readonly key?: Uint8Array;
  readonly lockTtl?: WireU64;
  readonly txnSize?: WireU64;
  readonly lockType?: WireEnum;
  readonly lockForUpdateTs?: WireU64;
  readonly useAsyncCommit?: boolean;
  readonly minCommitTs?: WireU64;
  readonly secondaries?: readonly Uint8Array[];
  readonly durationToLastUpdateMs?: WireU64;
  readonly sharedLockInfos?: readonly WireLockInfo[];
  readonly isTxnFile?: boolean;
}

/** The shape of kvproto `deadlock.WaitForEntry` this client reads. */
export interface WireWaitForEntry {
  readonly txn?: WireU64;
  readonly waitForTxn?: WireU64;
  readonly keyHash?: WireU64;
  readonly key?: Uint8Array;
  readonly resourceGroupTag?: Uint8Array;
  readonly waitTime?: WireU64;
}

/** The shape of kvproto `kvrpcpb.KeyError` this client reads (ts-proto field names). */
export interface WireKeyError {
  readonly locked?: WireLockInfo | undefined;
  readonly retryable?: string;
  readonly abort?: string;
  readonly conflict?:
    | {
        readonly startTs?: WireU64;
        readonly conflictTs?: WireU64;
        readonly key?: Uint8Array;
        readonly primary?: Uint8Array;
        readonly conflictCommitTs?: WireU64;
        readonly reason?: WireEnum;
      }
    | undefined;
  readonly alreadyExist?: { readonly key?: Uint8Array } | undefined;
  readonly deadlock?:
    | {
        readonly lockTs?: WireU64;
        readonly lockKey?: Uint8Array;
        readonly deadlockKeyHash?: WireU64;
        readonly waitChain?: readonly WireWaitForEntry[];
        readonly deadlockKey?: Uint8Array;
      }
    | undefined;
  readonly commitTsExpired?:
    | {
        readonly startTs?: WireU64;
        readonly attemptedCommitTs?: WireU64;
        readonly key?: Uint8Array;
        readonly minCommitTs?: WireU64;
      }
    | undefined;
  readonly txnNotFound?: { readonly startTs?: WireU64; readonly primaryKey?: Uint8Array } | undefined;
  readonly commitTsTooLarge?: { readonly commitTs?: WireU64 } | undefined;
  readonly assertionFailed?:
    | {
        readonly startTs?: WireU64;
        readonly key?: Uint8Array;
        readonly assertion?: WireEnum;
        readonly existingStartTs?: WireU64;
        readonly existingCommitTs?: WireU64;
      }
    | undefined;
  readonly primaryMismatch?: { readonly lockInfo?: WireLockInfo | undefined } | undefined;
  readonly txnLockNotFound?: { readonly key?: Uint8Array } | undefined;
  readonly lockUpgradeConflict?:
    | {
        readonly key?: Uint8Array;
        readonly startTs?: WireU64;
        readonly ownerStartTs?: WireU64;
        readonly reason?: WireEnum;
      }
    | undefined;
  readonly sharedLockLost?: { readonly key?: Uint8Array; readonly startTs?: WireU64 } | undefined;
  readonly debugInfo?: unknown;
}

const EMPTY = new Uint8Array(0);
const WRITE_CONFLICT_REASONS: readonly WriteConflictReason[] = [
  'Unknown',
  'Optimistic',
  'PessimisticRetry',
  'SelfRolledBack',
  'RcCheckTs',
  'LazyUniquenessCheck',
  'NotLockedKeyConflict',
];
const ASSERTIONS: readonly Assertion[] = ['None', 'Exist', 'NotExist'];
const UPGRADE_REASONS: readonly LockUpgradeConflictReason[] = [
  'Unknown',
  'DuplicateInFlight',
  'SecondUpgrader',
];

function u64(v: WireU64 | undefined): bigint {
  return v === undefined ? 0n : BigInt(v);
}

function enumName<T extends string>(names: readonly T[], v: WireEnum | undefined): T | undefined {
  if (v === undefined) return names[0];
  if (typeof v === 'number') return names[v];
  return names.find((n) => n === v);
}

/**
 * Converts a wire `kvrpcpb.LockInfo` to this client's {@link LockInfo}.
 *
 * @param wire - the lock as decoded from the wire
 * @returns the lock info
 */
export function lockInfoFromWire(wire: WireLockInfo): LockInfo {
  return makeLockInfo({
    key: wire.key ?? EMPTY,
    primary: wire.primaryLock ?? EMPTY,
    lockVersion: u64(wire.lockVersion),
    lockTtlMs: u64(wire.lockTtl),
    txnSize: u64(wire.txnSize),
    lockType: enumName<Op>(OP_NAMES, wire.lockType) ?? 'Put',
    lockForUpdateTs: u64(wire.lockForUpdateTs),
    useAsyncCommit: wire.useAsyncCommit ?? false,
    minCommitTs: u64(wire.minCommitTs),
    secondaries: wire.secondaries ?? [],
    durationToLastUpdateMs: u64(wire.durationToLastUpdateMs),
    isTxnFile: wire.isTxnFile ?? false,
    sharedLockInfos: (wire.sharedLockInfos ?? []).map(lockInfoFromWire),
  });
}

function waitForEntryFromWire(wire: WireWaitForEntry): WaitForEntry {
  return {
    txn: u64(wire.txn),
    waitForTxn: u64(wire.waitForTxn),
    keyHash: u64(wire.keyHash),
    key: wire.key ?? EMPTY,
    resourceGroupTag: wire.resourceGroupTag ?? EMPTY,
    waitTimeMs: u64(wire.waitTime),
  };
}

/**
 * Converts a wire `kvrpcpb.KeyError` to the matching {@link KeyError}
 * subclass (the port of client-go's `ExtractKeyErr`, extended to every arm).
 * The server's `debug_info` is kept on `debugInfo`.
 *
 * @param wire - the key error as decoded from the wire
 * @returns the typed error; code `KEY_ERROR` when no known arm is set
 */
export function keyErrorFromWire(wire: WireKeyError): KeyError {
  const options: KeyErrorOptions = wire.debugInfo === undefined ? {} : { debugInfo: wire.debugInfo };
  if (wire.locked) return new KeyIsLockedError(lockInfoFromWire(wire.locked), options);
  if (wire.alreadyExist) return new AlreadyExistsError(wire.alreadyExist.key ?? EMPTY, options);
  if (wire.deadlock) {
    const d = wire.deadlock;
    return new DeadlockError(
      {
        lockTs: u64(d.lockTs),
        lockKey: d.lockKey ?? EMPTY,
        deadlockKeyHash: u64(d.deadlockKeyHash),
        deadlockKey: d.deadlockKey ?? EMPTY,
        waitChain: (d.waitChain ?? []).map(waitForEntryFromWire),
      },
      options,
    );
  }
  if (wire.conflict) {
    const c = wire.conflict;
    return new WriteConflictError(
      {
        startTs: u64(c.startTs),
        conflictStartTs: u64(c.conflictTs),
        conflictCommitTs: u64(c.conflictCommitTs),
        key: c.key ?? EMPTY,
        primary: c.primary ?? EMPTY,
        reason: enumName(WRITE_CONFLICT_REASONS, c.reason) ?? 'Unknown',
      },
      options,
    );
  }
  if (wire.retryable) return new RetryableKeyError(wire.retryable, options);
  if (wire.assertionFailed) {
    const a = wire.assertionFailed;
    return new AssertionFailedError(
      {
        startTs: u64(a.startTs),
        key: a.key ?? EMPTY,
        assertion: enumName(ASSERTIONS, a.assertion) ?? 'None',
        existingStartTs: u64(a.existingStartTs),
        existingCommitTs: u64(a.existingCommitTs),
      },
      options,
    );
  }
  if (wire.abort) return new TxnAbortedError(wire.abort, options);
  if (wire.commitTsExpired) {
    const c = wire.commitTsExpired;
    return new CommitTsExpiredError(
      {
        startTs: u64(c.startTs),
        attemptedCommitTs: u64(c.attemptedCommitTs),
        key: c.key ?? EMPTY,
        minCommitTs: u64(c.minCommitTs),
      },
      options,
    );
  }
  if (wire.commitTsTooLarge) return new CommitTsTooLargeError(u64(wire.commitTsTooLarge.commitTs), options);
  if (wire.txnNotFound) {
    return new TxnNotFoundError(
      { startTs: u64(wire.txnNotFound.startTs), primaryKey: wire.txnNotFound.primaryKey ?? EMPTY },
      options,
    );
  }
  if (wire.txnLockNotFound) return new TxnLockNotFoundError(wire.txnLockNotFound.key ?? EMPTY, options);
  if (wire.primaryMismatch) {
    return new PrimaryMismatchError(lockInfoFromWire(wire.primaryMismatch.lockInfo ?? {}), options);
  }
  if (wire.lockUpgradeConflict) {
    const l = wire.lockUpgradeConflict;
    return new LockUpgradeConflictError(
      {
        key: l.key ?? EMPTY,
        startTs: u64(l.startTs),
        ownerStartTs: u64(l.ownerStartTs),
        reason: enumName(UPGRADE_REASONS, l.reason) ?? 'Unknown',
      },
      options,
    );
  }
  if (wire.sharedLockLost) {
    return new SharedLockLostError(
      { key: wire.sharedLockLost.key ?? EMPTY, startTs: u64(wire.sharedLockLost.startTs) },
      options,
    );
  }
  return new KeyError('KEY_ERROR', 'unexpected key error with no known arm set', options);
}
