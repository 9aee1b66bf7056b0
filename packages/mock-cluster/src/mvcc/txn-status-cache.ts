/**
 * What a store's txn status cache knows of a transaction (TiKV `TxnState`): still running with a
 * min commit ts, committed, or rolled back.
 */
export type TxnState =
  | { readonly kind: 'ongoing'; readonly minCommitTs: bigint }
  | { readonly kind: 'committed'; readonly commitTs: bigint }
  | { readonly kind: 'rolledBack' };

/** TiKV `TxnState::from_ts`: rolled back wins, then a commit ts, else ongoing at `max(start, min commit)`. */
export function txnStateFromTs(
  startTs: bigint,
  minCommitTs: bigint,
  commitTs: bigint,
  rolledBack: boolean,
): TxnState {
  if (rolledBack) return { kind: 'rolledBack' };
  if (commitTs === 0n) return { kind: 'ongoing', minCommitTs: minCommitTs > startTs ? minCommitTs : startTs };
  return { kind: 'committed', commitTs };
}

interface CacheEntry {
  state: TxnState;
  /** The cluster time of the last change, in ms. */
  updateMs: number;
}

/** TiKV `CACHE_ITEMS_REQUIRED_KEEP_TIME` (and its large-transaction twin): 30 s. */
export const TXN_STATUS_KEEP_TIME_MS = 30_000;
/** TiKV's default `storage.txn-status-cache-capacity`. */
export const TXN_STATUS_CACHE_CAPACITY = 40_000 * 128;

/** One LRU map with TiKV's eviction policy: the oldest entry goes once it is older than the keep time or the map is full. */
class EvictingLru {
  readonly #map = new Map<bigint, CacheEntry>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** The entry, promoted to the most recent place (TiKV's `get` / `get_mut`). */
  get(startTs: bigint): CacheEntry | undefined {
    const e = this.#map.get(startTs);
    if (e !== undefined) {
      this.#map.delete(startTs);
      this.#map.set(startTs, e);
    }
    return e;
  }

  insert(startTs: bigint, entry: CacheEntry, nowMs: number): void {
    this.#map.set(startTs, entry);
    for (const [oldest, e] of this.#map) {
      if (nowMs <= e.updateMs + TXN_STATUS_KEEP_TIME_MS && this.#map.size <= this.#capacity) break;
      this.#map.delete(oldest);
    }
  }

  remove(startTs: bigint): boolean {
    return this.#map.delete(startTs);
  }

  get size(): number {
    return this.#map.size;
  }
}

/**
 * One store's txn status cache (TiKV `txn_status_cache`): a normal cache of finished (and small
 * ongoing) transactions and a separate one of ongoing large transactions (those whose min commit
 * ts passed their start ts), so neither evicts the other. `BroadcastTxnStatus` fills it; the
 * store's resolved-ts tracking reads a pipelined transaction's locks through it (see
 * `ResolvedTs`). Entries live at least 30 s of the cluster's clock; a completed large
 * transaction leaves the large cache.
 */
export class TxnStatusCache {
  readonly #normal: EvictingLru;
  readonly #large: EvictingLru;
  readonly #nowMs: () => number;

  constructor(nowMs: () => number, capacity = TXN_STATUS_CACHE_CAPACITY) {
    this.#nowMs = nowMs;
    this.#normal = new EvictingLru(capacity);
    this.#large = new EvictingLru(capacity);
  }

  /**
   * Records a transaction's state (TiKV `upsert`): an ongoing one whose min commit ts passed its
   * start ts goes to the large cache, where only a larger min commit ts replaces it; anything
   * else goes to the normal cache, and a finished state also ends a large entry's ongoing one.
   * A finished state is never replaced.
   */
  upsert(startTs: bigint, state: TxnState): void {
    const updateMs = this.#nowMs();
    if (state.kind === 'ongoing' && state.minCommitTs > startTs) {
      const existing = this.#large.get(startTs);
      if (existing === undefined) this.#large.insert(startTs, { state, updateMs }, updateMs);
      else if (existing.state.kind === 'ongoing' && state.minCommitTs > existing.state.minCommitTs) {
        existing.state = state;
        existing.updateMs = updateMs;
      }
      return;
    }
    const normal = this.#normal.get(startTs);
    if (normal === undefined) this.#normal.insert(startTs, { state, updateMs }, updateMs);
    else if (normal.state.kind === 'ongoing') {
      normal.state = state;
      normal.updateMs = updateMs;
    }
    const large = this.#large.get(startTs);
    if (large !== undefined && large.state.kind === 'ongoing') {
      large.state = state;
      large.updateMs = updateMs;
    }
  }

  /** The state, the large cache first (its entry is the newer one); undefined when unknown. */
  get(startTs: bigint): TxnState | undefined {
    return (this.#large.get(startTs) ?? this.#normal.get(startTs))?.state;
  }

  /** Drops a transaction from the large cache once all its locks are resolved (TiKV `remove_large_txn`). */
  removeLargeTxn(startTs: bigint): void {
    this.#large.remove(startTs);
  }

  /**
   * Applies a `BroadcastTxnStatus` (TiKV `Storage::update_txn_status_cache`): each status is
   * upserted; a completed one must be committed or rolled back, and leaves the large cache first.
   *
   * @throws Error for a completed status that is still ongoing (TiKV asserts it)
   */
  update(
    statuses: readonly {
      readonly startTs: bigint;
      readonly minCommitTs: bigint;
      readonly commitTs: bigint;
      readonly rolledBack: boolean;
      readonly isCompleted: boolean;
    }[],
  ): void {
    for (const s of statuses) {
      const state = txnStateFromTs(s.startTs, s.minCommitTs, s.commitTs, s.rolledBack);
      if (s.isCompleted) {
        if (state.kind === 'ongoing') {
          throw new Error(`txn status of ${s.startTs} is completed but neither committed nor rolled back`);
        }
        this.removeLargeTxn(s.startTs);
      }
      this.upsert(s.startTs, state);
    }
  }

  /** Entries of the normal and the large cache. */
  get size(): { readonly normal: number; readonly large: number } {
    return { normal: this.#normal.size, large: this.#large.size };
  }
}
