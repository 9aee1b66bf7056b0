import type { metapb, pdpb } from '@tikv/proto';

/** A peer's Raft role. */
export const PeerRole = Object.freeze({
  VOTER: 'voter',
  LEARNER: 'learner',
  INCOMING_VOTER: 'incomingVoter',
  DEMOTING_VOTER: 'demotingVoter',
} as const);
/** One of the {@link PeerRole} values. */
export type PeerRole = (typeof PeerRole)[keyof typeof PeerRole];

const ROLES: readonly PeerRole[] = ['voter', 'learner', 'incomingVoter', 'demotingVoter'];

/** A store's state as PD reports it. */
export const StoreState = Object.freeze({ UP: 'up', OFFLINE: 'offline', TOMBSTONE: 'tombstone' } as const);
/** One of the {@link StoreState} values. */
export type StoreState = (typeof StoreState)[keyof typeof StoreState];
const STORE_STATES: readonly StoreState[] = ['up', 'offline', 'tombstone'];

/** A store's node state. */
export const NodeState = Object.freeze({
  PREPARING: 'preparing',
  SERVING: 'serving',
  REMOVING: 'removing',
  REMOVED: 'removed',
} as const);
/** One of the {@link NodeState} values. */
export type NodeState = (typeof NodeState)[keyof typeof NodeState];
const NODE_STATES: readonly NodeState[] = ['preparing', 'serving', 'removing', 'removed'];

/** One replica of a region. */
export interface PeerInfo {
  readonly id: bigint;
  readonly storeId: bigint;
  readonly role: PeerRole;
  readonly isWitness: boolean;
}

/** A region's epoch: bumped by conf changes (`confVer`) and splits/merges (`version`). */
export interface RegionEpoch {
  readonly confVer: bigint;
  readonly version: bigint;
}

/** A region's metadata; keys are in the caller's key space (decoded by the codec). */
export interface RegionMeta {
  readonly id: bigint;
  /** Inclusive start key; empty means minus infinity. */
  readonly startKey: Uint8Array;
  /** Exclusive end key; empty means plus infinity. */
  readonly endKey: Uint8Array;
  readonly epoch: RegionEpoch;
  readonly peers: readonly PeerInfo[];
}

/** A region's bucket boundaries. */
export interface RegionBuckets {
  readonly version: bigint;
  readonly keys: readonly Uint8Array[];
}

/** A region as PD reports it: metadata, leader, unhealthy peers and buckets when asked. */
export interface RegionInfo {
  readonly region: RegionMeta;
  /** The leader peer; undefined when PD does not know one yet. */
  readonly leader: PeerInfo | undefined;
  readonly downPeers: readonly PeerInfo[];
  readonly pendingPeers: readonly PeerInfo[];
  /** Present when buckets were asked for and PD has them. */
  readonly buckets: RegionBuckets | undefined;
}

/** A store label. */
export interface StoreLabel {
  readonly key: string;
  readonly value: string;
}

/** A TiKV (or TiFlash) store. */
export interface StoreInfo {
  readonly id: bigint;
  readonly address: string;
  readonly peerAddress: string;
  readonly statusAddress: string;
  readonly state: StoreState;
  readonly nodeState: NodeState;
  readonly labels: readonly StoreLabel[];
  readonly version: string;
  readonly gitHash: string;
  /** Unix seconds the store started. */
  readonly startTimestamp: bigint;
  /** Unix nanoseconds of the last heartbeat. */
  readonly lastHeartbeat: bigint;
  readonly physicallyDestroyed: boolean;
}

/** @internal */
export function peerFromWire(p: metapb.Peer): PeerInfo {
  return { id: p.id, storeId: p.storeId, role: ROLES[p.role] ?? 'voter', isWitness: p.isWitness };
}

/** The wire fields a region answer carries (GetRegion, ScanRegions, QueryRegion). @internal */
export interface WireRegion {
  readonly region: metapb.Region | undefined;
  readonly leader: metapb.Peer | undefined;
  readonly downPeers: readonly pdpb.PeerStats[];
  readonly pendingPeers: readonly metapb.Peer[];
  readonly buckets: metapb.Buckets | undefined;
}

/** Converts a wire region answer; undefined when it has no region. @internal */
export function regionFromWire(r: WireRegion): RegionInfo | undefined {
  const m = r.region;
  if (m === undefined) return undefined;
  const leader = r.leader === undefined || r.leader.id === 0n ? undefined : peerFromWire(r.leader);
  return {
    region: {
      id: m.id,
      startKey: m.startKey,
      endKey: m.endKey,
      epoch: { confVer: m.regionEpoch?.confVer ?? 0n, version: m.regionEpoch?.version ?? 0n },
      peers: m.peers.map(peerFromWire),
    },
    leader,
    downPeers: r.downPeers.flatMap((s) => (s.peer === undefined ? [] : [peerFromWire(s.peer)])),
    pendingPeers: r.pendingPeers.map(peerFromWire),
    buckets: r.buckets === undefined ? undefined : { version: r.buckets.version, keys: r.buckets.keys },
  };
}

/** Converts a wire store. @internal */
export function storeFromWire(s: metapb.Store): StoreInfo {
  return {
    id: s.id,
    address: s.address,
    peerAddress: s.peerAddress,
    statusAddress: s.statusAddress,
    state: STORE_STATES[s.state] ?? 'up',
    nodeState: NODE_STATES[s.nodeState] ?? 'serving',
    labels: s.labels.map((l) => ({ key: l.key, value: l.value })),
    version: s.version,
    gitHash: s.gitHash,
    startTimestamp: s.startTimestamp,
    lastHeartbeat: s.lastHeartbeat,
    physicallyDestroyed: s.physicallyDestroyed,
  };
}
