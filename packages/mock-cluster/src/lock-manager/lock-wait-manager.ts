import type { Clock, ClockTimer } from '@tikv/common';
import { type deadlock, kvrpcpb } from '@tikv/proto';
import type { ReleasedLock } from '../mvcc/mvcc-txn.js';
import { DeadlockDetector, type DeadlockFound } from './deadlock-detector.js';
import { fingerprint64 } from './fingerprint64.js';

/** TiKV's `[pessimistic-txn]` settings that lock waiting follows. */
export interface LockWaitOptions {
  /** `wait-for-lock-timeout`: the wait of `wait_timeout` 0, and the ceiling of every wait. */
  readonly waitForLockTimeoutMs: number;
  /** `wake-up-delay-duration`: after waking the head waiter, the others are woken this much later. */
  readonly wakeUpDelayMs: number;
  /** Time and timers (`@tikv/common`'s `Clock`: a test passes a `ManualClock`). */
  readonly clock: Clock;
}

/** How a lock wait ended. */
export type WaitOutcome =
  | {
      readonly kind: 'timeout';
      readonly waitedMs: number;
      /** The lock waited for at the end (a newer holder's when the key changed hands). */
      readonly lockInfo: kvrpcpb.LockInfo;
      /** Time since the wait moved to a newer holder (`update_wait_for`); 0 when it never did. */
      readonly sinceUpdateMs: number;
    }
  /** The wait moved to a newer holder and that closed a cycle. */
  | { readonly kind: 'deadlock'; readonly lockInfo: kvrpcpb.LockInfo; readonly found: DeadlockFound }
  /** The lock was released; legacy waiters answer WriteConflict, resumable ones retry. */
  | { readonly kind: 'woken'; readonly conflictStartTs: bigint; readonly conflictCommitTs: bigint }
  | { readonly kind: 'closed' };

/** A request about to wait for a lock. */
export interface WaitRequest {
  readonly startTs: bigint;
  /** The lock it waits for (its `lockVersion` is the holder's start ts). */
  readonly lockInfo: kvrpcpb.LockInfo;
  /** Resumable (force-lock mode) requests retry when woken; legacy ones fail with WriteConflict. */
  readonly allowLockWithConflict: boolean;
  readonly resourceGroupTag?: Uint8Array | undefined;
  /** The store the request waits on (wake-ups can be paused per store). */
  readonly storeId?: bigint;
  /** A transaction's first lock waits without deadlock detection (TiKV skips it). */
  readonly isFirstLock?: boolean;
}

interface Waiter {
  readonly req: WaitRequest;
  /** The lock waited for: the request's, then each newer holder's. */
  lockInfo: kvrpcpb.LockInfo;
  /** When the wait last moved to a newer holder. */
  updatedMs: number | undefined;
  readonly keyId: string;
  readonly sinceMs: number;
  readonly keyHash: bigint;
  /** The queue's legacy wake-up index when the waiter entered (TiKV's delayed wake-up rule). */
  readonly legacyIndex: number;
  timer: ClockTimer | undefined;
  resolve(o: WaitOutcome): void;
}

interface KeyQueue {
  waiters: Waiter[];
  legacyWakeUpIndex: number;
  lastConflictStartTs: bigint;
  lastConflictCommitTs: bigint;
  delayed: ClockTimer | undefined;
}

/** A key's 64-bit hash for lock waiting and deadlock reports, as TiKV computes it (`Key::gen_hash`). */
export function keyHash(key: Uint8Array): bigint {
  return fingerprint64(key);
}

/** Whether a lock info describes the shared locks of a key (`LockInfoExt::is_shared_lock`). */
function isSharedLockInfo(l: kvrpcpb.LockInfo): boolean {
  return l.lockType === kvrpcpb.Op.SharedLock;
}

/** The start ts of each transaction a wait on `l` waits for (`LockInfoExt::iter_locks`). */
function holdersOf(l: kvrpcpb.LockInfo): bigint[] {
  return isSharedLockInfo(l) ? l.sharedLockInfos.map((s) => s.lockVersion) : [l.lockVersion];
}

function keyIdOf(key: Uint8Array): string {
  return Buffer.from(key).toString('latin1');
}

