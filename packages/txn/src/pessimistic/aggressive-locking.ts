import type { LockedValue } from './pessimistic-lock.js';

/**
 * A lock taken in the aggressive locking stage, kept apart from the buffer until the stage is
 * done (client-go `tempLockBufferEntry`).
 *
 * @internal
 */
export interface AggressiveLockEntry {
  readonly key: Uint8Array;
  hasReturnValue: boolean;
  hasCheckExistence: boolean;
  value: LockedValue;
  /** The for-update ts the lock really has: the request's, or the conflicting commit's when locked with conflict. */
  readonly actualForUpdateTs: bigint;
}

/**
 * Aggressive (fair) locking (client-go `aggressiveLockingContext`): the locks of the current
 * attempt of a statement, and those of the previous attempt not yet known to be unnecessary.
 *
 * @internal
 */
export interface AggressiveLockingContext {
  /** Locks of the previous attempt; each is dropped (rolled back) unless this attempt locks it again. */
  lastRetryUnnecessaryLocks: Map<string, AggressiveLockEntry> | undefined;
  lastPrimaryKey: Uint8Array | undefined;
  lastAssignedPrimaryKey: boolean;
  lastAttemptStartMs: number;
  currentLockedKeys: Map<string, AggressiveLockEntry>;
  maxLockedWithConflictTs: bigint;
  assignedPrimaryKey: boolean;
  primaryKey: Uint8Array | undefined;
  startMs: number;
}

/** A fresh context (client-go `StartAggressiveLocking`). @internal */
export function newAggressiveLockingContext(nowMs: number): AggressiveLockingContext {
  return {
    lastRetryUnnecessaryLocks: undefined,
    lastPrimaryKey: undefined,
    lastAssignedPrimaryKey: false,
    lastAttemptStartMs: 0,
    currentLockedKeys: new Map(),
    maxLockedWithConflictTs: 0n,
    assignedPrimaryKey: false,
    primaryKey: undefined,
    startMs: nowMs,
  };
}

/**
 * Whether the previous attempt's lock can stand for this attempt's request without sending it
 * again (client-go `trySkipLockingOnRetry`): not when this request wants more than was returned
 * then. A lock taken with conflict becomes a normal one. Drops what this request did not ask for.
 *
 * @internal
 */
export function trySkipLockingOnRetry(
  entry: AggressiveLockEntry,
  returnValues: boolean,
  checkExistence: boolean,
): boolean {
  if (entry.value.lockedWithConflictTs !== 0n) {
    entry.value = { ...entry.value, lockedWithConflictTs: 0n };
  } else {
    if (!entry.hasReturnValue && returnValues) return false;
    if (!returnValues && !entry.hasCheckExistence && checkExistence) return false;
  }
  if (!returnValues) {
    entry.hasReturnValue = false;
    entry.value = { ...entry.value, value: undefined };
  }
  if (!checkExistence) {
    entry.hasCheckExistence = false;
    entry.value = { ...entry.value, exists: true };
  }
  return true;
}
