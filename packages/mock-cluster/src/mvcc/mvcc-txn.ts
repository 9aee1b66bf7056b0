import { ColumnFamily, type KvEngine } from '../storage/kv-engine.js';
import type { ConcurrencyManager } from './concurrency-manager.js';
import { encodeLock, type Lock } from './lock-record.js';
import { cloneSharedLocks, encodeSharedLocks, type SharedLocks } from './shared-locks.js';
import { appendTs, encodeTxnKey } from './txn-key.js';
import { encodeWrite, type Write } from './write-record.js';

/** One pending change to a column family. */
export type Modify =
  | { readonly op: 'put'; readonly cf: ColumnFamily; readonly key: Uint8Array; readonly value: Uint8Array }
  | { readonly op: 'delete'; readonly cf: ColumnFamily; readonly key: Uint8Array };

/** A lock released by a command: what the lock manager wakes waiters for. */
export interface ReleasedLock {
  readonly key: Uint8Array;
  readonly startTs: bigint;
  readonly commitTs: bigint;
  readonly pessimistic: boolean;
}

/** A lock prewritten by a 1PC attempt, committed (or turned into a real lock) at the end. */
export interface OnePcLock {
  readonly key: Uint8Array;
  readonly lock: Lock;
  readonly removePessimisticLock: boolean;
}

/** A command's changes are more than one raft entry may carry (`RaftEntryTooLarge` in TiKV). */
export class EntryTooLargeError extends Error {
  override name = 'EntryTooLargeError';
  constructor(readonly entrySize: number) {
    super(`raft entry is too large: ${entrySize} bytes`);
  }
}

