import {
  type BytesLike,
  type Clock,
  checkKey,
  checkKeys,
  checkRequestOptions,
  checkValue,
  invalidArgument,
  type RequestOptions,
  systemClock,
  TiKVError,
  withExecDetails,
} from '@tikv/common';
import { resolveCommitOptions } from '../commit/commit-options.js';
import { CommitProtocol, type CommitResult } from '../commit/commit-result.js';
import type { KvPair } from '../kv-pair.js';
import type { MemBuffer } from '../membuffer/mem-buffer.js';
import {
  checkLockKeysOptions,
  type LockKeysOptions,
  type LockKeysResult,
} from '../pessimistic/lock-keys-options.js';
import { lockedValuesOver } from '../pessimistic/locked-values-reader.js';
import { PessimisticState } from '../pessimistic/pessimistic-state.js';
import type { PipelinedTxn } from '../pipelined/pipelined-txn.js';
import type { PipelinedUnionStore } from '../pipelined/pipelined-union-store.js';
import type { Snapshot } from '../snapshot/snapshot.js';
import type { SnapshotReadOptions } from '../snapshot/snapshot-options.js';
import { UnionStore } from '../union-store/union-store.js';
import type { ValueEntry } from '../value-entry.js';
import { runCommit, runRollback } from './commit-runner.js';
import { lockKeys } from './lock-keys.js';
import { scanRange as range, scanLimit } from './scan-range.js';
import type { CommitCallOptions } from './transaction-options.js';
import { type TransactionParts, type TransactionScanOptions, TransactionState } from './transaction-types.js';

export { type TransactionParts, type TransactionScanOptions, TransactionState } from './transaction-types.js';

const toKey = (key: BytesLike, name?: string): Uint8Array => checkKey(key, name);

/**
 * An optimistic transaction (client-go `transaction.KVTxn`): reads see the data committed before
 * its start ts merged with its own writes; writes are buffered and sent by {@link commit}, with
 * two-phase commit, async commit or one-phase commit as its options allow. Nothing is locked
 * before commit: a write conflict with a transaction that committed in the meantime fails the
 * commit with a retryable `WriteConflictError` (see `TransactionClient.run`).
 *
 * A transaction is used by one caller at a time; after `commit()` or `rollback()` every method
 * throws `INVALID_TXN`. Keys and values are `Uint8Array` or UTF-8 strings.
 *
 * @example
 * ```ts
 * const txn = await client.begin();
 * const n = Number(new TextDecoder().decode((await txn.get('counter')) ?? new Uint8Array()));
 * txn.put('counter', String(n + 1));
 * const commitTs = await txn.commit();
 * ```
 */
export class Transaction implements AsyncDisposable {
  readonly #p: TransactionParts;
  readonly #union: UnionStore | PipelinedUnionStore;
  readonly #pipe: PipelinedTxn | undefined;
  readonly #startTimeMs: number;
  readonly #clock: Clock;
  #state: TransactionState = TransactionState.ACTIVE;
  #commitTs = 0n;
  #protocol: CommitProtocol = CommitProtocol.NONE;
  #background: Promise<void> = Promise.resolve();
  readonly #pessimistic: PessimisticState | undefined;

  /** @internal Built by `TransactionClient.begin`. */
  constructor(parts: TransactionParts) {
    this.#p = parts;
    const clock = parts.parts.clock ?? systemClock;
    this.#clock = clock;
    this.#startTimeMs = clock.now();
    this.#pipe = parts.pipelined;
    if (this.#pipe !== undefined) {
      this.#pessimistic = undefined;
      this.#union = this.#pipe.reads;
    } else if (parts.pessimistic) {
      const state = new PessimisticState(
        parts.parts,
        parts.lockResolver,
        parts.buffer,
        resolveCommitOptions(parts.commit),
        parts.snapshot.ts,
        this.#startTimeMs,
        clock,
      );
      this.#pessimistic = state;
      this.#union = new UnionStore(parts.buffer, lockedValuesOver(parts.snapshot, state));
    } else {
      this.#pessimistic = undefined;
      this.#union = new UnionStore(parts.buffer, parts.snapshot);
    }
  }

  /** Whether `lockKeys` takes pessimistic locks in TiKV (client-go `IsPessimistic`). */
  get pessimistic(): boolean {
    return this.#pessimistic !== undefined;
  }

  /**
   * The largest for-update ts the transaction's pessimistic locks were taken at; the start ts
   * until the first lock, and for an optimistic transaction.
   */
  get forUpdateTs(): bigint {
    return this.#pessimistic?.forUpdateTs ?? this.startTs;
  }

