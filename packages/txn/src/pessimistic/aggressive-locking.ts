import { type Clock, keysEqual, keyToLatin1, TiKVError } from '@tikv/common';
import { FlagsOp } from '../membuffer/key-flags.js';
import type { MemBuffer } from '../membuffer/mem-buffer.js';
import type { LockKeysOptions, LockKeysResult } from './lock-keys-options.js';
import type { LockKeysStats } from './lock-keys-stats.js';
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

/**
 * Records a lock the stage's request took (client-go's aggressive locking branch after the lock):
 * kept apart from the buffer, with the for-update ts it really has.
 *
 * @returns the key's result
 * @internal
 */
export function recordAggressiveLock(
  aggressive: AggressiveLockingContext,
  key: Uint8Array,
  name: string,
  answered: LockedValue | undefined,
  o: LockKeysOptions,
  forUpdateTs: bigint,
): LockKeysResult {
  const conflictTs = answered?.lockedWithConflictTs ?? 0n;
  if (conflictTs > aggressive.maxLockedWithConflictTs) aggressive.maxLockedWithConflictTs = conflictTs;
  aggressive.currentLockedKeys.set(name, {
    key,
    hasReturnValue: o.returnValues === true,
    hasCheckExistence: o.checkExistence === true,
    value: answered ?? { exists: true, value: undefined, lockedWithConflictTs: 0n },
    actualForUpdateTs: conflictTs > forUpdateTs ? conflictTs : forUpdateTs,
  });
  return {
    key,
    alreadyLocked: false,
    locked: true,
    exists: answered?.exists,
    value: answered?.value,
    lockedWithConflictTs: conflictTs,
  };
}

/**
 * client-go `filterAggressiveLockedKeys`: keys the previous attempt locked need no request when
 * that lock tells this request what it wants and cannot have expired (its attempt started less
 * than `managedLockTtlMs` ago). Their results go to `results`.
 *
 * @returns the keys still to lock
 * @internal
 */
export function filterAggressiveLocked(
  aggressive: AggressiveLockingContext,
  keys: Uint8Array[],
  forUpdateTs: bigint,
  o: LockKeysOptions,
  results: Map<string, LockKeysResult>,
  clock: Clock,
  managedLockTtlMs: number,
): Uint8Array[] {
  const last = aggressive.lastRetryUnnecessaryLocks;
  if (last === undefined || last.size === 0) return keys;
  const canTrySkip =
    !aggressive.assignedPrimaryKey || sameKey(aggressive.lastPrimaryKey, aggressive.primaryKey);
  const mayExpire = clock.now() - aggressive.lastAttemptStartMs >= managedLockTtlMs;
  const out: Uint8Array[] = [];
  for (const key of keys) {
    const name = keyToLatin1(key);
    const entry = last.get(name);
    if (entry !== undefined) {
      if (forUpdateTs < entry.value.lockedWithConflictTs) {
        throw new TiKVError(
          'INTERNAL',
          `aggressive locking retried at for-update ts ${forUpdateTs} below the previous locked-with-conflict ts ${entry.value.lockedWithConflictTs}`,
        );
      }
      last.delete(name);
      if (
        canTrySkip &&
        trySkipLockingOnRetry(entry, o.returnValues === true, o.checkExistence === true) &&
        !mayExpire
      ) {
        aggressive.currentLockedKeys.set(name, entry);
        results.set(name, heldResult(key, entry));
        continue;
      }
    }
    out.push(key);
  }
  return out;
}

/**
 * The context moves to the stage's next attempt (client-go `RetryAggressiveLocking`): this
 * attempt's locks and primary become the previous attempt's.
 *
 * @internal
 */
export function startNextAttempt(a: AggressiveLockingContext, nowMs: number): void {
  a.lastPrimaryKey = a.primaryKey;
  a.primaryKey = undefined;
  a.lastAttemptStartMs = a.startMs;
  a.startMs = nowMs;
  a.lastRetryUnnecessaryLocks = a.currentLockedKeys;
  a.currentLockedKeys = new Map();
}

/**
 * The primary of the stage's attempt among `sortedKeys` (client-go
 * `selectPrimaryForPessimisticLock`): the previous attempt's primary when it is locked again,
 * else the first key.
 *
 * @internal
 */
export function selectStagePrimary(
  aggressive: AggressiveLockingContext,
  sortedKeys: readonly Uint8Array[],
): Uint8Array {
  let primary = sortedKeys[0] as Uint8Array;
  const last = aggressive.lastPrimaryKey;
  const again = last === undefined ? undefined : sortedKeys.find((k) => sameKey(k, last));
  if (again !== undefined) primary = again;
  aggressive.assignedPrimaryKey = true;
  aggressive.primaryKey = primary;
  return primary;
}

/**
 * The stage's current locks become the transaction's (client-go `DoneAggressiveLocking`): marked
 * locked in the buffer, their returned values kept in `values`, and the for-update ts each
 * really has in `forUpdateTsChecks` (for prewrite to check again).
 *
 * @internal
 */
export function handOverAggressiveLocks(
  a: AggressiveLockingContext,
  buffer: MemBuffer,
  values: Map<string, LockedValue>,
  forUpdateTsChecks: Map<string, bigint>,
): void {
  for (const [name, entry] of a.currentLockedKeys) {
    const exists = !((entry.hasCheckExistence || entry.hasReturnValue) && !entry.value.exists);
    buffer.updateFlags(
      entry.key,
      FlagsOp.SetKeyLocked,
      FlagsOp.DelNeedCheckExists,
      exists ? FlagsOp.SetKeyLockedValueExists : FlagsOp.SetKeyLockedValueNotExists,
    );
    if (entry.hasReturnValue) values.set(name, entry.value);
    if (!forUpdateTsChecks.has(name)) forUpdateTsChecks.set(name, entry.actualForUpdateTs);
  }
}

/**
 * client-go `collectAggressiveLockingStats` after the stage's requests locked `keys`.
 *
 * @internal
 */
export function countAggressiveLocks(
  stats: LockKeysStats,
  keys: readonly Uint8Array[],
  results: ReadonlyMap<string, LockKeysResult>,
): void {
  for (const key of keys) {
    const r = results.get(keyToLatin1(key));
    if (r === undefined || !r.locked) continue;
    stats.aggressiveLockNewCount++;
    if (r.lockedWithConflictTs !== 0n) stats.lockedWithConflictCount++;
  }
}

/**
 * The result of a key whose aggressive-locking lock this transaction already holds.
 *
 * @internal
 */
export function heldResult(key: Uint8Array, entry: AggressiveLockEntry): LockKeysResult {
  return {
    key,
    alreadyLocked: true,
    locked: true,
    exists: entry.value.exists,
    value: entry.value.value,
    lockedWithConflictTs: entry.value.lockedWithConflictTs,
  };
}

/**
 * Whether two keys, either possibly absent, are the same.
 *
 * @internal
 */
export function sameKey(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return keysEqual(a, b);
}
