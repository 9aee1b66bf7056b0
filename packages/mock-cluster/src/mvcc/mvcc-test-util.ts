/* Test helpers that mirror TiKV's `must_*` functions (src/storage/txn/actions/tests.rs and the
 * action modules' test helpers), so the ported tests read like the originals. */
import { kvrpcpb } from '@tikv/proto';
import { KvEngine } from '../storage/kv-engine.js';
import { acquirePessimisticLock, type PessimisticLockKeyResult } from './actions/acquire-pessimistic-lock.js';
import { checkTxnStatusLockExists } from './actions/check-txn-status.js';
import { cleanup } from './actions/cleanup.js';
import { commit } from './actions/commit.js';
import type { TxnStatus } from './actions/common.js';
import { type PrewriteMutationInput, prewrite, type TransactionProperties } from './actions/prewrite.js';
import { checkTxnStatusMissingLock, missingLockActionFor } from './actions/rollback.js';
import { ConcurrencyManager } from './concurrency-manager.js';
import type { Lock } from './lock-record.js';
import { MvccError } from './mvcc-error.js';
import { MvccReader } from './mvcc-reader.js';
import { MvccTxn } from './mvcc-txn.js';
import { PointGetter } from './point-getter.js';
import { isSharedLocks, type SharedLocks } from './shared-locks.js';
import { type Write, WriteType } from './write-record.js';

export const b = (s: string): Uint8Array => Buffer.from(s);
export const ts = (n: number | bigint): bigint => BigInt(n);

/** Options of {@link MvccTestEngine.prewrite}. */
export interface TestPrewriteOptions {
  readonly op?: kvrpcpb.Op;
  readonly value?: string | Uint8Array;
  readonly secondaryKeys?: Uint8Array[];
  readonly pessimisticAction?: kvrpcpb.PrewriteRequest_PessimisticAction;
  readonly expectedForUpdateTs?: bigint;
  readonly lockTtl?: number;
  readonly forUpdateTs?: number;
  readonly txnSize?: number;
  readonly minCommitTs?: number;
  readonly maxCommitTs?: number;
  readonly isRetryRequest?: boolean;
  readonly assertion?: kvrpcpb.Assertion;
  readonly assertionLevel?: kvrpcpb.AssertionLevel;
  readonly onePc?: boolean;
  readonly skipConstraintCheck?: boolean;
  /** max_ts of the concurrency manager (TiKV's tests use the start ts). */
  readonly maxTs?: number;
}

function bytes(v: string | Uint8Array): Uint8Array {
  return typeof v === 'string' ? Buffer.from(v) : v;
}

/** An engine plus the `must_*` operations TiKV's tests use, each in its own MVCC txn. */
export class MvccTestEngine {
  readonly engine = new KvEngine();

