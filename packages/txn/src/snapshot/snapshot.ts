import {
  checkBoundKey,
  checkKey,
  checkKeys,
  checkRequestOptions,
  compareKeys,
  InvalidArgumentError,
  invalidArgument,
  keyToLatin1,
  sortKeys,
  TiKVError,
  U64_MAX,
  withExecDetails,
} from '@tikv/common';
import type { kvrpcpb } from '@tikv/proto';
import type { RegionExecutor } from '@tikv/rpc';
import type { KvPair } from '../kv-pair.js';
import type { LockResolving, TxnOracle } from '../txn-deps.js';
import type { SnapshotIterateOptions, SnapshotReader } from '../union-store/snapshot-reader.js';
import type { ValueEntry } from '../value-entry.js';
import { answerValue, LockResolvingReads, SNAPSHOT_READ_BUDGET } from './lock-resolving-reads.js';
import { ReadCache } from './read-cache.js';
import {
  type ResolvedSnapshotOptions,
  resolveSnapshotOptions,
  type SnapshotOptions,
  type SnapshotReadOptions,
  type SnapshotScanOptions,
} from './snapshot-options.js';
import { scanPairs } from './snapshot-scanner.js';

const EMPTY = new Uint8Array(0);
/** The largest ts below the maximum a snapshot accepts (client-go refuses `ts >= MaxInt64` but the max). */
const MAX_INT64 = (1n << 63n) - 1n;
/** What an entry of the snapshot cache costs besides its key and value, in bytes (a rough figure). */
const CACHE_ENTRY_OVERHEAD_BYTES = 64;

/** The pieces a {@link Snapshot} reads through. */
export interface SnapshotParts {
  /** Region routing, batching and retries (`@tikv/rpc`'s `RegionExecutor`). */
  readonly executor: RegionExecutor;
  /** Read ts validation (`@tikv/pd`'s `PdOracle`). */
  readonly oracle: TxnOracle;
  /** Resolves the locks the reads meet (this package's `LockResolver`). */
  readonly lockResolver: LockResolving;
  /**
   * Refuses reads below the txn safe point, before each read (client-go `KVStore.CheckVisibility`,
   * a `TxnSafePointCache`). @defaultValue no check
   */
  readonly checkVisibility?: ((ts: bigint) => void) | undefined;
}

/**
 * The check of a read that asked for commit ts (client-go `checkCommitTSRequired`): a value
 * without one means the server ignored `need_commit_ts` (a TiKV too old for it, or a NextGen
 * one), and an entry with a made-up `0n` would pass for the reader's own uncommitted write.
 */
function requireCommitTs(commitTs: bigint, ts: bigint): void {
  if (commitTs > 0n) return;
  throw new TiKVError(
    'NOT_SUPPORTED',
    `commit timestamp is required but not returned (snapshot ts ${ts}): the server does not support need_commit_ts`,
  );
}

function checkTs(ts: unknown): bigint {
  if (typeof ts !== 'bigint' || ts < 0n || ts > U64_MAX)
    throw invalidArgument('ts', 'a bigint in [0, 2^64)', ts);
  if (ts >= MAX_INT64 && ts !== U64_MAX) throw new InvalidArgumentError(`snapshot ts ${ts} is too large`);
  return ts;
}

/**
 * A consistent read-only view of the data committed before a timestamp (client-go
 * `txnsnapshot.KVSnapshot`): point reads, batch reads split by region and sent concurrently,
 * and scans across regions in both directions. The reads resolve the locks they meet: a lock of
 * a finished transaction is cleaned up (in the background when the read can go on without it),
 * a live one is pushed past the snapshot's ts or waited for with `txnLockFast` backoffs, and the
 * transactions found committed or ignorable ride along on the retries (`Context.resolved_locks`
 * / `committed_locks`). Values read by `get` and `batchGet` are cached; {@link getEntry} and
 * {@link batchGetEntries} read the values with their commit ts.
 *
 * Keys are the caller's (in API V2 the keyspace codec under the executor adds the prefix). A
 * zero-length value reads as absent, as in client-go. Returned values are shared with the cache:
 * copy one before modifying it. It implements the union store's {@link SnapshotReader}.
 *
 * @example
 * ```ts
 * const snap = new Snapshot({ executor, oracle, lockResolver }, await oracle.getTimestamp());
 * const v = await snap.get(key, { timeoutMs: 2_000 });
 * for await (const { key, value } of snap.scanIter(start, end)) { ... }
 * ```
 */
export class Snapshot implements SnapshotReader {
  readonly #exec: RegionExecutor;
  readonly #options: ResolvedSnapshotOptions;
  /** The reads from TiKV, resolving the locks they meet; its ts follows {@link ts}. */
  readonly #reads: LockResolvingReads;
  #cache: ReadCache | undefined;
  #ts: bigint;
  #cacheHits = 0;

