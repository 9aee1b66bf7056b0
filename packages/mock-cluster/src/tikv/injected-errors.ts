import { InvalidArgumentError } from '@tikv/common';
import { errorpb, kvrpcpb } from '@tikv/proto';
import type { InjectableRegionErrorKind, InjectedError } from '../faults/fault-types.js';
import type { KvDeps } from './kv-deps.js';
import {
  epochNotMatch,
  keyNotInRegion,
  mismatchPeerId,
  notLeader,
  raftEntryTooLarge,
  regionError,
  regionNotFound,
  storeNotMatch,
} from './region-errors.js';

/**
 * Builds the region error an injected fault answers with. Named kinds are filled in from the
 * region the request names (leader hint, current epoch, ...), as TiKV would fill them.
 */
export function buildInjectedRegionError(
  injected: Exclude<InjectedError, { grpcStatus: number } | { keyError: unknown }>,
  deps: KvDeps,
  storeId: bigint,
  ctx: kvrpcpb.Context | undefined,
): errorpb.Error {
  if (typeof injected === 'object') return regionError(injected.regionError);
  return buildNamed(injected, deps, storeId, ctx);
}

function buildNamed(
  kind: InjectableRegionErrorKind,
  deps: KvDeps,
  storeId: bigint,
  ctx: kvrpcpb.Context | undefined,
): errorpb.Error {
  const regionId = ctx?.regionId ?? 0n;
  const region = deps.model.region(regionId);
  switch (kind) {
    case 'NotLeader':
      return notLeader(regionId, region?.leader);
    case 'EpochNotMatch':
      return region === undefined
        ? regionError({ message: 'epoch not match', epochNotMatch: { currentRegions: [] } })
        : epochNotMatch(
            region,
            ctx?.regionEpoch,
            deps.model.siblingsFor(region, ctx?.regionEpoch?.version ?? 0n, storeId),
          );
    case 'RegionNotFound':
      return regionNotFound(regionId);
    case 'KeyNotInRegion':
      return region === undefined
        ? errorpb.Error.fromPartial({ message: 'key not in region', keyNotInRegion: { regionId } })
        : keyNotInRegion(region.endKey, region);
    case 'ServerIsBusy':
      return regionError({
        message: 'server is busy',
        serverIsBusy: {
          reason: 'injected by mock cluster',
          backoffMs: 0n,
          estimatedWaitMs: 0,
          appliedIndex: 0n,
        },
      });
    case 'StaleCommand':
      return regionError({ message: 'stale command', staleCommand: {} });
    case 'StoreNotMatch':
      return storeNotMatch(ctx?.peer?.storeId ?? 0n, storeId);
    case 'RaftEntryTooLarge':
      return raftEntryTooLarge(regionId, BigInt(deps.limits.raftEntryMaxSizeBytes + 1));
    case 'MaxTimestampNotSynced':
      return regionError({ message: 'max timestamp not synced', maxTimestampNotSynced: {} });
    case 'ReadIndexNotReady':
      return regionError({
        message: `read index not ready, reason can not read index due to no leader, region ${regionId}`,
        readIndexNotReady: { reason: 'can not read index due to no leader', regionId },
      });
    case 'ProposalInMergingMode':
      return regionError({
        message: `${regionId} peer in merging mode, can't do proposal`,
        proposalInMergingMode: { regionId },
      });
    case 'DataIsNotReady':
      return regionError({
        message: `peer ${ctx?.peer?.id ?? 0n} is not ready, safe_ts 0, region ${regionId}`,
        dataIsNotReady: { regionId, peerId: ctx?.peer?.id ?? 0n, safeTs: 0n },
      });
    case 'RegionNotInitialized':
      return regionError({
        message: `region ${regionId} not initialized yet`,
        regionNotInitialized: { regionId },
      });
    case 'DiskFull':
      return regionError({
        message: `store ids [${storeId}], errmsg disk full`,
        diskFull: { storeId: [storeId], reason: 'disk full' },
      });
    case 'RecoveryInProgress':
      return regionError({
        message: `region ${regionId} is in the recovery progress`,
        RecoveryInProgress: { regionId },
      });
    case 'FlashbackInProgress':
      return regionError({
        message: `region ${regionId} is in the flashback progress with start_ts 0`,
        FlashbackInProgress: { regionId, flashbackStartTs: 0n },
      });
    case 'FlashbackNotPrepared':
      return regionError({
        message: `region ${regionId} not prepared the flashback`,
        FlashbackNotPrepared: { regionId },
      });
    case 'IsWitness':
      return regionError({ message: `peer is witness of region ${regionId}`, isWitness: { regionId } });
    case 'MismatchPeerId': {
      const local = region?.peers.find((p) => p.storeId === storeId)?.id ?? 0n;
      return mismatchPeerId(ctx?.peer?.id ?? 0n, local);
    }
    case 'BucketVersionNotMatch': {
      // TiKV answers with the region's latest buckets (coprocessor endpoint's check).
      const b = deps.model.buckets(regionId);
      return regionError({
        message: 'bucket version not match',
        bucketVersionNotMatch: {
          version: b?.version ?? 0n,
          keys: (b?.keys ?? []).map((k) => deps.model.codec.toWire(k)),
        },
      });
    }
    case 'UndeterminedResult':
      return regionError({
        message: 'undetermined result',
        undeterminedResult: { message: 'injected undetermined result' },
      });
  }
}

/** The part of a response codec that builds a response with a KeyError. */
interface KeyErrorCodec {
  fromPartial(object: object): unknown;
}

/** A response carrying an injected KeyError in `errors` when the response has that list, else `error`. */
export function injectedKeyError(
  codec: KeyErrorCodec,
  keyError: kvrpcpb.DeepPartial<kvrpcpb.KeyError>,
): object {
  const error = kvrpcpb.KeyError.fromPartial(keyError);
  const probe = codec.fromPartial({}) as object;
  if ('errors' in probe) return codec.fromPartial({ errors: [error] }) as object;
  if ('error' in probe && typeof (probe as { error: unknown }).error !== 'string')
    return codec.fromPartial({ error }) as object;
  throw new InvalidArgumentError('this command has no KeyError field to inject into');
}
