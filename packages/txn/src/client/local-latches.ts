import { compareKeys, extractPhysical, InvalidArgumentError, keysEqual } from '@tikv/common';
import { murmur3x86_32 } from './murmur3.js';

/** A latch entry idle longer than this (by TSO physical time) may be dropped (client-go `expireDuration`). */
const EXPIRE_MS = 2 * 60 * 1000;
/** A full recycle runs at most this often (client-go `checkInterval`)... */
const RECYCLE_INTERVAL_MS = 60 * 1000;
/** ...or after this many releases (client-go `checkCounter`). */
const RECYCLE_EVERY_RELEASES = 50_000;
/** A slot holding this many entries recycles itself before it grows (client-go `latchListCount`). */
const SLOT_RECYCLE_LENGTH = 5;

/** One key's entry in a slot: who holds it, and the newest commit ts written through it. */
interface LatchEntry {
  key: Uint8Array;
  maxCommitTs: bigint;
  holder: LatchLock | undefined;
}

/** A slot: the entries of the keys hashing to it, and the locks waiting for one of them. */
interface LatchSlot {
  entries: LatchEntry[];
  waiting: LatchLock[];
}

/**
 * One transaction's claim on the latches of its keys, from {@link LocalLatches.acquire}. Pass it
 * to {@link LocalLatches.release} when the commit is over, with the commit ts when it committed.
 */
export class LatchLock {
  /** The transaction's keys, sorted. */
  readonly keys: readonly Uint8Array[];
  /** The slot of each key. */
  readonly slots: readonly number[];
  /** The transaction's start ts. */
  readonly startTs: bigint;
  /** Set by the committer once the transaction committed; 0n otherwise. */
  commitTs = 0n;
  /** Latches held (the first `acquired` keys). */
  acquired = 0;
  #stale = false;
  /** Wakes the waiting `acquire`. */
  wake: (() => void) | undefined;

  /** @internal */
  constructor(keys: readonly Uint8Array[], slots: readonly number[], startTs: bigint) {
    this.keys = keys;
    this.slots = slots;
    this.startTs = startTs;
  }

  /**
   * A transaction that committed one of the keys after this one started went through the latches
   * first: this one would meet a write conflict in TiKV, so it fails without sending anything.
   */
  get stale(): boolean {
    return this.#stale;
  }

  /** @internal */
  markStale(): void {
    this.#stale = true;
  }
}

const Acquire = Object.freeze({ SUCCESS: 0, LOCKED: 1, STALE: 2 } as const);
type Acquire = (typeof Acquire)[keyof typeof Acquire];

/**
 * The in-process latch scheduler of optimistic transactions (client-go `latch.LatchesScheduler`,
 * `KVStore.EnableTxnLocalLatches`): transactions of one client that write the same keys commit
 * one after another instead of conflicting in TiKV, and a transaction whose key was committed
 * by a newer one in the meantime fails at once with a write conflict.
 *
 * Keys hash (MurmurHash3) to a fixed number of slots; each slot keeps the keys that went through
 * it with their newest commit ts, and a queue of transactions waiting for one of them. Entries
 * idle for two minutes of TSO time are dropped.
 */
export class LocalLatches {
  readonly #slots: LatchSlot[];
  readonly #mask: number;
  #lastRecycleTs = 0n;
  #releases = 0;

