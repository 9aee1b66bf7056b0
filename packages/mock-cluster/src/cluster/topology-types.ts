/** Raft role of a peer. */
export const PeerRole = Object.freeze({ Voter: 'voter', Learner: 'learner' } as const);
/** A peer's raft role. */
export type PeerRole = (typeof PeerRole)[keyof typeof PeerRole];

/** One replica of a region. */
export interface PeerInfo {
  readonly id: bigint;
  readonly storeId: bigint;
  readonly role: PeerRole;
}

/** A region's epoch: `version` changes on split and merge, `confVer` on membership changes. */
export interface RegionEpochInfo {
  readonly confVer: bigint;
  readonly version: bigint;
}

/** A snapshot of one region as the mock cluster sees it. */
export interface RegionInfo {
  readonly id: bigint;
  /** Inclusive start key in the TiKV key domain (API V2 keys carry their mode and keyspace prefix). */
  readonly startKey: Uint8Array;
  /** Exclusive end key in the TiKV key domain; empty means the end of the key space. */
  readonly endKey: Uint8Array;
  /** Start key as PD and region errors report it (memcomparable-encoded when the cluster encodes). */
  readonly wireStartKey: Uint8Array;
  /** End key as PD and region errors report it. */
  readonly wireEndKey: Uint8Array;
  readonly epoch: RegionEpochInfo;
  readonly peers: readonly PeerInfo[];
  /** The peer that currently leads the region. */
  readonly leader: PeerInfo;
}

/** PD's view of a store's lifecycle. */
export const StoreState = Object.freeze({ Up: 'up', Offline: 'offline', Tombstone: 'tombstone' } as const);
/** A store's lifecycle state. */
export type StoreState = (typeof StoreState)[keyof typeof StoreState];

/** A snapshot of one store. */
export interface StoreInfo {
  readonly id: bigint;
  /** `host:port` the store's TiKV service listens on. */
  readonly address: string;
  readonly state: StoreState;
  /** False while the store is stopped (its port refuses connections). */
  readonly running: boolean;
  /** Extra latency added to every request this store serves. */
  readonly delayMs: number;
  /** The raftstore slow score the store reports in health feedback (1 healthy .. 100). */
  readonly slowScore: number;
  /** How full the store's disk is: writes are refused unless their `diskFullOpt` allows it. */
  readonly diskUsage: DiskUsage;
  readonly labels: Readonly<Record<string, string>>;
}

/** A store's disk usage level (TiKV's `DiskUsage`). */
export const DiskUsage = Object.freeze({
  Normal: 'normal',
  AlmostFull: 'almostFull',
  AlreadyFull: 'alreadyFull',
} as const);
/** One of the {@link DiskUsage} levels. */
export type DiskUsage = (typeof DiskUsage)[keyof typeof DiskUsage];
