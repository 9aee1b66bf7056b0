import type { Lock } from '../lock-record.js';
import { mvccFail } from '../mvcc-error.js';
import { MvccReader } from '../mvcc-reader.js';
import { LAST_CHANGE_NOT_EXIST, type LastChange, lastChangeExist } from '../record-codec.js';
import { type Write, WriteType } from '../write-record.js';

/** A transaction's state as the status-checking actions find it (`TxnStatus`). */
export type TxnStatus =
  | { readonly kind: 'rolledBack' }
  | { readonly kind: 'ttlExpire' }
  | { readonly kind: 'lockNotExist' }
  | { readonly kind: 'committed'; readonly commitTs: bigint }
  | { readonly kind: 'uncommitted'; readonly lock: Lock; readonly minCommitTsPushed: boolean }
  | { readonly kind: 'pessimisticRollBack' }
  | { readonly kind: 'lockNotExistDoNothing' };

/**
 * `next_last_change_info`: the `last_change` a new LOCK/ROLLBACK record (or lock) on top of
 * `write` (committed at `commitTs`) should carry.
 */
export function nextLastChangeInfo(
  rawKey: Uint8Array,
  write: Write,
  startTs: bigint,
  reader: MvccReader,
  commitTs: bigint,
): LastChange {
  if (write.writeType === WriteType.Put || write.writeType === WriteType.Delete) {
    return lastChangeExist(commitTs, 1n);
  }
  const lc = write.lastChange;
  if (lc.kind === 'exist') return lastChangeExist(lc.ts, lc.versions + 1n);
  if (lc.kind === 'notExist') return LAST_CHANGE_NOT_EXIST;
  const fresh = new MvccReader(reader.engine, startTs);
  const found = fresh.getWriteWithCommitTs(rawKey, commitTs);
  if (found === undefined) return LAST_CHANGE_NOT_EXIST;
  return lastChangeExist(found.commitTs, BigInt(fresh.lastSteps) + 1n);
}

/**
 * `check_data_constraint`: AlreadyExist when the key must not exist and `write` (or, for a LOCK
 * or ROLLBACK record, the version below it) is a live PUT.
 */
export function checkDataConstraint(
  reader: MvccReader,
  shouldNotExist: boolean,
  write: Write,
  writeCommitTs: bigint,
  rawKey: Uint8Array,
): void {
  const writeIsInvalid = write.gcFence !== undefined && write.gcFence !== 0n;
  if (!shouldNotExist || write.writeType === WriteType.Delete || writeIsInvalid) return;
  let existingStartTs: bigint | undefined;
  if (write.writeType === WriteType.Put) existingStartTs = write.startTs;
  else existingStartTs = reader.getWrite(rawKey, writeCommitTs - 1n)?.startTs;
  if (existingStartTs !== undefined) mvccFail({ kind: 'AlreadyExist', key: rawKey, existingStartTs });
}
