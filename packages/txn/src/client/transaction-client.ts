import { connectCluster } from '@tikv/cluster';
import {
  ClientClosedError,
  checkObject,
  checkRequestOptions,
  type RequestOptions,
  systemClock,
  TiKVError,
  U64_MAX,
} from '@tikv/common';
import { KeyMode } from '@tikv/keyspace';
import { PdOracle } from '@tikv/pd';
import { ClusterAdmin } from '../admin/cluster-admin.js';
import type { MinSafeTs } from '../admin/min-safe-ts.js';
import { resolveCommitOptions } from '../commit/commit-options.js';
import { type GcOptions, type GcResult, GcWorker } from '../gc/gc-worker.js';
import { TxnSafePointCache } from '../gc/txn-safe-point-cache.js';
import { LockResolver } from '../lock-resolver/lock-resolver.js';
import { MemBuffer } from '../membuffer/mem-buffer.js';
import { type MemBufferLimits, resolveMemBufferLimits } from '../membuffer/mem-buffer-options.js';
import { type PipelinedOptions, resolvePipelinedOptions } from '../pipelined/pipelined-options.js';
import { PipelinedTxn } from '../pipelined/pipelined-txn.js';
import { DeleteRangeTask, type DeleteRangeTaskOptions } from '../range-task/delete-range-task.js';
import { unsafeDestroyRange } from '../range-task/unsafe-destroy-range.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import type { TxnParts } from '../txn-deps.js';
import { BeginCommitOptions, beginSnapshotOptions, isTaggedBegin } from './begin-commit-options.js';
import { clusterClientParts, type TransactionClientParts, type TxnClusterParts } from './client-parts.js';
import { LocalLatches } from './local-latches.js';
import { runWithRetries } from './run-retries.js';
import { SnapshotFactory } from './snapshot-factory.js';
import { Transaction } from './transaction.js';
import {
  type BeginOptions,
  type ClientSnapshotOptions,
  checkBeginOptions,
  type ResolvedClientTuning,
  type RunOptions,
  resolveClientTuning,
  runAttempts,
  type TransactionClientOptions,
  type TransactionClientTuning,
} from './transaction-options.js';

export type { TransactionClientParts, TxnClusterParts } from './client-parts.js';
export { isRetryableTxnError } from './run-retries.js';

/** Options of {@link TransactionClient.deleteRange}. */
export interface DeleteRangeOptions
  extends Pick<DeleteRangeTaskOptions, 'concurrency' | 'notifyOnly' | 'regionsPerTask' | 'onProgress'>,
    RequestOptions {}

/**
 * The transactional client (client-go `txnkv.Client` / `tikv.KVStore`): begins transactions,
 * takes snapshots, and owns what they share: the timestamp oracle, the region routing, the lock
 * resolver and the local latches.
 *
 * @example
 * ```ts
 * const client = await TransactionClient.connect({ pdEndpoints: ['127.0.0.1:2379'] });
 * await client.run(async (txn) => {
 *   const from = Number(await txn.get('alice'));
 *   txn.put('alice', String(from - 10));
 *   txn.put('bob', String(Number(await txn.get('bob')) + 10));
 * });
 * await client.close();
 * ```
 */
export class TransactionClient implements AsyncDisposable {
  readonly #parts: TransactionClientParts;
  readonly #tuning: ResolvedClientTuning;
  readonly #safePoints: TxnSafePointCache | undefined;
  #admin: ClusterAdmin | undefined;
  #gcWorker: GcWorker | undefined;
  readonly #lockResolver: LockResolver;
  readonly #latches: LocalLatches | undefined;
  readonly #lifetime = new AbortController();
  readonly #txnParts: TxnParts;
  readonly #snapshots: SnapshotFactory;
  readonly #commitOptions: BeginCommitOptions;
  #memBufferLimits: MemBufferLimits | undefined;
  #closing: Promise<void> | undefined;

