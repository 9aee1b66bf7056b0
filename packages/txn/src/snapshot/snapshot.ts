import {
  type Backoffer,
  checkBoundKey,
  checkKey,
  checkKeys,
  checkRequestOptions,
  compareKeys,
  InvalidArgumentError,
  invalidArgument,
  KeyIsLockedError,
  keyErrorFromWire,
  keyToLatin1,
  type LockInfo,
  searchSortedKey,
  sortKeys,
  TiKVError,
  U64_MAX,
  withExecDetails,
} from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import type { BudgetOptions, RegionExecutor, RegionRequestOptions } from '@tikv/rpc';
import type { KvPair } from '../kv-pair.js';
import type { LockResolving, ResolveLocksResult, TxnOracle } from '../txn-deps.js';
import type { SnapshotIterateOptions, SnapshotReader } from '../union-store/snapshot-reader.js';
import type { ValueEntry } from '../value-entry.js';
import { ReadCache } from './read-cache.js';
import {
  adjustedReadOptions,
  type ResolvedSnapshotOptions,
  readRequestOptions,
  resolveSnapshotOptions,
  SNAPSHOT_READ_MAX_BACKOFF_MS,
  type SnapshotOptions,
  type SnapshotReadOptions,
  type SnapshotScanOptions,
} from './snapshot-options.js';
import { type ScanHost, scanPairs } from './snapshot-scanner.js';

const EMPTY = new Uint8Array(0);
const BUDGET: BudgetOptions = Object.freeze({ maxBackoffMs: SNAPSHOT_READ_MAX_BACKOFF_MS });
/** The largest ts below the maximum a snapshot accepts (client-go refuses `ts >= MaxInt64` but the max). */
const MAX_INT64 = (1n << 63n) - 1n;
/** What an entry of the snapshot cache costs besides its key and value, in bytes (a rough figure). */
const CACHE_ENTRY_OVERHEAD_BYTES = 64;

const identity = (k: Uint8Array): Uint8Array => k;

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

/** What a snapshot derives from its resolved options: the same for every snapshot sharing them. */
interface DerivedOptions {
  readonly request: RegionRequestOptions;
  readonly leaderRequest: RegionRequestOptions;
  readonly resolveSource: { readonly requestSource?: string; readonly resourceGroupName?: string };
}

const DERIVED = new WeakMap<ResolvedSnapshotOptions, DerivedOptions>();

