import { kvrpcpb } from '@tikv/proto';
import { cloneLock, isPessimisticLock, type Lock, LockType, lockInfoOf, newLock } from '../lock-record.js';
import { mvccFail } from '../mvcc-error.js';
import type { CommittedWrite, MvccReader } from '../mvcc-reader.js';
import type { MvccTxn } from '../mvcc-txn.js';
import {
  isShortValue,
  LAST_CHANGE_NOT_EXIST,
  LAST_CHANGE_UNKNOWN,
  type LastChange,
} from '../record-codec.js';
import { cloneSharedLocks, isSharedLocks, type SharedLocks, sharedLocksInfoOf } from '../shared-locks.js';
import { encodeTxnKey, TS_MAX } from '../txn-key.js';
import { type Write, WriteType } from '../write-record.js';
import { checkDataConstraint, nextLastChangeInfo } from './common.js';

const { Op, Assertion, AssertionLevel } = kvrpcpb;
const PessimisticAction = kvrpcpb.PrewriteRequest_PessimisticAction;
const Reason = kvrpcpb.WriteConflict_Reason;

/** One mutation of a prewrite: its op (Put/Del/Lock/Insert/CheckNotExists), key, value, assertion. */
export interface PrewriteMutationInput {
  readonly op: kvrpcpb.Op;
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly assertion: kvrpcpb.Assertion;
}

/** How the transaction commits: 2PC, async commit or 1PC (with its `max_commit_ts`). */
export type CommitKind =
  | { readonly kind: 'twoPc' }
  | { readonly kind: 'async'; readonly maxCommitTs: bigint }
  | { readonly kind: 'onePc'; readonly maxCommitTs: bigint };

/** `TransactionProperties`: what every mutation of one prewrite shares. */
export interface TransactionProperties {
  readonly startTs: bigint;
  /** Optimistic (with `skip_constraint_check`) or pessimistic (with `for_update_ts`). */
  readonly kind:
    | { readonly kind: 'optimistic'; readonly skipConstraintCheck: boolean }
    | { readonly kind: 'pessimistic'; readonly forUpdateTs: bigint };
  commitKind: CommitKind;
  readonly primary: Uint8Array;
  readonly txnSize: bigint;
  readonly lockTtl: bigint;
  readonly minCommitTs: bigint;
  readonly isRetryRequest: boolean;
  readonly assertionLevel: kvrpcpb.AssertionLevel;
  readonly txnSource: bigint;
}

type LockStatus =
  | { readonly kind: 'locked'; readonly minCommitTs: bigint }
  | { readonly kind: 'pessimistic'; readonly forUpdateTs: bigint }
  | { readonly kind: 'none' };

function isPessimisticProps(p: TransactionProperties): boolean {
  return p.kind.kind === 'pessimistic';
}

function forUpdateTsOf(p: TransactionProperties): bigint {
  return p.kind.kind === 'pessimistic' ? p.kind.forUpdateTs : 0n;
}

function lockTypeOf(op: kvrpcpb.Op): LockType | undefined {
  switch (op) {
    case Op.Put:
    case Op.Insert:
      return LockType.Put;
    case Op.Del:
      return LockType.Delete;
    case Op.Lock:
    case Op.SharedLock:
      return LockType.Lock;
    case Op.CheckNotExists:
      return undefined;
    default:
      return mvccFail({ kind: 'Other', message: `invalid op in prewrite: ${op}` });
  }
}

class PrewriteMutation {
  readonly key: Uint8Array;
  readonly value: Uint8Array | undefined;
  readonly op: kvrpcpb.Op;
  readonly lockType: LockType | undefined;
  readonly shouldNotExist: boolean;
  readonly shouldNotWrite: boolean;
  readonly assertion: kvrpcpb.Assertion;
  minCommitTs: bigint;
  lockTtl: bigint;
  lastChange: LastChange = LAST_CHANGE_UNKNOWN;

