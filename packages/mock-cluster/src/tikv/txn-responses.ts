import { kvrpcpb } from '@tikv/proto';
import type { PessimisticLockKeyResult } from '../mvcc/actions/acquire-pessimistic-lock.js';
import type { TxnStatus } from '../mvcc/actions/common.js';
import { type Lock, lockInfoOf } from '../mvcc/lock-record.js';
import { withTxnCommandDetails } from './exec-details.js';
import type { KvDeps } from './kv-deps.js';
import { TxnKvCommands } from './txn-commands.js';
import { TxnFlashbackCommands } from './txn-flashback-commands.js';
import { TxnLockCommands } from './txn-lock-commands.js';
import { TxnPipelinedCommands } from './txn-pipelined-commands.js';
import { type TxnDeps, TxnRequestRunner } from './txn-request-runner.js';

const EMPTY = new Uint8Array(0);
const { Action } = kvrpcpb;

/** The fields of a CheckTxnStatus response for a status, as TiKV's service sets them. */
export function checkTxnStatusFields(status: TxnStatus): Partial<kvrpcpb.CheckTxnStatusResponse> {
  switch (status.kind) {
    case 'rolledBack':
      return { action: Action.NoAction };
    case 'ttlExpire':
      return { action: Action.TTLExpireRollback };
    case 'lockNotExist':
      return { action: Action.LockNotExistRollback };
    case 'committed':
      return { commitVersion: status.commitTs };
    case 'pessimisticRollBack':
      return { action: Action.TTLExpirePessimisticRollback };
    case 'lockNotExistDoNothing':
      return { action: Action.LockNotExistDoNothing };
    case 'uncommitted': {
      const { lock } = status;
      return {
        action: status.minCommitTsPushed ? Action.MinCommitTSPushed : Action.NoAction,
        lockTtl: lock.ttl,
        lockInfo: lockInfoOfPrimary(lock),
      };
    }
  }
}

function lockInfoOfPrimary(lock: Lock): kvrpcpb.LockInfo {
  return lockInfoOf(lock, lock.primary);
}

/** The response fields for successful pessimistic lock results (legacy or force-lock mode). */
export function pessimisticLockFields(
  results: readonly PessimisticLockKeyResult[],
  forceLock: boolean,
): Partial<kvrpcpb.PessimisticLockResponse> {
  if (forceLock) {
    return {
      results: results.map((r) => {
        const base = {
          type: kvrpcpb.PessimisticLockKeyResultType.LockResultNormal,
          value: EMPTY,
          existence: false,
          lockedWithConflictTs: 0n,
          skipResolvingLock: false,
        };
        switch (r.kind) {
          case 'value':
            return { ...base, existence: r.value !== undefined, value: r.value ?? EMPTY };
          case 'existence':
            return { ...base, existence: r.exists };
          case 'lockedWithConflict':
            return {
              ...base,
              type: kvrpcpb.PessimisticLockKeyResultType.LockResultLockedWithConflict,
              existence: r.value !== undefined,
              value: r.value ?? EMPTY,
              lockedWithConflictTs: r.conflictTs,
            };
          case 'failed':
            return { ...base, type: kvrpcpb.PessimisticLockKeyResultType.LockResultFailed };
          default:
            return base;
        }
      }),
    };
  }
  const first = results[0];
  if (first === undefined || first.kind === 'empty') return {};
  if (first.kind === 'existence') {
    return { notFounds: results.map((r) => r.kind === 'existence' && !r.exists) };
  }
  const values: Uint8Array[] = [];
  const notFounds: boolean[] = [];
  for (const r of results) {
    const v = r.kind === 'value' ? r.value : undefined;
    values.push(v ?? EMPTY);
    notFounds.push(v === undefined);
  }
  return { values, notFounds };
}

