import type { ClusterOptions } from '@tikv/cluster';
import {
  type Clock,
  type CommitDetailsOptions,
  InvalidArgumentError,
  invalidArgument,
  type Logger,
  mustBeNonNegativeInteger,
  mustBePositiveInteger,
  noopLogger,
  type RequestOptions,
  resolveOptions,
  systemClock,
  U64_MAX,
} from '@tikv/common';
import type { PdOracleOptions } from '@tikv/pd';
import { type CommandPriority, DiskFullOpt, type ResourceGroupTagger, type StoreLabelMatch } from '@tikv/rpc';
import type { AssertionLevel, CommitTuning } from '../commit/commit-options.js';
import type { LockResolverTuning } from '../lock-resolver/lock-resolver-options.js';
import type { MemBufferLimits } from '../membuffer/mem-buffer-options.js';
import type { PipelinedOptions } from '../pipelined/pipelined-options.js';
import type { SnapshotOptions } from '../snapshot/snapshot-options.js';

/** A transaction's isolation level: snapshot isolation, or read committed. */
export type Isolation = 'SI' | 'RC';

/**
 * How a {@link TransactionClient} behaves, whatever it is wired to (the part of its options a
 * test may also pass to the constructor).
 */
export interface TransactionClientTuning {
  /**
   * Defaults of every transaction's commit (client-go's `config.TiKVClient` commit settings and
   * `KVTxn` setters): async commit, 1PC, batch sizes, TTLs, backoff budgets. A transaction's
   * {@link BeginOptions} override the per-transaction ones.
   */
  readonly commit?: CommitTuning | undefined;
  /** Tuning of the client's lock resolver. */
  readonly lockResolver?: Omit<LockResolverTuning, 'logger'> | undefined;
  /** Defaults of every snapshot's and transaction's reads (priority, replica read, batch sizes, cache). */
  readonly snapshot?: SnapshotOptions | undefined;
  /** Size limits of a transaction's buffer (client-go `TxnTotalSizeLimit`, `TxnEntrySizeLimit`). */
  readonly memBuffer?: MemBufferLimits | undefined;
  /**
   * Slots of the in-process latches that serialize this client's optimistic transactions writing
   * the same keys (client-go `EnableTxnLocalLatches(size)`; TiDB enables 2048000 slots); 0 turns
   * them off. @defaultValue 0
   */
  readonly localLatchSlots?: number | undefined;
  /** Attempts {@link TransactionClient.run} makes by default. @defaultValue 10 */
  readonly maxRunAttempts?: number | undefined;
  /** Time source of TTLs, heartbeats and backoffs. @defaultValue the system clock */
  readonly clock?: Clock | undefined;
  /** Receives debug and info lines; never keys or values. @defaultValue silent */
  readonly logger?: Logger | undefined;
}

/**
 * Options of {@link TransactionClient.connect}: where the cluster is (`@tikv/cluster`'s
 * `ClusterOptions`: `pdEndpoints`, `apiVersion`, `keyspace`, `tls`, and the `pd`, `regionCache`,
 * `transport` and `sender` options) and how the client behaves.
 */
export interface TransactionClientOptions extends TransactionClientTuning, ClusterOptions {
  /** The timestamp oracle's options (low-resolution ts refresh interval, read-ts validation). */
  readonly oracle?: Pick<PdOracleOptions, 'updateIntervalMs' | 'validateReadTs'> | undefined;
}

/** The defaults of {@link TransactionClientTuning}. */
export const DEFAULT_TRANSACTION_CLIENT_OPTIONS = Object.freeze({
  localLatchSlots: 0,
  maxRunAttempts: 10,
});

