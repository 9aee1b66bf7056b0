import {
  type Backoffer,
  KeyIsLockedError,
  keyErrorFromWire,
  type LockInfo,
  searchSortedKey,
  U64_MAX,
} from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import type { BudgetOptions, RegionExecutor, RegionRequestOptions } from '@tikv/rpc';
import type { LockResolving, ResolveLocksResult, TxnOracle } from '../txn-deps.js';
import type { SnapshotParts } from './snapshot.js';
import {
  adjustedReadOptions,
  type ResolvedSnapshotOptions,
  readRequestOptions,
  SNAPSHOT_READ_MAX_BACKOFF_MS,
} from './snapshot-options.js';
import type { ScanHost } from './snapshot-scanner.js';

/** The backoff budget of one snapshot read. @internal */
export const SNAPSHOT_READ_BUDGET: BudgetOptions = Object.freeze({
  maxBackoffMs: SNAPSHOT_READ_MAX_BACKOFF_MS,
});

const identity = (k: Uint8Array): Uint8Array => k;

/** What the reads derive from a snapshot's resolved options: the same for every snapshot sharing them. */
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
 * A snapshot's reads from TiKV at its ts, without the cache: the ts is validated once, a read that
 * meets a lock resolves it (a live lock is waited for with `txnLockFast` backoffs) and is sent
 * again, carrying the transactions found ignorable or committed (`Context.resolved_locks` /
 * `committed_locks`); once a read met a lock, the reads go to the leader. It is the
 * {@link ScanHost} of the snapshot's scans.
 *
 * @internal
 */
export class LockResolvingReads implements ScanHost {
  readonly exec: RegionExecutor;
  readonly resolver: LockResolving;
  readonly budget: BudgetOptions = SNAPSHOT_READ_BUDGET;
  readonly resolveSource: DerivedOptions['resolveSource'];
  readonly #oracle: TxnOracle;
  readonly #checkVisibility: ((ts: bigint) => void) | undefined;
  readonly #options: ResolvedSnapshotOptions;
  readonly #derived: DerivedOptions;
  #ts: bigint;
  #validated = false;
  #metLock = false;
  #pipelined = false;
  /** Transactions whose locks the reads may ignore (rolled back, pushed, committed after the ts). */
  #resolvedLocks = new Set<bigint>();
  /** Transactions committed at or before the ts, whose locks the reads may read through. */
  readonly #committedLocks = new Set<bigint>();

  /**
   * @param parts - the executor, the oracle, the lock resolver and the visibility check
   * @param ts - the read ts, checked
   * @param options - the snapshot's resolved options
   */
  constructor(parts: SnapshotParts, ts: bigint, options: ResolvedSnapshotOptions) {
    this.exec = parts.executor;
    this.resolver = parts.lockResolver;
    this.#oracle = parts.oracle;
    this.#checkVisibility = parts.checkVisibility;
    this.#ts = ts;
    this.#options = options;
    this.#derived = derivedOf(options);
    this.resolveSource = this.#derived.resolveSource;
  }

  /** The read ts. */
  ts(): bigint {
    return this.#ts;
  }

  /** Reads at another ts: it is validated again, and the ignorable locks (which held for the old one) are dropped. */
  setTs(ts: bigint): void {
    this.#ts = ts;
    this.#validated = false;
    this.#resolvedLocks = this.#pipelined ? new Set([this.#ts]) : new Set();
  }

  /** Skips the locks of the reader's own pipelined transaction (lock ts == read ts). */
  setPipelined(): void {
    this.#pipelined = true;
    this.#resolvedLocks.add(this.#ts);
  }

  /** Whether the reads are a pipelined transaction's. */
  get pipelined(): boolean {
    return this.#pipelined;
  }

  /** Refuses a ts the oracle has not handed out yet; a ts found valid stays valid. */
  async validate(bo: Backoffer): Promise<void> {
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
  context(): kvrpcpb.Context | undefined {
    if (this.#resolvedLocks.size === 0 && this.#committedLocks.size === 0) return undefined;
    return kvrpcpb.Context.fromPartial({
      resolvedLocks: [...this.#resolvedLocks],
      committedLocks: [...this.#committedLocks],
    });
  }

  /** The region request options of the reads: the leader's once a read met a lock. */
  request(): RegionRequestOptions {
    return this.#metLock ? this.#derived.leaderRequest : this.#derived.request;
  }

  /** The options of a `Get` / `BatchGet` of `keyCount` keys (the replica read adjuster applied). */
  #pointRequestOptions(keyCount: number): RegionRequestOptions {
    return adjustedReadOptions(this.#options, this.request(), keyCount);
  }

  /** Resolves locks for a read and records what the retries may ignore or read through. */
  async #resolve(bo: Backoffer, locks: readonly LockInfo[], lite: boolean): Promise<ResolveLocksResult> {
    // Once a read meets a lock it goes to the leader (a stale or replica read may lag the resolve).
    this.#metLock = true;
    const res = await this.resolver.resolveLocks(bo, {
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
  async pointGet(bo: Backoffer, key: Uint8Array): Promise<Uint8Array | undefined> {
    return answerValue(await this.pointGetResponse(bo, key, false));
  }

  /** {@link pointGet}'s read: the answer without a key error, its commit ts asked for or not. */
  async pointGetResponse(
    bo: Backoffer,
    key: Uint8Array,
    needCommitTs: boolean,
  ): Promise<kvrpcpb.GetResponse> {
    let firstLock: LockInfo | undefined;
    for (;;) {
      const { response } = await this.exec.sendToKey(
        bo,
        key,
        () => ({
          $case: 'Get' as const,
          value: { context: this.context(), key, version: this.#ts, needCommitTs },
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
   * commit ts too when `commitTs` is given (the requests then ask for them). A batch that meets
   * locks resolves them and reads its locked keys again.
   */
  async batchGetSorted(
    bo: Backoffer,
    keys: readonly Uint8Array[],
    values: (Uint8Array | undefined)[],
    commitTs?: bigint[],
  ): Promise<void> {
    const needCommitTs = commitTs !== undefined;
    await this.exec.runBatches(bo, {
      items: keys,
      keyOf: identity,
      limit: { maxCount: this.#options.batchGetSize },
      sorted: true,
      send: async (batch, child) => {
        const resp = await this.exec.sendToRegion(
          child,
          batch.region,
          {
            $case: 'BatchGet',
            value: {
              context: this.context(),
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

/**
 * The value of a point read's answer; `undefined` when absent (a zero-length value reads as absent).
 *
 * @internal
 */
export function answerValue(resp: kvrpcpb.GetResponse): Uint8Array | undefined {
  return resp.notFound || resp.value.length === 0 ? undefined : resp.value;
}

/** The lock of a key error, or the error itself when it is not a lock. */
function lockOf(wire: kvrpcpb.KeyError): KeyIsLockedError {
  const err = keyErrorFromWire(wire);
  if (err instanceof KeyIsLockedError) return err;
  throw err;
}