  #run<T>(startTs: bigint, body: (txn: MvccTxn, reader: MvccReader) => T, maxTs = startTs): T {
    const txn = new MvccTxn(startTs, new ConcurrencyManager(maxTs));
    const out = body(txn, new MvccReader(this.engine, startTs));
    if (txn.locksFor1pc.length > 0) throw new Error('use prewrite1pc for 1PC');
    txn.apply(this.engine);
    return out;
  }

  /** Prewrites one mutation; returns its min_commit_ts. */
  prewrite(key: string, pk: string, startTs: number, o: TestPrewriteOptions = {}): bigint {
    const start = BigInt(startTs);
    const forUpdateTs = BigInt(o.forUpdateTs ?? 0);
    const props: TransactionProperties = {
      startTs: start,
      kind:
        forUpdateTs === 0n
          ? { kind: 'optimistic', skipConstraintCheck: o.skipConstraintCheck ?? false }
          : { kind: 'pessimistic', forUpdateTs },
      commitKind:
        o.onePc === true
          ? { kind: 'onePc', maxCommitTs: BigInt(o.maxCommitTs ?? 0) }
          : o.secondaryKeys !== undefined
            ? { kind: 'async', maxCommitTs: BigInt(o.maxCommitTs ?? 0) }
            : { kind: 'twoPc' },
      primary: b(pk),
      txnSize: BigInt(o.txnSize ?? 0),
      lockTtl: BigInt(o.lockTtl ?? 0),
      minCommitTs: BigInt(o.minCommitTs ?? 0),
      isRetryRequest: o.isRetryRequest ?? false,
      assertionLevel: o.assertionLevel ?? kvrpcpb.AssertionLevel.Off,
      txnSource: 0n,
    };
    const m: PrewriteMutationInput = {
      op: o.op ?? kvrpcpb.Op.Put,
      key: b(key),
      value: bytes(o.value ?? ''),
      assertion: o.assertion ?? kvrpcpb.Assertion.None,
    };
    return this.#run(
      start,
      (txn, reader) => {
        const r = prewrite(txn, reader, props, m, {
          secondaryKeys: o.secondaryKeys,
          pessimisticAction:
            o.pessimisticAction ?? kvrpcpb.PrewriteRequest_PessimisticAction.SKIP_PESSIMISTIC_CHECK,
          expectedForUpdateTs: o.expectedForUpdateTs,
        });
        for (const l of txn.locksFor1pc.splice(0)) txn.putLock(l.key, l.lock, true);
        return r;
      },
      BigInt(o.maxTs ?? startTs),
    );
  }

  /** `must_prewrite_put`. */
  prewritePut(
    key: string,
    value: string | Uint8Array,
    pk: string,
    startTs: number,
    o: TestPrewriteOptions = {},
  ): bigint {
    return this.prewrite(key, pk, startTs, { ...o, op: kvrpcpb.Op.Put, value });
  }

  /** `must_prewrite_delete`. */
  prewriteDelete(key: string, pk: string, startTs: number, o: TestPrewriteOptions = {}): bigint {
    return this.prewrite(key, pk, startTs, { ...o, op: kvrpcpb.Op.Del });
  }

  /** `must_prewrite_lock`. */
  prewriteLock(key: string, pk: string, startTs: number, o: TestPrewriteOptions = {}): bigint {
    return this.prewrite(key, pk, startTs, { ...o, op: kvrpcpb.Op.Lock });
  }

  /** `must_pessimistic_prewrite_put` (DoPessimisticCheck). */
  pessimisticPrewritePut(
    key: string,
    value: string,
    pk: string,
    startTs: number,
    forUpdateTs: number,
    o: TestPrewriteOptions = {},
  ): bigint {
    return this.prewritePut(key, value, pk, startTs, {
      pessimisticAction: kvrpcpb.PrewriteRequest_PessimisticAction.DO_PESSIMISTIC_CHECK,
      ...o,
      forUpdateTs,
    });
  }

  /** The MvccError a call throws (fails the test when it succeeds). */
  err(fn: () => unknown): MvccError {
    try {
      fn();
    } catch (e) {
      if (e instanceof MvccError) return e;
      throw e;
    }
    throw new Error('expected an MvccError');
  }

  /** `must_commit`. */
  commit(key: string, startTs: number, commitTs: number): void {
    this.#run(BigInt(startTs), (txn, reader) => commit(txn, reader, b(key), BigInt(commitTs)));
  }

  /** `must_rollback` (cleanup with current_ts 0). */
  rollback(key: string, startTs: number, protect: boolean): void {
    this.#run(BigInt(startTs), (txn, reader) => cleanup(txn, reader, b(key), 0n, protect));
  }

  /** `must_cleanup` with a current ts. */
  cleanup(key: string, startTs: number, currentTs: bigint | number): void {
    this.#run(BigInt(startTs), (txn, reader) => cleanup(txn, reader, b(key), BigInt(currentTs), true));
  }

  /** `must_acquire_pessimistic_lock` and its variants. */
  acquirePessimisticLock(
    key: string,
    pk: string,
    startTs: number,
    forUpdateTs: number,
    o: {
      readonly ttl?: number;
      readonly needValue?: boolean;
      readonly checkExistence?: boolean;
      readonly shouldNotExist?: boolean;
      readonly lockOnlyIfExists?: boolean;
      readonly allowLockWithConflict?: boolean;
      readonly minCommitTs?: number;
      readonly shared?: boolean;
    } = {},
  ): PessimisticLockKeyResult {
    return this.#run(BigInt(startTs), (txn, reader) =>
      acquirePessimisticLock(txn, reader, b(key), {
        primary: b(pk),
        shouldNotExist: o.shouldNotExist ?? false,
        lockTtl: BigInt(o.ttl ?? 0),
        forUpdateTs: BigInt(forUpdateTs),
        needValue: o.needValue ?? false,
        needCheckExistence: o.checkExistence ?? false,
        minCommitTs: BigInt(o.minCommitTs ?? 0),
        lockOnlyIfExists: o.lockOnlyIfExists ?? false,
        allowLockWithConflict: o.allowLockWithConflict ?? false,
        shared: o.shared ?? false,
      }),
    );
  }

  /** check_txn_status through the command's logic. */
  checkTxnStatus(
    pk: string,
    lockTs: number,
    callerStartTs: bigint | number,
    currentTs: bigint | number,
    o: {
      readonly rollbackIfNotExist?: boolean;
      readonly forceSyncCommit?: boolean;
      readonly resolvingPessimisticLock?: boolean;
      readonly verifyIsPrimary?: boolean;
    } = {},
  ): TxnStatus {
    const opts = {
      currentTs: BigInt(currentTs),
      callerStartTs: BigInt(callerStartTs),
      forceSyncCommit: o.forceSyncCommit ?? false,
      resolvingPessimisticLock: o.resolvingPessimisticLock ?? false,
      verifyIsPrimary: o.verifyIsPrimary ?? false,
      rollbackIfNotExist: o.rollbackIfNotExist ?? false,
    };
    return this.#run(BigInt(lockTs), (txn, reader) => {
      const found = reader.loadLock(b(pk));
      const lock = isSharedLocks(found) ? undefined : found;
      if (lock !== undefined && lock.ts === BigInt(lockTs)) {
        return checkTxnStatusLockExists(txn, reader, b(pk), lock, opts).status;
      }
      return checkTxnStatusMissingLock(
        txn,
        reader,
        b(pk),
        lock,
        missingLockActionFor(opts.rollbackIfNotExist),
        opts.resolvingPessimisticLock,
      );
    });
  }

  /** `must_get` / `must_get_none` through the point getter at SI. */
  get(key: string, readTs: number | bigint, isolation = kvrpcpb.IsolationLevel.SI): Uint8Array | undefined {
    return new PointGetter(this.engine, { ts: BigInt(readTs), isolation }).get(b(key));
  }

  /** The string value at a ts, for compact assertions. */
  getString(key: string, readTs: number | bigint): string | undefined {
    const v = this.get(key, readTs);
    return v === undefined ? undefined : Buffer.from(v).toString();
  }

  /** `must_locked`: the lock of `startTs`, failing otherwise. */
  locked(key: string, startTs: number): Lock {
    const lock = new MvccReader(this.engine, 0n).loadLock(b(key));
    if (lock === undefined || isSharedLocks(lock) || lock.ts !== BigInt(startTs))
      throw new Error(`${key} is not locked by ${startTs}`);
    return lock;
  }

  /** The exclusive lock of a key, if any. */
  lockOf(key: string): Lock | undefined {
    const lock = new MvccReader(this.engine, 0n).loadLock(b(key));
    return isSharedLocks(lock) ? undefined : lock;
  }

  /** The shared locks of a key, if it has them. */
  sharedLocksOf(key: string): SharedLocks | undefined {
    const lock = new MvccReader(this.engine, 0n).loadLock(b(key));
    return isSharedLocks(lock) ? lock : undefined;
  }

  /** `must_written`: the write record at commitTs with the given start ts and type. */
  written(key: string, startTs: number, commitTs: number, type: WriteType): Write {
    const w = this.writeAt(key, commitTs);
    if (w === undefined || w.startTs !== BigInt(startTs) || w.writeType !== type) {
      throw new Error(
        `${key}@${commitTs} is not a ${type} of ${startTs}: ${JSON.stringify(w, (_k, v) => (typeof v === 'bigint' ? String(v) : v))}`,
      );
    }
    return w;
  }

  /** The write record stored exactly at `commitTs`, if any. */
  writeAt(key: string, commitTs: number | bigint): Write | undefined {
    const found = new MvccReader(this.engine, 0n).seekWrite(b(key), BigInt(commitTs));
    return found !== undefined && found.commitTs === BigInt(commitTs) ? found.write : undefined;
  }

  /** `must_get_commit_ts`. */
  commitTsOf(key: string, startTs: number): bigint | undefined {
    const r = new MvccReader(this.engine, BigInt(startTs)).getTxnCommitRecord(b(key));
    return r.kind === 'single' && r.write.writeType !== WriteType.Rollback ? r.commitTs : undefined;
  }

  /** `must_get_rollback_ts`: whether a rollback of `startTs` is recorded. */
  rolledBack(key: string, startTs: number): boolean {
    const r = new MvccReader(this.engine, BigInt(startTs)).getTxnCommitRecord(b(key));
    return (
      (r.kind === 'single' && r.write.writeType === WriteType.Rollback) || r.kind === 'overlappedRollback'
    );
  }
}