  constructor(
    m: PrewriteMutationInput,
    readonly secondaryKeys: readonly Uint8Array[] | undefined,
    readonly pessimisticAction: kvrpcpb.PrewriteRequest_PessimisticAction,
    readonly props: TransactionProperties,
  ) {
    this.shouldNotWrite = m.op === Op.CheckNotExists;
    if (isPessimisticProps(props) && this.shouldNotWrite) {
      mvccFail({ kind: 'Other', message: 'cannot handle checkNotExists in pessimistic prewrite' });
    }
    this.shouldNotExist = m.op === Op.Insert || m.op === Op.CheckNotExists;
    this.op = m.op;
    this.lockType = lockTypeOf(m.op);
    this.assertion = m.assertion;
    this.key = m.key;
    this.value = m.op === Op.Put || m.op === Op.Insert ? m.value : undefined;
    this.minCommitTs = props.minCommitTs;
    this.lockTtl = props.lockTtl;
  }

  lockInfo(lock: Lock): kvrpcpb.LockInfo {
    const info = lockInfoOf(lock, this.key);
    if (isPessimisticProps(this.props)) info.lockTtl = 0n;
    return info;
  }

  checkLock(lock: Lock, expectedForUpdateTs: bigint | undefined, generation: bigint): LockStatus {
    const startTs = this.props.startTs;
    if (lock.ts !== startTs) {
      if (this.pessimisticAction === PessimisticAction.DO_PESSIMISTIC_CHECK) {
        mvccFail({ kind: 'PessimisticLockNotFound', startTs, key: this.key, reason: 'LockTsMismatch' });
      }
      mvccFail({ kind: 'KeyIsLocked', info: this.lockInfo(lock) });
    }
    this.lastChange = lock.lastChange;
    if (isPessimisticLock(lock)) {
      if (!isPessimisticProps(this.props)) {
        mvccFail({ kind: 'LockTypeNotMatch', startTs, key: this.key, pessimistic: true });
      }
      if (expectedForUpdateTs !== undefined && lock.forUpdateTs !== expectedForUpdateTs) {
        mvccFail({
          kind: 'PessimisticLockNotFound',
          startTs,
          key: this.key,
          reason: 'LockForUpdateTsMismatch',
        });
      }
      if (lock.ttl > this.lockTtl) this.lockTtl = lock.ttl;
      if (lock.minCommitTs > this.minCommitTs) this.minCommitTs = lock.minCommitTs;
      return { kind: 'pessimistic', forUpdateTs: lock.forUpdateTs };
    }
    if (generation > 0n && lock.generation >= generation) {
      mvccFail({ kind: 'GenerationOutOfOrder', generation, key: this.key });
    }
    if (lock.generation > 0n && this.shouldNotExist && lock.lockType === LockType.Put) {
      mvccFail({ kind: 'AlreadyExist', key: this.key, existingStartTs: lock.ts });
    }
    return { kind: 'locked', minCommitTs: lock.useAsyncCommit ? lock.minCommitTs : 0n };
  }

  writeConflict(write: Write, commitTs: bigint, reason: kvrpcpb.WriteConflict_Reason): never {
    return mvccFail({
      kind: 'WriteConflict',
      startTs: this.props.startTs,
      conflictStartTs: write.startTs,
      conflictCommitTs: commitTs,
      key: this.key,
      primary: this.props.primary,
      reason,
    });
  }

  checkForNewerVersion(reader: MvccReader): CommittedWrite | undefined {
    let seekTs = TS_MAX;
    const startTs = this.props.startTs;
    for (;;) {
      const found = reader.seekWrite(this.key, seekTs);
      if (found === undefined) break;
      const { commitTs, write } = found;
      if (commitTs === startTs && (write.writeType === WriteType.Rollback || write.hasOverlappedRollback)) {
        this.writeConflict(write, commitTs, Reason.SelfRolledBack);
      }
      if (seekTs === TS_MAX)
        this.lastChange = nextLastChangeInfo(this.key, write, reader.startTs, reader, commitTs);
      const kind = this.props.kind;
      if (kind.kind === 'optimistic') {
        if (commitTs > startTs) this.writeConflict(write, commitTs, Reason.Optimistic);
      } else {
        if (this.pessimisticAction === PessimisticAction.DO_CONSTRAINT_CHECK && commitTs > startTs) {
          this.writeConflict(write, commitTs, Reason.LazyUniquenessCheck);
        }
        if (commitTs > kind.forUpdateTs) {
          if (write.writeType === WriteType.Rollback) {
            seekTs = commitTs - 1n;
            continue;
          }
          mvccFail({ kind: 'PessimisticLockNotFound', startTs, key: this.key, reason: 'NonLockKeyConflict' });
        }
      }
      checkDataConstraint(reader, this.shouldNotExist, write, commitTs, this.key);
      return found;
    }
    if (seekTs === TS_MAX) this.lastChange = LAST_CHANGE_NOT_EXIST;
    return undefined;
  }

