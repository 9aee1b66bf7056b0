import { InvalidArgumentError, keysEqual, TiKVError } from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import { FlagsOp, KeyFlags } from '../membuffer/key-flags.js';
import type { MemBuffer } from '../membuffer/mem-buffer.js';
import type { AssertionLevel, CommitKeyFilter } from './commit-options.js';

const EMPTY = new Uint8Array(0);

/**
 * One key of a commit: what prewrite writes for it (client-go `memBufferMutations` entry). It is a
 * `kvrpcpb.Mutation` as it is, so a batch's items go into the request without a copy.
 *
 * @internal
 */
export interface TxnMutation extends kvrpcpb.Mutation {
  /** Released (set empty) once prewrite is done: commit and rollback need only keys. */
  value: Uint8Array;
  /** `PrewriteRequest.pessimistic_actions` entry. */
  readonly pessimisticAction: kvrpcpb.PrewriteRequest_PessimisticAction;
  /** Prewritten but not committed (a `CheckNotExists`, or a key flagged prewrite-only). */
  readonly prewriteOnly: boolean;
}

/** Counts of the mutations by kind (client-go logs them for big transactions). */
export interface MutationCounts {
  readonly puts: number;
  readonly dels: number;
  readonly locks: number;
  readonly sharedLocks: number;
  readonly checks: number;
}

/** The mutations of a buffer and what the committer derives from them. @internal */
export interface MutationSet {
  /** In key order. */
  readonly mutations: TxnMutation[];
  /** The primary's mutation; undefined when there are no mutations. */
  readonly primary: TxnMutation | undefined;
  /** Bytes of keys and values (client-go `txnSize`). */
  readonly sizeBytes: number;
  readonly counts: MutationCounts;
  /** Some mutation is a shared lock: no async commit, no 1PC. */
  readonly hasSharedLocks: boolean;
  /** Some mutation is prewrite-only and must be left out of the commit phase. */
  readonly hasNoNeedCommitKeys: boolean;
  /** Some mutation's conflict check was postponed to prewrite. */
  readonly needConstraintCheckInPrewrite: boolean;
  /**
   * The first assertion a pessimistic lock's answer already contradicts (client-go
   * `checkAssertionByPessimisticLockResults`): a key asserted absent whose lock found a value, or
   * asserted present whose lock found none. Undefined when none does or the level is `off`.
   */
  readonly assertionFromLocks:
    | { readonly key: Uint8Array; readonly assertion: 'Exist' | 'NotExist' }
    | undefined;
}

/** Options of {@link buildMutations}. @internal */
export interface BuildMutationsOptions {
  readonly pessimistic: boolean;
  readonly assertionLevel: AssertionLevel;
  readonly filter: CommitKeyFilter | undefined;
  readonly primaryKey: Uint8Array | undefined;
}

/** The lock a key holding a pessimistic lock is prewritten with (client-go `getLockTypeFromFlags`). */
function lockOp(flags: KeyFlags): kvrpcpb.Op {
  return KeyFlags.hasLockedInShareMode(flags) ? kvrpcpb.Op.SharedLock : kvrpcpb.Op.Lock;
}

function assertionOf(flags: KeyFlags, level: AssertionLevel): kvrpcpb.Assertion {
  if (level === 'off') return kvrpcpb.Assertion.None;
  if (KeyFlags.hasAssertExist(flags)) return kvrpcpb.Assertion.Exist;
  if (KeyFlags.hasAssertNotExist(flags)) return kvrpcpb.Assertion.NotExist;
  return kvrpcpb.Assertion.None;
}

/**
 * Turns a buffer into the commit's mutations (client-go `initKeysAndMutations`):
 *
 * - a value: `Put`, or `Insert` when the key is presumed not to exist;
 * - a delete: `Del`; `CheckNotExists` (prewrite-only) for a key of an optimistic transaction that
 *   was presumed not to exist; nothing for a newly inserted key that is not locked, `Lock` for one
 *   that is;
 * - no value: `Lock` (or `SharedLock`) when the key holds a pessimistic lock, nothing otherwise;
 * - a key the filter leaves out: nothing, or its lock when it holds one.
 *
 * Existence assertions come from the assertion flags unless the level is `off`; the first one a
 * pessimistic lock's answer contradicts is reported in `assertionFromLocks`. The primary is the
 * given key, else the first key that is neither a `CheckNotExists` nor a shared lock, else the
 * first key. Keys made `CheckNotExists` get the prewrite-only flag in the buffer, as in client-go.
 *
 * Keys and values are views into the buffer: it must not be written until the commit is over.
 *
 * @throws TiKVError `NOT_SUPPORTED` when the primary would be a shared lock
 * @throws InvalidArgumentError when `primaryKey` is not one of the mutations
 * @internal
 */
