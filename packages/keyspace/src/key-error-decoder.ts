import type { kvrpcpb } from '@tikv/proto';

/** What the decoders need from a codec: storage key to caller key. @internal */
export interface KeyDecoder {
  decodeKey(encoded: Uint8Array): Uint8Array;
}

/**
 * Decodes a lock's keys in place: key, primary, secondaries and nested shared locks.
 *
 * @internal
 */
export function decodeLockInfo(
  c: KeyDecoder,
  info: kvrpcpb.LockInfo | undefined,
): kvrpcpb.LockInfo | undefined {
  if (info === undefined) return undefined;
  info.key = c.decodeKey(info.key);
  info.primaryLock = c.decodeKey(info.primaryLock);
  info.secondaries = info.secondaries.map((k) => c.decodeKey(k));
  for (const shared of info.sharedLockInfos) decodeLockInfo(c, shared);
  return info;
}

/** Decodes locks in place. @internal */
export function decodeLockInfos(c: KeyDecoder, locks: kvrpcpb.LockInfo[]): kvrpcpb.LockInfo[] {
  for (const l of locks) decodeLockInfo(c, l);
  return locks;
}

/**
 * Decodes an MVCC record's lock keys in place; empty keys stay empty (not decoded).
 *
 * @internal
 */
export function decodeMvccInfo(
  c: KeyDecoder,
  info: kvrpcpb.MvccInfo | undefined,
): kvrpcpb.MvccInfo | undefined {
  const lock = info?.lock;
  if (lock === undefined) return info;
  if (lock.primary.length > 0) lock.primary = c.decodeKey(lock.primary);
  lock.secondaries = lock.secondaries.map((k) => (k.length === 0 ? k : c.decodeKey(k)));
  return info;
}

/**
 * Decodes every key a KeyError carries, in place: the lock, the write conflict's key and
 * primary, already-exist, deadlock keys and wait chain, commit-ts-expired, txn-not-found,
 * assertion-failed, primary-mismatch, txn-lock-not-found and the debug MVCC info.
 *
 * @internal
 */
export function decodeKeyError(c: KeyDecoder, e: kvrpcpb.KeyError | undefined): kvrpcpb.KeyError | undefined {
  if (e === undefined) return undefined;
  if (e.locked !== undefined) decodeLockInfo(c, e.locked);
  if (e.conflict !== undefined) {
    e.conflict.key = c.decodeKey(e.conflict.key);
    e.conflict.primary = c.decodeKey(e.conflict.primary);
  }
  if (e.alreadyExist !== undefined) e.alreadyExist.key = c.decodeKey(e.alreadyExist.key);
  if (e.deadlock !== undefined) {
    e.deadlock.lockKey = c.decodeKey(e.deadlock.lockKey);
    e.deadlock.deadlockKey = c.decodeKey(e.deadlock.deadlockKey);
    for (const w of e.deadlock.waitChain) w.key = c.decodeKey(w.key);
  }
  if (e.commitTsExpired !== undefined) e.commitTsExpired.key = c.decodeKey(e.commitTsExpired.key);
  if (e.txnNotFound !== undefined) e.txnNotFound.primaryKey = c.decodeKey(e.txnNotFound.primaryKey);
  if (e.assertionFailed !== undefined) e.assertionFailed.key = c.decodeKey(e.assertionFailed.key);
  if (e.primaryMismatch !== undefined) decodeLockInfo(c, e.primaryMismatch.lockInfo);
  if (e.txnLockNotFound !== undefined) e.txnLockNotFound.key = c.decodeKey(e.txnLockNotFound.key);
  for (const m of e.debugInfo?.mvccInfo ?? []) {
    m.key = c.decodeKey(m.key);
    decodeMvccInfo(c, m.mvcc);
  }
  return e;
}

/** Decodes key errors in place. @internal */
export function decodeKeyErrors(c: KeyDecoder, errors: kvrpcpb.KeyError[]): kvrpcpb.KeyError[] {
  for (const e of errors) decodeKeyError(c, e);
  return errors;
}

/**
 * Decodes pairs into copies: each pair's key (when not empty) and its key error.
 *
 * @internal
 */
export function decodePairs(c: KeyDecoder, pairs: readonly kvrpcpb.KvPair[]): kvrpcpb.KvPair[] {
  return pairs.map((p) => ({
    ...p,
    error: decodeKeyError(c, p.error),
    key: p.key.length > 0 ? c.decodeKey(p.key) : p.key,
  }));
}