  skipConstraintCheck(): boolean {
    const kind = this.props.kind;
    if (kind.kind === 'optimistic') return kind.skipConstraintCheck;
    switch (this.pessimisticAction) {
      case PessimisticAction.DO_PESSIMISTIC_CHECK:
        return true;
      case PessimisticAction.DO_CONSTRAINT_CHECK:
        return false;
      default:
        return !this.props.isRetryRequest;
    }
  }

  needMinCommitTs(): boolean {
    return this.props.commitKind.kind !== 'twoPc';
  }

  assertionFailed(existingStartTs: bigint, existingCommitTs: bigint): never {
    return mvccFail({
      kind: 'AssertionFailed',
      startTs: this.props.startTs,
      key: this.key,
      assertion: this.assertion,
      existingStartTs,
      existingCommitTs,
    });
  }

  /** `check_assertion`; returns the write it reloaded, if it reloaded one. */
  checkAssertion(
    reader: MvccReader,
    loaded: CommittedWrite | undefined,
    writeLoaded: boolean,
  ): { write: CommittedWrite | undefined; reloaded: boolean } {
    if (this.assertion === Assertion.None || this.props.assertionLevel === AssertionLevel.Off) {
      return { write: undefined, reloaded: false };
    }
    if (this.props.assertionLevel !== AssertionLevel.Strict && !writeLoaded) {
      return { write: undefined, reloaded: false };
    }
    let write = loaded;
    if (
      writeLoaded &&
      write !== undefined &&
      write.write.gcFence !== undefined &&
      write.write.gcFence !== 0n
    ) {
      write = undefined;
    }
    const needReload =
      !writeLoaded ||
      (write !== undefined &&
        write.write.writeType !== WriteType.Put &&
        write.write.writeType !== WriteType.Delete);
    let reloaded = false;
    let reloadedWrite: CommittedWrite | undefined;
    if (needReload) {
      const reloadTs = write === undefined ? TS_MAX : write.commitTs;
      reloadedWrite = reader.getWriteWithCommitTs(this.key, reloadTs);
      write = reloadedWrite;
      reloaded = true;
    }
    let failed: [bigint, bigint] | undefined;
    if (this.assertion === Assertion.Exist && write === undefined) failed = [0n, 0n];
    else if (this.assertion === Assertion.Exist && write?.write.writeType === WriteType.Delete) {
      failed = [write.write.startTs, write.commitTs];
    } else if (this.assertion === Assertion.NotExist && write?.write.writeType === WriteType.Put) {
      failed = [write.write.startTs, write.commitTs];
    }
    if (failed !== undefined) {
      // A conflict found by the constraint check explains the failure better than the assertion.
      if (this.skipConstraintCheck()) this.checkForNewerVersion(reader);
      this.assertionFailed(failed[0], failed[1]);
    }
    return { write: reloadedWrite, reloaded };
  }

