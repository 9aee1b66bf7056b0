import { kvrpcpb } from '@tikv/proto';
import { ColumnFamily } from '../storage/kv-engine.js';
import { compareBytes } from '../storage/ordered-map.js';
import { type PrewriteMutationInput, prewrite, type TransactionProperties } from './actions/prewrite.js';
import { LockType } from './lock-record.js';
import { MvccError, mvccFail, txnOther } from './mvcc-error.js';
import { isSharedLocks } from './shared-locks.js';
import { committedRecord, type TxnCommands } from './txn-commands.js';
import { appendTs, encodeTxnKey } from './txn-key.js';

const PessimisticAction = kvrpcpb.PrewriteRequest_PessimisticAction;

/**
 * KvFlush (pipelined DML): prewrites the mutations with a generation; a lock of this
 * transaction with a newer generation makes the mutation a no-op (`GenerationOutOfOrder`).
 */
export function flush(
  commands: TxnCommands,
  cmd: {
    readonly mutations: readonly PrewriteMutationInput[];
    readonly primary: Uint8Array;
    readonly startTs: bigint;
    readonly generation: bigint;
    readonly lockTtl: bigint;
    readonly assertionLevel: kvrpcpb.AssertionLevel;
    readonly isRetryRequest: boolean;
    readonly txnSource: bigint;
  },
): MvccError[] {
  if (cmd.generation === 0n)
    throw txnOther(
      'src/storage/txn/commands/flush.rs:74',
      'generation should be greater than 0 for Flush requests',
    );
  return commands.execute(cmd.startTs, (txn, reader) => {
    const props: TransactionProperties = {
      startTs: cmd.startTs,
      kind: { kind: 'optimistic', skipConstraintCheck: false },
      commitKind: { kind: 'twoPc' },
      primary: cmd.primary,
      txnSize: 0xffff_ffff_ffff_ffffn,
      lockTtl: cmd.lockTtl,
      minCommitTs: cmd.startTs + 1n,
      isRetryRequest: cmd.isRetryRequest,
      assertionLevel: cmd.assertionLevel,
      txnSource: cmd.txnSource,
    };
    const locks: MvccError[] = [];
    let assertionFailure: MvccError | undefined;
    for (const m of cmd.mutations) {
      try {
        prewrite(txn, reader, props, m, {
          secondaryKeys: undefined,
          pessimisticAction: PessimisticAction.SKIP_PESSIMISTIC_CHECK,
          expectedForUpdateTs: undefined,
          generation: cmd.generation,
        });
      } catch (e) {
        if (!(e instanceof MvccError)) throw e;
        const d = e.detail;
        if (d.kind === 'WriteConflict' && d.conflictCommitTs > d.startTs) {
          if (committedRecord(reader, m.key) === undefined) throw e;
          txn.clear();
          return [];
        }
        if (d.kind === 'KeyIsLocked') {
          if (committedRecord(reader, m.key) !== undefined) {
            txn.clear();
            return [];
          }
          locks.push(e);
          continue;
        }
        if (d.kind === 'AssertionFailed') {
          assertionFailure ??= e;
          continue;
        }
        if (d.kind === 'GenerationOutOfOrder') continue;
        throw e;
      }
    }
    if (assertionFailure !== undefined) throw assertionFailure;
    return locks;
  });
}

/** KvBufferBatchGet: the values this transaction's own flushed locks hold. */
export function bufferBatchGet(
  commands: TxnCommands,
  keys: readonly Uint8Array[],
  startTs: bigint,
): { key: Uint8Array; value: Uint8Array }[] {
  commands.concurrencyManager.updateMaxTs(startTs);
  const reader = commands.reader(startTs);
  const out: { key: Uint8Array; value: Uint8Array }[] = [];
  // TiKV sorts and dedups the keys first: pairs come back in key order.
  const sorted = [...keys]
    .sort(compareBytes)
    .filter((k, i, a) => i === 0 || compareBytes(k, a[i - 1]!) !== 0);
  for (const key of sorted) {
    const lock = reader.loadLock(key);
    if (lock === undefined || isSharedLocks(lock) || lock.ts !== startTs) continue;
    if (lock.lockType === LockType.Delete) out.push({ key, value: new Uint8Array(0) });
    else if (lock.lockType === LockType.Put) {
      const value =
        lock.shortValue ?? reader.engine.cf(ColumnFamily.Default).get(appendTs(encodeTxnKey(key), startTs));
      if (value !== undefined) out.push({ key, value });
    } else {
      mvccFail({
        kind: 'Other',
        message: `Unexpected LockType::${lock.lockType}. pipelined-dml only supports optimistic transactions`,
      });
    }
  }
  return out;
}
