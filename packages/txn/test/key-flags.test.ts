import { applyFlagsOp, applyFlagsOps, FlagsOp, KeyFlags, PERSISTENT_KEY_FLAGS } from '../src/index.js';
import { KEY_FLAGS_MASK } from '../src/membuffer/key-flags.js';

// client-go kv/keyflags.go has no test of its own; these pin ApplyFlagsOps op by op.

const apply = (...ops: FlagsOp[]): number => applyFlagsOps(0, ops);

describe('keyflags.go', () => {
  test('presume-key-not-exists implies need-check-exists; deleting it clears both', () => {
    const f = apply(FlagsOp.SetPresumeKeyNotExists);
    expect(KeyFlags.hasPresumeKeyNotExists(f)).toBe(true);
    expect(KeyFlags.hasNeedCheckExists(f)).toBe(true);
    const g = applyFlagsOp(f, FlagsOp.DelPresumeKeyNotExists);
    expect(KeyFlags.hasPresumeKeyNotExists(g)).toBe(false);
    expect(KeyFlags.hasNeedCheckExists(g)).toBe(false);
    // DelNeedCheckExists clears only need-check-exists.
    const h = applyFlagsOp(f, FlagsOp.DelNeedCheckExists);
    expect(KeyFlags.hasPresumeKeyNotExists(h)).toBe(true);
    expect(KeyFlags.hasNeedCheckExists(h)).toBe(false);
  });

  test('previous-presume-key-not-exists also reads as presume-key-not-exists', () => {
    const f = apply(FlagsOp.SetPreviousPresumeKNE);
    expect(KeyFlags.hasPresumeKeyNotExists(f)).toBe(true);
    expect(KeyFlags.hasNeedCheckExists(f)).toBe(false);
    // DelPresumeKeyNotExists does not clear the previous-statement flag.
    expect(KeyFlags.hasPresumeKeyNotExists(applyFlagsOp(f, FlagsOp.DelPresumeKeyNotExists))).toBe(true);
  });

  test('locks: locked, need-locked, shared mode', () => {
    expect(KeyFlags.hasLocked(apply(FlagsOp.SetKeyLocked))).toBe(true);
    expect(KeyFlags.hasLocked(apply(FlagsOp.SetKeyLocked, FlagsOp.DelKeyLocked))).toBe(false);
    expect(KeyFlags.hasNeedLocked(apply(FlagsOp.SetNeedLocked))).toBe(true);
    expect(KeyFlags.hasNeedLocked(apply(FlagsOp.SetNeedLocked, FlagsOp.DelNeedLocked))).toBe(false);
    const shared = apply(FlagsOp.SetKeyLocked, FlagsOp.SetKeyLockedInShareMode);
    expect(KeyFlags.hasLockedInShareMode(shared)).toBe(true);
    expect(KeyFlags.hasLockedInShareMode(applyFlagsOp(shared, FlagsOp.SetKeyLockedInExclusiveMode))).toBe(
      false,
    );
    expect(KeyFlags.hasLocked(applyFlagsOp(shared, FlagsOp.SetKeyLockedInExclusiveMode))).toBe(true);
  });

  test('locked-value-exists set and cleared; both clear need-constraint-check-in-prewrite', () => {
    const pending = apply(FlagsOp.SetNeedConstraintCheckInPrewrite);
    expect(KeyFlags.hasNeedConstraintCheckInPrewrite(pending)).toBe(true);
    const exists = applyFlagsOp(pending, FlagsOp.SetKeyLockedValueExists);
    expect(KeyFlags.hasLockedValueExists(exists)).toBe(true);
    expect(KeyFlags.hasNeedConstraintCheckInPrewrite(exists)).toBe(false);
    const notExists = applyFlagsOps(pending, [
      FlagsOp.SetKeyLockedValueExists,
      FlagsOp.SetKeyLockedValueNotExists,
    ]);
    expect(KeyFlags.hasLockedValueExists(notExists)).toBe(false);
    expect(KeyFlags.hasNeedConstraintCheckInPrewrite(notExists)).toBe(false);
    expect(
      KeyFlags.hasNeedConstraintCheckInPrewrite(
        apply(FlagsOp.SetNeedConstraintCheckInPrewrite, FlagsOp.DelNeedConstraintCheckInPrewrite),
      ),
    ).toBe(false);
  });

  test('marks: prewrite-only, ignored-in-2pc, readable, newly-inserted', () => {
    expect(KeyFlags.hasPrewriteOnly(apply(FlagsOp.SetPrewriteOnly))).toBe(true);
    expect(KeyFlags.hasIgnoredIn2PC(apply(FlagsOp.SetIgnoredIn2PC))).toBe(true);
    expect(KeyFlags.hasReadable(apply(FlagsOp.SetReadable))).toBe(true);
    expect(KeyFlags.hasNewlyInserted(apply(FlagsOp.SetNewlyInserted))).toBe(true);
    expect(KeyFlags.hasPrewriteOnly(0)).toBe(false);
  });

  test('assertions: exist, not-exist, unknown (both bits) and none; the last one set wins', () => {
    const exist = apply(FlagsOp.SetAssertExist);
    expect([
      KeyFlags.hasAssertExist(exist),
      KeyFlags.hasAssertNotExist(exist),
      KeyFlags.hasAssertUnknown(exist),
    ]).toEqual([true, false, false]);
    const notExist = applyFlagsOp(exist, FlagsOp.SetAssertNotExist);
    expect([
      KeyFlags.hasAssertExist(notExist),
      KeyFlags.hasAssertNotExist(notExist),
      KeyFlags.hasAssertUnknown(notExist),
    ]).toEqual([false, true, false]);
    const unknown = applyFlagsOp(notExist, FlagsOp.SetAssertUnknown);
    expect([
      KeyFlags.hasAssertExist(unknown),
      KeyFlags.hasAssertNotExist(unknown),
      KeyFlags.hasAssertUnknown(unknown),
      KeyFlags.hasAssertionFlags(unknown),
    ]).toEqual([false, false, true, true]);
    const none = applyFlagsOp(unknown, FlagsOp.SetAssertNone);
    expect(KeyFlags.hasAssertionFlags(none)).toBe(false);
    expect(KeyFlags.hasAssertionFlags(applyFlagsOp(none, FlagsOp.SetAssertExist))).toBe(true);
  });

  test('persistent flags: locked, locked-value-exists, need-constraint-check, shared mode', () => {
    const nonPersistent = Object.entries(FlagsOp)
      .filter(([name]) => name.startsWith('Set') && !/Locked|ConstraintCheck/.test(name))
      .map(([, op]) => op);
    expect(KeyFlags.andPersistent(applyFlagsOps(0, nonPersistent))).toBe(0);
    const persistentOnly = apply(
      FlagsOp.SetKeyLocked,
      FlagsOp.SetKeyLockedValueExists,
      FlagsOp.SetNeedConstraintCheckInPrewrite,
      FlagsOp.SetKeyLockedInShareMode,
    );
    expect(persistentOnly).toBe(PERSISTENT_KEY_FLAGS);
    expect(KeyFlags.andPersistent(apply(FlagsOp.SetPresumeKeyNotExists, FlagsOp.SetNeedLocked))).toBe(0);
  });

  test('every flag fits 15 bits; an unknown op changes nothing', () => {
    for (const op of Object.values(FlagsOp)) {
      expect(applyFlagsOp(0, op) & ~KEY_FLAGS_MASK).toBe(0);
      expect(applyFlagsOp(KEY_FLAGS_MASK, op) & ~KEY_FLAGS_MASK).toBe(0);
    }
    expect(applyFlagsOp(5, (1 << 30) as unknown as FlagsOp)).toBe(5);
  });
});
