import { ColumnFamily, type KvEngine } from '../storage/kv-engine.js';
import type { Lock } from './lock-record.js';
import { mvccFail } from './mvcc-error.js';
import { decodeLockOrShared, isSharedLocks, type LockOrShared } from './shared-locks.js';
import {
  appendTs,
  decodeTsFrom,
  decodeTxnKey,
  encodeTxnKey,
  isUserKeyEq,
  TS_MAX,
  truncateTs,
} from './txn-key.js';
import { checkGcFenceAsLatestVersion, decodeWrite, type Write, WriteType } from './write-record.js';

/** TiKV's `SEEK_BOUND`: a `last_change` this many versions away is reached by a point get. */
export const SEEK_BOUND = 8n;

/** A write record and the commit ts it is stored under. */
export interface CommittedWrite {
  readonly commitTs: bigint;
  readonly write: Write;
}

/** A write whose commit ts equals another transaction's start ts (`OverlappedWrite`). */
export interface OverlappedWrite {
  readonly write: Write;
  /** Commit ts of the next newer PUT/DELETE, 0 when there is none. */
  readonly gcFence: bigint;
}

/** What `get_txn_commit_record` finds for a transaction on a key. */
export type TxnCommitRecord =
  | { readonly kind: 'single'; readonly commitTs: bigint; readonly write: Write }
  | { readonly kind: 'overlappedRollback'; readonly commitTs: bigint }
  | { readonly kind: 'none'; readonly overlappedWrite: OverlappedWrite | undefined };

/** A lock of the lock CF with its raw key. */
export interface KeyLock {
  readonly key: Uint8Array;
  readonly lock: Lock;
  /** The lock is one transaction's entry in the key's shared locks. */
  readonly shared?: true;
}

/**
 * TiKV's `MvccReader` (with `SnapshotReader`'s start ts) over the shared engine. Keys in and out
 * are raw user keys; the reader encodes them the way TiKV lays them out.
 */
export class MvccReader {
  readonly #engine: KvEngine;
  /** The start ts of the transaction this reader serves (`SnapshotReader::start_ts`). */
  startTs: bigint;
  /** `next` steps taken by the last {@link getWriteWithCommitTs} (TiKV's write-cursor statistics). */
  lastSteps = 0;

  constructor(engine: KvEngine, startTs: bigint) {
    this.#engine = engine;
    this.startTs = startTs;
  }

  get engine(): KvEngine {
    return this.#engine;
  }

  /** The lock on a key (`load_lock`): an exclusive lock or the key's shared locks. */
  loadLock(rawKey: Uint8Array): LockOrShared | undefined {
    const v = this.#engine.cf(ColumnFamily.Lock).get(encodeTxnKey(rawKey));
    return v === undefined ? undefined : decodeLockOrShared(v);
  }

  /** The newest write of a key with commit ts <= `ts` (`seek_write`). */
  seekWrite(rawKey: Uint8Array, ts: bigint): CommittedWrite | undefined {
    return this.seekWriteEncoded(encodeTxnKey(rawKey), ts);
  }

  /** {@link seekWrite} for an already encoded key. */
  seekWriteEncoded(encodedKey: Uint8Array, ts: bigint): CommittedWrite | undefined {
    for (const { key, value } of this.#engine
      .cf(ColumnFamily.Write)
      .scan({ lower: appendTs(encodedKey, ts) })) {
      if (!isUserKeyEq(key, encodedKey)) return undefined;
      return { commitTs: decodeTsFrom(key), write: decodeWrite(value) };
    }
    return undefined;
  }

  /**
   * The newest PUT visible at `ts`, skipping LOCK and ROLLBACK records and following
   * `last_change` pointers (`get_write_with_commit_ts`). With `gcFenceLimit`, a record whose GC
   * fence is at or below it ends the search.
   */
  getWriteWithCommitTs(
    rawKey: Uint8Array,
    ts: bigint,
    gcFenceLimit: bigint | undefined = this.startTs,
  ): CommittedWrite | undefined {
    return this.getWriteWithCommitTsEncoded(encodeTxnKey(rawKey), ts, gcFenceLimit);
  }

  /** {@link getWriteWithCommitTs} for an already encoded key (the point getter's read path). */
  getWriteWithCommitTsEncoded(
    encoded: Uint8Array,
    ts: bigint,
    gcFenceLimit: bigint | undefined,
  ): CommittedWrite | undefined {
    let seekTs = ts;
    this.lastSteps = 0;
    let found = this.seekWriteEncoded(encoded, seekTs);
    for (;;) {
      if (found === undefined) return undefined;
      const { commitTs, write } = found;
      if (gcFenceLimit !== undefined && !checkGcFenceAsLatestVersion(write, gcFenceLimit)) return undefined;
      switch (write.writeType) {
        case WriteType.Put:
          return found;
        case WriteType.Delete:
          return undefined;
        default: {
          const lc = write.lastChange;
          if (lc.kind === 'notExist') return undefined;
          if (lc.kind === 'exist' && lc.versions >= SEEK_BOUND) {
            const v = this.#engine.cf(ColumnFamily.Write).get(appendTs(encoded, lc.ts));
            if (v === undefined) return undefined;
            found = { commitTs: lc.ts, write: decodeWrite(v) };
            continue;
          }
          if (seekTs === 0n) return undefined;
          seekTs = commitTs - 1n;
        }
      }
      this.lastSteps++;
      found = this.seekWriteEncoded(encoded, seekTs);
    }
  }