/** {@link TransactionClientTuning} with defaults applied. @internal */
export interface ResolvedClientTuning {
  readonly commit: CommitTuning;
  readonly lockResolver: Omit<LockResolverTuning, 'logger'>;
  readonly snapshot: SnapshotOptions;
  readonly memBuffer: MemBufferLimits;
  readonly localLatchSlots: number;
  readonly maxRunAttempts: number;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * Applies the defaults and checks the scalar options (the nested ones are checked where they are
 * used, on the first transaction at the latest).
 *
 * @internal
 */
export function resolveClientTuning(tuning: TransactionClientTuning | undefined): ResolvedClientTuning {
  const t = tuning ?? {};
  const r = resolveOptions<{ localLatchSlots?: number | undefined; maxRunAttempts?: number | undefined }>(
    DEFAULT_TRANSACTION_CLIENT_OPTIONS,
    { localLatchSlots: t.localLatchSlots, maxRunAttempts: t.maxRunAttempts },
    { localLatchSlots: mustBeNonNegativeInteger, maxRunAttempts: mustBePositiveInteger },
  );
  return Object.freeze({
    // Copies: the client reads its options when it is made (some are resolved once and kept).
    commit: Object.freeze({ ...t.commit }),
    lockResolver: Object.freeze({ ...t.lockResolver }),
    snapshot: Object.freeze({ ...t.snapshot }),
    memBuffer: Object.freeze({ ...t.memBuffer }),
    localLatchSlots: r.localLatchSlots,
    maxRunAttempts: r.maxRunAttempts,
    clock: t.clock ?? systemClock,
    logger: t.logger ?? noopLogger,
  });
}

/**
 * Options of {@link TransactionClient.begin}: the transaction's start ts and how it reads and
 * commits. Unset commit fields take the client's `commit` defaults.
 */
export interface BeginOptions extends RequestOptions {
  /** Start at this ts instead of a fresh one from PD (client-go `WithStartTS`). */
  readonly startTs?: bigint | undefined;
  /**
   * A pessimistic transaction (client-go `SetPessimistic`): `lockKeys` takes locks in TiKV, so
   * the writes of locked keys cannot meet a write conflict at commit. Local latches do not apply.
   * @defaultValue false
   */
  readonly pessimistic?: boolean | undefined;
  /**
   * A pipelined transaction (client-go `WithPipelinedTxn`; `true` is `WithDefaultPipelinedTxn`):
   * for bulk writes. Its buffer is flushed to TiKV as locks in generations while it runs (writes
   * start a flush once the thresholds are passed; `txn.flush()` adds backpressure), reads see the
   * flushed writes, and commit flushes the rest, commits the primary key and resolves the other
   * locks over their key range in the background. Not with `pessimistic`, `asyncCommit` or
   * `onePc`; local latches do not apply. @defaultValue not pipelined
   */
  readonly pipelined?: PipelinedOptions | boolean | undefined;
  /** Try async commit (client-go `SetEnableAsyncCommit`). @defaultValue the client's `commit.asyncCommit` (false) */
  readonly asyncCommit?: boolean | undefined;
  /** Try one-phase commit (client-go `SetEnable1PC`). @defaultValue the client's `commit.onePc` (false) */
  readonly onePc?: boolean | undefined;
  /**
   * Async commit and 1PC skip the ts fetch that orders the commit after every snapshot already
   * taken (client-go `SetCausalConsistency`). @defaultValue the client's `commit.causalConsistency` (false)
   */
  readonly causalConsistency?: boolean | undefined;
  /**
   * `SI`: reads see the data committed before the start ts and resolve (or wait for) the locks
   * they meet. `RC` (TiKV's read committed): reads at the start ts skip locks, never waiting for
   * writers. @defaultValue 'SI'
   */
  readonly isolation?: Isolation | undefined;
  /** `Context.priority` of the transaction's reads and commit. @defaultValue 'normal' */
  readonly priority?: CommandPriority | undefined;
  /** Existence assertions TiKV checks on prewrite (client-go `SetAssertionLevel`). @defaultValue the client's (off) */
  readonly assertionLevel?: AssertionLevel | undefined;
  /** `Context.requestSource` of every request. @defaultValue none */
  readonly requestSource?: string | undefined;
  /** The resource group every request is charged to (client-go `SetResourceGroupName`). @defaultValue none */
  readonly resourceGroupName?: string | undefined;
  /** `Context.resourceGroupTag` of every request (client-go `SetResourceGroupTag`). @defaultValue none */
  readonly resourceGroupTag?: Uint8Array | undefined;
  /**
   * Computes `Context.resourceGroupTag` per request, reads and writes, when `resourceGroupTag` is
   * not set (client-go `SetResourceGroupTagger`): called once per request to one region with the
   * command's name; `lockKeys` takes it too unless its options bring their own. @defaultValue none
   */
  readonly resourceGroupTagger?: ResourceGroupTagger | undefined;
  /**
   * Whether the commit's prewrite and commit requests may write while a TiKV disk is almost full
   * (client-go `SetDiskFullOpt`); TiKV refuses them with a DiskFull region error otherwise, which
   * is retried until the commit's backoff budget or deadline runs out. @defaultValue 'notAllowedOnFull'
   */
  readonly diskFullOpt?: DiskFullOpt | undefined;
  /**
   * Vetoes the commit ts (client-go `SetCommitTSUpperBoundCheck`): false fails the commit, which
   * is rolled back; async commit and 1PC are not used. @defaultValue none
   */
  readonly commitTsUpperBoundCheck?: ((commitTs: bigint) => boolean) | undefined;
  /**
   * Checks a 2PC commit ts before the primary is committed, throwing to veto it (client-go's
   * schema lease checker). @defaultValue none
   */
  readonly commitTsChecker?: ((commitTs: bigint) => void | Promise<void>) | undefined;
  /**
   * Called once when `commit()` settles, with its outcome (client-go `SetCommitCallback`). An
   * exception it throws is ignored. @defaultValue none
   */
  readonly onCommitted?: ((outcome: CommitOutcome) => void) | undefined;
}

/** What {@link BeginOptions.onCommitted} is told. */
export interface CommitOutcome {
  readonly startTs: bigint;
  /** The commit ts; 0n when the commit failed or wrote nothing. */
  readonly commitTs: bigint;
  /** Why the commit failed, when it did. */
  readonly error: unknown;
}

/** Options of {@link TransactionClient.run}: how the transaction begins, and how often it is tried. */
export interface RunOptions extends BeginOptions {
  /** Attempts in all, the first included. @defaultValue the client's `maxRunAttempts` (10) */
  readonly maxAttempts?: number | undefined;
}

/**
 * Options of {@link Transaction.commit}: the signal and timeout, and `onCommitDetails`, which
 * receives the commit's `CommitDetails` (phase times, backoff by phase, regions, keys and bytes
 * written, lock resolve time, and the commit's execution details with TiKV's write details)
 * once it settles. Nothing is collected without it.
 */
export interface CommitCallOptions extends RequestOptions, CommitDetailsOptions {}

/** Checks {@link BeginOptions} fields the transaction does not hand on to a checked constructor. @internal */
export function checkBeginOptions(o: BeginOptions | undefined): void {
  if (o === undefined) return;
  if (typeof o !== 'object' || o === null) throw invalidArgument('options', 'an object', o);
  const ts = o.startTs;
  if (ts !== undefined && (typeof ts !== 'bigint' || ts <= 0n || ts >= U64_MAX)) {
    throw invalidArgument('options.startTs', 'a bigint timestamp in (0, 2^64 - 1)', ts);
  }
  if (o.pipelined !== undefined && o.pipelined !== false) {
    if (o.pessimistic === true)
      throw new InvalidArgumentError('a pipelined transaction cannot be pessimistic');
    if (o.asyncCommit === true || o.onePc === true) {
      throw new InvalidArgumentError('a pipelined transaction commits with neither async commit nor 1PC');
    }
  }
  if (o.isolation !== undefined && o.isolation !== 'SI' && o.isolation !== 'RC') {
    throw new InvalidArgumentError(`options.isolation must be 'SI' or 'RC', got ${String(o.isolation)}`);
  }
  if (o.resourceGroupTag !== undefined && !(o.resourceGroupTag instanceof Uint8Array)) {
    throw invalidArgument('options.resourceGroupTag', 'a Uint8Array', o.resourceGroupTag);
  }
  if (o.resourceGroupTagger !== undefined && typeof o.resourceGroupTagger !== 'function') {
    throw invalidArgument('options.resourceGroupTagger', 'a function', o.resourceGroupTagger);
  }
  const diskFullOpts: readonly unknown[] = Object.values(DiskFullOpt);
  if (o.diskFullOpt !== undefined && !diskFullOpts.includes(o.diskFullOpt)) {
    throw invalidArgument('options.diskFullOpt', `one of ${diskFullOpts.join(', ')}`, o.diskFullOpt);
  }
}

/** The run-attempt count of {@link RunOptions}, checked. @internal */
export function runAttempts(o: RunOptions | undefined, fallback: number): number {
  const n = o?.maxAttempts ?? fallback;
  if (!Number.isSafeInteger(n) || n < 1) throw invalidArgument('options.maxAttempts', 'an integer >= 1', n);
  return n;
}

/** How stale a snapshot of {@link TransactionClient.snapshot} may be. */
export type StaleReadOption =
  /** A stale read at the snapshot's ts: any replica that has caught up with it serves it. */
  | true
  /**
   * Bounded staleness: the snapshot reads at a ts `maxStalenessMs` before now (from the oracle's
   * last timestamp, no round trip); a replica that has not caught up hands the read to the leader.
   */
  | { readonly maxStalenessMs: number };

/** Options of {@link TransactionClient.snapshot}: the snapshot's read options, and stale or replica reads. */
export interface ClientSnapshotOptions extends SnapshotOptions {
  /** Read stale data from any replica (client-go's stale read). @defaultValue a normal read */
  readonly stale?: StaleReadOption | undefined;
  /** Prefer replicas on stores carrying these labels (`matchStoreLabels`). @defaultValue none */
  readonly labels?: readonly StoreLabelMatch[] | undefined;
}