  /**
   * @param capacity - the number of slots, rounded up to a power of two (client-go's size)
   * @throws InvalidArgumentError unless a positive integer
   */
  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1 || capacity > 2 ** 30) {
      throw new InvalidArgumentError(
        `latch capacity must be an integer in [1, 2^30], got ${String(capacity)}`,
      );
    }
    let size = 1;
    while (size < capacity) size *= 2;
    this.#slots = Array.from({ length: size }, () => ({ entries: [], waiting: [] }));
    this.#mask = size - 1;
  }

  /** The number of slots. */
  get capacity(): number {
    return this.#slots.length;
  }

  /** Entries held across all slots (for tests and diagnostics). */
  get entryCount(): number {
    let n = 0;
    for (const s of this.#slots) n += s.entries.length;
    return n;
  }

  /** The slot a key hashes to. */
  slotOf(key: Uint8Array): number {
    return murmur3x86_32(key) & this.#mask;
  }

  /**
   * Acquires the latches of a transaction's keys, waiting for transactions holding any of them.
   * Resolves with the lock, which may be {@link LatchLock.stale}; always release it.
   *
   * @param startTs - the transaction's start ts
   * @param keys - the keys it writes
   * @param signal - stops waiting (the latches already held are released)
   */
  async acquire(startTs: bigint, keys: readonly Uint8Array[], signal?: AbortSignal): Promise<LatchLock> {
    signal?.throwIfAborted();
    const sorted = [...keys].sort(compareKeys);
    const lock = new LatchLock(
      sorted,
      sorted.map((k) => this.slotOf(k)),
      startTs,
    );
    if (this.#acquire(lock) !== Acquire.LOCKED) return lock;
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        lock.wake = undefined;
        this.#dequeue(lock);
        this.release(lock);
        reject(signal?.reason);
      };
      lock.wake = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
    return lock;
  }

  /**
   * Releases a lock's latches, recording its commit ts on each key, and lets the transactions
   * waiting for them go on.
   *
   * @param lock - from {@link acquire}
   */
  release(lock: LatchLock): void {
    const woken: LatchLock[] = [];
    while (lock.acquired > 0) {
      const next = this.#releaseOne(lock);
      if (next !== undefined) woken.push(next);
    }
    for (const next of woken) {
      if (this.#acquire(next) !== Acquire.LOCKED) {
        const wake = next.wake;
        next.wake = undefined;
        wake?.();
      }
    }
    if (lock.commitTs > lock.startTs) {
      this.#releases++;
      const elapsed = extractPhysical(lock.commitTs) - extractPhysical(this.#lastRecycleTs);
      if (elapsed > RECYCLE_INTERVAL_MS || this.#releases > RECYCLE_EVERY_RELEASES) {
        this.recycle(lock.commitTs);
        this.#lastRecycleTs = lock.commitTs;
        this.#releases = 0;
      }
    }
  }

  /**
   * Drops the idle entries older than two minutes before `currentTs` from every slot.
   *
   * @returns how many were dropped
   */
  recycle(currentTs: bigint): number {
    let dropped = 0;
    for (const slot of this.#slots) dropped += recycleSlot(slot, currentTs);
    return dropped;
  }

  #acquire(lock: LatchLock): Acquire {
    if (lock.stale) return Acquire.STALE;
    while (lock.acquired < lock.keys.length) {
      const r = this.#acquireOne(lock);
      if (r !== Acquire.SUCCESS) return r;
    }
    return Acquire.SUCCESS;
  }

  #acquireOne(lock: LatchLock): Acquire {
    const key = lock.keys[lock.acquired]!;
    const slot = this.#slots[lock.slots[lock.acquired]!]!;
    if (slot.entries.length >= SLOT_RECYCLE_LENGTH) recycleSlot(slot, lock.startTs);
    const entry = slot.entries.find((e) => keysEqual(e.key, key));
    if (entry === undefined) {
      slot.entries.push({ key, maxCommitTs: 0n, holder: lock });
      lock.acquired++;
      return Acquire.SUCCESS;
    }
    if (entry.maxCommitTs > lock.startTs) {
      lock.markStale();
      return Acquire.STALE;
    }
    if (entry.holder === undefined) {
      entry.holder = lock;
      lock.acquired++;
      return Acquire.SUCCESS;
    }
    slot.waiting.push(lock);
    return Acquire.LOCKED;
  }

  /** Releases the lock's newest latch; returns the waiter it hands over to, if any. */
  #releaseOne(lock: LatchLock): LatchLock | undefined {
    const i = lock.acquired - 1;
    const key = lock.keys[i]!;
    const slot = this.#slots[lock.slots[i]!]!;
    lock.acquired--;
    const entry = slot.entries.find((e) => keysEqual(e.key, key));
    if (entry === undefined || entry.holder !== lock) {
      throw new Error('local latches: released a latch the lock does not hold');
    }
    if (lock.commitTs > entry.maxCommitTs) entry.maxCommitTs = lock.commitTs;
    entry.holder = undefined;
    // The entry outlives the transaction: keep a copy, not a view into its buffer.
    entry.key = entry.key.slice();
    const at = slot.waiting.findIndex((w) => keysEqual(w.keys[w.acquired]!, key));
    if (at < 0) return undefined;
    const next = slot.waiting[at]!;
    slot.waiting.splice(at, 1);
    if (entry.maxCommitTs > next.startTs) {
      // The waiter is stale: it holds this latch only so that its release finds it.
      entry.holder = next;
      next.acquired++;
      next.markStale();
    }
    return next;
  }

  /** Takes an aborted waiter out of the queue of the slot it waits on. */
  #dequeue(lock: LatchLock): void {
    const slot = this.#slots[lock.slots[lock.acquired]!];
    if (slot === undefined) return;
    const at = slot.waiting.indexOf(lock);
    if (at >= 0) slot.waiting.splice(at, 1);
  }
}

function recycleSlot(slot: LatchSlot, currentTs: bigint): number {
  const before = slot.entries.length;
  const now = extractPhysical(currentTs);
  slot.entries = slot.entries.filter(
    (e) => e.holder !== undefined || now - extractPhysical(e.maxCommitTs) < EXPIRE_MS,
  );
  return before - slot.entries.length;
}