  /** {@link getWriteWithCommitTs} without the commit ts. */
  getWrite(
    rawKey: Uint8Array,
    ts: bigint,
    gcFenceLimit: bigint | undefined = this.startTs,
  ): Write | undefined {
    return this.getWriteWithCommitTs(rawKey, ts, gcFenceLimit)?.write;
  }

  /** The value visible at `ts` (`SnapshotReader::get`). */
  get(rawKey: Uint8Array, ts: bigint): Uint8Array | undefined {
    const w = this.getWrite(rawKey, ts);
    return w === undefined ? undefined : this.loadData(rawKey, w);
  }

  /** Whether a value is visible at `ts` (`key_exist`). */
  keyExist(rawKey: Uint8Array, ts: bigint): boolean {
    return this.getWrite(rawKey, ts) !== undefined;
  }

  /** The value a PUT record names: inlined, or from the default CF (`load_data`). */
  loadData(rawKey: Uint8Array, write: Write): Uint8Array {
    if (write.shortValue !== undefined) return write.shortValue;
    return this.loadValue(rawKey, write.startTs);
  }

  /** The default-CF value written by `startTs`; DefaultNotFound when it is missing. */
  loadValue(rawKey: Uint8Array, startTs: bigint): Uint8Array {
    const k = appendTs(encodeTxnKey(rawKey), startTs);
    const v = this.#engine.cf(ColumnFamily.Default).get(k);
    return v ?? mvccFail({ kind: 'DefaultNotFound', key: k });
  }

  /** Whether this transaction committed or rolled back on a key (`get_txn_commit_record`). */
  getTxnCommitRecord(rawKey: Uint8Array): TxnCommitRecord {
    const encoded = encodeTxnKey(rawKey);
    const startTs = this.startTs;
    let seekTs = TS_MAX;
    let gcFence = 0n;
    for (;;) {
      const found = this.seekWriteEncoded(encoded, seekTs);
      if (found === undefined) break;
      const { commitTs, write } = found;
      if (write.startTs === startTs) return { kind: 'single', commitTs, write };
      if (commitTs === startTs) {
        if (write.hasOverlappedRollback) return { kind: 'overlappedRollback', commitTs };
        return { kind: 'none', overlappedWrite: { write, gcFence } };
      }
      if (write.writeType === WriteType.Put || write.writeType === WriteType.Delete) gcFence = commitTs;
      if (commitTs < startTs) break;
      seekTs = commitTs - 1n;
    }
    return { kind: 'none', overlappedWrite: undefined };
  }

  /**
   * Locks in `[start, end)` (raw keys; empty or undefined = unbounded) that pass `filter`, at most
   * `limit` (0 = no limit); `hasRemain` when the limit stopped the scan (`scan_locks`).
   */
  scanLocks(
    start: Uint8Array | undefined,
    end: Uint8Array | undefined,
    filter: (key: Uint8Array, lock: Lock) => boolean,
    limit: number,
  ): { locks: KeyLock[]; hasRemain: boolean } {
    const locks: KeyLock[] = [];
    const lower = start === undefined || start.length === 0 ? undefined : encodeTxnKey(start);
    const upper = end === undefined || end.length === 0 ? undefined : encodeTxnKey(end);
    for (const { key, value } of this.#engine.cf(ColumnFamily.Lock).scan({ lower, upper })) {
      const record = decodeLockOrShared(value);
      const raw = decodeTxnKeySafe(key);
      // Shared locks count one by one, as TiKV's scan_locks expands them.
      const subs = isSharedLocks(record) ? [...record.locks.values()] : [record];
      for (const lock of subs) {
        if (!filter(raw, lock)) continue;
        locks.push(isSharedLocks(record) ? { key: raw, lock, shared: true } : { key: raw, lock });
        if (limit > 0 && locks.length >= limit) return { locks, hasRemain: true };
      }
    }
    return { locks, hasRemain: false };
  }

  /** Every write record of a key, newest first. */
  scanWrites(rawKey: Uint8Array): CommittedWrite[] {
    const encoded = encodeTxnKey(rawKey);
    const out: CommittedWrite[] = [];
    for (const { key, value } of this.#engine.cf(ColumnFamily.Write).scan({ lower: encoded })) {
      if (!isUserKeyEq(key, encoded)) break;
      out.push({ commitTs: decodeTsFrom(key), write: decodeWrite(value) });
    }
    return out;
  }

  /** Every default-CF value of a key, newest first (`scan_values_in_default`). */
  scanValuesInDefault(rawKey: Uint8Array): { startTs: bigint; value: Uint8Array }[] {
    const encoded = encodeTxnKey(rawKey);
    const out: { startTs: bigint; value: Uint8Array }[] = [];
    for (const { key, value } of this.#engine.cf(ColumnFamily.Default).scan({ lower: encoded })) {
      if (!isUserKeyEq(key, encoded)) break;
      out.push({ startTs: decodeTsFrom(key), value });
    }
    return out;
  }

  /** The first key (in key order) with a write record of start ts `ts` (`seek_ts`). */
  seekTs(ts: bigint): Uint8Array | undefined {
    for (const { key, value } of this.#engine.cf(ColumnFamily.Write).scan()) {
      if (decodeWrite(value).startTs === ts) return decodeTxnKeySafe(truncateTs(key));
    }
    return undefined;
  }
}

/** The raw key of an encoded key; keys that are not memcomparable come back as they are. */
export function decodeTxnKeySafe(encoded: Uint8Array): Uint8Array {
  try {
    return decodeTxnKey(encoded);
  } catch {
    return encoded;
  }
}