/** The `tikvpb.Tikv` methods the transactional commands of one store serve, for its command table. */
export function txnCommandEntries(
  deps: KvDeps,
  txn: TxnDeps,
  storeId: bigint,
): [string, (req: never) => object][] {
  const runner = new TxnRequestRunner(deps, txn, storeId);
  const c = new TxnKvCommands(runner);
  const l = new TxnLockCommands(runner);
  const p = new TxnPipelinedCommands(runner);
  const f = new TxnFlashbackCommands(runner);
  return [
    ['KvGet', (r: kvrpcpb.GetRequest) => c.kvGet(r)],
    ['KvBatchGet', (r: kvrpcpb.BatchGetRequest) => c.kvBatchGet(r)],
    ['KvScan', (r: kvrpcpb.ScanRequest) => c.kvScan(r)],
    ['KvPrewrite', (r: kvrpcpb.PrewriteRequest) => c.kvPrewrite(r)],
    ['KvCommit', (r: kvrpcpb.CommitRequest) => c.kvCommit(r)],
    ['KvCleanup', (r: kvrpcpb.CleanupRequest) => c.kvCleanup(r)],
    [
      'KvBatchRollback',
      (r: kvrpcpb.BatchRollbackRequest) => withTxnCommandDetails(() => c.kvBatchRollback(r)),
    ],
    [
      'KvCheckTxnStatus',
      (r: kvrpcpb.CheckTxnStatusRequest) => withTxnCommandDetails(() => c.kvCheckTxnStatus(r)),
    ],
    [
      'KvCheckSecondaryLocks',
      (r: kvrpcpb.CheckSecondaryLocksRequest) => withTxnCommandDetails(() => c.kvCheckSecondaryLocks(r)),
    ],
    ['KvResolveLock', (r: kvrpcpb.ResolveLockRequest) => withTxnCommandDetails(() => c.kvResolveLock(r))],
    ['KvTxnHeartBeat', (r: kvrpcpb.TxnHeartBeatRequest) => withTxnCommandDetails(() => c.kvTxnHeartBeat(r))],
    ['KvScanLock', (r: kvrpcpb.ScanLockRequest) => c.kvScanLock(r)],
    ['KvDeleteRange', (r: kvrpcpb.DeleteRangeRequest) => c.kvDeleteRange(r)],
    ['MvccGetByKey', (r: kvrpcpb.MvccGetByKeyRequest) => c.mvccGetByKey(r)],
    ['MvccGetByStartTs', (r: kvrpcpb.MvccGetByStartTsRequest) => c.mvccGetByStartTs(r)],
    [
      'KVPessimisticRollback',
      (r: kvrpcpb.PessimisticRollbackRequest) => withTxnCommandDetails(() => c.kvPessimisticRollback(r)),
    ],
    [
      'KvPessimisticLock',
      (r: kvrpcpb.PessimisticLockRequest) => withTxnCommandDetails(() => l.kvPessimisticLock(r)),
    ],
    ['GetLockWaitInfo', (r: kvrpcpb.GetLockWaitInfoRequest) => l.getLockWaitInfo(r)],
    ['KvFlush', (r: kvrpcpb.FlushRequest) => p.kvFlush(r)],
    ['KvBufferBatchGet', (r: kvrpcpb.BufferBatchGetRequest) => p.kvBufferBatchGet(r)],
    [
      'KvPrepareFlashbackToVersion',
      (r: kvrpcpb.PrepareFlashbackToVersionRequest) => f.kvPrepareFlashbackToVersion(r),
    ],
    ['KvFlashbackToVersion', (r: kvrpcpb.FlashbackToVersionRequest) => f.kvFlashbackToVersion(r)],
  ];
}

/** BatchCommands arms whose name differs from their unary method. */
export const TXN_BATCH_METHODS: Readonly<Record<string, string>> = Object.freeze({
  Get: 'KvGet',
  Scan: 'KvScan',
  Prewrite: 'KvPrewrite',
  Commit: 'KvCommit',
  Cleanup: 'KvCleanup',
  BatchGet: 'KvBatchGet',
  BatchRollback: 'KvBatchRollback',
  ScanLock: 'KvScanLock',
  ResolveLock: 'KvResolveLock',
  DeleteRange: 'KvDeleteRange',
  PessimisticLock: 'KvPessimisticLock',
  PessimisticRollback: 'KVPessimisticRollback',
  CheckTxnStatus: 'KvCheckTxnStatus',
  TxnHeartBeat: 'KvTxnHeartBeat',
  CheckSecondaryLocks: 'KvCheckSecondaryLocks',
  FlashbackToVersion: 'KvFlashbackToVersion',
  PrepareFlashbackToVersion: 'KvPrepareFlashbackToVersion',
  Flush: 'KvFlush',
  BufferBatchGet: 'KvBufferBatchGet',
  BroadcastTxnStatus: 'BroadcastTxnStatus',
});