  writeLock(
    lockStatus: LockStatus,
    txn: MvccTxn,
    isNewLock: boolean,
    generation: bigint,
    shared?: SharedLocks,
  ): bigint {
    let tryOnePc = this.props.commitKind.kind === 'onePc';
    const forUpdateTs =
      lockStatus.kind === 'pessimistic'
        ? forUpdateTsOf(this.props) > lockStatus.forUpdateTs
          ? forUpdateTsOf(this.props)
          : lockStatus.forUpdateTs
        : forUpdateTsOf(this.props);
    const lock = newLock({
      lockType: this.lockType as LockType,
      primary: this.props.primary,
      ts: this.props.startTs,
      ttl: this.lockTtl,
      forUpdateTs,
      txnSize: this.props.txnSize,
      minCommitTs: this.minCommitTs,
      txnSource: this.props.txnSource,
      generation,
    });
    if (this.lockType === LockType.Lock) lock.lastChange = this.lastChange;
    if (this.value !== undefined) {
      if (isShortValue(this.value)) lock.shortValue = this.value;
      else txn.putValue(this.key, this.props.startTs, this.value);
    }
    if (this.secondaryKeys !== undefined) {
      lock.useAsyncCommit = true;
      lock.secondaries = [...this.secondaryKeys];
    } else if (tryOnePc) {
      lock.useOnePc = true;
    }
    let finalMinCommitTs = 0n;
    let tooLarge: unknown;
    if (lock.useAsyncCommit || tryOnePc) {
      try {
        finalMinCommitTs = asyncCommitTimestamps(this.key, lock, this.props, txn);
      } catch (e) {
        // TiKV still writes the lock, as a plain 2PC lock, and then reports CommitTsTooLarge so
        // the command falls back to 2PC for the remaining mutations.
        tryOnePc = false;
        lock.useOnePc = false;
        lock.useAsyncCommit = false;
        lock.secondaries = [];
        tooLarge = e;
      }
    }
    if (shared !== undefined) {
      // The prewritten lock replaces this transaction's entry in the key's shared locks.
      if (generation > 0n) {
        mvccFail({ kind: 'Other', message: 'shared lock prewrite does not support non-zero generation' });
      }
      if (tryOnePc)
        mvccFail({ kind: 'Other', message: 'shared lock prewrite is incompatible with one-phase commit' });
      if (lock.useAsyncCommit) {
        mvccFail({
          kind: 'Other',
          message: 'shared lock prewrite cannot use async-commit, falling back to 2PC',
        });
      }
      const next = cloneSharedLocks(shared);
      next.locks.set(lock.ts, lock);
      txn.putSharedLocks(this.key, next, false);
    } else if (tryOnePc) txn.putLocksFor1pc(this.key, lock, lockStatus.kind === 'pessimistic');
    else txn.putLock(this.key, lock, isNewLock);
    if (tooLarge !== undefined) throw tooLarge;
    return finalMinCommitTs;
  }
}

/**
 * `async_commit_timestamps`: min_commit_ts = max(max_ts, start_ts, for_update_ts) + 1 (and at
 * least the lock's own), published in the memory lock table; CommitTsTooLarge past max_commit_ts.
 */
function asyncCommitTimestamps(
  rawKey: Uint8Array,
  lock: Lock,
  props: TransactionProperties,
  txn: MvccTxn,
): bigint {
  const maxTs = txn.cm.maxTs;
  let minCommitTs = maxTs > props.startTs ? maxTs : props.startTs;
  const forUpdateTs = forUpdateTsOf(props);
  if (forUpdateTs > minCommitTs) minCommitTs = forUpdateTs;
  minCommitTs += 1n;
  if (lock.minCommitTs > minCommitTs) minCommitTs = lock.minCommitTs;
  const maxCommitTs = props.commitKind.kind === 'twoPc' ? 0n : props.commitKind.maxCommitTs;
  if (maxCommitTs !== 0n && minCommitTs > maxCommitTs) {
    mvccFail({ kind: 'CommitTsTooLarge', startTs: props.startTs, minCommitTs, maxCommitTs });
  }
  lock.minCommitTs = minCommitTs;
  txn.guards.push(txn.cm.lockKey(encodeTxnKey(rawKey), rawKey, cloneLock(lock)));
  return minCommitTs;
}

function amendPessimisticLock(mutation: PrewriteMutation, reader: MvccReader): void {
  const found = reader.seekWrite(mutation.key, TS_MAX);
  if (found !== undefined) {
    if (found.commitTs >= reader.startTs) {
      mvccFail({
        kind: 'PessimisticLockNotFound',
        startTs: reader.startTs,
        key: mutation.key,
        reason: 'LockMissingAmendFail',
      });
    }
    mutation.lastChange = nextLastChangeInfo(
      mutation.key,
      found.write,
      reader.startTs,
      reader,
      found.commitTs,
    );
  } else {
    mutation.lastChange = LAST_CHANGE_NOT_EXIST;
  }
  mutation.checkAssertion(reader, found, true);
}