  /**
   * Builds a client on given parts (tests, custom wiring). Most callers use
   * {@link TransactionClient.connect}.
   *
   * @param parts - the executor, the oracle, the cluster id and a close hook
   * @param tuning - commit, read and lock-resolution defaults, local latches
   */
  constructor(parts: TransactionClientParts, tuning?: TransactionClientTuning) {
    checkObject(parts, 'parts');
    this.#tuning = resolveClientTuning(tuning);
    this.#parts = parts;
    this.#txnParts = Object.freeze({
      ...parts,
      clock: parts.clock ?? this.#tuning.clock,
      logger: parts.logger ?? this.#tuning.logger,
      lifetimeSignal:
        parts.lifetimeSignal === undefined
          ? this.#lifetime.signal
          : AbortSignal.any([parts.lifetimeSignal, this.#lifetime.signal]),
    });
    this.#lockResolver = new LockResolver({
      ...this.#tuning.lockResolver,
      executor: parts.executor,
      oracle: parts.oracle,
      logger: this.#txnParts.logger,
    });
    this.#snapshots = new SnapshotFactory(
      Object.freeze({
        executor: parts.executor,
        oracle: parts.oracle,
        lockResolver: this.#lockResolver,
        checkVisibility: this.#checkVisibility,
      }),
      this.#tuning.snapshot,
    );
    this.#commitOptions = new BeginCommitOptions(this.#tuning.commit);
    this.#latches =
      this.#tuning.localLatchSlots > 0 ? new LocalLatches(this.#tuning.localLatchSlots) : undefined;
    this.#safePoints =
      parts.cluster === undefined
        ? undefined
        : new TxnSafePointCache({
            gcStates: parts.cluster.gcStates,
            lifetimeSignal: this.#lifetime.signal,
            clock: this.#tuning.clock,
            logger: this.#tuning.logger,
          });
  }

  /**
   * Connects to a cluster: a PD client and timestamp oracle, a region cache, the gRPC transport
   * (with the keyspace codec: API V2 keys get the `x` prefix and the keyspace id) and a region
   * request sender, wired by `@tikv/cluster`'s `connectCluster` for transactional keys.
   *
   * @param options - endpoints, API version, keyspace, TLS and tuning
   * @param call - cancels or bounds the connection attempt
   * @returns the connected client
   */
  static async connect(options: TransactionClientOptions, call?: RequestOptions): Promise<TransactionClient> {
    checkObject(options, 'options');
    checkRequestOptions(call, 'call');
    const tuning = resolveClientTuning(options);
    const cluster = await connectCluster(
      { ...options, clock: tuning.clock, logger: tuning.logger, keyMode: KeyMode.TXN },
      call,
    );
    try {
      const oracle = await PdOracle.create(cluster.pd, { ...options.oracle }, call);
      const client = new TransactionClient(clusterClientParts(cluster, oracle, tuning), options);
      try {
        // client-go's txn safe point updater: reads below the txn safe point are refused.
        await client.#safePoints?.start(call);
      } catch (e) {
        await client.close().catch(() => {});
        throw e;
      }
      return client;
    } catch (e) {
      await cluster.close().catch(() => {});
      throw e;
    }
  }

  /** The id of the cluster PD reported (0n when built on parts without one). */
  get clusterId(): bigint {
    return this.#parts.clusterId ?? 0n;
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** The client's lock resolver (client-go `GetLockResolver`), for tools that inspect or resolve locks. */
  get lockResolver(): LockResolver {
    return this.#lockResolver;
  }

  /** The local latches, when turned on (`localLatchSlots`). */
  get localLatches(): LocalLatches | undefined {
    return this.#latches;
  }

  /** The parts transactions run on (executor, oracle, clock, logger, lifetime signal). */
  get parts(): TxnParts {
    return this.#txnParts;
  }

  #checkVisibility = (ts: bigint): void => {
    if (ts !== U64_MAX) this.#safePoints?.checkVisibility(ts);
  };

  #cluster(what: string): TxnClusterParts {
    const c = this.#parts.cluster;
    if (c === undefined)
      throw new TiKVError(
        'NOT_SUPPORTED',
        `${what} needs the cluster parts (TransactionClient.connect passes them)`,
      );
    return c;
  }

  /**
   * Refuses a start ts below the txn safe point (client-go `CheckVisibility`): reads at it could
   * miss versions GC removed. Every snapshot read checks it.
   *
   * @throws TxnAbortedByGcError below the txn safe point; a retryable `PD_ERROR` while the cached
   *   safe point is stale
   */
  checkVisibility(startTs: bigint): void {
    this.#checkOpen();
    this.#safePoints?.checkVisibility(startTs);
  }

  /** Cluster administration: splits, scatter, regions and stores, safe ts, flashback (`ClusterAdmin`). */
  get admin(): ClusterAdmin {
    this.#checkOpen();
    if (this.#admin === undefined) {
      const c = this.#cluster('admin');
      this.#admin = new ClusterAdmin({
        executor: this.#parts.executor,
        pd: c.pd,
        transport: c.transport,
        oracle: this.#parts.oracle,
        gcStates: c.gcStates,
      });
    }
    return this.#admin;
  }

  /** The GC worker of the client's GC scope (barriers, lock resolution, `gcWithStats`). */
  get gcWorker(): GcWorker {
    this.#checkOpen();
    if (this.#gcWorker === undefined) {
      const c = this.#cluster('gc');
      this.#gcWorker = new GcWorker({
        executor: this.#parts.executor,
        lockResolver: this.#lockResolver,
        gcStates: c.gcStates,
        ...(this.#safePoints === undefined ? {} : { safePointCache: this.#safePoints }),
        ...(this.#parts.logger === undefined ? {} : { logger: this.#parts.logger }),
      });
    }
    return this.#gcWorker;
  }

  /**
   * Garbage-collects up to `expectedSafePoint` (client-go `KVStore.GC`): advances the txn safe
   * point, resolves every lock below it across the key space, then advances the GC safe point.
   *
   * @returns the new GC safe point (lower when a GC barrier held it)
   */
  gc(expectedSafePoint: bigint, options?: GcOptions): Promise<bigint> {
    return this.gcWorker.gc(expectedSafePoint, options);
  }

  /** {@link gc} with what the lock resolution did. */
  gcWithStats(expectedSafePoint: bigint, options?: GcOptions): Promise<GcResult> {
    return this.gcWorker.gcWithStats(expectedSafePoint, options);
  }

  /**
   * Deletes every version of every key in `[start, end)` at once (client-go `KVStore.DeleteRange`):
   * no snapshot, no MVCC history kept; nobody may be using the range. An empty `end` is unbounded.
   *
   * @returns how many regions were done
   */
  async deleteRange(start: Uint8Array, end: Uint8Array, options?: DeleteRangeOptions): Promise<number> {
    this.#checkOpen();
    const { signal, timeoutMs, ...task } = options ?? {};
    const result = await new DeleteRangeTask(
      { executor: this.#parts.executor },
      { ...task, startKey: start, endKey: end },
    ).execute({
      ...(signal === undefined ? {} : { signal }),
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
    return result.completedRegions;
  }

  /**
   * Destroys `[start, end)` on every TiKV store at once, bypassing Raft (client-go
   * `UnsafeDestroyRange`): for data GC already made unreachable.
   */
  unsafeDestroyRange(start: Uint8Array, end: Uint8Array, options?: RequestOptions): Promise<void> {
    this.#checkOpen();
    const c = this.#cluster('unsafeDestroyRange');
    return unsafeDestroyRange({ stores: c.pd, transport: c.transport }, start, end, options);
  }

  /** Every store's safe ts and their minimum, the input of stale reads (client-go `GetMinSafeTS`). */
  getMinSafeTs(options?: RequestOptions): Promise<MinSafeTs> {
    return this.admin.getMinSafeTs(options);
  }

  #checkOpen = (): void => {
    if (this.#closing !== undefined) throw new ClientClosedError('transaction client is closed');
  };

  /**
   * A fresh timestamp from PD's TSO (client-go `CurrentTimestamp`).
   *
   * @param options - abort signal and timeout
   */
  async currentTimestamp(options?: RequestOptions): Promise<bigint> {
    checkRequestOptions(options);
    this.#checkOpen();
    return this.#parts.oracle.getTimestamp(options);
  }

  /**
   * Begins a transaction at a fresh start ts from PD, or at `options.startTs` (client-go
   * `Begin`): optimistic, or pessimistic with `{ pessimistic: true }` (client-go `SetPessimistic`).
   *
   * @param options - start ts, commit protocol, isolation, request tagging; abort signal and
   *   timeout of the ts fetch
   */
  async begin(options?: BeginOptions): Promise<Transaction> {
    checkBeginOptions(options);
    checkRequestOptions(options);
    this.#checkOpen();
    const o = options ?? {};
    const startTs = o.startTs ?? (await this.#parts.oracle.getTimestamp(o));
    this.#checkOpen();
    const tagged = isTaggedBegin(o);
    const snapshot = this.#snapshots.create(startTs, beginSnapshotOptions(o, tagged));
    if (o.pipelined !== undefined && o.pipelined !== false)
      return this.#beginPipelined(o, o.pipelined, snapshot);
    return new Transaction({
      parts: this.#txnParts,
      lockResolver: this.#lockResolver,
      snapshot,
      buffer: new MemBuffer(this.#memBufferLimitsOnce()),
      commit: this.#commitOptions.of(o, tagged),
      latches: this.#latches,
      pessimistic: o.pessimistic === true,
      onCommitted: o.onCommitted,
      checkOpen: this.#checkOpen,
    });
  }

  /** A pipelined transaction (client-go `InitPipelinedMemDB`): 2PC only, no latches. */
  #beginPipelined(o: BeginOptions, pipelined: PipelinedOptions | true, snapshot: Snapshot): Transaction {
    const resolved = resolvePipelinedOptions(pipelined);
    const commit = resolveCommitOptions({
      ...this.#commitOptions.merged(o),
      asyncCommit: false,
      onePc: false,
    });
    const pipe = new PipelinedTxn({
      parts: this.#txnParts,
      lockResolver: this.#lockResolver,
      snapshot,
      commit,
      pipelined: resolved,
      startTimeMs: (this.#txnParts.clock ?? systemClock).now(),
      memBuffer: this.#memBufferLimitsOnce(),
    });
    return new Transaction({
      parts: this.#txnParts,
      lockResolver: this.#lockResolver,
      snapshot,
      // Unused by a pipelined transaction (its buffer is `pipelined.buffer`); an empty one holds
      // no memory, where the first generation would be kept alive for the transaction's life.
      buffer: new MemBuffer(),
      commit,
      latches: undefined,
      pessimistic: false,
      onCommitted: o.onCommitted,
      checkOpen: this.#checkOpen,
      pipelined: pipe,
    });
  }

  /** The client's buffer limits, resolved on first use (so bad ones throw where they always did). */
  #memBufferLimitsOnce(): MemBufferLimits {
    this.#memBufferLimits ??= resolveMemBufferLimits(this.#tuning.memBuffer);
    return this.#memBufferLimits;
  }

  /**
   * A read-only snapshot (client-go `GetSnapshot`): point, batch and range reads of the data
   * committed before `ts`. Without `ts` it reads the latest committed data at each read (client-go's
   * `MaxUint64` snapshot); for several consistent reads pass `await client.currentTimestamp()`.
   * With `stale: true` any replica that has caught up with `ts` serves the reads (client-go's stale
   * read); with `stale: { maxStalenessMs }` the ts is that long before now (bounded staleness).
   * `replicaRead` (`'follower' | 'mixed' | 'learner' | 'preferLeader'`) and `labels` pick replicas.
   *
   * @param ts - the read timestamp
   * @param options - how the reads are sent (isolation, priority, replica and stale reads, key-only, ...)
   * @throws InvalidArgumentError for `stale: true` without a ts, or a bad option
   */
  snapshot(ts?: bigint, options?: ClientSnapshotOptions): Snapshot {
    this.#checkOpen();
    return this.#snapshots.forClient(ts, options);
  }

  /**
   * Runs `fn` in a transaction and commits it, starting over in a new transaction when the
   * attempt fails with a retryable error (a write conflict, a stale latch, a retryable key
   * error), up to `maxAttempts` attempts with a short randomized pause between them. `fn` may
   * therefore run more than once: keep side effects outside it, or make them idempotent. An
   * `UndeterminedError` is never retried. If `fn` commits or rolls back itself, `run` leaves it.
   *
   * @param fn - the transaction's work; its result is returned
   * @param options - how each transaction begins, `maxAttempts`, abort signal and timeout (of
   *   the whole run)
   * @returns what `fn` returned in the attempt that committed
   */
  async run<T>(fn: (txn: Transaction) => Promise<T>, options?: RunOptions): Promise<T> {
    checkBeginOptions(options);
    checkRequestOptions(options);
    if (typeof fn !== 'function') throw new TypeError('fn must be a function');
    const attempts = runAttempts(options, this.#tuning.maxRunAttempts);
    const parts = this.#txnParts;
    return runWithRetries(this, fn, options, attempts, parts, parts.clock ?? this.#tuning.clock);
  }

  /**
   * Closes the client: stops the background work of commits (secondaries, TTL heartbeats) and of
   * lock resolution, then the oracle and the connections. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#lifetime.abort(new ClientClosedError('transaction client is closed'));
      await this.#lockResolver.close();
      await this.#parts.close?.();
    })();
    return this.#closing;
  }

  /** Closes the client (for `await using`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
