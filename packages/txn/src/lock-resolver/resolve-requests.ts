import {
  type Backoffer,
  InvalidArgumentError,
  keyErrorFromWire,
  keysEqual,
  type LockInfo,
  U64_MAX,
} from '@tikv/common';
import type { RegionVerId } from '@tikv/region-cache';
import type { RegionExecutor, RegionRequestOptions } from '@tikv/rpc';
import type { TxnStatus } from './txn-status.js';

/** What the request helpers of a resolver share. @internal */
export interface ResolveRequestContext {
  readonly exec: RegionExecutor;
  /** The request options of every request the resolver sends (write execution limit, source). */
  readonly request: RegionRequestOptions;
  /** Counts one action on the resolver's metric. */
  readonly count: (type: string) => void;
}

/** Regions already cleaned for one transaction, by {@link regionKey}. @internal */
export type CleanRegions = Set<string>;

/** Most keys per region request when the keys are grouped only by region. @internal */
export const UNCUT = Object.freeze({ maxCount: Number.MAX_SAFE_INTEGER });

const identity = (k: Uint8Array): Uint8Array => k;

/**
 * A region version as a map key (client-go keys its sets by `RegionVerID`).
 *
 * @internal
 */
export function regionKey(r: RegionVerId): string {
  return `${r.id}:${r.confVer}:${r.version}`;
}

/** Whether the lock is a pessimistic lock (client-go `Lock.IsPessimistic`). @internal */
export function isPessimisticLock(l: LockInfo): boolean {
  return l.lockType === 'PessimisticLock' || l.lockType === 'SharedPessimisticLock';
}

/**
 * Refuses a shared lock: it is resolved through the locks it holds, never directly.
 *
 * @throws InvalidArgumentError for a shared lock
 * @internal
 */
export function mustNotBeSharedLock(l: LockInfo): void {
  if (l.lockType === 'SharedLock') {
    throw new InvalidArgumentError('a shared lock cannot be resolved directly: resolve the locks it holds');
  }
}

/** The commit version a `ResolveLock` carries: the commit ts, or 0 to roll back. */
function commitVersionOf(status: TxnStatus): bigint {
  return status.isCommitted ? status.commitTs : 0n;
}

/**
 * Resolves one lock's transaction in the lock's region (client-go `resolveLock`): lite sends
 * the lock's key only; otherwise TiKV resolves every lock of the transaction in the region, and
 * the region is recorded in `cleanRegions` so that other locks of the transaction there are
 * skipped. A lite lock on the primary key needs nothing: the status check resolved it.
 *
 * @internal
 */
export async function resolveLockInRegion(
  ctx: ResolveRequestContext,
  bo: Backoffer,
  lock: LockInfo,
  status: TxnStatus,
  lite: boolean,
  cleanRegions: CleanRegions | undefined,
): Promise<void> {
  ctx.count('resolve_locks');
  if (lite && keysEqual(lock.key, lock.primary)) return;
  const locateOptions = bo.signal === undefined ? undefined : { signal: bo.signal };
  for (;;) {
    const loc = await ctx.exec.locator.locateKey(lock.key, locateOptions);
    const region = regionKey(loc.region);
    if (cleanRegions?.has(region) === true) return;
    if (lite) ctx.count('resolve_lock_lite');
    const resp = await ctx.exec.sendToRegion(
      bo,
      loc.region,
      {
        $case: 'ResolveLock',
        value: {
          context: undefined,
          startVersion: lock.lockVersion,
          commitVersion: commitVersionOf(status),
          txnInfos: [],
          keys: lite ? [lock.key] : [],
          isAsync: false,
          isTxnFile: lock.isTxnFile,
        },
      },
      ctx.request,
    );
    if (resp === undefined) continue;
    if (resp.value.error !== undefined) throw keyErrorFromWire(resp.value.error);
    if (!lite) cleanRegions?.add(region);
    return;
  }
}

/**
 * Resolves the given keys of one transaction with one `ResolveLock` per region (client-go
 * `resolveRegionLocks` over `GroupKeysByRegion`); a region that changed is grouped again.
 *
 * @internal
 */
export async function resolveKeys(
  ctx: ResolveRequestContext,
  bo: Backoffer,
  lock: LockInfo,
  keys: readonly Uint8Array[],
  status: TxnStatus,
): Promise<void> {
  const commitVersion = commitVersionOf(status);
  await ctx.exec.runBatches(bo, {
    items: keys,
    keyOf: identity,
    limit: UNCUT,
    send: async (batch, child) => {
      const resp = await ctx.exec.sendToRegion(
        child,
        batch.region,
        {
          $case: 'ResolveLock',
          value: {
            context: undefined,
            startVersion: lock.lockVersion,
            commitVersion,
            txnInfos: [],
            keys: batch.items as Uint8Array[],
            isAsync: false,
            isTxnFile: lock.isTxnFile,
          },
        },
        ctx.request,
      );
      if (resp === undefined) return 'regionError';
      if (resp.value.error !== undefined) throw keyErrorFromWire(resp.value.error);
      return 'done';
    },
  });
}

/**
 * Rolls back a pessimistic lock (client-go `resolvePessimisticLock`): the lock's key alone, or
 * with `regionResolve` every pessimistic lock of the transaction in the region, recorded in
 * `cleanRegions`. A lock on the primary key needs nothing: the status check rolled it back.
 *
 * @internal
 */
export async function rollbackPessimisticLock(
  ctx: ResolveRequestContext,
  bo: Backoffer,
  lock: LockInfo,
  regionResolve: boolean,
  cleanRegions: CleanRegions | undefined,
): Promise<void> {
  ctx.count('resolve_locks');
  if (keysEqual(lock.key, lock.primary)) return;
  const locateOptions = bo.signal === undefined ? undefined : { signal: bo.signal };
  // A lock without a for-update ts is rolled back whatever its for-update ts.
  const forUpdateTs = lock.lockForUpdateTs === 0n ? U64_MAX : lock.lockForUpdateTs;
  for (;;) {
    const loc = await ctx.exec.locator.locateKey(lock.key, locateOptions);
    const region = regionKey(loc.region);
    if (regionResolve && cleanRegions?.has(region) === true) return;
    const resp = await ctx.exec.sendToRegion(
      bo,
      loc.region,
      {
        $case: 'PessimisticRollback',
        value: {
          context: undefined,
          startVersion: lock.lockVersion,
          forUpdateTs,
          keys: regionResolve ? [] : [lock.key],
        },
      },
      ctx.request,
    );
    if (resp === undefined) continue;
    const first = resp.value.errors[0];
    if (first !== undefined) throw keyErrorFromWire(first);
    if (regionResolve) cleanRegions?.add(region);
    return;
  }
}