export function buildMutations(buffer: MemBuffer, options: BuildMutationsOptions): MutationSet {
  const { pessimistic, assertionLevel, filter } = options;
  const mutations: TxnMutation[] = [];
  let size = 0;
  let puts = 0;
  let dels = 0;
  let locks = 0;
  let sharedLocks = 0;
  let checks = 0;
  let primary: TxnMutation | undefined;
  let primaryIsSharedLock = false;
  let constraintCheck = false;
  const given = options.primaryKey;
  const prewriteOnlyKeys: Uint8Array[] = [];
  let assertionFromLocks: MutationSet['assertionFromLocks'];

  for (const it = buffer.iter(undefined, undefined, { includeFlagsOnly: true }); it.valid; it.next()) {
    const key = it.key();
    const flags = it.flags();
    const locked = KeyFlags.hasLocked(flags);
    let value: Uint8Array = EMPTY;
    let op: kvrpcpb.Op;
    let prewriteOnly = KeyFlags.hasPrewriteOnly(flags);
    if (!it.hasValue()) {
      if (!locked) continue;
      op = lockOp(flags);
      locks++;
    } else {
      value = it.value() as Uint8Array;
      const unnecessary = filter?.(key, value, flags) === true;
      if (value.length > 0) {
        if (unnecessary) {
          if (!locked) continue;
          // The key was locked before: prewrite the lock even though the write is left out, or
          // the pessimistic lock would never be released.
          op = lockOp(flags);
          locks++;
        } else {
          op = KeyFlags.hasPresumeKeyNotExists(flags) ? kvrpcpb.Op.Insert : kvrpcpb.Op.Put;
          puts++;
        }
      } else if (unnecessary) {
        continue;
      } else if (!pessimistic && KeyFlags.hasPresumeKeyNotExists(flags)) {
        // Delete-your-writes in an optimistic transaction: check that the key does not exist at
        // prewrite; CheckNotExists writes no lock, so the key stays out of the commit phase.
        op = kvrpcpb.Op.CheckNotExists;
        checks++;
        prewriteOnly = true;
        prewriteOnlyKeys.push(key);
      } else if (KeyFlags.hasNewlyInserted(flags)) {
        // Delete-your-writes of a key this transaction inserted: nothing to delete; only keep
        // (release) the lock when there is one.
        if (!locked) continue;
        op = lockOp(flags);
        locks++;
      } else {
        op = kvrpcpb.Op.Del;
        dels++;
      }
    }
    const needConstraintCheck = KeyFlags.hasNeedConstraintCheckInPrewrite(flags);
    constraintCheck ||= needConstraintCheck;
    const mutation: TxnMutation = {
      op,
      key,
      value,
      assertion: assertionOf(flags, assertionLevel),
      pessimisticAction:
        locked && pessimistic
          ? kvrpcpb.PrewriteRequest_PessimisticAction.DO_PESSIMISTIC_CHECK
          : needConstraintCheck
            ? kvrpcpb.PrewriteRequest_PessimisticAction.DO_CONSTRAINT_CHECK
            : kvrpcpb.PrewriteRequest_PessimisticAction.SKIP_PESSIMISTIC_CHECK,
      prewriteOnly,
    };
    mutations.push(mutation);
    size += key.length + value.length;
    if (assertionFromLocks === undefined && locked && pessimistic && assertionLevel !== 'off') {
      // What the pessimistic lock learned about the key contradicts its assertion: likely a lost
      // lock, so the commit goes on and this is reported only if prewrite succeeds.
      const valueExists = KeyFlags.hasLockedValueExists(flags);
      if (valueExists && mutation.assertion === kvrpcpb.Assertion.NotExist) {
        assertionFromLocks = { key, assertion: 'NotExist' };
      } else if (!valueExists && mutation.assertion === kvrpcpb.Assertion.Exist) {
        assertionFromLocks = { key, assertion: 'Exist' };
      }
    }
    if (op === kvrpcpb.Op.SharedLock) {
      sharedLocks++;
      if (given !== undefined && keysEqual(given, key)) primaryIsSharedLock = true;
    }
    if (given !== undefined) {
      if (primary === undefined && keysEqual(given, key)) primary = mutation;
    } else if (primary === undefined && op !== kvrpcpb.Op.CheckNotExists && op !== kvrpcpb.Op.SharedLock) {
      primary = mutation;
    }
  }
  for (const key of prewriteOnlyKeys) buffer.updateFlags(key, FlagsOp.SetPrewriteOnly);

  if (mutations.length > 0) {
    if (primaryIsSharedLock || (primary === undefined && given === undefined && sharedLocks > 0)) {
      // Only LockKeys sets the shared-lock flag and it never makes such a key the primary: this
      // checks it again, as client-go does.
      throw new TiKVError('NOT_SUPPORTED', 'a shared-locked key cannot be the primary key of a transaction');
    }
    if (given !== undefined && primary === undefined) {
      throw new InvalidArgumentError("option primaryKey must be the key of one of the buffer's mutations");
    }
    // Every key is a CheckNotExists: the first one stands in as primary (client-go `primary()`).
    primary ??= mutations[0];
  }
  return {
    mutations,
    primary,
    sizeBytes: size,
    counts: { puts, dels, locks, sharedLocks, checks },
    hasSharedLocks: sharedLocks > 0,
    hasNoNeedCommitKeys: checks > 0,
    needConstraintCheckInPrewrite: constraintCheck,
    assertionFromLocks,
  };
}
