import { kvrpcpb } from '@tikv/proto';
import { ColumnFamily, type KvEngine } from '../storage/kv-engine.js';
import { type Lock, LockType } from './lock-record.js';
import { isMvccError, mvccFail } from './mvcc-error.js';
import { MvccReader } from './mvcc-reader.js';
import { checkTsConflict, needCheckLocks, type ReadCheckOptions } from './read-check.js';
import { decodeLockOrShared, isSharedLocks } from './shared-locks.js';
import { appendTs, encodeTxnKey, TS_MAX } from './txn-key.js';

/** A value read by a point get, with its commit ts when asked for. */
export interface ValueEntry {
  readonly value: Uint8Array;
  /** Set only when the read asked for commit ts and the value came from a write record. */
  readonly commitTs: bigint | undefined;
}

/** Options of a {@link PointGetter}. */
export interface PointGetterOptions extends ReadCheckOptions {
  /** Return empty values (existence only). */
  readonly omitValue?: boolean | undefined;
  /** Track whether any data newer than ts exists (see {@link PointGetter.metNewerTsData}). */
  readonly checkHasNewerTsData?: boolean;
}

/**
 * TiKV's `PointGetter`: reads single keys at a ts, checking the lock CF first under SI and
 * RCCheckTS, then walking the key's versions in the write CF.
 */
export class PointGetter {
  readonly #engine: KvEngine;
  readonly #o: PointGetterOptions;
  readonly #reader: MvccReader;
  #metNewer: 'unknown' | 'notMetYet' | 'met';

  constructor(engine: KvEngine, options: PointGetterOptions) {
    this.#engine = engine;
    this.#o = options;
    this.#reader = new MvccReader(engine, options.ts);
    this.#metNewer = options.checkHasNewerTsData === true ? 'notMetYet' : 'unknown';
  }

  /** Whether a lock or a newer version was met; `unknown` unless asked to track it. */
  get metNewerTsData(): 'unknown' | 'notMetYet' | 'met' {
    return this.#metNewer;
  }

  /** The value at ts, or undefined. */
  get(rawKey: Uint8Array): Uint8Array | undefined {
    return this.getEntry(rawKey, false)?.value;
  }

  /** The value (and commit ts when `loadCommitTs`) at ts, or undefined. */
  getEntry(rawKey: Uint8Array, loadCommitTs: boolean): ValueEntry | undefined {
    if (needCheckLocks(this.#o.isolation)) {
      const lock = this.#loadAndCheckLock(rawKey, !loadCommitTs);
      if (lock !== undefined) {
        const v = this.#loadDataFromLock(rawKey, lock);
        return v === undefined ? undefined : { value: v, commitTs: undefined };
      }
    }
    return this.#loadData(rawKey, loadCommitTs);
  }

  #loadAndCheckLock(rawKey: Uint8Array, extractAccessLock: boolean): Lock | undefined {
    const v = this.#engine.cf(ColumnFamily.Lock).get(encodeTxnKey(rawKey));
    if (v === undefined) return undefined;
    const record = decodeLockOrShared(v);
    // Reads never wait for shared locks (TiKV's check_ts_conflict ignores them).
    if (isSharedLocks(record)) return undefined;
    const lock = record;
    if (this.#metNewer === 'notMetYet') this.#metNewer = 'met';
    try {
      checkTsConflict(lock, rawKey, this.#o);
      return undefined;
    } catch (e) {
      if (isMvccError(e, 'KeyIsLocked') && extractAccessLock && this.#o.accessLocks?.has(lock.ts) === true) {
        return lock;
      }
      if (
        isMvccError(e, 'WriteConflict') &&
        extractAccessLock &&
        this.#o.accessLocks?.has(lock.ts) === true
      ) {
        return lock;
      }
      throw e;
    }
  }

  #loadData(rawKey: Uint8Array, loadCommitTs: boolean): ValueEntry | undefined {
    const encoded = encodeTxnKey(rawKey);
    const { ts } = this.#o;
    if (this.#metNewer === 'notMetYet' || this.#o.isolation === kvrpcpb.IsolationLevel.RCCheckTS) {
      const latest = this.#reader.seekWriteEncoded(encoded, TS_MAX);
      if (latest === undefined) return undefined;
      if (latest.commitTs > ts) {
        if (this.#metNewer === 'notMetYet') this.#metNewer = 'met';
        if (this.#o.isolation === kvrpcpb.IsolationLevel.RCCheckTS) {
          mvccFail({
            kind: 'WriteConflict',
            startTs: ts,
            conflictStartTs: 0n,
            conflictCommitTs: latest.commitTs,
            // TiKV reports the versioned key the write cursor stands on here.
            key: appendTs(encoded, latest.commitTs),
            primary: new Uint8Array(0),
            reason: kvrpcpb.WriteConflict_Reason.RcCheckTs,
          });
        }
      }
    }
    // The newest PUT at or below `ts`, its GC fence checked against `ts` (TiKV's point getter
    // runs the reader's `get_write_with_commit_ts` walk).
    const found = this.#reader.getWriteWithCommitTsEncoded(encoded, ts, ts);
    if (found === undefined) return undefined;
    const commit = loadCommitTs ? found.commitTs : undefined;
    if (this.#o.omitValue === true) return { value: new Uint8Array(0), commitTs: commit };
    const value = found.write.shortValue ?? this.#reader.loadValue(rawKey, found.write.startTs);
    return { value, commitTs: commit };
  }

  #loadDataFromLock(rawKey: Uint8Array, lock: Lock): Uint8Array | undefined {
    if (lock.lockType === LockType.Put) {
      if (this.#o.omitValue === true) return new Uint8Array(0);
      return lock.shortValue ?? this.#reader.loadValue(rawKey, lock.ts);
    }
    return undefined;
  }
}