function latin1(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

/**
 * TiKV's `MvccTxn`: the changes one command makes, collected and then written at once. A command
 * that fails discards them, so a failed request leaves storage as it was.
 */
export class MvccTxn {
  startTs: bigint;
  readonly cm: ConcurrencyManager;
  modifies: Modify[] = [];
  locksFor1pc: OnePcLock[] = [];
  /** Raw keys and locks newly acquired (for the lock manager's bookkeeping). */
  newLocks: { key: Uint8Array; lock: Lock }[] = [];
  /** Raw keys that got their first shared lock (for the lock manager's bookkeeping). */
  newSharedLocks: { key: Uint8Array; shared: SharedLocks }[] = [];
  released: ReleasedLock[] = [];
  /** Release functions of memory locks taken for async commit / 1PC. */
  guards: (() => void)[] = [];
  /**
   * The latest lock-CF change of each key (by its encoded key's latin1 text): a command over
   * thousands of keys (a ResolveLock of a region, a Commit) looks its own changes up once per
   * key, which a scan of `modifies` made quadratic.
   */
  #pendingLocks = new Map<string, Modify>();

  constructor(startTs: bigint, cm: ConcurrencyManager) {
    this.startTs = startTs;
    this.cm = cm;
  }

  /** The bytes the changes write (keys and values), what a raft entry would carry. */
  get writeBytes(): number {
    let n = 0;
    for (const m of this.modifies) n += m.key.length + (m.op === 'put' ? m.value.length : 0);
    return n;
  }

  get isEmpty(): boolean {
    return this.modifies.length === 0 && this.locksFor1pc.length === 0;
  }

  putLock(rawKey: Uint8Array, lock: Lock, isNew: boolean): void {
    if (isNew) this.newLocks.push({ key: rawKey, lock });
    this.#pushLockChange({
      op: 'put',
      cf: ColumnFamily.Lock,
      key: encodeTxnKey(rawKey),
      value: encodeLock(lock),
    });
  }

  /**
   * Writes a key's shared locks (`put_shared_locks`); `isNew` when the key had no lock before, so
   * the lock manager learns of the new lock.
   */
  putSharedLocks(rawKey: Uint8Array, shared: SharedLocks, isNew: boolean): void {
    if (isNew) this.newSharedLocks.push({ key: rawKey, shared });
    this.#pushLockChange({
      op: 'put',
      cf: ColumnFamily.Lock,
      key: encodeTxnKey(rawKey),
      value: encodeSharedLocks(shared),
    });
  }

  /**
   * Removes this transaction's entry from a key's shared locks, or the whole record (a release
   * that wakes waiters) when it was the last (`commit` / `rollback_shared_lock` in TiKV).
   */
  removeSharedLock(rawKey: Uint8Array, shared: SharedLocks, commitTs: bigint): ReleasedLock | undefined {
    const rest = cloneSharedLocks(shared);
    rest.locks.delete(this.startTs);
    if (rest.locks.size === 0) return this.unlockKey(rawKey, true, commitTs);
    this.putSharedLocks(rawKey, rest, false);
    return undefined;
  }

  putLocksFor1pc(rawKey: Uint8Array, lock: Lock, removePessimisticLock: boolean): void {
    this.locksFor1pc.push({ key: rawKey, lock, removePessimisticLock });
  }

  unlockKey(rawKey: Uint8Array, pessimistic: boolean, commitTs: bigint): ReleasedLock {
    const released = { key: rawKey, startTs: this.startTs, commitTs, pessimistic };
    this.#pushLockChange({ op: 'delete', cf: ColumnFamily.Lock, key: encodeTxnKey(rawKey) });
    this.released.push(released);
    return released;
  }

  putValue(rawKey: Uint8Array, ts: bigint, value: Uint8Array): void {
    this.modifies.push({
      op: 'put',
      cf: ColumnFamily.Default,
      key: appendTs(encodeTxnKey(rawKey), ts),
      value,
    });
  }

  deleteValue(rawKey: Uint8Array, ts: bigint): void {
    this.modifies.push({ op: 'delete', cf: ColumnFamily.Default, key: appendTs(encodeTxnKey(rawKey), ts) });
  }

  putWrite(rawKey: Uint8Array, ts: bigint, write: Write): void {
    this.modifies.push({
      op: 'put',
      cf: ColumnFamily.Write,
      key: appendTs(encodeTxnKey(rawKey), ts),
      value: encodeWrite(write),
    });
  }

  deleteWrite(rawKey: Uint8Array, ts: bigint): void {
    this.modifies.push({ op: 'delete', cf: ColumnFamily.Write, key: appendTs(encodeTxnKey(rawKey), ts) });
  }

  /**
   * `mark_rollback_on_mismatching_lock`: records this transaction's rollback in another async
   * commit transaction's lock, so that transaction cannot commit at exactly this start ts.
   */
  markRollbackOnMismatchingLock(rawKey: Uint8Array, lock: Lock, isProtected: boolean): void {
    if (!isProtected || this.startTs < lock.minCommitTs || !lock.useAsyncCommit) return;
    this.putLock(rawKey, { ...lock, rollbackTs: [...lock.rollbackTs, this.startTs] }, false);
  }

  /** The pending lock-CF value of a key: a value, null when deleted, undefined when untouched. */
  pendingLockBytes(rawKey: Uint8Array): Uint8Array | null | undefined {
    const m = this.#pendingLocks.get(latin1(encodeTxnKey(rawKey)));
    if (m === undefined) return undefined;
    return m.op === 'put' ? m.value : null;
  }

  #pushLockChange(m: Modify): void {
    this.modifies.push(m);
    this.#pendingLocks.set(latin1(m.key), m);
  }

  /** Drops every pending change (`MvccTxn::clear`). */
  clear(): void {
    this.modifies = [];
    this.#pendingLocks.clear();
    this.newLocks = [];
    this.newSharedLocks = [];
    this.locksFor1pc = [];
    this.released = [];
    this.releaseGuards();
  }

  /** Releases the memory locks this command holds. */
  releaseGuards(): void {
    for (const g of this.guards) g();
    this.guards = [];
  }

  /** Writes every pending change to the engine and releases memory locks. */
  apply(engine: KvEngine): void {
    if (this.locksFor1pc.length > 0)
      throw new Error('1PC locks must be committed or fallen back before apply');
    for (const m of this.modifies) {
      if (m.op === 'put') engine.cf(m.cf).put(m.key, m.value);
      else engine.cf(m.cf).delete(m.key);
    }
    this.releaseGuards();
  }
}