function derivedOf(o: ResolvedSnapshotOptions): DerivedOptions {
  let d = DERIVED.get(o);
  if (d === undefined) {
    d = {
      request: readRequestOptions(o, false),
      leaderRequest: readRequestOptions(o, true),
      resolveSource: Object.freeze({
        ...(o.requestSource === undefined ? {} : { requestSource: o.requestSource }),
        ...(o.resourceGroupName === undefined ? {} : { resourceGroupName: o.resourceGroupName }),
      }),
    };
    DERIVED.set(o, d);
  }
  return d;
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
  readonly #oracle: TxnOracle;
  readonly #resolver: LockResolving;
  readonly #checkVisibility: ((ts: bigint) => void) | undefined;
  readonly #options: ResolvedSnapshotOptions;
  readonly #derived: DerivedOptions;
  #cache: ReadCache | undefined;
  #scanHost: ScanHost | undefined;
  #ts: bigint;
  #validated = false;
  #metLock = false;
  #pipelined = false;
  #cacheHits = 0;
  /** Transactions whose locks the reads may ignore (rolled back, pushed, committed after the ts). */
  #resolvedLocks = new Set<bigint>();
  /** Transactions committed at or before the ts, whose locks the reads may read through. */
  readonly #committedLocks = new Set<bigint>();

  /**
   * @param parts - the executor, the oracle and the lock resolver
   * @param ts - the read timestamp (`U64_MAX` reads the latest committed data, uncached)
   * @param options - how the reads are sent
   * @throws InvalidArgumentError for a bad ts or option
   */
  constructor(parts: SnapshotParts, ts: bigint, options?: SnapshotOptions) {
    this.#exec = parts.executor;
    this.#oracle = parts.oracle;
    this.#resolver = parts.lockResolver;
    this.#checkVisibility = parts.checkVisibility;
    this.#ts = checkTs(ts);
    this.#options = resolveSnapshotOptions(options);
    this.#derived = derivedOf(this.#options);
  }

  /** The cache, made by the first write to it: most snapshots of transactions read little. */
  #cacheOrNew(): ReadCache | undefined {
    if (this.#cache === undefined && this.#options.maxCacheBytes > 0) {
      this.#cache = new ReadCache(this.#options.maxCacheBytes, CACHE_ENTRY_OVERHEAD_BYTES);
    }
    return this.#cache;
  }

  get #host(): ScanHost {
    this.#scanHost ??= {
      exec: this.#exec,
      resolver: this.#resolver,
      budget: BUDGET,
      resolveSource: this.#derived.resolveSource,
      ts: () => this.#ts,
      context: () => this.#context(),
      request: () => this.#requestOptions(),
      pointGet: (bo, key) => this.#pointGet(bo, key),
      validate: (bo) => this.#validate(bo),
    };
    return this.#scanHost;
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
    this.#validated = false;
    this.#cache?.clear();
    this.#resolvedLocks = this.#pipelined ? new Set([this.#ts]) : new Set();
  }

  /**
   * Puts the snapshot in pipelined mode (client-go `SetPipelined`): its reads skip the locks its
   * own transaction flushed (lock ts == read ts), which would otherwise be resolved (waiting on
   * the transaction's own primary).
   */
  setPipelined(): void {
    this.#pipelined = true;
    this.#resolvedLocks.add(this.#ts);
  }

  /** Whether the snapshot is a pipelined transaction's. */
  get pipelined(): boolean {
    return this.#pipelined;
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
    const { bo, scope } = this.#exec.begin(options, BUDGET);
    try {
      await this.#validate(bo);
      const value = await this.#pointGet(bo, key);
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
    const { bo, scope } = this.#exec.begin(options, BUDGET);
    let resp: kvrpcpb.GetResponse;
    try {
      await this.#validate(bo);
      resp = await this.#pointGetResponse(bo, key, true);
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
    const { bo, scope } = this.#exec.begin(options, BUDGET);
    try {
      await this.#validate(bo);
      await this.#batchGetSorted(bo, distinct, values);
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
    const { bo, scope } = this.#exec.begin(options, BUDGET);
    try {
      await this.#validate(bo);
      await this.#batchGetSorted(bo, distinct, values, commitTs);
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
    return scanPairs(this.#host, lower, upper, {
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

  /** Refuses a ts the oracle has not handed out yet; a ts found valid stays valid. */
  async #validate(bo: Backoffer): Promise<void> {
    this.#checkVisibility?.(this.#ts);
    if (this.#validated) return;
    await this.#oracle.validateReadTs(
      this.#ts,
      this.#options.staleRead,
      bo.signal === undefined ? undefined : { signal: bo.signal },
    );
    this.#validated = true;
  }

  /** The request context carrying the lock lists, or undefined while they are empty (the cheap path). */
  #context(): kvrpcpb.Context | undefined {
    if (this.#resolvedLocks.size === 0 && this.#committedLocks.size === 0) return undefined;
    return kvrpcpb.Context.fromPartial({
      resolvedLocks: [...this.#resolvedLocks],
      committedLocks: [...this.#committedLocks],
    });
  }

  #requestOptions(): RegionRequestOptions {
    return this.#metLock ? this.#derived.leaderRequest : this.#derived.request;
  }

  /** The options of a `Get` / `BatchGet` of `keyCount` keys (the replica read adjuster applied). */
  #pointRequestOptions(keyCount: number): RegionRequestOptions {
    return adjustedReadOptions(this.#options, this.#requestOptions(), keyCount);
  }

  /** Resolves locks for a read and records what the retries may ignore or read through. */
  async #resolve(bo: Backoffer, locks: readonly LockInfo[], lite: boolean): Promise<ResolveLocksResult> {
    // Once a read meets a lock it goes to the leader (a stale or replica read may lag the resolve).
    this.#metLock = true;
    const res = await this.#resolver.resolveLocks(bo, {
      callerStartTs: this.#ts,
      locks,
      forRead: true,
      lite,
      ...this.#derived.resolveSource,
    });
    for (const ts of res.resolvedLocks) this.#resolvedLocks.add(ts);
    for (const ts of res.committedLocks) this.#committedLocks.add(ts);
    return res;
  }

  /** client-go `KVSnapshot.get`: one key, resolving locks until it reads. */
  async #pointGet(bo: Backoffer, key: Uint8Array): Promise<Uint8Array | undefined> {
    return answerValue(await this.#pointGetResponse(bo, key, false));
  }

  /** {@link #pointGet}'s read: the answer without a key error, its commit ts asked for or not. */
  async #pointGetResponse(
    bo: Backoffer,
    key: Uint8Array,
    needCommitTs: boolean,
  ): Promise<kvrpcpb.GetResponse> {
    let firstLock: LockInfo | undefined;
    for (;;) {
      const { response } = await this.#exec.sendToKey(
        bo,
        key,
        () => ({
          $case: 'Get' as const,
          value: { context: this.#context(), key, version: this.#ts, needCommitTs },
        }),
        { request: this.#pointRequestOptions(1) },
      );
      const resp = response.value;
      if (resp.error === undefined) return resp;
      const err = keyErrorFromWire(resp.error);
      if (!(err instanceof KeyIsLockedError)) throw err;
      const lock = err.lock;
      if (firstLock === undefined) {
        firstLock = lock;
      } else if (this.#ts === U64_MAX && firstLock.lockVersion !== lock.lockVersion) {
        // A read of the latest data waits only for the first lock it met; a lock written since
        // belongs to a transaction that started after the read.
        this.#resolvedLocks.add(lock.lockVersion);
        continue;
      }
      const res = await this.#resolve(bo, [lock], true);
      if (res.msBeforeTxnExpired > 0) await bo.backoffWithMaxSleepTxnLockFast(res.msBeforeTxnExpired, err);
    }
  }

  /**
   * client-go `batchGetKeysByRegions`: distinct ascending keys, values placed by index, and their
   * commit ts too when `commitTs` is given (the requests then ask for them).
   */
  async #batchGetSorted(
    bo: Backoffer,
    keys: readonly Uint8Array[],
    values: (Uint8Array | undefined)[],
    commitTs?: bigint[],
  ): Promise<void> {
    const needCommitTs = commitTs !== undefined;
    await this.#exec.runBatches(bo, {
      items: keys,
      keyOf: identity,
      limit: { maxCount: this.#options.batchGetSize },
      sorted: true,
      send: async (batch, child) => {
        const resp = await this.#exec.sendToRegion(
          child,
          batch.region,
          {
            $case: 'BatchGet',
            value: {
              context: this.#context(),
              keys: batch.items as Uint8Array[],
              version: this.#ts,
              needCommitTs,
            },
          },
          this.#pointRequestOptions(batch.items.length),
        );
        if (resp === undefined) return 'regionError';
        const locks: LockInfo[] = [];
        let lockError: KeyIsLockedError | undefined;
        if (resp.value.error !== undefined) {
          // A response-level error: the pairs are not to be read, the whole batch goes again.
          lockError = lockOf(resp.value.error);
          locks.push(lockError.lock);
        } else {
          for (const pair of resp.value.pairs) {
            if (pair.error !== undefined) {
              lockError = lockOf(pair.error);
              locks.push(lockError.lock);
              continue;
            }
            const at = searchSortedKey(keys, pair.key);
            if (at < 0) continue;
            values[at] = pair.value;
            if (commitTs !== undefined) commitTs[at] = pair.commitTs;
          }
        }
        if (lockError === undefined) return 'done';
        const res = await this.#resolve(child, locks, false);
        if (res.msBeforeTxnExpired > 0)
          await child.backoffWithMaxSleepTxnLockFast(res.msBeforeTxnExpired, lockError);
        return resp.value.error === undefined ? { retry: locks.map((l) => l.key) } : 'retry';
      },
    });
  }
}

/** The value of a point read's answer; `undefined` when absent (a zero-length value reads as absent). */
function answerValue(resp: kvrpcpb.GetResponse): Uint8Array | undefined {
  return resp.notFound || resp.value.length === 0 ? undefined : resp.value;
}

/** The lock of a key error, or the error itself when it is not a lock. */
function lockOf(wire: kvrpcpb.KeyError): KeyIsLockedError {
  const err = keyErrorFromWire(wire);
  if (err instanceof KeyIsLockedError) return err;
  throw err;
}
