import type { RequestOptions } from '@tikv/common';

/**
 * A peer's Raft role, as the region source reports it. The string values
 * match `@tikv/pd`'s `PeerRole`.
 */
export type SourcePeerRole = 'voter' | 'learner' | 'incomingVoter' | 'demotingVoter';

/** One replica of a region. */
export interface SourcePeer {
  /** The peer id. */
  readonly id: bigint;
  /** The store the peer lives on. */
  readonly storeId: bigint;
  /** The peer's Raft role. */
  readonly role: SourcePeerRole;
  /** A witness holds no data and serves no reads or writes. */
  readonly isWitness: boolean;
}

/** A region epoch: `confVer` grows with membership changes, `version` with splits and merges. */
export interface SourceRegionEpoch {
  /** The configuration version. */
  readonly confVer: bigint;
  /** The range version. */
  readonly version: bigint;
}

/** A region's metadata. Keys are in the caller's key space. */
export interface SourceRegionMeta {
  /** The region id. */
  readonly id: bigint;
  /** Inclusive start key; empty is minus infinity. */
  readonly startKey: Uint8Array;
  /** Exclusive end key; empty is plus infinity. */
  readonly endKey: Uint8Array;
  /** The region epoch. */
  readonly epoch: SourceRegionEpoch;
  /** Every peer of the region. */
  readonly peers: readonly SourcePeer[];
}

/** A region's bucket boundaries (finer split points used for load statistics and scans). */
export interface SourceBuckets {
  /** The bucket version; a newer one replaces an older one. */
  readonly version: bigint;
  /** Sorted bucket boundaries; consecutive keys delimit one bucket. */
  readonly keys: readonly Uint8Array[];
}

/** A region as the region source reports it (structurally `@tikv/pd`'s `RegionInfo`). */
export interface SourceRegion {
  /** The region's metadata. */
  readonly region: SourceRegionMeta;
  /** The leader peer; undefined when the source does not know one. */
  readonly leader: SourcePeer | undefined;
  /** Peers reported down; the cache never routes to them. */
  readonly downPeers: readonly SourcePeer[];
  /** Peers still catching up. */
  readonly pendingPeers: readonly SourcePeer[];
  /** Bucket boundaries, when asked for and known. */
  readonly buckets: SourceBuckets | undefined;
}

/** A store state as the region source reports it. */
export type SourceStoreState = 'up' | 'offline' | 'tombstone';

/** A store label. */
export interface SourceStoreLabel {
  /** Label key, for example `zone` or `engine`. */
  readonly key: string;
  /** Label value. */
  readonly value: string;
}

/** A store as the region source reports it (structurally `@tikv/pd`'s `StoreInfo`). */
export interface SourceStore {
  /** The store id. */
  readonly id: bigint;
  /** The address clients send requests to (`host:port`). */
  readonly address: string;
  /** The address peers use; TiFlash proxies are reached through it. */
  readonly peerAddress: string;
  /** The status (HTTP) address. */
  readonly statusAddress: string;
  /** The store's state. */
  readonly state: SourceStoreState;
  /** The store's labels. */
  readonly labels: readonly SourceStoreLabel[];
}

/** A key range `[startKey, endKey)`; an empty end is +infinity. */
export interface SourceKeyRange {
  /** Inclusive start key. */
  readonly startKey: Uint8Array;
  /** Exclusive end key; empty is plus infinity. */
  readonly endKey: Uint8Array;
}

/** Per-call options of {@link RegionSource.batchScanRegions}. */
export interface BatchScanCallOptions extends RegionSourceCallOptions {
  /** The source fails the call unless its regions cover every range without a hole. */
  readonly containAllKeyRange?: boolean | undefined;
}

/** Per-call options of region lookups. */
export interface RegionSourceCallOptions extends RequestOptions {
  /** Ask for the region's buckets too. */
  readonly needBuckets?: boolean | undefined;
}

/**
 * What the region cache needs from PD. `PdClient` from `@tikv/pd` satisfies it
 * structurally; tests pass a small in-memory fake.
 */
export interface RegionSource {
  /** The region containing `key`, or undefined when there is none. */
  getRegion(key: Uint8Array, options?: RegionSourceCallOptions): Promise<SourceRegion | undefined>;
  /** The region just before the one containing `key`, or undefined. */
  getPrevRegion(key: Uint8Array, options?: RegionSourceCallOptions): Promise<SourceRegion | undefined>;
  /** The region with this id, or undefined. */
  getRegionById(regionId: bigint, options?: RegionSourceCallOptions): Promise<SourceRegion | undefined>;
  /** Up to `limit` regions overlapping `[startKey, endKey)` in key order (empty end: unbounded). */
  scanRegions(
    startKey: Uint8Array,
    endKey: Uint8Array,
    limit: number,
    options?: RequestOptions,
  ): Promise<SourceRegion[]>;
  /**
   * Up to `limit` regions overlapping any of `ranges` (sorted, not overlapping), in key order
   * (PD `BatchScanRegions`). Optional: without it the cache scans range by range.
   */
  batchScanRegions?(
    ranges: readonly SourceKeyRange[],
    limit: number,
    options?: BatchScanCallOptions,
  ): Promise<SourceRegion[]>;
  /** The store with this id; undefined when it does not exist or was removed. */
  getStore(storeId: bigint, options?: RequestOptions): Promise<SourceStore | undefined>;
  /** Every store the cluster knows. */
  getAllStores(options?: RequestOptions): Promise<SourceStore[]>;
}
