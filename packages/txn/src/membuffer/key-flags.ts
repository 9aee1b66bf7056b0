/**
 * Per-key flags of the transaction buffer (client-go `kv.KeyFlags`) and the operations that
 * change them (client-go `kv.FlagsOp`).
 *
 * The bit layout is client-go's, so a flags value means the same thing in both clients. Flags are
 * a plain number to keep the buffer's per-key cost at two bytes; read them with the predicates on
 * {@link KeyFlags}.
 */

/** The flags of one buffered key: a bitset read with the {@link KeyFlags} predicates. */
export type KeyFlags = number;

const PRESUME_KNE = 1 << 0;
const KEY_LOCKED = 1 << 1;
const NEED_LOCKED = 1 << 2;
const KEY_LOCKED_VAL_EXIST = 1 << 3;
const NEED_CHECK_EXISTS = 1 << 4;
const PREWRITE_ONLY = 1 << 5;
const IGNORED_IN_2PC = 1 << 6;
const READABLE = 1 << 7;
const NEWLY_INSERTED = 1 << 8;
// Two bits of assertion: neither set = not asserted yet; exist, not-exist, or both = unknown.
const ASSERT_EXIST = 1 << 9;
const ASSERT_NOT_EXIST = 1 << 10;
const NEED_CONSTRAINT_CHECK_IN_PREWRITE = 1 << 11;
const PREVIOUS_PRESUME_KNE = 1 << 12;
const KEY_LOCKED_IN_SHARE_MODE = 1 << 13;

/**
 * The flags a staging cleanup keeps on a key whose value it discards: they describe locks held
 * on TiKV, which a statement rollback does not release (client-go `persistentFlags`).
 */
export const PERSISTENT_KEY_FLAGS: KeyFlags =
  KEY_LOCKED | KEY_LOCKED_VAL_EXIST | NEED_CONSTRAINT_CHECK_IN_PREWRITE | KEY_LOCKED_IN_SHARE_MODE;

/** The bits a flags value may use (15 bits; the buffer keeps the 16th for itself). */
export const KEY_FLAGS_MASK: KeyFlags = 0x7fff;

/** Predicates over a {@link KeyFlags} value, one per client-go `KeyFlags.HasXxx` method. */
export const KeyFlags = Object.freeze({
  /** The value of the key must be checked not to exist, lazily (at lock or prewrite time). */
  hasPresumeKeyNotExists: (f: KeyFlags): boolean => (f & (PRESUME_KNE | PREVIOUS_PRESUME_KNE)) !== 0,
  /** The key holds a pessimistic lock. */
  hasLocked: (f: KeyFlags): boolean => (f & KEY_LOCKED) !== 0,
  /** The key's pessimistic lock is a shared one (implies {@link KeyFlags.hasLocked}). */
  hasLockedInShareMode: (f: KeyFlags): boolean => (f & KEY_LOCKED_IN_SHARE_MODE) !== 0,
  /** The key needs a pessimistic lock. */
  hasNeedLocked: (f: KeyFlags): boolean => (f & NEED_LOCKED) !== 0,
  /** The value existed when the key was locked. */
  hasLockedValueExists: (f: KeyFlags): boolean => (f & KEY_LOCKED_VAL_EXIST) !== 0,
  /** The key's existence must be checked when it is locked. */
  hasNeedCheckExists: (f: KeyFlags): boolean => (f & NEED_CHECK_EXISTS) !== 0,
  /** The key is prewritten but left out of the commit phase. */
  hasPrewriteOnly: (f: KeyFlags): boolean => (f & PREWRITE_ONLY) !== 0,
  /** The key is left out of two-phase commit altogether. */
  hasIgnoredIn2PC: (f: KeyFlags): boolean => (f & IGNORED_IN_2PC) !== 0,
  /** The key may be read by in-transaction reads. */
  hasReadable: (f: KeyFlags): boolean => (f & READABLE) !== 0,
  /** The key was newly inserted with a non-empty value. */
  hasNewlyInserted: (f: KeyFlags): boolean => (f & NEWLY_INSERTED) !== 0,
  /** The conflict check of the key is postponed to prewrite (pessimistic transactions). */
  hasNeedConstraintCheckInPrewrite: (f: KeyFlags): boolean => (f & NEED_CONSTRAINT_CHECK_IN_PREWRITE) !== 0,
  /** The key is asserted to exist. */
  hasAssertExist: (f: KeyFlags): boolean => (f & (ASSERT_EXIST | ASSERT_NOT_EXIST)) === ASSERT_EXIST,
  /** The key is asserted not to exist. */
  hasAssertNotExist: (f: KeyFlags): boolean => (f & (ASSERT_EXIST | ASSERT_NOT_EXIST)) === ASSERT_NOT_EXIST,
  /** The key's existence cannot be asserted (both assertion bits set). */
  hasAssertUnknown: (f: KeyFlags): boolean =>
    (f & (ASSERT_EXIST | ASSERT_NOT_EXIST)) === (ASSERT_EXIST | ASSERT_NOT_EXIST),
  /** An assertion (exist, not-exist or unknown) is set; it does not change within the transaction. */
  hasAssertionFlags: (f: KeyFlags): boolean => (f & (ASSERT_EXIST | ASSERT_NOT_EXIST)) !== 0,
  /** The flags a staging cleanup keeps (client-go `AndPersistent`). */
  andPersistent: (f: KeyFlags): KeyFlags => f & PERSISTENT_KEY_FLAGS,
});