  /** The start ts: reads see the data committed before it. */
  get startTs(): bigint {
    return this.#p.snapshot.ts;
  }

  /** The commit ts once committed; 0n before, and for a transaction that wrote nothing. */
  get commitTs(): bigint {
    return this.#commitTs;
  }

  /** The protocol the commit used (`none` before commit and when nothing was written). */
  get commitProtocol(): CommitProtocol {
    return this.#protocol;
  }

  /** Where the transaction is in its life. */
  get state(): TransactionState {
    return this.#state;
  }

  /** Whether reads and writes are still accepted (client-go `Valid`). */
  get valid(): boolean {
    return this.#state === TransactionState.ACTIVE;
  }

  /** Whether nothing was written (client-go `IsReadOnly`). */
  get readOnly(): boolean {
    return !(this.#pipe?.buffer ?? this.#p.buffer).dirty;
  }

  /** Entries in the buffer, flushed generations included (client-go `Len`). */
  get len(): number {
    return (this.#pipe?.buffer ?? this.#p.buffer).len;
  }

  /** Bytes of keys and values in the buffer, flushed generations included (client-go `Size`). */
  get sizeBytes(): number {
    return (this.#pipe?.buffer ?? this.#p.buffer).sizeBytes;
  }

  /**
   * The transaction's write buffer (client-go `GetMemBuffer`): flags, savepoints, iteration. In a
   * pipelined transaction, the current generation's (a flush replaces it).
   */
  get memBuffer(): MemBuffer {
    return this.#pipe?.buffer.current ?? this.#p.buffer;
  }

  /** The buffer writes go to now. */
  get #buffer(): MemBuffer {
    return this.#pipe?.buffer.current ?? this.#p.buffer;
  }

  /** Whether the transaction is pipelined (client-go `IsPipelined`): its writes are flushed as it runs. */
  get pipelined(): boolean {
    return this.#pipe !== undefined;
  }

  /**
   * Flushes the pipelined transaction's buffer to TiKV when it passed the flush thresholds, or
   * always with `force` (client-go `MemBuffer.Flush`). Writes start a flush on their own when one
   * is due and none is in flight; calling this between batches of writes adds the backpressure:
   * when the buffer reached `forceFlushSizeBytes` while the previous flush is still in flight, it
   * waits for that flush. A failed flush is thrown here (or by the next call, or by commit): the
   * transaction must then be rolled back.
   *
   * @param options - `force`: flush whatever the thresholds say
   * @returns whether a flush started
   * @throws TiKVError `INVALID_TXN` for a transaction that is not pipelined, or with a savepoint open
   */
  async flush(options?: { readonly force?: boolean | undefined }): Promise<boolean> {
    this.#checkActive();
    return this.#requirePipelined().buffer.flush(options?.force === true);
  }

  /** Waits for the pipelined flush in flight and throws its failure (client-go `FlushWait`). */
  async flushWait(): Promise<void> {
    this.#checkActive();
    await this.#requirePipelined().buffer.flushWait();
  }

  #requirePipelined(): PipelinedTxn {
    if (this.#pipe === undefined) throw new TiKVError('INVALID_TXN', 'the transaction is not pipelined');
    return this.#pipe;
  }

  /** The snapshot the transaction reads through to (client-go `GetSnapshot`). */
  get snapshot(): Snapshot {
    return this.#p.snapshot;
  }

  /**
   * Settles when the work its commit left in the background is done: the commit of the
   * secondaries, or the rollback of what a failed commit wrote (client-go's background goroutine
   * lifecycle hooks); for a pipelined transaction, the resolve of its flushed locks after a
   * commit, a failed commit or a rollback. Never rejects.
   */
  whenCommitSettled(): Promise<void> {
    return this.#background;
  }

  #checkActive(): void {
    if (this.#state !== TransactionState.ACTIVE) {
      throw new TiKVError('INVALID_TXN', `transaction ${this.startTs} is ${this.#state}`);
    }
    this.#p.checkOpen();
  }

  /**
   * Reads a key: its buffered write, else the snapshot's value (client-go `Get`).
   *
   * @param key - the key
   * @param options - abort signal and timeout
   * @returns the value, or `undefined` when absent or deleted by this transaction
   */
  async get(key: BytesLike, options?: SnapshotReadOptions): Promise<Uint8Array | undefined> {
    this.#checkActive();
    checkRequestOptions(options);
    const k = toKey(key);
    if (options?.onDetails !== undefined) return withExecDetails(options, (o) => this.#union.get(k, o));
    return this.#union.get(k, options);
  }

  /**
   * Reads several keys: the buffer answers what it holds, one snapshot batch read the rest
   * (client-go `BatchGet`).
   *
   * @param keys - the keys (may repeat)
   * @param options - abort signal and timeout
   * @returns the values aligned with `keys`, `undefined` where absent
   */
  async batchGet(
    keys: readonly BytesLike[],
    options?: SnapshotReadOptions,
  ): Promise<(Uint8Array | undefined)[]> {
    this.#checkActive();
    checkRequestOptions(options);
    const ks = checkKeys(keys);
    if (options?.onDetails !== undefined) return withExecDetails(options, (o) => this.#union.batchGet(ks, o));
    return this.#union.batchGet(ks, options);
  }

  /**
   * Reads a key with the commit ts of its value (client-go `Get` with `kv.WithReturnCommitTS()`):
   * the transaction's own write has commit ts `0n` (it is not committed); a committed value read
   * from the snapshot has the commit ts of the transaction that wrote it (the read asks TiKV for
   * it, `need_commit_ts`). In a pessimistic transaction the values `lockKeys` returned are not
   * used: they carry no commit ts, so the key is read from the snapshot.
   *
   * @param key - the key
   * @param options - abort signal and timeout
   * @returns the value and its commit ts, or `undefined` when absent or deleted by this transaction
   * @throws TiKVError `NOT_SUPPORTED` when TiKV returns a committed value without its commit ts
   *   (it does not support `need_commit_ts`); otherwise as {@link get}
   *
   * @example
   * ```ts
   * const entry = await txn.getEntry('k');
   * if (entry !== undefined && entry.commitTs > 0n) console.log(`written at ${entry.commitTs}`);
   * ```
   */
  async getEntry(key: BytesLike, options?: SnapshotReadOptions): Promise<ValueEntry | undefined> {
    this.#checkActive();
    checkRequestOptions(options);
    const k = toKey(key);
    if (options?.onDetails !== undefined) return withExecDetails(options, (o) => this.#union.getEntry(k, o));
    return this.#union.getEntry(k, options);
  }

  /**
   * Reads several keys with the commit ts of their values (client-go `BatchGet` with
   * `kv.WithReturnCommitTS()`), as {@link getEntry} does one.
   *
   * @param keys - the keys (may repeat)
   * @param options - abort signal and timeout
   * @returns the entries aligned with `keys`, `undefined` where absent
   * @throws TiKVError `NOT_SUPPORTED` as {@link getEntry}
   */
  async batchGetEntries(
    keys: readonly BytesLike[],
    options?: SnapshotReadOptions,
  ): Promise<(ValueEntry | undefined)[]> {
    this.#checkActive();
    checkRequestOptions(options);
    const ks = checkKeys(keys);
    if (options?.onDetails !== undefined)
      return withExecDetails(options, (o) => this.#union.batchGetEntries(ks, o));
    return this.#union.batchGetEntries(ks, options);
  }

  /**
   * Buffers a write of `value` to `key` (client-go `Set`).
   *
   * @throws InvalidArgumentError for an empty key or value; KeyTooLargeError, EntryTooLargeError,
   *   TxnTooLargeError past the buffer's limits (the buffer is then unchanged)
   */
  put(key: BytesLike, value: BytesLike): void {
    this.#checkActive();
    const k = toKey(key);
    const v = checkValue(k, value);
    if (v.length === 0)
      throw invalidArgument('value', 'a non-empty value (a transaction cannot store an empty one)', v);
    this.#buffer.set(k, v);
    this.#pipe?.buffer.maybeFlush();
  }

  /** Buffers a delete of `key` (client-go `Delete`). */
  delete(key: BytesLike): void {
    this.#checkActive();
    this.#buffer.delete(toKey(key));
    this.#pipe?.buffer.maybeFlush();
  }

  /**
   * The pairs with `start <= key < end` (empty `end`: no upper bound), its writes merged over the
   * snapshot, ascending or (with `reverse`) descending (client-go `Iter` / `IterReverse`).
   *
   * @param start - inclusive lower bound
   * @param end - exclusive upper bound, empty for none
   * @param options - limit, direction, key-only, abort signal and timeout
   */
  async scan(start: BytesLike, end: BytesLike, options?: TransactionScanOptions): Promise<KvPair[]> {
    this.#checkActive();
    checkRequestOptions(options);
    const [lower, upper] = range(start, end);
    return this.#union.scan(lower, upper, options);
  }

  /**
   * {@link scan} as an async iterator that reads region by region as it goes; breaking out of the
   * loop stops the reads.
   */
  async *scanIter(
    start: BytesLike,
    end: BytesLike,
    options?: TransactionScanOptions,
  ): AsyncGenerator<KvPair> {
    this.#checkActive();
    checkRequestOptions(options);
    const [lower, upper] = range(start, end);
    const limit = scanLimit(options?.limit);
    let n = 0;
    for await (const pair of this.#union.iterate(lower, upper, options)) {
      this.#checkActive();
      yield pair;
      if (++n >= limit) return;
    }
  }

  /**
   * Locks keys (client-go `LockKeys`). In a pessimistic transaction each call takes a fresh
   * for-update ts and writes pessimistic locks in TiKV, the primary's first: a key another
   * transaction holds is waited for (`waitTimeoutMs`, `noWait`), a deadlock fails with
   * `DeadlockError`, a commit newer than the for-update ts makes it lock again at a newer one.
   * Later writes of a locked key cannot conflict. In an optimistic transaction the keys are only
   * marked, and locked by prewrite at commit. Keys already locked by the transaction are not sent
   * again.
   *
   * @param keys - the keys (may repeat)
   * @param options - wait, return values, existence, lock-only-if-exists, for-update ts, share mode
   *   (`inShareMode`: shared locks), this call's request tag (`resourceGroupTag`,
   *   `resourceGroupTagger`: in place of the transaction's on its lock requests), abort signal and
   *   timeout
   * @returns what was learned per key, aligned with `keys`
   * @throws TiKVError `LOCK_WAIT_TIMEOUT` / `LOCK_ACQUIRE_FAILED_NO_WAIT`, DeadlockError,
   *   AlreadyExistsError (a key presumed absent exists), WriteConflictError (with `forUpdateTs` given);
   *   `NOT_SUPPORTED` for a shared lock before the primary is locked, in aggressive locking, or an
   *   exclusive lock of a key this transaction holds in share mode
   */
  async lockKeys(keys: readonly BytesLike[], options?: LockKeysOptions): Promise<LockKeysResult[]> {
    this.#checkActive();
    checkRequestOptions(options);
    const checked = checkKeys(keys);
    checkLockKeysOptions(options);
    return lockKeys(this.#pessimistic, this.#buffer, this.#clock, checked, options);
  }

  /**
   * Opens a savepoint (client-go `MemBuffer.Staging`): the writes after it can be kept with
   * {@link release} or undone with {@link cleanup}. Savepoints nest.
   *
   * @returns the savepoint's handle
   */
  staging(): number {
    this.#checkActive();
    return this.#buffer.staging();
  }

  /** Closes the newest savepoint and keeps its writes (client-go `Release`). */
  release(handle: number): void {
    this.#checkActive();
    this.#buffer.release(handle);
  }

  /** Closes the newest savepoint and undoes its writes (client-go `Cleanup`). */
  cleanup(handle: number): void {
    this.#checkActive();
    this.#buffer.cleanup(handle);
  }

  /**
   * Commits the buffered writes (client-go `Commit`) and returns the commit ts; 0n when nothing
   * was written. With local latches on, waits for this client's transactions writing the same
   * keys first.
   *
   * @param options - abort signal and timeout of the commit (the commit of secondaries goes on in
   *   the background); `onCommitDetails` receives the commit's details (phase times, backoff,
   *   regions, keys and bytes written, TiKV's write details) when it settles
   * @throws WriteConflictError (retryable) when another transaction wrote a key since the start ts
   * @throws UndeterminedError when the primary's commit was sent but its outcome is unknown: the
   *   transaction may or may not be committed, never retry it blindly
   * @throws TiKVError `INVALID_TXN` after commit or rollback
   */
  async commit(options?: CommitCallOptions): Promise<bigint> {
    this.#checkActive();
    checkRequestOptions(options);
    this.#settleAggressiveLocking('commit');
    this.#state = TransactionState.COMMITTING;
    let committed = false;
    let error: unknown;
    try {
      const result = await this.#commit(options);
      this.#commitTs = result.commitTs;
      this.#protocol = result.protocol;
      this.#background = result.background;
      committed = true;
      return result.commitTs;
    } catch (e) {
      error = e;
      throw e;
    } finally {
      this.#state = committed ? TransactionState.COMMITTED : TransactionState.FINISHED;
      try {
        this.#p.onCommitted?.({ startTs: this.startTs, commitTs: this.#commitTs, error });
      } catch {
        // The callback's failure is not the commit's.
      }
    }
  }

  #commit(options: CommitCallOptions | undefined): Promise<CommitResult> {
    return runCommit(
      this.#p,
      this.#pessimistic,
      this.#startTimeMs,
      options,
      this,
      Transaction.#keepBackground,
    );
  }

  /** Where the commit runner leaves the work a commit or rollback left in the background. */
  static #keepBackground(txn: Transaction, background: Promise<void>): void {
    txn.#background = background;
  }

  /**
   * Ends the transaction without writing anything (client-go `Rollback`): discards the buffer and,
   * in a pessimistic transaction, releases its locks (a failure to release them is logged: readers
   * resolve them once they expire). An optimistic transaction holds nothing in TiKV before commit.
   *
   * @throws TiKVError `INVALID_TXN` after commit or rollback
   */
  async rollback(options?: RequestOptions): Promise<void> {
    if (this.#state !== TransactionState.ACTIVE) {
      throw new TiKVError('INVALID_TXN', `transaction ${this.startTs} is ${this.#state}`);
    }
    checkRequestOptions(options);
    this.#state = TransactionState.FINISHED;
    await runRollback(this.#p, this.#pessimistic, options, this, Transaction.#keepBackground);
  }

  /**
   * Opens an aggressive (fair) locking stage (client-go `StartAggressiveLocking`): the locks of a
   * statement that may be retried. Single-key locks in the stage are taken in TiKV's force-lock
   * mode: a newer commit does not fail them but is reported ("locked with conflict"), so a retry
   * keeps its place in the lock queue.
   */
  async startAggressiveLocking(): Promise<void> {
    this.#checkActive();
    this.#requirePessimistic().startAggressiveLocking();
  }

  /**
   * Starts the stage's next attempt (client-go `RetryAggressiveLocking`): locks of the attempt
   * before last that this one did not take again are released (settled when this resolves); this
   * attempt's locks may stand for the next one's requests.
   */
  async retryAggressiveLocking(): Promise<void> {
    this.#checkActive();
    const pess = this.#requirePessimistic();
    pess.retryAggressiveLocking();
    await pess.whenRollbacksSettled();
  }

  /** Ends the stage and releases every lock it took, in the background (client-go `CancelAggressiveLocking`). */
  cancelAggressiveLocking(): void {
    this.#checkActive();
    this.#requirePessimistic().cancelAggressiveLocking();
  }

  /**
   * Ends the stage keeping the current attempt's locks (client-go `DoneAggressiveLocking`);
   * unnecessary ones of the previous attempt are released (settled when this resolves).
   */
  async doneAggressiveLocking(): Promise<void> {
    this.#checkActive();
    const pess = this.#requirePessimistic();
    pess.doneAggressiveLocking();
    await pess.whenRollbacksSettled();
  }

  /** Whether an aggressive locking stage is open (client-go `IsInAggressiveLockingMode`). */
  get inAggressiveLocking(): boolean {
    return this.#pessimistic?.inAggressiveLocking === true;
  }

  /** Whether `key` was locked in the current attempt of the stage (client-go `IsInAggressiveLockingStage`). */
  isInAggressiveLockingStage(key: BytesLike): boolean {
    return this.#pessimistic?.isInAggressiveLockingStage(toKey(key)) === true;
  }

  /** Settles when the locks this transaction releases in the background are released. */
  whenLocksReleased(): Promise<void> {
    return this.#pessimistic?.whenRollbacksSettled() ?? Promise.resolve();
  }

  #requirePessimistic(): PessimisticState {
    const pess = this.#pessimistic;
    if (pess === undefined) {
      throw new TiKVError('INVALID_TXN', 'aggressive locking needs a pessimistic transaction');
    }
    return pess;
  }

  /** client-go: commit refuses a stage with locks still pending, and cancels an empty one. */
  #settleAggressiveLocking(what: string): void {
    const pess = this.#pessimistic;
    if (pess?.inAggressiveLocking !== true) return;
    if (pess.pendingAggressiveLocks > 0) {
      throw new TiKVError('INVALID_TXN', `cannot ${what} while aggressive locking is pending`);
    }
    pess.cancelAggressiveLocking();
  }

  /** Rolls back a transaction still active (for `await using`). */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#state === TransactionState.ACTIVE) await this.rollback();
  }
}