/**
 * TiKV's lock waiting (`LockWaitQueues` + waiter manager + deadlock detector) for the whole
 * cluster: per-key queues ordered by start ts, woken when the holder's lock is released, timed
 * out after the request's wait (capped by `wait-for-lock-timeout`), and refused up front when the
 * wait would close a cycle in the wait-for graph.
 */
export class LockWaitManager {
  readonly #o: LockWaitOptions;
  readonly #queues = new Map<string, KeyQueue>();
  readonly #detector: DeadlockDetector;
  /** Wake-ups paused everywhere (fault injection). */
  #pausedAll = false;
  /** Stores whose waiters are not woken (fault injection). */
  readonly #pausedStores = new Set<bigint>();
  /** Releases held back while their key's head waiter sits on a paused store. */
  #held: ReleasedLock[] = [];
  #closed = false;
  /** Who wants to know when a request of a start ts starts waiting. */
  readonly #waitWatchers = new Map<bigint, (() => void)[]>();

  constructor(o: LockWaitOptions) {
    this.#o = o;
    this.#detector = new DeadlockDetector(() => o.clock.now());
  }

  /** The wait a request's `wait_timeout` asks for, or undefined for no wait (`WaitTimeout`). */
  waitMsFor(waitTimeout: bigint): number | undefined {
    if (waitTimeout < 0n) return undefined;
    const ceiling = this.#o.waitForLockTimeoutMs;
    if (waitTimeout === 0n) return ceiling;
    return Number(waitTimeout) < ceiling ? Number(waitTimeout) : ceiling;
  }

  /**
   * Registers the wait in the deadlock detector; the deadlock when it would close a cycle. Its
   * wait chain ends with the refused wait itself, as TiKV's detector (`handle_detect_locally`)
   * appends it to what the detect table found: the whole cycle, back to the requester.
   *
   * A key held in share mode makes the request wait for every holder: one wait-for edge per
   * holder (TiKV's `LockInfoExt::iter_locks`), checked in holder order until one closes a cycle.
   * Then the edges already added for this wait are taken back (as TiKV's waiter manager does on a
   * deadlock through shared locks), so they cannot report a false deadlock later.
   */
  detect(req: WaitRequest): DeadlockFound | undefined {
    const key = req.lockInfo.key;
    const hash = keyHash(key);
    const tag = req.resourceGroupTag ?? new Uint8Array(0);
    for (const holder of holdersOf(req.lockInfo)) {
      const found = this.#detector.detect(req.startTs, holder, hash, key, tag);
      if (found === undefined) continue;
      if (isSharedLockInfo(req.lockInfo)) this.#cleanUpWaitFor(req.startTs, req.lockInfo);
      const last: deadlock.WaitForEntry = {
        txn: req.startTs,
        waitForTxn: holder,
        keyHash: hash,
        key,
        resourceGroupTag: tag,
        waitTime: 0n,
      };
      return { keyHash: found.keyHash, lockTs: holder, waitChain: [...found.waitChain, last] };
    }
    return undefined;
  }