/**
 * The operations on a key's flags (client-go `kv.FlagsOp`), applied in order by
 * {@link applyFlagsOps} and by the buffer's `setWithFlags`, `deleteWithFlags` and `updateFlags`.
 */
export const FlagsOp = Object.freeze({
  /** Marks the key's non-existence as checked lazily; implies need-check-exists. */
  SetPresumeKeyNotExists: 1 << 0,
  /** Reverts {@link FlagsOp.SetPresumeKeyNotExists} (and need-check-exists). */
  DelPresumeKeyNotExists: 1 << 1,
  /** Marks the key as holding a pessimistic lock. */
  SetKeyLocked: 1 << 2,
  /** Reverts {@link FlagsOp.SetKeyLocked}. */
  DelKeyLocked: 1 << 3,
  /** Marks the key as needing a pessimistic lock. */
  SetNeedLocked: 1 << 4,
  /** Reverts {@link FlagsOp.SetNeedLocked}. */
  DelNeedLocked: 1 << 5,
  /** Records that the value existed when the key was locked (clears need-constraint-check). */
  SetKeyLockedValueExists: 1 << 6,
  /** Records that the value did not exist when the key was locked (clears need-constraint-check). */
  SetKeyLockedValueNotExists: 1 << 7,
  /** Clears need-check-exists. */
  DelNeedCheckExists: 1 << 8,
  /** Marks the key as prewrite-only. */
  SetPrewriteOnly: 1 << 9,
  /** Marks the key as ignored by two-phase commit. */
  SetIgnoredIn2PC: 1 << 10,
  /** Marks the key as readable by in-transaction reads. */
  SetReadable: 1 << 11,
  /** Marks the key as newly inserted with a non-empty value. */
  SetNewlyInserted: 1 << 12,
  /** Asserts that the key exists. */
  SetAssertExist: 1 << 13,
  /** Asserts that the key does not exist. */
  SetAssertNotExist: 1 << 14,
  /** Marks the key's existence as unknown (no assertion can be made). */
  SetAssertUnknown: 1 << 15,
  /** Clears the key's assertion. */
  SetAssertNone: 1 << 16,
  /** Postpones the key's conflict check to prewrite. */
  SetNeedConstraintCheckInPrewrite: 1 << 17,
  /** Reverts {@link FlagsOp.SetNeedConstraintCheckInPrewrite}. */
  DelNeedConstraintCheckInPrewrite: 1 << 18,
  /** Sets the previous-presume-key-not-exists flag (a presume-not-exists a later statement keeps). */
  SetPreviousPresumeKNE: 1 << 19,
  /** Marks the key's pessimistic lock as shared. */
  SetKeyLockedInShareMode: 1 << 20,
  /** Marks the key's pessimistic lock as exclusive (clears shared). */
  SetKeyLockedInExclusiveMode: 1 << 21,
} as const);

