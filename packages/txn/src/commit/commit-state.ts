import { Backoffer, type Clock, type Logger, MAX_WRITE_EXECUTION_MS } from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import type { RegionExecutor, RegionRequestOptions } from '@tikv/rpc';
import type { MemBuffer } from '../membuffer/mem-buffer.js';
import type { LockResolving, TxnOracle } from '../txn-deps.js';
import type { ResolvedCommitOptions } from './commit-options.js';
import { MinCommitTsManager } from './min-commit-ts.js';
import type { TxnMutation } from './mutations.js';
import type { TtlManager } from './ttl-manager.js';

/** What the committer runs on. @internal */
export interface CommitDeps {
  /** The transaction's buffer (flags are read from it). */
  readonly buffer: MemBuffer;
  readonly exec: RegionExecutor;
  readonly oracle: TxnOracle;
  readonly resolver: LockResolving;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The client's lifetime: background work stops when it aborts. */
  readonly lifetimeSignal: AbortSignal | undefined;
}

/**
 * The state of one commit that prewrite, commit and rollback share (client-go's
 * `twoPhaseCommitter` fields). The `TwoPhaseCommitter` owns it; the actions read and update it.
 *
 * @internal
 */
export class CommitState {
  readonly deps: CommitDeps;
  readonly options: ResolvedCommitOptions;
  readonly startTs: bigint;
  /** When the transaction began, in the clock's milliseconds. */
  readonly startTimeMs: number;
  /** In key order. The commit phase drops the prewrite-only ones. */
  mutations: TxnMutation[];
  /** The primary's mutation. */
  readonly primary: TxnMutation | undefined;
  readonly primaryKey: Uint8Array;
  /** Bytes of keys and values (client-go `txnSize`). */
  readonly txnSizeBytes: number;
  /** The prewrite lock TTL, in milliseconds. */
  lockTtlMs = 0;
  /** The request options of prewrite and commit. */
  readonly writeOptions: RegionRequestOptions;
  /** The request options of cleanup (`BatchRollback`): no disk-full option. */
  readonly rollbackOptions: RegionRequestOptions;

  /** A pessimistic transaction's commit (client-go `isPessimistic`). */
  pessimistic = false;
  forUpdateTs = 0n;
  /**
   * Keys (latin1) whose pessimistic lock must still have this for-update ts at prewrite (aggressive
   * locking: client-go `forUpdateTSConstraints`).
   */
  forUpdateTsConstraints: ReadonlyMap<string, bigint> | undefined;
  asyncCommit = false;
  onePc = false;
  readonly minCommitTs = new MinCommitTsManager();
  maxCommitTs = 0n;
  onePcCommitTs = 0n;
  commitTs = 0n;
  /** The primary is committed: the transaction is. */
  committed = false;
  /**
   * The failed RPC that leaves the outcome unknown (client-go `undeterminedErr`): set when an RPC
   * of the primary's commit (or, with async commit or 1PC, of a prewrite) failed after it may have
   * reached TiKV, cleared when TiKV answers that request.
   */
  undetermined: unknown = undefined;
  /** Key count per region version at the first grouping: prewrite's `txn_size`. */
  readonly regionTxnSize = new Map<string, number>();
  ttl: TtlManager | undefined = undefined;
  readonly #background = new Set<Promise<void>>();
  #secondaries: Uint8Array[] | undefined;

  constructor(
    deps: CommitDeps,
    options: ResolvedCommitOptions,
    init: {
      readonly startTs: bigint;
      readonly startTimeMs: number;
      readonly mutations: TxnMutation[];
      readonly primary: TxnMutation | undefined;
      readonly txnSizeBytes: number;
    },
  ) {
    this.deps = deps;
    this.options = options;
    this.startTs = init.startTs;
    this.startTimeMs = init.startTimeMs;
    this.mutations = init.mutations;
    this.primary = init.primary;
    this.primaryKey = init.primary?.key ?? new Uint8Array(0);
    this.txnSizeBytes = init.txnSizeBytes;
    this.rollbackOptions = Object.freeze({
      maxExecutionDurationMs: MAX_WRITE_EXECUTION_MS,
      ...(options.priority === undefined ? {} : { priority: options.priority }),
      ...(options.requestSource === undefined ? {} : { requestSource: options.requestSource }),
      ...(options.resourceGroupName === undefined ? {} : { resourceGroupName: options.resourceGroupName }),
      ...(options.resourceGroupTag === undefined ? {} : { resourceGroupTag: options.resourceGroupTag }),
      ...(options.resourceGroupTagger === undefined
        ? {}
        : { resourceGroupTagger: options.resourceGroupTagger }),
    });
    // client-go sets the disk-full option on prewrite and commit only.
    this.writeOptions =
      options.diskFullOpt === undefined
        ? this.rollbackOptions
        : Object.freeze({ ...this.rollbackOptions, diskFullOpt: options.diskFullOpt });
  }

  /**
   * The keys an async-commit primary lists, which a reader checks to learn the outcome: every key
   * but the primary and the `CheckNotExists` ones (client-go `asyncSecondaries`).
   */
  secondaries(): Uint8Array[] {
    if (this.#secondaries === undefined) {
      const out: Uint8Array[] = [];
      for (const m of this.mutations)
        if (m !== this.primary && m.op !== kvrpcpb.Op.CheckNotExists) out.push(m.key);
      this.#secondaries = out;
    }
    return this.#secondaries;
  }

  /** Milliseconds since the transaction began, by the clock. */
  elapsedMs(): number {
    return Math.max(0, this.deps.clock.now() - this.startTimeMs);
  }

  /**
   * A backoffer for background work: its own budget, the client's lifetime as its signal, the
   * executor's clock (client-go's backoffers on the store's context).
   */
  backgroundBackoffer(maxBackoffMs: number): Backoffer {
    const tuning = this.deps.exec.tuning;
    return new Backoffer({
      maxBackoffMs,
      ...(this.deps.lifetimeSignal === undefined ? {} : { signal: this.deps.lifetimeSignal }),
      clock: tuning.clock,
      logger: tuning.logger,
    });
  }

  /**
   * Runs work in the background (client-go `spawn`): its failure is logged, never thrown, and
   * {@link whenIdle} waits for it.
   *
   * @param what - names the work in the log
   * @param work - the work
   * @returns a promise of it that never rejects
   */
  spawn(what: string, work: () => Promise<unknown>): Promise<void> {
    const p: Promise<void> = (async () => {
      try {
        await work();
      } catch (error) {
        this.deps.logger.warn(`2pc: ${what} failed`, {
          startTs: this.startTs,
          commitTs: this.commitTs,
          error,
        });
      }
    })().finally(() => this.#background.delete(p));
    this.#background.add(p);
    return p;
  }

  /** Settles when no background work is left (work spawned meanwhile included). */
  async whenIdle(): Promise<void> {
    while (this.#background.size > 0) await Promise.all(this.#background);
  }
}

/** The key of a region version in {@link CommitState.regionTxnSize}. @internal */
export function regionVersionKey(region: {
  readonly id: bigint;
  readonly confVer: bigint;
  readonly version: bigint;
}): string {
  return `${region.id}:${region.confVer}:${region.version}`;
}