  /** Removes the wait-for edges of `txn` waiting on a lock: one per holder (`CleanUpWaitFor`). */
  #cleanUpWaitFor(txn: bigint, lockInfo: kvrpcpb.LockInfo): void {
    for (const holder of holdersOf(lockInfo)) this.#detector.cleanUpWaitFor(txn, holder);
  }

  /**
   * Waits until the lock on `req.lockInfo.key` is released or `waitMs` passes. Call
   * {@link detect} first: a wait that would deadlock must not be queued.
   */
  wait(req: WaitRequest, waitMs: number): Promise<WaitOutcome> {
    if (this.#closed) return Promise.resolve({ kind: 'closed' });
    const key = req.lockInfo.key;
    const keyId = keyIdOf(key);
    let q = this.#queues.get(keyId);
    if (q === undefined) {
      q = {
        waiters: [],
        legacyWakeUpIndex: 0,
        lastConflictStartTs: 0n,
        lastConflictCommitTs: 0n,
        delayed: undefined,
      };
      this.#queues.set(keyId, q);
    }
    const queue = q;
    return new Promise<WaitOutcome>((resolve) => {
      const w: Waiter = {
        req,
        lockInfo: req.lockInfo,
        updatedMs: undefined,
        keyId,
        sinceMs: this.#o.clock.now(),
        keyHash: keyHash(key),
        legacyIndex: queue.legacyWakeUpIndex,
        timer: undefined,
        resolve: (o) => {
          if (w.timer !== undefined) this.#o.clock.clearTimer(w.timer);
          this.#cleanUpWaitFor(req.startTs, w.lockInfo);
          resolve(o);
        },
      };
      w.timer = this.#o.clock.setTimer(
        waitMs,
        () => {
          w.timer = undefined;
          this.#remove(w);
          const now = this.#o.clock.now();
          w.resolve({
            kind: 'timeout',
            waitedMs: now - w.sinceMs,
            lockInfo: w.lockInfo,
            // Rounded up, as TiKV does, so an update less than 1 ms ago is not 0.
            sinceUpdateMs: w.updatedMs === undefined ? 0 : Math.max(1, now - w.updatedMs),
          });
        },
        undefined,
      );
      // Smaller start ts first, as TiKV's priority queue orders entries.
      const at = queue.waiters.findIndex((x) => x.req.startTs > req.startTs);
      if (at < 0) queue.waiters.push(w);
      else queue.waiters.splice(at, 0, w);
      const watchers = this.#waitWatchers.get(req.startTs);
      if (watchers !== undefined) {
        this.#waitWatchers.delete(req.startTs);
        for (const notify of watchers) notify();
      }
    });
  }

  /**
   * Resolves once a request of `startTs` waits (at once when one does); `signal` rejects it with
   * its reason and drops the watch.
   */
  whenWaiting(startTs: bigint, signal: AbortSignal | undefined): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        unwatch();
        reject(signal?.reason);
      };
      let waiting = false;
      const unwatch = this.watchWaiting(startTs, () => {
        waiting = true;
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      if (!waiting) signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Calls `notify` once a request of `startTs` waits (at once when one does). Returns an unwatch. */
  watchWaiting(startTs: bigint, notify: () => void): () => void {
    if (this.waitInfo().some((w) => w.txn === startTs)) {
      notify();
      return () => {};
    }
    let watchers = this.#waitWatchers.get(startTs);
    if (watchers === undefined) {
      watchers = [];
      this.#waitWatchers.set(startTs, watchers);
    }
    watchers.push(notify);
    return () => {
      const list = this.#waitWatchers.get(startTs);
      const i = list?.indexOf(notify) ?? -1;
      if (list !== undefined && i >= 0) list.splice(i, 1);
      if (list?.length === 0) this.#waitWatchers.delete(startTs);
    };
  }

  #remove(w: Waiter): void {
    const q = this.#queues.get(w.keyId);
    if (q === undefined) return;
    const i = q.waiters.indexOf(w);
    if (i >= 0) q.waiters.splice(i, 1);
    this.#dropIfIdle(w.keyId, q);
  }

  #dropIfIdle(keyId: string, q: KeyQueue): void {
    if (q.waiters.length === 0 && q.delayed === undefined) this.#queues.delete(keyId);
  }

  /**
   * Moves the waiters of keys that got a new lock to that lock (`update_lock_wait` and the waiter
   * manager's `update_wait_for`): they now wait for its holder, in the deadlock detector too; one
   * whose new wait closes a cycle ends with the deadlock.
   */
  onAcquired(locks: readonly kvrpcpb.LockInfo[]): void {
    const now = this.#o.clock.now();
    for (const lockInfo of locks) {
      const q = this.#queues.get(keyIdOf(lockInfo.key));
      if (q === undefined) continue;
      for (const w of [...q.waiters]) {
        // Shared locks on both sides may have changed holders though neither has a version (TiKV
        // never reports that today, but updates the wait when it would).
        const maybeSharedShrink = isSharedLockInfo(w.lockInfo) && isSharedLockInfo(lockInfo);
        if (!maybeSharedShrink && w.lockInfo.lockVersion === lockInfo.lockVersion) continue;
        this.#cleanUpWaitFor(w.req.startTs, w.lockInfo);
        w.lockInfo = lockInfo;
        w.updatedMs = now;
        const found = w.req.isFirstLock === true ? undefined : this.detect({ ...w.req, lockInfo });
        if (found !== undefined) {
          this.#remove(w);
          w.resolve({ kind: 'deadlock', lockInfo, found });
        }
      }
    }
  }

  /** Wakes waiters of released locks (the scheduler's `on_release_locks`). */
  onReleased(released: readonly ReleasedLock[]): void {
    for (const r of released) this.#detector.cleanUp(r.startTs);
    for (const r of released) this.#wakeHead(r);
  }

  #isPaused(w: Waiter): boolean {
    return this.#pausedAll || (w.req.storeId !== undefined && this.#pausedStores.has(w.req.storeId));
  }

  #wakeHead(r: ReleasedLock): void {
    const keyId = keyIdOf(r.key);
    const q = this.#queues.get(keyId);
    if (q === undefined) return;
    const first = q.waiters[0];
    if (first !== undefined && this.#isPaused(first)) {
      this.#held.push(r);
      return;
    }
    q.lastConflictStartTs = r.startTs;
    q.lastConflictCommitTs = r.commitTs;
    const head = q.waiters.shift();
    if (head === undefined) return;
    head.resolve({ kind: 'woken', conflictStartTs: r.startTs, conflictCommitTs: r.commitTs });
    if (!head.req.allowLockWithConflict) {
      q.legacyWakeUpIndex++;
      if (q.waiters.length > 0) this.#scheduleDelayedWakeUp(keyId, q);
    }
    this.#dropIfIdle(keyId, q);
  }

  /** `delayed_notify_all`: wakes the legacy waiters that were queued before the last wake-up. */
  #scheduleDelayedWakeUp(keyId: string, q: KeyQueue): void {
    if (q.delayed !== undefined) this.#o.clock.clearTimer(q.delayed);
    q.delayed = this.#o.clock.setTimer(
      this.#o.wakeUpDelayMs,
      () => {
        q.delayed = undefined;
        const due = q.waiters.filter((w) => w.legacyIndex < q.legacyWakeUpIndex);
        q.waiters = q.waiters.filter((w) => w.legacyIndex >= q.legacyWakeUpIndex);
        for (const w of due) {
          w.resolve({
            kind: 'woken',
            conflictStartTs: q.lastConflictStartTs,
            conflictCommitTs: q.lastConflictCommitTs,
          });
        }
        this.#dropIfIdle(keyId, q);
      },
      undefined,
    );
  }

  /**
   * Holds back wake-ups (fault injection) of the waiters on `storeId`, or of every waiter, until
   * {@link resumeWakeUps}: a released lock whose next waiter is held wakes nobody meanwhile.
   */
  pauseWakeUps(storeId?: bigint): void {
    if (storeId === undefined) this.#pausedAll = true;
    else this.#pausedStores.add(storeId);
  }

  /** Ends a pause (of one store, or all of them) and delivers the wake-ups it held back. */
  resumeWakeUps(storeId?: bigint): void {
    if (storeId === undefined) {
      this.#pausedAll = false;
      this.#pausedStores.clear();
    } else {
      this.#pausedStores.delete(storeId);
    }
    const held = this.#held;
    this.#held = [];
    for (const r of held) this.#wakeHead(r);
  }

  /** Every waiting request, as `GetLockWaitInfo` reports them. */
  waitInfo(): deadlock.WaitForEntry[] {
    const out: deadlock.WaitForEntry[] = [];
    for (const q of this.#queues.values()) {
      for (const w of q.waiters) {
        out.push({
          txn: w.req.startTs,
          waitForTxn: w.lockInfo.lockVersion,
          keyHash: w.keyHash,
          key: w.lockInfo.key,
          resourceGroupTag: w.req.resourceGroupTag ?? new Uint8Array(0),
          waitTime: 0n, // unset by TiKV too
        });
      }
    }
    return out;
  }

  /** Number of requests waiting. */
  get waiting(): number {
    let n = 0;
    for (const q of this.#queues.values()) n += q.waiters.length;
    return n;
  }

  /** Ends every wait (as `closed`) and clears every timer. */
  close(): void {
    this.#closed = true;
    for (const q of this.#queues.values()) {
      if (q.delayed !== undefined) this.#o.clock.clearTimer(q.delayed);
      q.delayed = undefined;
      for (const w of q.waiters.splice(0)) w.resolve({ kind: 'closed' });
    }
    this.#queues.clear();
  }
}
