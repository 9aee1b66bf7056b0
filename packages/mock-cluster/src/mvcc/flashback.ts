import { ColumnFamily } from '../storage/kv-engine.js';
import { lockInTxn } from './actions/commit.js';
import { rollbackLock, rollbackSharedLock } from './actions/rollback.js';
import { isPessimisticTxn, LockType, newLock } from './lock-record.js';
import { mvccFail } from './mvcc-error.js';
import { decodeTxnKeySafe, type MvccReader } from './mvcc-reader.js';
import type { MvccTxn } from './mvcc-txn.js';
import { decodeLockOrShared, isSharedLocks } from './shared-locks.js';
import type { TxnCommands } from './txn-commands.js';
import { appendTs, decodeTsFrom, encodeTxnKey, truncateTs } from './txn-key.js';
import { decodeWrite, newWrite, WriteType, writeTypeFromLockType } from './write-record.js';

/** The range and versions of a flashback (`FlashbackToVersion`'s fields). */
export interface FlashbackRange {
  readonly start: Uint8Array;
  /** Exclusive; empty = unbounded. */
  readonly end: Uint8Array;
  readonly startTs: bigint;
  /** The version the range is turned back to. */
  readonly version: bigint;
}

/**
 * `scan_latest_user_keys`: user keys in `[start, end)` whose latest PUT/DELETE record passes
 * `filter(key, commitTs)` (LOCK and ROLLBACK records are skipped).
 */
function latestUserKeys(
  reader: MvccReader,
  start: Uint8Array,
  end: Uint8Array,
  filter: (key: Uint8Array, latestCommitTs: bigint) => boolean,
  limit: number,
): Uint8Array[] {
  const lower = encodeTxnKey(start);
  const upper = end.length === 0 ? undefined : encodeTxnKey(end);
  const out: Uint8Array[] = [];
  let seen: string | undefined;
  for (const { key, value } of reader.engine.cf(ColumnFamily.Write).scan({ lower, upper })) {
    const user = truncateTs(key);
    const id = Buffer.from(user).toString('latin1');
    if (id === seen) continue;
    const w = decodeWrite(value);
    if (w.writeType !== WriteType.Put && w.writeType !== WriteType.Delete) continue;
    seen = id;
    const raw = decodeTxnKeySafe(user);
    if (!filter(raw, decodeTsFrom(key))) continue;
    out.push(raw);
    if (limit > 0 && out.length >= limit) break;
  }
  return out;
}

/** `get_first_user_key`: the first key changed after `version`, which carries the flashback's lock. */
function firstUserKey(reader: MvccReader, r: FlashbackRange): Uint8Array | undefined {
  return latestUserKeys(reader, r.start, r.end, (_k, ts) => ts > r.version, 1)[0];
}

/**
 * Phase one (`KvPrepareFlashbackToVersion`'s command): rolls back every lock in the range but the
 * flashback's own, then locks the first changed key (`prewrite_flashback_key`) with the value it
 * had at `version`.
 */
export function prepareFlashback(commands: TxnCommands, r: FlashbackRange): void {
  commands.execute(r.startTs, (txn, reader) => {
    const { locks } = reader.scanLocks(r.start, r.end, (_k, l) => l.ts !== r.startTs, 0);
    for (const { key, lock, shared } of locks) {
      reader.startTs = lock.ts;
      txn.startTs = lock.ts;
      if (shared === true) {
        // One holder of the key's shared locks: the others' entries stay until their turn.
        const record = lockInTxn(txn, reader, key);
        if (isSharedLocks(record)) rollbackSharedLock(txn, reader, key, record, true);
      } else rollbackLock(txn, reader, key, lock, isPessimisticTxn(lock), true);
    }
    reader.startTs = r.startTs;
    txn.startTs = r.startTs;
  });
  commands.execute(r.startTs, (txn, reader) => {
    const key = firstUserKey(reader, r);
    if (key === undefined || reader.loadLock(key) !== undefined) return;
    const old = reader.getWrite(key, r.version, undefined);
    if (
      old?.writeType === WriteType.Put &&
      old.shortValue === undefined &&
      reader.engine.cf(ColumnFamily.Default).get(appendTs(encodeTxnKey(key), r.startTs)) === undefined
    ) {
      txn.putValue(key, r.startTs, reader.loadData(key, old));
    }
    const lock = newLock({
      lockType: old === undefined || old.writeType === WriteType.Delete ? LockType.Delete : LockType.Put,
      // TiKV stores the encoded key as this lock's primary.
      primary: encodeTxnKey(key),
      ts: r.startTs,
      ttl: 0n,
      shortValue: old?.shortValue,
      txnSize: 1n,
    });
    txn.putLock(key, lock, false);
  });
}

function commitFlashbackKey(
  txn: MvccTxn,
  reader: MvccReader,
  key: Uint8Array,
  r: FlashbackRange,
  commitTs: bigint,
): void {
  const lock = reader.loadLock(key);
  if (lock === undefined || isSharedLocks(lock)) {
    mvccFail({ kind: 'TxnLockNotFound', startTs: r.startTs, commitTs, key });
  }
  const w = newWrite(writeTypeFromLockType(lock.lockType) as WriteType, r.startTs, lock.shortValue);
  w.lastChange = lock.lastChange;
  w.txnSource = lock.txnSource;
  txn.putWrite(key, commitTs, w);
  txn.unlockKey(key, isPessimisticTxn(lock), commitTs);
}

/** Why phase two found no prepared flashback on its first key. */
export class FlashbackNotPreparedError extends Error {
  override name = 'FlashbackNotPreparedError';
}

/**
 * Phase two (`KvFlashbackToVersion`'s command): writes, at `commitTs`, every key changed after
 * `version` back to its value at `version` (a DELETE when it had none), then commits the first
 * key's lock. A retry after success does nothing.
 */
export function flashbackToVersion(commands: TxnCommands, r: FlashbackRange, commitTs: bigint): void {
  if (commitTs <= r.startTs) mvccFail({ kind: 'InvalidTxnTso', startTs: r.startTs, commitTs });
  commands.execute(r.startTs, (txn, reader) => {
    const first = firstUserKey(reader, r);
    if (first === undefined) return;
    const lock = reader.engine.cf(ColumnFamily.Lock).get(encodeTxnKey(first));
    const own = lock === undefined ? undefined : decodeLockOrShared(lock);
    if (own === undefined || isSharedLocks(own) || own.ts !== r.startTs) {
      const found = reader.seekWrite(first, commitTs);
      if (lock === undefined && found?.commitTs === commitTs && found.write.startTs === r.startTs) return;
      throw new FlashbackNotPreparedError(
        `flashback not prepared for the key at ${Buffer.from(first).toString('hex')}`,
      );
    }
    const keys = latestUserKeys(
      reader,
      r.start,
      r.end,
      (k, ts) => Buffer.compare(k, first) !== 0 && ts > r.version && ts < commitTs,
      0,
    );
    for (const key of keys) {
      const old = reader.getWrite(key, r.version, undefined);
      let w = newWrite(WriteType.Delete, r.startTs);
      if (old !== undefined) {
        if (old.writeType === WriteType.Put && old.shortValue === undefined) {
          txn.putValue(key, r.startTs, reader.loadData(key, old));
        }
        w = newWrite(old.writeType, r.startTs, old.shortValue);
      }
      txn.putWrite(key, commitTs, w);
    }
    commitFlashbackKey(txn, reader, first, r, commitTs);
  });
}
