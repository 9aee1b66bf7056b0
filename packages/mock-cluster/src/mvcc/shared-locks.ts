import { kvrpcpb } from '@tikv/proto';
import { decodeLock, encodeLock, type Lock, LockType, lockInfoOf } from './lock-record.js';
import { ByteReader, ByteWriter } from './record-codec.js';

/** Flag byte of a shared-lock record in the lock CF (TiKV's `LockType::Shared`). */
export const SHARED_LOCK_FLAG = 'H';
const SHARED_LOCK_FLAG_BYTE = 0x48;
const TXNS_INFO_PREFIX = 0x68; // 'h'
const FLAGS_PREFIX = 0x69; // 'i'
const SHRINK_ONLY = 0b0000_0001;

/**
 * The shared locks of one key (TiKV's `txn_types::SharedLocks`): one sub-lock per transaction
 * holding the key in share mode, a pessimistic lock until its transaction prewrites it (then a
 * `Lock`-type lock). Once an exclusive lock request meets them they turn shrink-only: no new
 * shared lock joins, and the exclusive request waits until the last one leaves.
 */
export interface SharedLocks {
  readonly lockType: typeof SHARED_LOCK_FLAG;
  shrinkOnly: boolean;
  /** Sub-locks by start ts. */
  readonly locks: Map<bigint, Lock>;
}

/** A lock-CF record: an exclusive lock or the shared locks of a key (`LockOrSharedLocks`). */
export type LockOrShared = Lock | SharedLocks;

/** Empty, growable shared locks (`SharedLocks::new`). */
export function newSharedLocks(): SharedLocks {
  return { lockType: SHARED_LOCK_FLAG, shrinkOnly: false, locks: new Map() };
}

/** Whether a lock-CF record holds shared locks. */
export function isSharedLocks(l: LockOrShared | undefined): l is SharedLocks {
  return l !== undefined && l.lockType === SHARED_LOCK_FLAG;
}

/** A copy whose sub-lock map may change independently. */
export function cloneSharedLocks(s: SharedLocks): SharedLocks {
  return { lockType: SHARED_LOCK_FLAG, shrinkOnly: s.shrinkOnly, locks: new Map(s.locks) };
}

/** `SharedLocks::to_bytes`: flag byte, optional flags, then the sub-locks as compact bytes. */
export function encodeSharedLocks(s: SharedLocks): Uint8Array {
  // Sub-locks first: every writer shares one scratch buffer.
  const subs = [...s.locks.values()].map(encodeLock);
  const w = new ByteWriter();
  w.byte(SHARED_LOCK_FLAG_BYTE);
  if (s.shrinkOnly) w.byte(FLAGS_PREFIX).byte(SHRINK_ONLY);
  w.byte(TXNS_INFO_PREFIX).varU64(subs.length);
  for (const b of subs) w.compactBytes(b);
  return w.finish();
}

/** `SharedLocks::parse`; unknown trailing fields end the parse, as in TiKV. */
export function decodeSharedLocks(b: Uint8Array): SharedLocks {
  const r = new ByteReader(b);
  if (r.byte() !== SHARED_LOCK_FLAG_BYTE) throw new RangeError('not a shared-lock record');
  const s = newSharedLocks();
  while (!r.empty) {
    const tag = r.byte();
    if (tag === FLAGS_PREFIX) {
      const flags = r.byte();
      if ((flags & ~SHRINK_ONLY) !== 0) throw new RangeError(`bad shared-lock flags ${flags}`);
      s.shrinkOnly = (flags & SHRINK_ONLY) !== 0;
    } else if (tag === TXNS_INFO_PREFIX) {
      const n = Number(r.varU64());
      for (let i = 0; i < n; i++) {
        const lock = decodeLock(r.compactBytes());
        s.locks.set(lock.ts, lock);
      }
    } else break;
  }
  return s;
}

/** Decodes a lock-CF value: shared locks or an exclusive lock (`txn_types::parse_lock`). */
export function decodeLockOrShared(b: Uint8Array): LockOrShared {
  return b[0] === SHARED_LOCK_FLAG_BYTE ? decodeSharedLocks(b) : decodeLock(b);
}

/** Encodes a lock-CF value of either kind. */
export function encodeLockOrShared(l: LockOrShared): Uint8Array {
  return isSharedLocks(l) ? encodeSharedLocks(l) : encodeLock(l);
}

/**
 * `SharedLocks::into_lock_info`: a `SharedLock`-typed wrapper whose `shared_lock_infos` describe
 * each holder (clients must read those, never the wrapper's other fields).
 */
export function sharedLocksInfoOf(s: SharedLocks, rawKey: Uint8Array): kvrpcpb.LockInfo {
  return kvrpcpb.LockInfo.fromPartial({
    key: rawKey,
    lockType: kvrpcpb.Op.SharedLock,
    sharedLockInfos: [...s.locks.values()].map((l) => lockInfoOf(l, rawKey)),
  });
}

/** The `LockInfo` of a lock-CF record of either kind. */
export function lockOrSharedInfoOf(l: LockOrShared, rawKey: Uint8Array): kvrpcpb.LockInfo {
  return isSharedLocks(l) ? sharedLocksInfoOf(l, rawKey) : lockInfoOf(l, rawKey);
}

/** The start ts of the oldest holder (resolved ts tracking); undefined when empty. */
export function minSharedLockTs(s: SharedLocks): bigint | undefined {
  let min: bigint | undefined;
  for (const ts of s.locks.keys()) if (min === undefined || ts < min) min = ts;
  return min;
}

/** Whether a sub-lock may sit in shared locks (`insert_lock` / `update_lock` accept only these). */
export function isSharedSubLockType(t: LockType): boolean {
  return t === LockType.Lock || t === LockType.Pessimistic;
}
