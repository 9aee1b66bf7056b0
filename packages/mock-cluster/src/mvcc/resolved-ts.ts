import { ColumnFamily, type KvEngine } from '../storage/kv-engine.js';
import type { ConcurrencyManager } from './concurrency-manager.js';
import { decodeLockOrShared, isSharedLocks, minSharedLockTs } from './shared-locks.js';
import { composeTs, encodeTxnKey } from './txn-key.js';

/**
 * Per-region resolved ts, as TiKV's resolved-ts component keeps it: the region's safe ts is the
 * current TSO time, held below the oldest lock in the region (persisted or in memory), so no
 * transaction can still commit at or below it. The mock computes it when asked instead of
 * advancing it on a timer; `lagMs` plays the role of the advance interval.
 */
export class ResolvedTs {
  readonly #engine: KvEngine;
  readonly #cm: ConcurrencyManager;
  readonly #nowMs: () => number;
  /** How far behind the clock the resolved ts trails (TiKV advances it periodically). */
  lagMs = 0;

  constructor(engine: KvEngine, cm: ConcurrencyManager, nowMs: () => number) {
    this.#engine = engine;
    this.#cm = cm;
    this.#nowMs = nowMs;
  }

  /** The safe ts of the raw key range `[start, end)` (empty end = unbounded). */
  safeTs(start: Uint8Array, end: Uint8Array): bigint {
    let ts = composeTs(BigInt(Math.max(0, Math.floor(this.#nowMs() - this.lagMs))));
    const lower = start.length === 0 ? undefined : encodeTxnKey(start);
    const upper = end.length === 0 ? undefined : encodeTxnKey(end);
    for (const { value } of this.#engine.cf(ColumnFamily.Lock).scan({ lower, upper })) {
      const record = decodeLockOrShared(value);
      const lockTs = isSharedLocks(record) ? minSharedLockTs(record) : record.ts;
      if (lockTs !== undefined && lockTs - 1n < ts) ts = lockTs - 1n;
    }
    this.#cm.readRangeCheck(lower, upper, (lock) => {
      if (lock.ts - 1n < ts) ts = lock.ts - 1n;
    });
    return ts < 0n ? 0n : ts;
  }
}