/** One of the {@link FlagsOp} operations. */
export type FlagsOp = (typeof FlagsOp)[keyof typeof FlagsOp];

/**
 * Applies one operation to a flags value (client-go `ApplyFlagsOps` for one op).
 *
 * @param f - the flags before
 * @param op - the operation
 * @returns the flags after
 */
export function applyFlagsOp(f: KeyFlags, op: FlagsOp): KeyFlags {
  switch (op) {
    case FlagsOp.SetPresumeKeyNotExists:
      return f | PRESUME_KNE | NEED_CHECK_EXISTS;
    case FlagsOp.DelPresumeKeyNotExists:
      return f & ~(PRESUME_KNE | NEED_CHECK_EXISTS);
    case FlagsOp.SetKeyLocked:
      return f | KEY_LOCKED;
    case FlagsOp.DelKeyLocked:
      return f & ~KEY_LOCKED;
    case FlagsOp.SetNeedLocked:
      return f | NEED_LOCKED;
    case FlagsOp.DelNeedLocked:
      return f & ~NEED_LOCKED;
    case FlagsOp.SetKeyLockedValueExists:
      return (f | KEY_LOCKED_VAL_EXIST) & ~NEED_CONSTRAINT_CHECK_IN_PREWRITE;
    case FlagsOp.DelNeedCheckExists:
      return f & ~NEED_CHECK_EXISTS;
    case FlagsOp.SetKeyLockedValueNotExists:
      return f & ~(KEY_LOCKED_VAL_EXIST | NEED_CONSTRAINT_CHECK_IN_PREWRITE);
    case FlagsOp.SetPrewriteOnly:
      return f | PREWRITE_ONLY;
    case FlagsOp.SetIgnoredIn2PC:
      return f | IGNORED_IN_2PC;
    case FlagsOp.SetReadable:
      return f | READABLE;
    case FlagsOp.SetNewlyInserted:
      return f | NEWLY_INSERTED;
    case FlagsOp.SetAssertExist:
      return (f & ~ASSERT_NOT_EXIST) | ASSERT_EXIST;
    case FlagsOp.SetAssertNotExist:
      return (f & ~ASSERT_EXIST) | ASSERT_NOT_EXIST;
    case FlagsOp.SetAssertUnknown:
      return f | ASSERT_EXIST | ASSERT_NOT_EXIST;
    case FlagsOp.SetAssertNone:
      return f & ~(ASSERT_EXIST | ASSERT_NOT_EXIST);
    case FlagsOp.SetNeedConstraintCheckInPrewrite:
      return f | NEED_CONSTRAINT_CHECK_IN_PREWRITE;
    case FlagsOp.DelNeedConstraintCheckInPrewrite:
      return f & ~NEED_CONSTRAINT_CHECK_IN_PREWRITE;
    case FlagsOp.SetPreviousPresumeKNE:
      return f | PREVIOUS_PRESUME_KNE;
    case FlagsOp.SetKeyLockedInShareMode:
      return f | KEY_LOCKED_IN_SHARE_MODE;
    case FlagsOp.SetKeyLockedInExclusiveMode:
      return f & ~KEY_LOCKED_IN_SHARE_MODE;
    default:
      return f;
  }
}

/**
 * Applies operations in order to a flags value (client-go `kv.ApplyFlagsOps`).
 *
 * @param origin - the flags before
 * @param ops - the operations, applied first to last
 * @returns the flags after
 */
export function applyFlagsOps(origin: KeyFlags, ops: readonly FlagsOp[]): KeyFlags {
  let f = origin;
  for (const op of ops) f = applyFlagsOp(f, op);
  return f;
}
