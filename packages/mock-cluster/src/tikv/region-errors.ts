import { errorpb, type metapb } from '@tikv/proto';
import { toMetaPeer, toMetaRegion } from '../cluster/region-wire.js';
import type { PeerInfo, RegionInfo } from '../cluster/topology-types.js';

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex').toUpperCase();
}

function peerDebug(p: PeerInfo | undefined): string {
  return p === undefined ? 'None' : `Some(id: ${p.id} store_id: ${p.storeId})`;
}

/** A region error with only `message` and the given detail set. */
export function regionError(detail: errorpb.DeepPartial<errorpb.Error>): errorpb.Error {
  return errorpb.Error.fromPartial(detail);
}

/** NotLeader with the leader hint, as a follower answers. */
export function notLeader(regionId: bigint, leader: PeerInfo | undefined): errorpb.Error {
  return regionError({
    message: `peer is not leader for region ${regionId}, leader may ${peerDebug(leader)}`,
    notLeader: { regionId, leader: leader === undefined ? undefined : toMetaPeer(leader) },
  });
}

/** RegionNotFound: the store holds no peer of the region. */
export function regionNotFound(regionId: bigint): errorpb.Error {
  return regionError({ message: `region ${regionId} not found`, regionNotFound: { regionId } });
}

/** StoreNotMatch: the request was meant for another store. */
export function storeNotMatch(requestStoreId: bigint, actualStoreId: bigint): errorpb.Error {
  return regionError({
    message: `to store id ${requestStoreId}, mine ${actualStoreId}`,
    storeNotMatch: { requestStoreId, actualStoreId },
  });
}

/** MismatchPeerId: the request names a peer id this store does not have for the region. */
export function mismatchPeerId(requestPeerId: bigint, storePeerId: bigint): errorpb.Error {
  return regionError({
    message: `mismatch peer id ${requestPeerId} != ${storePeerId}`,
    mismatchPeerId: { requestPeerId, storePeerId },
  });
}

/** EpochNotMatch carrying the current region and the siblings a split may have produced. */
export function epochNotMatch(
  current: RegionInfo,
  sent: metapb.RegionEpoch | undefined,
  siblings: readonly RegionInfo[],
): errorpb.Error {
  const regions = [toMetaRegion(current), ...siblings.map(toMetaRegion)];
  const sentText = sent === undefined ? 'None' : `conf_ver: ${sent.confVer} version: ${sent.version}`;
  return regionError({
    message:
      `EpochNotMatch current epoch of region ${current.id} is conf_ver: ${current.epoch.confVer} ` +
      `version: ${current.epoch.version}, but you sent ${sentText}`,
    epochNotMatch: { currentRegions: regions },
  });
}

/** KeyNotInRegion: the key lies outside the region's range (boundaries in wire form). */
export function keyNotInRegion(key: Uint8Array, region: RegionInfo): errorpb.Error {
  return regionError({
    message:
      `key ${hex(key)} is not in region key range [${hex(region.wireStartKey)}, ` +
      `${hex(region.wireEndKey)}) for region ${region.id}`,
    keyNotInRegion: {
      key,
      regionId: region.id,
      startKey: region.wireStartKey,
      endKey: region.wireEndKey,
    },
  });
}

/** RaftEntryTooLarge: a write bigger than the raft entry limit. */
export function raftEntryTooLarge(regionId: bigint, entrySize: bigint): errorpb.Error {
  return regionError({
    message: `raft entry is too large, region ${regionId}, entry size ${entrySize}`,
    raftEntryTooLarge: { regionId, entrySize },
  });
}

/** DiskFull: the store's disk is too full for the write (`RaftStoreError::DiskFull`). */
export function diskFull(storeId: bigint, reason: string): errorpb.Error {
  return regionError({
    message: `store ids [${storeId}], errmsg ${reason}`,
    diskFull: { storeId: [storeId], reason },
  });
}
