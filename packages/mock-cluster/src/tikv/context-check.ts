import { type errorpb, kvrpcpb } from '@tikv/proto';
import type { ClusterModel } from '../cluster/cluster-model.js';
import { DiskUsage, type PeerInfo, type RegionInfo } from '../cluster/topology-types.js';
import { compareBytes } from '../storage/ordered-map.js';
import {
  diskFull,
  epochNotMatch,
  keyNotInRegion,
  mismatchPeerId,
  notLeader,
  regionNotFound,
  storeNotMatch,
} from './region-errors.js';

/** A request that passed the region checks: the region and this store's peer of it. */
export interface CheckedRegion {
  readonly region: RegionInfo;
  readonly peer: PeerInfo;
}

/** Whether the command only reads (reads may be served by followers for replica/stale reads). */
export type AccessKind = 'read' | 'write';

/**
 * Checks a request's `Context` the way TiKV's raftstore does before serving it, in the same
 * order: the target store, the region on this store, the peer id, leadership (followers serve
 * only replica or stale reads), then the region version (`conf_ver` is not checked for normal
 * commands). Returns the region, or the region error TiKV would answer.
 */
export function checkContext(
  model: ClusterModel,
  storeId: bigint,
  ctx: kvrpcpb.Context | undefined,
  access: AccessKind,
): CheckedRegion | errorpb.Error {
  const requestStore = ctx?.peer?.storeId ?? 0n;
  if (requestStore !== storeId) return storeNotMatch(requestStore, storeId);
  const regionId = ctx?.regionId ?? 0n;
  const region = model.region(regionId);
  const peer = region?.peers.find((p) => p.storeId === storeId);
  if (region === undefined || peer === undefined) return regionNotFound(regionId);
  const requestPeer = ctx?.peer?.id ?? 0n;
  if (requestPeer !== peer.id) return mismatchPeerId(requestPeer, peer.id);
  const followerRead = access === 'read' && (ctx?.replicaRead === true || ctx?.staleRead === true);
  if (peer.id !== region.leader.id && !followerRead) return notLeader(region.id, region.leader);
  // TiKV's raft header always carries an epoch: a request without one sends 0/0.
  const epoch = ctx?.regionEpoch ?? { confVer: 0n, version: 0n };
  if (epoch.version !== region.epoch.version) {
    return epochNotMatch(region, epoch, model.siblingsFor(region, epoch.version, storeId));
  }
  return { region, peer };
}

/**
 * TiKV's `check_normal_proposal_with_disk_full_opt` for the leader: on an almost-full disk a
 * write passes only with `AllowedOnAlmostFull` or `AllowedOnAlreadyFull`; on a full one, none
 * does. Returns the DiskFull region error, or undefined.
 */
export function checkDiskFull(
  model: ClusterModel,
  storeId: bigint,
  ctx: kvrpcpb.Context | undefined,
): errorpb.Error | undefined {
  const usage = model.store(storeId)?.diskUsage ?? DiskUsage.Normal;
  if (usage === DiskUsage.Normal) return undefined;
  const opt = ctx?.diskFullOpt ?? kvrpcpb.DiskFullOpt.NotAllowedOnFull;
  if (usage === DiskUsage.AlmostFull && opt !== kvrpcpb.DiskFullOpt.NotAllowedOnFull) return undefined;
  return diskFull(storeId, usage === DiskUsage.AlmostFull ? 'disk almost full' : 'disk already full');
}

/** Distinguishes a check failure from a checked region. */
export function isRegionError(r: CheckedRegion | errorpb.Error): r is errorpb.Error {
  return !('region' in r && 'peer' in r);
}

/** KeyNotInRegion unless `start <= key < end`. */
export function checkKeyInRegion(key: Uint8Array, region: RegionInfo): errorpb.Error | undefined {
  if (
    compareBytes(key, region.startKey) < 0 ||
    (region.endKey.length > 0 && compareBytes(key, region.endKey) >= 0)
  ) {
    return keyNotInRegion(key, region);
  }
  return undefined;
}

/** KeyNotInRegion unless `start <= key <= end` (the bound a scan may seek to). */
export function checkKeyInRegionInclusive(key: Uint8Array, region: RegionInfo): errorpb.Error | undefined {
  if (
    compareBytes(key, region.startKey) < 0 ||
    (region.endKey.length > 0 && compareBytes(key, region.endKey) > 0)
  ) {
    return keyNotInRegion(key, region);
  }
  return undefined;
}
