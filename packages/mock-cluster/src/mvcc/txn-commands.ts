import { kvrpcpb } from '@tikv/proto';
import { COLUMN_FAMILIES, type KvEngine } from '../storage/kv-engine.js';
import {
  type AcquirePessimisticLockOptions,
  acquirePessimisticLock,
  NotInShrinkModeError,
  type PessimisticLockKeyResult,
} from './actions/acquire-pessimistic-lock.js';
import { cleanup } from './actions/cleanup.js';
import { type CommitRole, commit, lockInTxn } from './actions/commit.js';
import { type PrewriteMutationInput, prewrite, type TransactionProperties } from './actions/prewrite.js';
import type { ConcurrencyManager } from './concurrency-manager.js';
import { isPessimisticLock, type Lock, lockInfoOf } from './lock-record.js';
import { isMvccError, MvccError, mvccFail, txnOther } from './mvcc-error.js';
import { mvccInfoOf } from './mvcc-info.js';
import { type KeyLock, MvccReader } from './mvcc-reader.js';
import { EntryTooLargeError, type Modify, MvccTxn, type ReleasedLock } from './mvcc-txn.js';
import { cloneSharedLocks, isSharedLocks, newSharedLocks, sharedLocksInfoOf } from './shared-locks.js';
import { bytesEqual, encodeTxnKey } from './txn-key.js';
import { newWrite, WriteType, writeTypeFromLockType } from './write-record.js';

const PessimisticAction = kvrpcpb.PrewriteRequest_PessimisticAction;

/** Locks one `ResolveLock` read phase hands to the write (TiKV `RESOLVE_LOCK_BATCH_SIZE`). */
export const RESOLVE_LOCK_BATCH_SIZE = 256;
/** A `ResolveLock` write stops once its changes reach this many bytes (TiKV `MAX_TXN_WRITE_SIZE`). */
export const MAX_TXN_WRITE_SIZE = 32 * 1024;

/** A prewrite command (`Prewrite` / `PrewritePessimistic`), decoded from the request. */
export interface PrewriteCommand {
  readonly mutations: readonly PrewriteMutationInput[];
  readonly primary: Uint8Array;
  readonly startTs: bigint;
  readonly lockTtl: bigint;
  readonly skipConstraintCheck: boolean;
  /** Non-zero makes the prewrite pessimistic. */
  readonly forUpdateTs: bigint;
  /** One per mutation for pessimistic prewrites. */
  readonly pessimisticActions: readonly kvrpcpb.PrewriteRequest_PessimisticAction[];
  /** `(mutation index, expected for_update_ts)` pairs. */
  readonly forUpdateTsConstraints: readonly {
    readonly index: number;
    readonly expectedForUpdateTs: bigint;
  }[];
  readonly txnSize: bigint;
  readonly minCommitTs: bigint;
  readonly maxCommitTs: bigint;
  /** Set for async commit (the primary's secondaries). */
  readonly secondaryKeys: readonly Uint8Array[] | undefined;
  readonly tryOnePc: boolean;
  readonly assertionLevel: kvrpcpb.AssertionLevel;
  readonly isRetryRequest: boolean;
  readonly txnSource: bigint;
}

/** What a prewrite answers: per-key lock errors, or the async-commit / 1PC timestamps. */
export interface PrewriteOutcome {
  readonly locks: MvccError[];
  readonly minCommitTs: bigint;
  readonly onePcCommitTs: bigint;
}

/** A pessimistic lock command (`AcquirePessimisticLock`), decoded from the request. */
export interface PessimisticLockCommand extends Omit<AcquirePessimisticLockOptions, 'shouldNotExist'> {
  readonly keys: readonly {
    readonly key: Uint8Array;
    readonly shouldNotExist: boolean;
    /** A shared lock (`Op::SharedPessimisticLock`). */
    readonly shared?: boolean;
  }[];
  readonly startTs: bigint;
}

