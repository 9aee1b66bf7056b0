import { ColumnFamily, type KvEngine } from '../storage/kv-engine.js';
import type { ConcurrencyManager } from './concurrency-manager.js';
import { decodeLockOrShared, isSharedLocks, minSharedLockTs } from './shared-locks.js';
import { composeTs, encodeTxnKey } from './txn-key.js';
import { TxnStatusCache } from './txn-status-cache.js';

/**
 * Per-region resolved ts, as TiKV's resolved-ts component keeps it: the region's safe ts is the
 * current TSO time, held below the oldest lock in the region (persisted or in memory), so no
 * transaction can still commit at or below it. The mock computes it when asked instead of
 * advancing it on a timer; `lagMs` plays the role of the advance interval.
 *
 * A pipelined transaction's lock (generation > 0) is a large transaction's, which TiKV's resolver
 * looks up in the store's txn status cache: ongoing, it holds the safe ts below its broadcast min
 * commit ts instead of its start ts; committed or rolled back, not at all; unknown, below its
 * start ts.
 */
export class ResolvedTs {
  readonly #engine: KvEngine;
  readonly #cm: ConcurrencyManager;
  readonly #nowMs: () => number;
  readonly #caches = new Map<bigint, TxnStatusCache>();
  /** How far behind the clock the resolved ts trails (TiKV advances it periodically). */
  lagMs = 0;

  constructor(engine: KvEngine, cm: ConcurrencyManager, nowMs: () => number) {
    this.#engine = engine;
    this.#cm = cm;
    this.#nowMs = nowMs;
  }

  /** A store's txn status cache (`BroadcastTxnStatus` fills it), made on first use. */
  txnStatus(storeId: bigint): TxnStatusCache {
    let cache = this.#caches.get(storeId);
    if (cache === undefined) {
      cache = new TxnStatusCache(this.#nowMs);
      this.#caches.set(storeId, cache);
    }
    return cache;
  }

  /**
   * The safe ts of the raw key range `[start, end)` (empty end = unbounded) on a store, whose txn
   * status cache tells how far pipelined transactions' locks hold it (without a store, they hold
   * it below their start ts).
   */
  safeTs(start: Uint8Array, end: Uint8Array, storeId?: bigint): bigint {
    let ts = composeTs(BigInt(Math.max(0, Math.floor(this.#nowMs() - this.lagMs))));
    const lower = start.length === 0 ? undefined : encodeTxnKey(start);
    const upper = end.length === 0 ? undefined : encodeTxnKey(end);
    const cache = storeId === undefined ? undefined : this.#caches.get(storeId);
    for (const { value } of this.#engine.cf(ColumnFamily.Lock).scan({ lower, upper })) {
      const record = decodeLockOrShared(value);
      if (isSharedLocks(record)) {
        const sharedTs = minSharedLockTs(record);
        if (sharedTs !== undefined && sharedTs - 1n < ts) ts = sharedTs - 1n;
        continue;
      }
      let holdTs = record.ts;
      if (record.generation > 0n && cache !== undefined) {
        // TiKV `Resolver::lookup_min_commit_ts`.
        const state = cache.get(record.ts);
        if (state?.kind === 'ongoing') holdTs = state.minCommitTs;
        else if (state !== undefined) continue;
      }
      if (holdTs - 1n < ts) ts = holdTs - 1n;
    }
    this.#cm.readRangeCheck(lower, upper, (lock) => {
      if (lock.ts - 1n < ts) ts = lock.ts - 1n;
    });
    return ts < 0n ? 0n : ts;
  }
}