  /**
   * @param parts - the executor, the oracle and the lock resolver
   * @param ts - the read timestamp (`U64_MAX` reads the latest committed data, uncached)
   * @param options - how the reads are sent
   * @throws InvalidArgumentError for a bad ts or option
   */
  constructor(parts: SnapshotParts, ts: bigint, options?: SnapshotOptions) {
    this.#exec = parts.executor;
    this.#ts = checkTs(ts);
    this.#options = resolveSnapshotOptions(options);
    this.#reads = new LockResolvingReads(parts, this.#ts, this.#options);
  }

  /** The cache, made by the first write to it: most snapshots of transactions read little. */
  #cacheOrNew(): ReadCache | undefined {
    if (this.#cache === undefined && this.#options.maxCacheBytes > 0) {
      this.#cache = new ReadCache(this.#options.maxCacheBytes, CACHE_ENTRY_OVERHEAD_BYTES);
    }
    return this.#cache;
  }

  /** The read timestamp. */
  get ts(): bigint {
    return this.#ts;
  }

  /** The options, defaults applied. */
  get options(): ResolvedSnapshotOptions {
    return this.#options;
  }

  /** How many `get` / `batchGet` keys the cache answered. */
  get cacheHits(): number {
    return this.#cacheHits;
  }

  /** How many keys the cache holds. */
  get cacheSize(): number {
    return this.#cache?.size ?? 0;
  }

  /**
   * Moves the snapshot to another ts (client-go `SetSnapshotTS`, for a pessimistic transaction's
   * for-update reads): the cache and the ignorable locks are dropped, as they held for the old ts.
   *
   * @param ts - the new read timestamp
   */
  setTs(ts: bigint): void {
    this.#ts = checkTs(ts);
    this.#reads.setTs(this.#ts);
    this.#cache?.clear();
  }

  /**
   * Puts the snapshot in pipelined mode (client-go `SetPipelined`): its reads skip the locks its
   * own transaction flushed (lock ts == read ts), which would otherwise be resolved (waiting on
   * the transaction's own primary).
   */
  setPipelined(): void {
    this.#reads.setPipelined();
  }

  /** Whether the snapshot is a pipelined transaction's. */
  get pipelined(): boolean {
    return this.#reads.pipelined;
  }

  /**
   * Drops keys from the cache (client-go `CleanCache`).
   *
   * @param keys - the keys
   */
  cleanCache(keys: readonly Uint8Array[]): void {
    for (const k of keys) this.#cache?.delete(keyToLatin1(k));
  }

  /**
   * The key's value at the snapshot's ts (client-go `KVSnapshot.Get`).
   *
   * @param key - the key
   * @param options - abort signal and timeout
   * @returns the value, or `undefined` when the key has none
   * @throws KeyError for a key error other than a lock; TiKVError `FUTURE_TS_READ` for a ts the
   *   oracle has not handed out; `BackoffBudgetExceededError` when locks or region errors outlast
   *   the budget (20 s of backoff)
   */
  async get(key: Uint8Array, options?: SnapshotReadOptions): Promise<Uint8Array | undefined> {
    checkKey(key);
    checkRequestOptions(options);
    if (options?.onDetails !== undefined) return withExecDetails(options, (o) => this.#get(key, o));
    return this.#get(key, options);
  }

  async #get(key: Uint8Array, options: SnapshotReadOptions | undefined): Promise<Uint8Array | undefined> {
    const cached = this.#cacheGet(key);
    if (cached !== undefined) return cached.length === 0 ? undefined : cached;
    const { bo, scope } = this.#exec.begin(options, SNAPSHOT_READ_BUDGET);
    try {
      await this.#reads.validate(bo);
      const value = await this.#reads.pointGet(bo, key);
      this.#cacheSet(key, value ?? EMPTY);
      return value;
    } finally {
      scope.dispose();
    }
  }

  /**
   * {@link get} with the value's commit ts (client-go `Get` with `kv.WithReturnCommitTS()`): the
   * read asks TiKV for it (`need_commit_ts`). A value the cache holds without its commit ts (a
   * `get` or `batchGet` read it) is read again, and the cache then keeps the commit ts; an absent
   * key the cache holds answers as absent.
   *
   * @param key - the key
   * @param options - abort signal and timeout
   * @returns the value and its commit ts, or `undefined` when the key has none
   * @throws TiKVError `NOT_SUPPORTED` when the server returns a value without its commit ts (it
   *   does not support `need_commit_ts`); otherwise as {@link get}
   */
  async getEntry(key: Uint8Array, options?: SnapshotReadOptions): Promise<ValueEntry | undefined> {
    checkKey(key);
    checkRequestOptions(options);
    if (options?.onDetails !== undefined) return withExecDetails(options, (o) => this.#getEntry(key, o));
    return this.#getEntry(key, options);
  }

  async #getEntry(
    key: Uint8Array,
    options: SnapshotReadOptions | undefined,
  ): Promise<ValueEntry | undefined> {
    const cached = this.#cacheGetEntry(key);
    if (cached !== undefined) return cached.value.length === 0 ? undefined : cached;
    const { bo, scope } = this.#exec.begin(options, SNAPSHOT_READ_BUDGET);
    let resp: kvrpcpb.GetResponse;
    try {
      await this.#reads.validate(bo);
      resp = await this.#reads.pointGetResponse(bo, key, true);
    } finally {
      scope.dispose();
    }
    const value = answerValue(resp);
    // The value is right even when its commit ts is missing: cached as one read without it.
    this.#cacheSet(key, value ?? EMPTY, value === undefined ? 0n : resp.commitTs);
    if (value === undefined) return undefined;
    requireCommitTs(resp.commitTs, this.#ts);
    return { value, commitTs: resp.commitTs };
  }

  /**
   * The values of several keys at the snapshot's ts (client-go `BatchGet`): the keys the cache
   * does not hold are grouped by region, cut into batches of `batchGetSize`, and read
   * concurrently; a batch that meets locks resolves them and reads its locked keys again.
   *
   * @param keys - the keys (may repeat)
   * @param options - abort signal and timeout
   * @returns the values aligned with `keys`, `undefined` where absent
   */
  async batchGet(
    keys: readonly Uint8Array[],
    options?: SnapshotReadOptions,
  ): Promise<(Uint8Array | undefined)[]> {
    checkKeys(keys);
    checkRequestOptions(options);
    if (options?.onDetails !== undefined) return withExecDetails(options, (o) => this.#batchGet(keys, o));
    return this.#batchGet(keys, options);
  }

  async #batchGet(
    keys: readonly Uint8Array[],
    options: SnapshotReadOptions | undefined,
  ): Promise<(Uint8Array | undefined)[]> {
    const out = new Array<Uint8Array | undefined>(keys.length);
    const missing: Uint8Array[] = [];
    const missingAt: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as Uint8Array;
      const cached = this.#cacheGet(key);
      if (cached === undefined) {
        missing.push(key);
        missingAt.push(i);
      } else if (cached.length > 0) {
        out[i] = cached;
      }
    }
    if (missing.length === 0) return out;
    const { keys: distinct, slots } = sortKeys(missing);
    const values = new Array<Uint8Array | undefined>(distinct.length);
    const { bo, scope } = this.#exec.begin(options, SNAPSHOT_READ_BUDGET);
    try {
      await this.#reads.validate(bo);
      await this.#reads.batchGetSorted(bo, distinct, values);
    } finally {
      scope.dispose();
    }
    for (let i = 0; i < distinct.length; i++) this.#cacheSet(distinct[i] as Uint8Array, values[i] ?? EMPTY);
    for (let j = 0; j < missing.length; j++) {
      const v = values[slots === undefined ? j : (slots[j] as number)];
      out[missingAt[j] as number] = v === undefined || v.length === 0 ? undefined : v;
    }
    return out;
  }

  /**
   * {@link batchGet} with each value's commit ts (client-go `BatchGet` with
   * `kv.WithReturnCommitTS()`); the cache answers as for {@link getEntry}.
   *
   * @param keys - the keys (may repeat)
   * @param options - abort signal and timeout
   * @returns the entries aligned with `keys`, `undefined` where absent
   * @throws TiKVError `NOT_SUPPORTED` when the server returns a value without its commit ts;
   *   otherwise as {@link batchGet}
   */
  async batchGetEntries(
    keys: readonly Uint8Array[],
    options?: SnapshotReadOptions,
  ): Promise<(ValueEntry | undefined)[]> {
    checkKeys(keys);
    checkRequestOptions(options);
    if (options?.onDetails !== undefined)
      return withExecDetails(options, (o) => this.#batchGetEntries(keys, o));
    return this.#batchGetEntries(keys, options);
  }

  async #batchGetEntries(
    keys: readonly Uint8Array[],
    options: SnapshotReadOptions | undefined,
  ): Promise<(ValueEntry | undefined)[]> {
    const out = new Array<ValueEntry | undefined>(keys.length);
    const missing: Uint8Array[] = [];
    const missingAt: number[] = [];
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as Uint8Array;
      const cached = this.#cacheGetEntry(key);
      if (cached === undefined) {
        missing.push(key);
        missingAt.push(i);
      } else if (cached.value.length > 0) {
        out[i] = cached;
      }
    }
    if (missing.length === 0) return out;
    const { keys: distinct, slots } = sortKeys(missing);
    const values = new Array<Uint8Array | undefined>(distinct.length);
    const commitTs = new Array<bigint>(distinct.length).fill(0n);
    const { bo, scope } = this.#exec.begin(options, SNAPSHOT_READ_BUDGET);
    try {
      await this.#reads.validate(bo);
      await this.#reads.batchGetSorted(bo, distinct, values, commitTs);
    } finally {
      scope.dispose();
    }
    const entries = new Array<ValueEntry | undefined>(distinct.length);
    let missingTs = false;
    for (let i = 0; i < distinct.length; i++) {
      const v = values[i];
      const present = v !== undefined && v.length > 0;
      const ts = present ? (commitTs[i] as bigint) : 0n;
      this.#cacheSet(distinct[i] as Uint8Array, v ?? EMPTY, ts);
      if (!present) continue;
      if (ts === 0n) missingTs = true;
      entries[i] = { value: v, commitTs: ts };
    }
    if (missingTs) requireCommitTs(0n, this.#ts);
    for (let j = 0; j < missing.length; j++) {
      out[missingAt[j] as number] = entries[slots === undefined ? j : (slots[j] as number)];
    }
    return out;
  }

  /**
   * The pairs with `lower <= key < upper`, ascending (or with `reverse` descending), up to
   * `limit`. An empty `upper` is unbounded.
   *
   * @param lower - inclusive lower bound
   * @param upper - exclusive upper bound, empty for none
   * @param options - limit, direction, key-only, abort signal and timeout
   * @returns the pairs in scan order
   */
  async scan(lower: Uint8Array, upper: Uint8Array, options?: SnapshotScanOptions): Promise<KvPair[]> {
    const out: KvPair[] = [];
    for await (const pair of this.scanIter(lower, upper, options)) out.push(pair);
    return out;
  }

  /**
   * {@link scan} as an iterator: pages are read as the loop goes (client-go `Iter` /
   * `IterReverse`); breaking out stops the reads. The signal and timeout cover the whole walk.
   *
   * @param lower - inclusive lower bound
   * @param upper - exclusive upper bound, empty for none
   * @param options - limit, direction, key-only, abort signal and timeout
   */
  scanIter(lower: Uint8Array, upper: Uint8Array, options?: SnapshotScanOptions): AsyncGenerator<KvPair> {
    checkBoundKey(lower, 'lower');
    checkBoundKey(upper, 'upper');
    checkRequestOptions(options);
    const limit = options?.limit ?? Number.POSITIVE_INFINITY;
    if (!(limit === Number.POSITIVE_INFINITY || (Number.isSafeInteger(limit) && limit >= 1))) {
      throw invalidArgument('options.limit', 'an integer >= 1', options?.limit);
    }
    if (upper.length > 0 && compareKeys(lower, upper) > 0) {
      throw new InvalidArgumentError('lower must not be greater than upper');
    }
    return scanPairs(this.#reads, lower, upper, {
      reverse: options?.reverse ?? false,
      keyOnly: options?.keyOnly ?? this.#options.keyOnly,
      batchSize: this.#options.scanBatchSize,
      limit,
      signal: options?.signal,
      timeoutMs: options?.timeoutMs,
      onDetails: options?.onDetails,
    });
  }

  /**
   * {@link scanIter} as the union store reads it ({@link SnapshotReader.iterate}).
   *
   * @param lower - inclusive lower bound
   * @param upper - exclusive upper bound, empty for none
   * @param options - direction, key-only, abort signal and timeout
   */
  iterate(lower: Uint8Array, upper: Uint8Array, options?: SnapshotIterateOptions): AsyncIterable<KvPair> {
    return this.scanIter(lower, upper, options);
  }

  #cacheGet(key: Uint8Array): Uint8Array | undefined {
    if (this.#cache === undefined || this.#ts === U64_MAX) return undefined;
    const v = this.#cache.get(keyToLatin1(key));
    if (v !== undefined) this.#cacheHits++;
    return v;
  }

  /**
   * A cached answer a read with commit ts may use (client-go `getSnapCacheWithoutLock` with
   * `returnCommitTS`): an absent key, or a value cached with its commit ts. A value cached by a
   * read without one is a miss.
   */
  #cacheGetEntry(key: Uint8Array): ValueEntry | undefined {
    const cache = this.#cache;
    if (cache === undefined || this.#ts === U64_MAX) return undefined;
    const name = keyToLatin1(key);
    const value = cache.get(name);
    if (value === undefined) return undefined;
    const commitTs = cache.commitTsOf(name);
    if (value.length > 0 && commitTs === 0n) return undefined;
    this.#cacheHits++;
    return { value, commitTs };
  }

  #cacheSet(key: Uint8Array, value: Uint8Array, commitTs = 0n): void {
    // The latest data changes under a snapshot at the maximum ts: nothing to keep.
    if (this.#ts === U64_MAX) return;
    this.#cacheOrNew()?.set(keyToLatin1(key), value, commitTs);
  }
}