/** The result of a pessimistic lock command. */
export interface PessimisticLockOutcome {
  readonly results: PessimisticLockKeyResult[];
  /** The lock met (the command wrote nothing); the caller waits for it or reports it. */
  readonly lockedBy?: { readonly info: kvrpcpb.LockInfo; readonly keyIndex: number };
  /**
   * An exclusive request met shared locks and made them shrink-only (the only change written):
   * the caller answers KeyIsLocked with these locks without waiting.
   */
  readonly shrunk?: kvrpcpb.LockInfo;
}

/** Receives the locks a command released, after its writes are applied. */
export type ReleasedLocksListener = (released: readonly ReleasedLock[], txnCommitTs: bigint) => void;

/**
 * TiKV's write commands (`src/storage/txn/commands`) over the shared engine: each builds its
 * changes in an {@link MvccTxn} from the actions and writes them only when it succeeds.
 */
export class TxnCommands {
  readonly #engine: KvEngine;
  readonly #cm: ConcurrencyManager;
  /** Called with the locks each successful command released. */
  onReleased: ReleasedLocksListener | undefined;
  /** Told of every lock a command newly writes (TiKV's `new_acquired_locks`). */
  onAcquired: ((locks: readonly kvrpcpb.LockInfo[]) => void) | undefined;

  /** TiKV's `raft-entry-max-size`: a command writing more fails with {@link EntryTooLargeError}. */
  maxWriteBytes = Number.POSITIVE_INFINITY;

  constructor(engine: KvEngine, cm: ConcurrencyManager) {
    this.#engine = engine;
    this.#cm = cm;
  }

  get engine(): KvEngine {
    return this.#engine;
  }

  get concurrencyManager(): ConcurrencyManager {
    return this.#cm;
  }

