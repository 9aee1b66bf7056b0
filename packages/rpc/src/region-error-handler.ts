import {
  type Backoffer,
  type BackoffKind,
  BackoffKinds,
  type Logger,
  type RegionError,
  regionErrorFromWire,
  serverBusyHintMs,
} from '@tikv/common';
import type { errorpb } from '@tikv/proto';
import { peerFromPb, type RpcContext, regionMetaFromPb } from '@tikv/region-cache';
import type { KvTransport } from './kv-transport.js';
import type { RegionLocator } from './region-locator.js';
import type { ReplicaSelector } from './replica-selector.js';

/** What the handler needs for one region error. @internal */
export interface RegionErrorScope {
  readonly backoffer: Backoffer;
  readonly signal: AbortSignal | undefined;
  readonly rpcCtx: RpcContext;
  readonly selector: ReplicaSelector;
  readonly locator: RegionLocator;
  readonly transport: KvTransport;
  readonly logger: Logger;
  /** Whether the command is a read a follower may serve. */
  readonly readOnly: boolean;
  /** The attempt's `Context.maxExecutionDurationMs`. */
  readonly maxExecutionDurationMs: number;
}

/** Converts a wire region error to the client's error with the region and store filled in. @internal */
export function toRegionError(wire: errorpb.Error, rpcCtx: RpcContext): RegionError {
  return regionErrorFromWire(wire, { regionId: rpcCtx.region.id, storeId: rpcCtx.store.id });
}

/** Backs off; when the budget or deadline runs out the error propagates unless `swallow`. */
async function backoff(
  scope: RegionErrorScope,
  kind: BackoffKind,
  err: RegionError,
  minSleepMs?: number,
): Promise<void> {
  await scope.backoffer.backoff(
    kind,
    err,
    minSleepMs === undefined ? { signal: scope.signal } : { signal: scope.signal, minSleepMs },
  );
}

/**
 * Handles a region error the way client-go's `onRegionError` does, in `errorpb.Error` field
 * order: updates the cache and the replica selector, backs off where client-go does.
 *
 * @returns true to send again (to the replica the selector picks next), false to hand the
 *   response with its region error back to the caller (the cache is already updated)
 * @throws the RegionError when it is final (RaftEntryTooLarge, Flashback*, invalid max ts
 *   update); the backoffer's error when its budget or deadline runs out; `signal.reason` on abort
 * @internal
 */
export async function handleRegionError(scope: RegionErrorScope, wire: errorpb.Error): Promise<boolean> {
  const { rpcCtx, selector, locator } = scope;
  const verId = rpcCtx.region;
  const err = toRegionError(wire, rpcCtx);
  scope.logger.debug('region error', { regionId: verId.id, storeId: rpcCtx.store.id, kind: err.kind });

  if (wire.undeterminedResult !== undefined) return false;

  if (wire.notLeader !== undefined) {
    const leader = wire.notLeader.leader;
    const hint = leader === undefined || leader.id === 0n ? undefined : peerFromPb(leader);
    if (selector.onNotLeader(hint)) return true;
    await backoff(scope, BackoffKinds.regionScheduling, err);
    return true;
  }

  if (wire.diskFull !== undefined) {
    try {
      await backoff(scope, BackoffKinds.tikvDiskFull, err);
    } catch (e) {
      if (scope.signal?.aborted) throw scope.signal.reason;
      scope.logger.debug('disk full backoff exhausted', { regionId: verId.id, error: e });
      return false;
    }
    return true;
  }

  if (wire.RecoveryInProgress !== undefined) {
    locator.invalidateRegion(verId);
    await backoff(scope, BackoffKinds.regionRecoveryInProgress, err);
    return false;
  }

  if (wire.isWitness !== undefined) {
    locator.invalidateRegion(verId);
    await backoff(scope, BackoffKinds.isWitness, err);
    return false;
  }

  if (wire.FlashbackInProgress !== undefined) {
    if (selector.onFlashbackInProgress()) return true;
    throw err;
  }
  if (wire.FlashbackNotPrepared !== undefined) throw err;

  if (wire.regionNotFound !== undefined) return selector.onRegionNotFound();

  if (wire.keyNotInRegion !== undefined) {
    scope.logger.error('TiKV reports KeyNotInRegion', { regionId: verId.id, storeId: rpcCtx.store.id });
    locator.invalidateRegion(verId);
    return false;
  }

  if (wire.epochNotMatch !== undefined) {
    const current = wire.epochNotMatch.currentRegions.map(regionMetaFromPb);
    const retry = await locator.onRegionEpochNotMatch(verId, current, { storeId: rpcCtx.store.id });
    if (!retry) {
      selector.invalidateRegion();
      return false;
    }
    await backoff(scope, BackoffKinds.regionMiss, err);
    return true;
  }

  if (wire.bucketVersionNotMatch !== undefined) {
    locator.onBucketVersionNotMatch(
      verId,
      wire.bucketVersionNotMatch.version,
      wire.bucketVersionNotMatch.keys,
    );
    return false;
  }

  if (wire.serverIsBusy !== undefined) {
    const busy = wire.serverIsBusy;
    // TiKV marks a read that ran out of its max execution duration only in this reason text
    // (as client-go checks it); ServerIsBusy has no field for it.
    if (
      busy.reason.includes('deadline is exceeded') &&
      selector.onReadReqConfigurableTimeout(scope.readOnly, scope.maxExecutionDurationMs)
    )
      return true;
    const decision = selector.onServerIsBusy(rpcCtx, Number(busy.estimatedWaitMs), err);
    if (decision === 'fast') return true;
    await backoff(scope, BackoffKinds.tikvServerBusy, err, serverBusyHintMs(err));
    return true;
  }

  // StaleCommand: the selector tries the next peer; a new leader is elected soon.
  if (wire.staleCommand !== undefined) return true;

  if (wire.storeNotMatch !== undefined) {
    locator.invalidateStore(rpcCtx.store.id);
    locator.invalidateRegion(verId);
    await scope.transport.closeAddress(rpcCtx.addr);
    return false;
  }

  if (wire.raftEntryTooLarge !== undefined) throw err;

  if (wire.maxTimestampNotSynced !== undefined) {
    await backoff(scope, BackoffKinds.maxTsNotSynced, err);
    return true;
  }
  if (wire.regionNotInitialized !== undefined) {
    await backoff(scope, BackoffKinds.regionNotInitialized, err);
    return true;
  }
  if (wire.readIndexNotReady !== undefined || wire.proposalInMergingMode !== undefined) {
    await backoff(scope, BackoffKinds.regionScheduling, err);
    return true;
  }

  if (wire.dataIsNotReady !== undefined) {
    selector.onDataIsNotReady();
    return true;
  }

  // A read timed out inside TiKV comes back as a bare message: errorpb has no arm for it, so
  // the text is all there is (client-go matches the same text).
  if (
    wire.message.includes('Deadline is exceeded') &&
    selector.onReadReqConfigurableTimeout(scope.readOnly, scope.maxExecutionDurationMs)
  )
    return true;

  if (wire.mismatchPeerId !== undefined) {
    scope.logger.warn('TiKV reports MismatchPeerId; invalidating the region', { regionId: verId.id });
    selector.invalidateRegion();
    return false;
  }

  // TiKV refuses a max_ts update from a far-future timestamp with only this message (errorpb
  // has no arm for it); client-go classifies it by the same text.
  if (wire.message.includes('invalid max_ts update')) throw err;

  // Anything else: try the next replica.
  return true;
}
