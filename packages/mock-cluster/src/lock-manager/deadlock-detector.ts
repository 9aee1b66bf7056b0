import type { deadlock } from '@tikv/proto';

/** The keys one transaction waits for another on (`Locks` in TiKV's detect table). */
interface WaitEdge {
  keyHash: bigint;
  key: Uint8Array;
  resourceGroupTag: Uint8Array;
  sinceMs: number;
}

/** A deadlock found when a wait would close a cycle. */
export interface DeadlockFound {
  /** Hash of the key the last waiter of the cycle waits on. */
  readonly keyHash: bigint;
  /**
   * The transaction whose wait closed the cycle: the lock holder the refused wait was for (one
   * of the holders when the key is held in share mode).
   */
  readonly lockTs: bigint;
  /** The cycle, from the waited-for transaction back to the new waiter, as TiKV lists it. */
  readonly waitChain: deadlock.WaitForEntry[];
}

/**
 * TiKV's deadlock detector (`DetectTable`): a wait-for graph of transactions. Adding an edge
 * `txn -> lockTs` first searches from `lockTs` for a path back to `txn`; if one exists the wait
 * is refused with the chain of waits that forms the cycle. One detector serves the whole cluster
 * (TiKV elects one leader detector for the same reason).
 */
export class DeadlockDetector {
  readonly #waitFor = new Map<bigint, Map<bigint, WaitEdge>>();
  readonly #nowMs: () => number;

  constructor(nowMs: () => number) {
    this.#nowMs = nowMs;
  }

  #entry(waiter: bigint, lockTs: bigint, e: WaitEdge): deadlock.WaitForEntry {
    return {
      txn: waiter,
      waitForTxn: lockTs,
      keyHash: e.keyHash,
      key: e.key,
      resourceGroupTag: e.resourceGroupTag,
      // TiKV leaves wait_time unset in the entries it reports.
      waitTime: 0n,
    };
  }

  /** Registers `txn` waiting for `lockTs` on a key, or reports the deadlock it would cause (`detect`). */
  detect(
    txn: bigint,
    lockTs: bigint,
    keyHash: bigint,
    key: Uint8Array,
    resourceGroupTag: Uint8Array = new Uint8Array(0),
  ): DeadlockFound | undefined {
    const existing = this.#waitFor.get(txn)?.get(lockTs);
    if (existing !== undefined) return undefined;
    const found = this.#search(txn, lockTs);
    if (found !== undefined) return found;
    let edges = this.#waitFor.get(txn);
    if (edges === undefined) {
      edges = new Map();
      this.#waitFor.set(txn, edges);
    }
    edges.set(lockTs, { keyHash, key, resourceGroupTag, sinceMs: this.#nowMs() });
    return undefined;
  }

  #search(txn: bigint, waitForTs: bigint): DeadlockFound | undefined {
    const stack = [waitForTs];
    const pushed = new Map<bigint, bigint>([[waitForTs, 0n]]);
    for (let curr = stack.pop(); curr !== undefined; curr = stack.pop()) {
      const edges = this.#waitFor.get(curr);
      if (edges === undefined) continue;
      for (const [lockTs, edge] of edges) {
        if (lockTs === txn) {
          const chain: deadlock.WaitForEntry[] = [];
          for (let ts = curr; ; ) {
            const waiter = pushed.get(ts) as bigint;
            if (waiter === 0n) break;
            chain.push(this.#entry(waiter, ts, this.#waitFor.get(waiter)?.get(ts) as WaitEdge));
            ts = waiter;
          }
          chain.reverse();
          chain.push(this.#entry(curr, lockTs, edge));
          return { keyHash: edge.keyHash, lockTs: waitForTs, waitChain: chain };
        }
        if (!pushed.has(lockTs)) {
          stack.push(lockTs);
          pushed.set(lockTs, curr);
        }
      }
    }
    return undefined;
  }

  /** Removes the edge `txn -> lockTs` (`clean_up_wait_for`). */
  cleanUpWaitFor(txn: bigint, lockTs: bigint): void {
    const edges = this.#waitFor.get(txn);
    edges?.delete(lockTs);
    if (edges?.size === 0) this.#waitFor.delete(txn);
  }

  /** Removes every edge of a finished transaction (`clean_up`). */
  cleanUp(txn: bigint): void {
    this.#waitFor.delete(txn);
  }
}
