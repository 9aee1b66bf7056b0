import { metapb } from '@tikv/proto';
import {
  type PeerInfo,
  PeerRole,
  type RegionInfo,
  type StoreInfo,
  type StoreState,
} from './topology-types.js';

/** A peer as `metapb.Peer`. */
export function toMetaPeer(p: PeerInfo): metapb.Peer {
  return {
    id: p.id,
    storeId: p.storeId,
    role: p.role === PeerRole.Voter ? metapb.PeerRole.Voter : metapb.PeerRole.Learner,
    isWitness: false,
  };
}

/** A region as `metapb.Region`, boundaries in wire form. */
export function toMetaRegion(r: RegionInfo): metapb.Region {
  return {
    id: r.id,
    startKey: r.wireStartKey,
    endKey: r.wireEndKey,
    regionEpoch: { confVer: r.epoch.confVer, version: r.epoch.version },
    peers: r.peers.map(toMetaPeer),
    encryptionMeta: undefined,
    isInFlashback: false,
    flashbackStartTs: 0n,
  };
}

const STORE_STATES: Record<StoreState, [metapb.StoreState, metapb.NodeState]> = {
  up: [metapb.StoreState.Up, metapb.NodeState.Serving],
  offline: [metapb.StoreState.Offline, metapb.NodeState.Removing],
  tombstone: [metapb.StoreState.Tombstone, metapb.NodeState.Removed],
};

/** A store as `metapb.Store`. */
export function toMetaStore(s: StoreInfo, startTimestampSeconds: bigint, version: string): metapb.Store {
  const [state, nodeState] = STORE_STATES[s.state];
  return {
    id: s.id,
    address: s.address,
    state,
    labels: Object.entries(s.labels).map(([key, value]) => ({ key, value })),
    version,
    peerAddress: s.address,
    statusAddress: '',
    gitHash: '',
    startTimestamp: startTimestampSeconds,
    deployPath: '',
    lastHeartbeat: BigInt(Date.now()) * 1_000_000n,
    physicallyDestroyed: false,
    nodeState,
  };
}
