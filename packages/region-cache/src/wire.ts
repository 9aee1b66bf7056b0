import type { metapb } from '@tikv/proto';
import type { SourcePeer, SourcePeerRole, SourceRegionMeta } from './region-source.js';

const ROLES: readonly SourcePeerRole[] = ['voter', 'learner', 'incomingVoter', 'demotingVoter'];

/**
 * Converts a wire peer (for example the leader hint of a NotLeader error).
 *
 * @param p - the `metapb.Peer`
 * @returns the peer
 */
export function peerFromPb(p: metapb.Peer): SourcePeer {
  return { id: p.id, storeId: p.storeId, role: ROLES[p.role] ?? 'voter', isWitness: p.isWitness };
}

/**
 * Converts a wire region (for example one of an EpochNotMatch error's
 * `currentRegions`). Keys are taken as they are: a keyspace codec must
 * decode them first.
 *
 * @param r - the `metapb.Region`
 * @returns the region metadata
 */
export function regionMetaFromPb(r: metapb.Region): SourceRegionMeta {
  return {
    id: r.id,
    startKey: r.startKey,
    endKey: r.endKey,
    epoch: { confVer: r.regionEpoch?.confVer ?? 0n, version: r.regionEpoch?.version ?? 0n },
    peers: r.peers.map(peerFromPb),
  };
}