/** One mutation's prewrite request parameters besides the shared properties. */
export interface PrewriteMutationOptions {
  /** The secondaries to store in the lock: the full list on the async-commit primary, [] on others. */
  readonly secondaryKeys: readonly Uint8Array[] | undefined;
  readonly pessimisticAction: kvrpcpb.PrewriteRequest_PessimisticAction;
  /** From `for_update_ts_constraints`: the for_update_ts the pessimistic lock must have. */
  readonly expectedForUpdateTs: bigint | undefined;
  /** Pipelined DML flush generation (0 for ordinary prewrites). */
  readonly generation?: bigint;
}

/**
 * TiKV's `prewrite` action for one mutation: checks the existing lock, write conflicts, data
 * constraints and assertions, then writes the lock (or a 1PC lock to commit at the end).
 * Returns the mutation's min_commit_ts (0 unless async commit / 1PC).
 */
export function prewrite(
  txn: MvccTxn,
  reader: MvccReader,
  props: TransactionProperties,
  input: PrewriteMutationInput,
  o: PrewriteMutationOptions,
): bigint {
  const generation = o.generation ?? 0n;
  const mutation = new PrewriteMutation(input, o.secondaryKeys, o.pessimisticAction, props);
  if (mutation.shouldNotExist) txn.cm.updateMaxTs(props.startTs);
  let lockAmended = false;
  let lockStatus: LockStatus = { kind: 'none' };
  const lock = reader.loadLock(mutation.key);
  const isSharedMutation = input.op === Op.SharedLock;
  let shared: SharedLocks | undefined;
  if (isSharedLocks(lock)) {
    const own = lock.locks.get(props.startTs);
    if (own === undefined) {
      if (isSharedMutation) {
        mvccFail({
          kind: 'PessimisticLockNotFound',
          startTs: props.startTs,
          key: mutation.key,
          reason: 'LockMissingAmendFail',
        });
      }
      // Another transaction's shared locks block any other prewrite.
      mvccFail({ kind: 'KeyIsLocked', info: sharedLocksInfoOf(lock, mutation.key) });
    }
    if (!isSharedMutation)
      mvccFail({ kind: 'Other', message: 'use Op::SharedLock to prewrite on a shared lock' });
    lockStatus = mutation.checkLock(own, o.expectedForUpdateTs, generation);
    shared = lock;
  } else if (lock !== undefined) {
    if (isSharedMutation) mvccFail({ kind: 'KeyIsLocked', info: lockInfoOf(lock, mutation.key) });
    lockStatus = mutation.checkLock(lock, o.expectedForUpdateTs, generation);
  } else if (isSharedMutation && o.pessimisticAction === PessimisticAction.DO_PESSIMISTIC_CHECK) {
    mvccFail({
      kind: 'PessimisticLockNotFound',
      startTs: props.startTs,
      key: mutation.key,
      reason: 'LockMissingAmendFail',
    });
  } else if (o.pessimisticAction === PessimisticAction.DO_PESSIMISTIC_CHECK) {
    amendPessimisticLock(mutation, reader);
    lockAmended = true;
  }
  if (generation === 0n && lockStatus.kind === 'locked') return lockStatus.minCommitTs;
  let prevWrite: CommittedWrite | undefined;
  let prevWriteLoaded = false;
  if (!mutation.skipConstraintCheck()) {
    prevWrite = mutation.checkForNewerVersion(reader);
    prevWriteLoaded = true;
  }
  const isSubsequentFlush = generation > 0n && lockStatus.kind === 'locked';
  if (!lockAmended && !isSubsequentFlush) mutation.checkAssertion(reader, prevWrite, prevWriteLoaded);
  if (mutation.shouldNotWrite) {
    txn.cm.updateMaxTs(props.startTs);
    if (!mutation.needMinCommitTs()) return 0n;
    return props.minCommitTs > props.startTs + 1n ? props.minCommitTs : props.startTs + 1n;
  }
  const isNewLock = o.pessimisticAction !== PessimisticAction.DO_PESSIMISTIC_CHECK || lockAmended;
  return mutation.writeLock(lockStatus, txn, isNewLock, generation, shared);
}