  /** A reader at `startTs` over the engine. */
  reader(startTs: bigint): MvccReader {
    return new MvccReader(this.#engine, startTs);
  }

  /**
   * Runs one command's actions on a fresh {@link MvccTxn} and applies its changes when `body`
   * returns; a throw discards them. Released locks go to {@link onReleased}.
   */
  execute<T>(startTs: bigint, body: (txn: MvccTxn, reader: MvccReader) => T, commitTs = 0n): T {
    const txn = new MvccTxn(startTs, this.#cm);
    const reader = new MvccReader(this.#engine, startTs);
    try {
      const out = body(txn, reader);
      this.#checkWriteSize(txn);
      txn.apply(this.#engine);
      if (txn.released.length > 0) this.onReleased?.(txn.released, commitTs);
      if (txn.newLocks.length > 0 || txn.newSharedLocks.length > 0)
        this.onAcquired?.([
          ...txn.newLocks.map(({ key, lock }) => lockInfoOf(lock, key)),
          ...txn.newSharedLocks.map(({ key, shared }) => sharedLocksInfoOf(shared, key)),
        ]);
      return out;
    } finally {
      txn.releaseGuards();
    }
  }

  /** KvPrewrite. Throws the error that fails the whole request. */
  prewrite(cmd: PrewriteCommand): PrewriteOutcome {
    return this.execute(cmd.startTs, (txn, reader) => this.#prewrite(cmd, txn, reader));
  }

  #prewrite(cmd: PrewriteCommand, txn: MvccTxn, reader: MvccReader): PrewriteOutcome {
    const pessimistic = cmd.forUpdateTs !== 0n;
    let secondaryKeys = cmd.secondaryKeys;
    let tryOnePc = cmd.tryOnePc;
    const props: TransactionProperties = {
      startTs: cmd.startTs,
      kind: pessimistic
        ? { kind: 'pessimistic', forUpdateTs: cmd.forUpdateTs }
        : { kind: 'optimistic', skipConstraintCheck: cmd.skipConstraintCheck },
      commitKind: tryOnePc
        ? { kind: 'onePc', maxCommitTs: cmd.maxCommitTs }
        : secondaryKeys !== undefined
          ? { kind: 'async', maxCommitTs: cmd.maxCommitTs }
          : { kind: 'twoPc' },
      primary: cmd.primary,
      txnSize: cmd.txnSize,
      lockTtl: cmd.lockTtl,
      minCommitTs: cmd.minCommitTs,
      isRetryRequest: cmd.isRetryRequest,
      assertionLevel: cmd.assertionLevel,
      txnSource: cmd.txnSource,
    };
    const expected = new Map<number, bigint>();
    for (const c of cmd.forUpdateTsConstraints) {
      if (c.index >= cmd.mutations.length) {
        throw txnOther(
          'src/storage/txn/commands/prewrite.rs:418',
          `prewrite request invalid: for_update_ts constraint set for index ${c.index} while ${cmd.mutations.length} mutations were given`,
        );
      }
      expected.set(c.index, c.expectedForUpdateTs);
    }
    let asyncCommitPk = secondaryKeys !== undefined && secondaryKeys.length > 0 ? cmd.primary : undefined;
    let finalMinCommitTs = 0n;
    const locks: MvccError[] = [];
    let assertionFailure: MvccError | undefined;
    const fallBackTo2pc = (): void => {
      props.commitKind = { kind: 'twoPc' };
      asyncCommitPk = undefined;
      secondaryKeys = undefined;
      tryOnePc = false;
      for (const l of txn.locksFor1pc.splice(0)) {
        txn.putLock(l.key, { ...l.lock, useOnePc: false }, !l.removePessimisticLock);
      }
      txn.releaseGuards();
      finalMinCommitTs = 0n;
    };
    for (const [i, m] of cmd.mutations.entries()) {
      const pessimisticAction = pessimistic
        ? (cmd.pessimisticActions[i] ?? PessimisticAction.SKIP_PESSIMISTIC_CHECK)
        : PessimisticAction.SKIP_PESSIMISTIC_CHECK;
      let secondaries: readonly Uint8Array[] | undefined = secondaryKeys === undefined ? undefined : [];
      if (asyncCommitPk !== undefined && bytesEqual(m.key, asyncCommitPk)) secondaries = secondaryKeys;
      const needMinCommitTs = secondaries !== undefined || tryOnePc;
      try {
        const ts = prewrite(txn, reader, props, m, {
          secondaryKeys: secondaries,
          pessimisticAction,
          expectedForUpdateTs: expected.get(i),
        });
        if (needMinCommitTs && ts === 0n) fallBackTo2pc();
        else if (needMinCommitTs && finalMinCommitTs < ts) finalMinCommitTs = ts;
      } catch (e) {
        if (!(e instanceof MvccError)) throw e;
        const d = e.detail;
        if (
          (d.kind === 'WriteConflict' && d.conflictCommitTs > d.startTs) ||
          d.kind === 'PessimisticLockNotFound'
        ) {
          return this.#committedOnError(e, txn, reader, m.key);
        }
        if (d.kind === 'CommitTsTooLarge') {
          const committed = committedRecord(reader, m.key);
          if (committed !== undefined) return this.#alreadyCommitted(txn, committed);
          fallBackTo2pc();
          continue;
        }
        if (d.kind === 'KeyIsLocked') {
          const committed = committedRecord(reader, m.key);
          if (committed !== undefined) return this.#alreadyCommitted(txn, committed);
          locks.push(e);
          continue;
        }
        if (d.kind === 'AssertionFailed') {
          assertionFailure ??= e;
          continue;
        }
        throw e;
      }
    }
    if (assertionFailure !== undefined) throw assertionFailure;
    const asyncCommitTs = secondaryKeys !== undefined ? finalMinCommitTs : 0n;
    if (locks.length > 0) {
      txn.clear();
      return { locks, minCommitTs: asyncCommitTs, onePcCommitTs: 0n };
    }
    let onePcCommitTs = 0n;
    if (tryOnePc) {
      onePcCommitTs = finalMinCommitTs;
      for (const { key, lock, removePessimisticLock } of txn.locksFor1pc.splice(0)) {
        const write = newWrite(
          writeTypeFromLockType(lock.lockType) as WriteType,
          txn.startTs,
          lock.shortValue,
        );
        write.lastChange = lock.lastChange;
        write.txnSource = lock.txnSource;
        txn.putWrite(key, onePcCommitTs, write);
        if (removePessimisticLock) txn.unlockKey(key, true, onePcCommitTs);
      }
    }
    return { locks: [], minCommitTs: asyncCommitTs, onePcCommitTs };
  }

  /** A prewrite of a transaction already committed succeeds without writing (`check_committed_record_on_err`). */
  #alreadyCommitted(txn: MvccTxn, commitTs: bigint): PrewriteOutcome {
    txn.clear();
    return { locks: [], minCommitTs: commitTs, onePcCommitTs: 0n };
  }

  #committedOnError(e: MvccError, txn: MvccTxn, reader: MvccReader, key: Uint8Array): PrewriteOutcome {
    const committed = committedRecord(reader, key);
    if (committed === undefined) throw e;
    return this.#alreadyCommitted(txn, committed);
  }

  /** KvCommit: returns the commit ts. */
  commit(keys: readonly Uint8Array[], startTs: bigint, commitTs: bigint, role?: CommitRole): bigint {
    if (commitTs <= startTs) mvccFail({ kind: 'InvalidTxnTso', startTs, commitTs });
    return this.execute(
      startTs,
      (txn, reader) => {
        for (const k of keys) commit(txn, reader, k, commitTs, role);
        return commitTs;
      },
      commitTs,
    );
  }

  /** KvBatchRollback. */
  batchRollback(keys: readonly Uint8Array[], startTs: bigint): void {
    this.execute(startTs, (txn, reader) => {
      for (const k of keys) cleanup(txn, reader, k, 0n, false);
    });
  }

  /**
   * KvResolveLock. With `keys` (the "lite" form) resolves those keys of `startTs`; otherwise every
   * lock in `[start, end)` whose transaction is in `txnStatus` (start ts -> commit ts, 0 = roll
   * back).
   */
  resolveLock(o: {
    readonly txnStatus: ReadonlyMap<bigint, bigint>;
    readonly keys?: readonly Uint8Array[];
    readonly start?: Uint8Array;
    readonly end?: Uint8Array;
  }): void {
    if (o.keys !== undefined && o.keys.length > 0) {
      const [[startTs, commitTs]] = [...o.txnStatus.entries()] as [[bigint, bigint]];
      this.execute(
        startTs,
        (txn, reader) => {
          for (const key of o.keys ?? []) {
            if (commitTs !== 0n) commit(txn, reader, key, commitTs);
            else cleanup(txn, reader, key, 0n, false);
          }
        },
        commitTs,
      );
      return;
    }
    // TiKV's read phase scans the lock CF only (`scan_locks_from_storage`): pessimistic locks live
    // in memory there (`pessimistic-txn.in-memory`, on by default), so a transaction-wide
    // resolve leaves them; clients remove them with KVPessimisticRollback.
    const filter = (_k: Uint8Array, l: Lock) => o.txnStatus.has(l.ts) && !isPessimisticLock(l);
    // TiKV alternates a read phase (`ResolveLockReadPhase`: the next RESOLVE_LOCK_BATCH_SIZE
    // locks from the scan key) and a write (`ResolveLock`: one write per batch, cut short once it
    // reaches MAX_TXN_WRITE_SIZE), so each write stays small and a region's resolve costs in
    // proportion to its locks; one write for the whole region made it superlinear.
    let scanKey = o.start;
    for (;;) {
      const { locks, hasRemain } = this.reader(0n).scanLocks(scanKey, o.end, filter, RESOLVE_LOCK_BATCH_SIZE);
      if (locks.length === 0) return;
      const stoppedAt = this.#resolveBatch(o.txnStatus, locks);
      if (stoppedAt !== undefined) scanKey = stoppedAt;
      else if (hasRemain) scanKey = (locks[locks.length - 1] as KeyLock).key;
      else return;
    }
  }

  /**
   * One `ResolveLock` write: commits or rolls back `locks` in one transaction, each at its own
   * start ts; stops after the lock whose changes take the write to MAX_TXN_WRITE_SIZE and returns
   * its key (where the next read phase starts), undefined when every lock was resolved.
   */
  #resolveBatch(txnStatus: ReadonlyMap<bigint, bigint>, locks: readonly KeyLock[]): Uint8Array | undefined {
    const txn = new MvccTxn(0n, this.#cm);
    const reader = new MvccReader(this.#engine, 0n);
    let stoppedAt: Uint8Array | undefined;
    let writeBytes = 0;
    let counted = 0;
    for (const { key, lock } of locks) {
      txn.startTs = lock.ts;
      reader.startTs = lock.ts;
      const commitTs = txnStatus.get(lock.ts) ?? 0n;
      // commit and cleanup find this transaction's entry of shared locks by its start ts.
      if (commitTs === 0n) {
        cleanup(txn, reader, key, 0n, false);
      } else if (commitTs > lock.ts) {
        try {
          commit(txn, reader, key, commitTs);
        } catch (e) {
          if (!(isMvccError(e, 'TxnLockNotFound') && isPessimisticLock(lock))) throw e;
        }
      } else {
        mvccFail({ kind: 'InvalidTxnTso', startTs: lock.ts, commitTs });
      }
      for (; counted < txn.modifies.length; counted++) {
        const m = txn.modifies[counted] as Modify;
        writeBytes += m.key.length + (m.op === 'put' ? m.value.length : 0);
      }
      if (writeBytes >= MAX_TXN_WRITE_SIZE) {
        stoppedAt = key;
        break;
      }
    }
    this.#checkWriteSize(txn);
    txn.apply(this.#engine);
    if (txn.released.length > 0) this.onReleased?.(txn.released, 0n);
    return stoppedAt;
  }

  #checkWriteSize(txn: MvccTxn): void {
    const size = txn.writeBytes;
    if (size > this.maxWriteBytes) throw new EntryTooLargeError(size);
  }

  /**
   * KVPessimisticRollback; without keys, every pessimistic lock of the transaction in
   * `[start, end)` (TiKV's read phase scans the region).
   */
  pessimisticRollback(
    keys: readonly Uint8Array[],
    startTs: bigint,
    forUpdateTs: bigint,
    start?: Uint8Array,
    end?: Uint8Array,
  ): void {
    const targets =
      keys.length > 0
        ? keys
        : this.reader(startTs)
            .scanLocks(start, end, (_k, l) => l.ts === startTs && isPessimisticLock(l), 0)
            .locks.map((l) => l.key);
    this.execute(startTs, (txn, reader) => {
      for (const key of targets) {
        const record = lockInTxn(txn, reader, key);
        const shared = isSharedLocks(record) ? record : undefined;
        const lock = isSharedLocks(record) ? record.locks.get(startTs) : record;
        if (
          lock !== undefined &&
          isPessimisticLock(lock) &&
          lock.ts === startTs &&
          lock.forUpdateTs <= forUpdateTs
        ) {
          if (shared !== undefined) txn.removeSharedLock(key, shared, 0n);
          else txn.unlockKey(key, true, 0n);
        }
      }
    });
  }

  /**
   * KvPessimisticLock without waiting. When a key is locked by another transaction nothing is
   * written and `lockedBy` names the lock (the caller waits for it or reports it).
   */
  acquirePessimisticLock(cmd: PessimisticLockCommand): PessimisticLockOutcome {
    if (cmd.allowLockWithConflict && cmd.keys.length > 1) {
      throw txnOther(
        'src/storage/txn/commands/acquire_pessimistic_lock.rs:85',
        'multiple keys in a single request with allowed_lock_with_conflict set is not allowed',
      );
    }
    return this.execute(cmd.startTs, (txn, reader): PessimisticLockOutcome => {
      const results: PessimisticLockKeyResult[] = [];
      for (const [i, { key, shouldNotExist, shared }] of cmd.keys.entries()) {
        try {
          results.push(acquirePessimisticLock(txn, reader, key, { ...cmd, shouldNotExist, shared }));
        } catch (e) {
          if (isMvccError(e, 'KeyIsLocked')) {
            txn.clear();
            return { results: [{ kind: 'waiting' }], lockedBy: { info: e.detail.info, keyIndex: i } };
          }
          if (e instanceof NotInShrinkModeError) {
            // TiKV drops the request's other changes and writes the shrink-only locks alone.
            txn.clear();
            const next = cloneSharedLocks(e.shared);
            next.shrinkOnly = true;
            txn.putSharedLocks(key, next, false);
            return { results: [], shrunk: sharedLocksInfoOf(next, key) };
          }
          throw e;
        }
      }
      return { results };
    });
  }

  /**
   * KvScanLock: locks with start ts <= `maxVersion`, which raises max_ts (checked against the
   * exact limit unless `requestOrigin` is TiDB's).
   *
   * @throws InvalidMaxTsUpdateError when `maxVersion` exceeds the limit (and the action is 'error')
   */
  scanLock(
    maxVersion: bigint,
    start: Uint8Array,
    end: Uint8Array,
    limit: number,
    requestOrigin: kvrpcpb.RequestOrigin = kvrpcpb.RequestOrigin.RequestOriginUnknown,
  ): kvrpcpb.LockInfo[] {
    this.#cm.updateMaxTs(maxVersion, requestOrigin);
    const out: kvrpcpb.LockInfo[] = [];
    let wrapper: kvrpcpb.LockInfo | undefined;
    for (const { key, lock, shared } of this.reader(maxVersion).scanLocks(
      start,
      end,
      (_k, l) => l.ts <= maxVersion,
      limit,
    ).locks) {
      if (shared !== true) {
        wrapper = undefined;
        out.push(lockInfoOf(lock, key));
        continue;
      }
      // TiKV answers a key's shared locks that pass the filter as one SharedLock wrapper.
      if (wrapper === undefined || !bytesEqual(wrapper.key, key)) {
        wrapper = sharedLocksInfoOf(newSharedLocks(), key);
        out.push(wrapper);
      }
      wrapper.sharedLockInfos.push(lockInfoOf(lock, key));
    }
    return out;
  }

  /** KvDeleteRange: removes every CF's data of the raw range `[start, end)` (empty end = no bound). */
  deleteRange(start: Uint8Array, end: Uint8Array): void {
    const lower = encodeTxnKey(start);
    const upper = end.length === 0 ? new Uint8Array(0) : encodeTxnKey(end);
    for (const cf of COLUMN_FAMILIES) this.#engine.cf(cf).deleteRange(lower, upper);
  }

  /** MvccGetByKey. */
  mvccByKey(key: Uint8Array): kvrpcpb.MvccInfo {
    return mvccInfoOf(this.reader(0n), key);
  }

  /** MvccGetByStartTs: the first key the transaction wrote, with its MVCC info. */
  mvccByStartTs(startTs: bigint): { key: Uint8Array; info: kvrpcpb.MvccInfo } | undefined {
    const reader = this.reader(startTs);
    const key = reader.seekTs(startTs);
    if (key === undefined) return undefined;
    return { key, info: mvccInfoOf(reader, key) };
  }
}

/** The commit ts of this transaction on a key when it is committed there (`check_committed_record_on_err`). */
export function committedRecord(reader: MvccReader, key: Uint8Array): bigint | undefined {
  const r = reader.getTxnCommitRecord(key);
  return r.kind === 'single' && r.write.writeType !== WriteType.Rollback ? r.commitTs : undefined;
}
