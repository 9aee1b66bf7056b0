import { type Backoffer, keyErrorFromWire, type LockInfo, TiKVError, U64_MAX } from '@tikv/common';
import type { RegionVerId } from '@tikv/region-cache';
import { checkAllSecondaries, NonAsyncCommitLockError } from './async-commit-recovery.js';
import {
  isPessimisticLock,
  mustNotBeSharedLock,
  type ResolveRequestContext,
  rollbackPessimisticLock,
} from './resolve-requests.js';
import type { TxnStatus } from './txn-status.js';
import type { TxnStatusChecker } from './txn-status-checker.js';

/**
 * Resolves locks of one region whatever their TTL, for GC (client-go `BatchResolveLocks`):
 * every transaction is checked with `currentTs` at the maximum (so live ones are rolled back),
 * pessimistic locks are rolled back one by one, and the rest is resolved by one `ResolveLock`
 * carrying every transaction's outcome (`txn_infos`).
 *
 * @param ctx - the resolver's executor, request options and metric
 * @param checker - the resolver's status checker
 * @param bo - the caller's backoffer
 * @param locks - locks of one region (from a lock scan)
 * @param region - the region they were scanned in
 * @returns false after a region error (the caller scans the region again), true when done
 * @internal
 */
export async function batchResolveLocks(
  ctx: ResolveRequestContext,
  checker: TxnStatusChecker,
  bo: Backoffer,
  locks: readonly LockInfo[],
  region: RegionVerId,
): Promise<boolean> {
  if (locks.length === 0) return true;
  ctx.count('batch_resolve');
  const txnInfos = new Map<bigint, { status: bigint; isTxnFile: boolean }>();
  for (const l of locks) {
    mustNotBeSharedLock(l);
    if (txnInfos.has(l.lockVersion)) continue;
    ctx.count('expired');
    const check = (forceSyncCommit: boolean): Promise<TxnStatus> =>
      checker.checkTxnStatus(bo, {
        primaryKey: l.primary,
        txnStartTs: l.lockVersion,
        currentTs: U64_MAX,
        rollbackIfNotExist: true,
        forceSyncCommit,
        resolvingPessimisticLock: isPessimisticLock(l),
        isTxnFile: l.isTxnFile,
      });
    let status = await check(false);
    if (isPessimisticLock(l)) {
      // Committing a pessimistic lock means nothing: roll it back (its primary may not be the
      // transaction's real one, so it cannot go in txn_infos).
      await rollbackPessimisticLock(ctx, bo, l, false, undefined);
      continue;
    }
    if (status.primaryLock?.useAsyncCommit === true) {
      try {
        const data = await checkAllSecondaries(ctx, bo, l, status);
        txnInfos.set(l.lockVersion, { status: data.commitTs, isTxnFile: l.isTxnFile });
        continue;
      } catch (e) {
        if (!(e instanceof NonAsyncCommitLockError)) throw e;
        status = await check(true);
      }
    }
    if (status.ttlMs > 0n) {
      throw new TiKVError(
        'INTERNAL',
        `TiKV was asked to roll back txn ${l.lockVersion} but kept its lock: the protocol may be wrong`,
      );
    }
    txnInfos.set(l.lockVersion, { status: status.commitTs, isTxnFile: l.isTxnFile });
  }
  if (txnInfos.size === 0) return true;
  const resp = await ctx.exec.sendToRegion(
    bo,
    region,
    {
      $case: 'ResolveLock',
      value: {
        context: undefined,
        startVersion: 0n,
        commitVersion: 0n,
        txnInfos: [...txnInfos].map(([txn, info]) => ({
          txn,
          status: info.status,
          isTxnFile: info.isTxnFile,
        })),
        keys: [],
        isAsync: false,
        isTxnFile: false,
      },
    },
    ctx.request,
  );
  if (resp === undefined) return false;
  if (resp.value.error !== undefined) throw keyErrorFromWire(resp.value.error);
  return true;
}
