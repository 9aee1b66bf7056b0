import type { kvrpcpb } from '@tikv/proto';
import { compareBytes } from '../storage/ordered-map.js';
import type { Lock } from './lock-record.js';
import { exactLimitRequired, type MaxTsLimit } from './max-ts-limit.js';
import { TS_MAX } from './txn-key.js';

/** A lock held in memory while an async-commit or 1PC prewrite is being written. */
interface MemoryLock {
  readonly encodedKey: Uint8Array;
  readonly rawKey: Uint8Array;
  readonly lock: Lock;
}

function keyId(encodedKey: Uint8Array): string {
  return Buffer.from(encodedKey).toString('latin1');
}

/**
 * TiKV's concurrency manager: `max_ts`, the largest timestamp any read or check has used, from
 * which async commit and 1PC derive `min_commit_ts` so no reader can miss a commit; and the
 * in-memory lock table that readers check for locks of prewrites not yet written.
 *
 * The mock shares one manager across its stores (its storage is shared too), which is what a
 * single leader per region gives TiKV. Commands run to completion synchronously, so the lock
 * table is only non-empty while a test holds a key with {@link lockKey}.
 */
export class ConcurrencyManager {
  #maxTs: bigint;
  readonly #table = new Map<string, MemoryLock>();
  readonly #limit: MaxTsLimit | undefined;

  /** Without `limit`, any update is taken (TiKV without a TSO to check against). */
  constructor(initialMaxTs = 0n, limit?: MaxTsLimit) {
    this.#maxTs = initialMaxTs;
    this.#limit = limit;
  }

  /** The current `max_ts`. */
  get maxTs(): bigint {
    return this.#maxTs;
  }

  /**
   * Raises `max_ts` to `ts` (`TimeStamp::max()` is ignored, as in TiKV) once the limit allows it.
   *
   * @param requestOrigin - the request's origin, given by the commands TiKV checks it for:
   *   then any origin but TiDB's must stay within the exact limit
   * @throws InvalidMaxTsUpdateError when `ts` exceeds the limit and the action is `'error'`
   */
  updateMaxTs(ts: bigint, requestOrigin?: kvrpcpb.RequestOrigin): void {
    if (ts === TS_MAX) return;
    this.#limit?.check(ts, exactLimitRequired(requestOrigin));
    if (ts > this.#maxTs) this.#maxTs = ts;
  }

  /** Publishes a lock in memory until the returned release function runs. */
  lockKey(encodedKey: Uint8Array, rawKey: Uint8Array, lock: Lock): () => void {
    const id = keyId(encodedKey);
    this.#table.set(id, { encodedKey, rawKey, lock });
    return () => {
      if (this.#table.get(id)?.lock === lock) this.#table.delete(id);
    };
  }

  /** Runs `check` on the memory lock of a key, if any (`read_key_check`). */
  readKeyCheck(encodedKey: Uint8Array, check: (lock: Lock, rawKey: Uint8Array) => void): void {
    if (this.#table.size === 0) return;
    const m = this.#table.get(keyId(encodedKey));
    if (m !== undefined) check(m.lock, m.rawKey);
  }

  /** Runs `check` on every memory lock in `[start, end)` (`read_range_check`); empty = unbounded. */
  readRangeCheck(
    start: Uint8Array | undefined,
    end: Uint8Array | undefined,
    check: (lock: Lock, rawKey: Uint8Array) => void,
  ): void {
    if (this.#table.size === 0) return;
    const inRange = [...this.#table.values()]
      .filter(
        (m) =>
          (start === undefined || start.length === 0 || compareBytes(m.encodedKey, start) >= 0) &&
          (end === undefined || end.length === 0 || compareBytes(m.encodedKey, end) < 0),
      )
      .sort((a, b) => compareBytes(a.encodedKey, b.encodedKey));
    for (const m of inRange) check(m.lock, m.rawKey);
  }

  /** The smallest start ts among memory locks (`global_min_lock_ts`). */
  globalMinLockTs(): bigint | undefined {
    let min: bigint | undefined;
    for (const m of this.#table.values()) if (min === undefined || m.lock.ts < min) min = m.lock.ts;
    return min;
  }
}
