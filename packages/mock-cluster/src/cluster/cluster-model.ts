import { type ByteMap, compareBytes, createByteMap } from '../storage/ordered-map.js';
import type { RegionKeyCodec } from './region-key-codec.js';
import {
  DiskUsage,
  type PeerInfo,
  PeerRole,
  type RegionInfo,
  type StoreInfo,
  StoreState,
} from './topology-types.js';

/** Raised for a topology change the cluster cannot make (unknown ids, bad keys, ...). */
export class TopologyError extends Error {
  override name = 'TopologyError';
}

/** What a region is made of; its wire keys are derived from the keys. */
interface RegionSpec {
  readonly id: bigint;
  readonly startKey: Uint8Array;
  readonly endKey: Uint8Array;
  readonly confVer: bigint;
  readonly version: bigint;
  readonly peers: readonly PeerInfo[];
  readonly leader: PeerInfo;
}

interface MutableStore {
  id: bigint;
  address: string;
  state: StoreState;
  running: boolean;
  delayMs: number;
  slowScore: number;
  diskUsage: DiskUsage;
  labels: Record<string, string>;
}

function isInRange(key: Uint8Array, start: Uint8Array, end: Uint8Array): boolean {
  return compareBytes(key, start) >= 0 && (end.length === 0 || compareBytes(key, end) < 0);
}

/**
 * The cluster's metadata as PD knows it: stores, and regions kept in key order with their epochs,
 * peers and leaders. Every change follows TiKV's rules: a split or merge bumps `version` on the
 * regions involved, a peer change bumps `confVer`, and a leader transfer bumps neither. The model
 * is single-threaded and synchronous; regions are immutable snapshots replaced on change.
 */
/** TiKV's `MAX_REGIONS_IN_ERROR`: the most sibling regions an EpochNotMatch lists. */
const MAX_REGIONS_IN_ERROR = 10;

export class ClusterModel {
  readonly codec: RegionKeyCodec;
  #nextId = 1n;
  readonly #stores = new Map<bigint, MutableStore>();
  readonly #regions = new Map<bigint, RegionInfo>();
  /** Regions by wire start key. */
  readonly #byStart: ByteMap<RegionInfo> = createByteMap<RegionInfo>();
  /** Each region's buckets (TiKV key domain), as its leader last reported them to PD. */
  readonly #buckets = new Map<bigint, { readonly version: bigint; readonly keys: readonly Uint8Array[] }>();
  /** Bumped on every change, so caches can tell when to refresh. */
  generation = 0;

  constructor(codec: RegionKeyCodec) {
    this.codec = codec;
  }

  /**
   * Sets a region's bucket boundaries (sorted, in the TiKV key domain; the region's own start
   * and end are added around them); the bucket version goes up by one.
   */
  setBuckets(
    regionId: bigint,
    keys: readonly Uint8Array[],
  ): { version: bigint; keys: readonly Uint8Array[] } {
    const r = this.#regions.get(regionId);
    if (r === undefined) throw new TopologyError(`region ${regionId} does not exist`);
    const version = (this.#buckets.get(regionId)?.version ?? 0n) + 1n;
    const b = Object.freeze({ version, keys: Object.freeze([r.startKey, ...keys, r.endKey]) });
    this.#buckets.set(regionId, b);
    this.generation++;
    return b;
  }

  /** A region's buckets, if any were set. */
  buckets(regionId: bigint): { readonly version: bigint; readonly keys: readonly Uint8Array[] } | undefined {
    return this.#buckets.get(regionId);
  }

  /** Allocates a cluster-unique id (stores, regions and peers share one sequence, as in PD). */
  allocId(): bigint {
    return this.#nextId++;
  }

  /** Registers a store; its address is filled in once its server listens. */
  addStore(labels: Record<string, string> = {}): StoreInfo {
    const s: MutableStore = {
      id: this.allocId(),
      address: '',
      state: StoreState.Up,
      running: true,
      delayMs: 0,
      slowScore: 1,
      diskUsage: DiskUsage.Normal,
      labels: { ...labels },
    };
    this.#stores.set(s.id, s);
    this.generation++;
    return this.#storeSnapshot(s);
  }

  #storeSnapshot(s: MutableStore): StoreInfo {
    return { ...s, labels: { ...s.labels } };
  }

  #mutableStore(id: bigint): MutableStore {
    const s = this.#stores.get(id);
    if (s === undefined) throw new TopologyError(`store ${id} does not exist`);
    return s;
  }

  /** Updates a store's address, liveness, delay or state. */
  updateStore(
    id: bigint,
    patch: Partial<
      Pick<MutableStore, 'address' | 'running' | 'delayMs' | 'slowScore' | 'state' | 'diskUsage'>
    >,
  ): StoreInfo {
    const s = this.#mutableStore(id);
    Object.assign(s, patch);
    this.generation++;
    return this.#storeSnapshot(s);
  }

  /** Forgets a store (PD after its tombstone is purged); peers on it stay in their regions. */
  removeStore(id: bigint): void {
    this.#mutableStore(id);
    this.#stores.delete(id);
    this.generation++;
  }

  /** One store, or undefined. */
  store(id: bigint): StoreInfo | undefined {
    const s = this.#stores.get(id);
    return s === undefined ? undefined : this.#storeSnapshot(s);
  }

  /** Every store, by id. */
  stores(): StoreInfo[] {
    return [...this.#stores.values()]
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .map((s) => this.#storeSnapshot(s));
  }

  /** Creates the first region, covering the whole key space, with a peer on each given store. */
  bootstrap(storeIds: readonly bigint[]): RegionInfo {
    if (this.#regions.size > 0) throw new TopologyError('cluster is already bootstrapped');
    if (storeIds.length === 0) throw new TopologyError('a region needs at least one peer');
    const id = this.allocId();
    const peers = storeIds.map((storeId) => ({ id: this.allocId(), storeId, role: PeerRole.Voter }));
    const empty = new Uint8Array(0);
    const leader = peers[0] as PeerInfo;
    return this.#put(
      this.#make({ id, startKey: empty, endKey: empty, confVer: 1n, version: 1n, peers, leader }),
    );
  }

  #make(spec: RegionSpec): RegionInfo {
    const { startKey, endKey } = spec;
    return Object.freeze({
      id: spec.id,
      startKey,
      endKey,
      wireStartKey: this.codec.toWire(startKey),
      wireEndKey: this.codec.toWire(endKey),
      epoch: Object.freeze({ confVer: spec.confVer, version: spec.version }),
      peers: Object.freeze([...spec.peers]),
      leader: spec.leader,
    });
  }

  /** Replaces region `r` by a copy with `changes` (the same id unless they say otherwise). */
  #revise(r: RegionInfo, changes: Partial<RegionSpec>): RegionInfo {
    const { id, startKey, endKey, peers, leader } = r;
    const { confVer, version } = r.epoch;
    return this.#put(this.#make({ id, startKey, endKey, confVer, version, peers, leader, ...changes }));
  }

  /** The peer of region `r` on `storeId`. */
  #peerOn(r: RegionInfo, storeId: bigint): PeerInfo {
    const peer = r.peers.find((p) => p.storeId === storeId);
    if (peer === undefined) throw new TopologyError(`region ${r.id} has no peer on store ${storeId}`);
    return peer;
  }

  #put(region: RegionInfo): RegionInfo {
    const old = this.#regions.get(region.id);
    if (old !== undefined) this.#byStart.delete(old.wireStartKey);
    this.#regions.set(region.id, region);
    this.#byStart.set(region.wireStartKey, region);
    this.generation++;
    return region;
  }

  #remove(region: RegionInfo): void {
    this.#regions.delete(region.id);
    this.#byStart.delete(region.wireStartKey);
    this.generation++;
  }

  /** A region by id, or undefined. */
  region(id: bigint): RegionInfo | undefined {
    return this.#regions.get(id);
  }

  #mustRegion(id: bigint): RegionInfo {
    const r = this.#regions.get(id);
    if (r === undefined) throw new TopologyError(`region ${id} does not exist`);
    return r;
  }

  /** Every region in key order. */
  regions(): RegionInfo[] {
    return [...this.#byStart.values()];
  }

  /** The region containing a wire-form key (PD's GetRegion). */
  regionByWireKey(wireKey: Uint8Array): RegionInfo | undefined {
    const r = this.#byStart.get(wireKey) ?? this.#byStart.nextLowerPair(wireKey)?.[1];
    if (r === undefined) return undefined;
    return isInRange(wireKey, r.wireStartKey, r.wireEndKey) ? r : undefined;
  }

  /** The region containing a TiKV-domain key. */
  regionByKey(key: Uint8Array): RegionInfo | undefined {
    return this.regionByWireKey(this.codec.toWire(key));
  }

  /** The region just before the one containing a wire key (PD's GetPrevRegion). */
  prevRegionByWireKey(wireKey: Uint8Array): RegionInfo | undefined {
    const cur = this.regionByWireKey(wireKey);
    if (cur === undefined || cur.wireStartKey.length === 0) return undefined;
    return this.#byStart.nextLowerPair(cur.wireStartKey)?.[1];
  }

  /** Up to `limit` regions (0: no limit) overlapping the wire range `[start, end)`. */
  scanWire(start: Uint8Array, end: Uint8Array, limit: number): RegionInfo[] {
    const out: RegionInfo[] = [];
    const first = this.regionByWireKey(start);
    const from = first?.wireStartKey ?? start;
    for (const [, r] of this.#byStart.entries(from)) {
      if (end.length > 0 && compareBytes(r.wireStartKey, end) >= 0) break;
      out.push(r);
      if (limit > 0 && out.length >= limit) break;
    }
    return out;
  }

  /**
   * The regions TiKV attaches to an EpochNotMatch besides the current one
   * (`collect_sibling_region`): when the request's version is behind, the neighbours on the left
   * (TiKV derives the right-most part of a split from the original region), nearest first, as
   * many as the versions the request missed (a neighbour with a newer version extends the count),
   * at most 10, only regions with a peer on `storeId`.
   */
  siblingsFor(region: RegionInfo, requestedVersion: bigint, storeId: bigint): RegionInfo[] {
    let maxVersion = region.epoch.version;
    if (requestedVersion >= maxVersion) return [];
    let missing = maxVersion - requestedVersion;
    const out: RegionInfo[] = [];
    let start = region.wireStartKey;
    while (start.length > 0 && out.length < MAX_REGIONS_IN_ERROR) {
      const left = this.#byStart.nextLowerPair(start)?.[1];
      if (left === undefined) break;
      start = left.wireStartKey;
      if (!left.peers.some((p) => p.storeId === storeId)) continue;
      missing -= 1n;
      if (left.epoch.version >= maxVersion) {
        missing += left.epoch.version - maxVersion;
        maxVersion = left.epoch.version;
      }
      out.push(left);
      if (missing === 0n) break;
    }
    return out;
  }

  /**
   * Splits the regions that contain `keys` (TiKV key domain) at those keys, the way TiKV's batch
   * split does: the original region keeps its id and the right-most part, the new regions take the
   * parts on the left, and every resulting region's version is the old one plus the number of new
   * regions. Keys equal to an existing boundary are skipped. Returns the regions created.
   */
  split(keys: readonly Uint8Array[]): RegionInfo[] {
    const sorted = [...keys].filter((k) => k.length > 0).sort(compareBytes);
    const byRegion = new Map<bigint, Uint8Array[]>();
    for (const k of sorted) {
      const r = this.regionByKey(k);
      if (r === undefined) throw new TopologyError('no region contains the split key');
      if (compareBytes(r.startKey, k) === 0) continue;
      const list = byRegion.get(r.id) ?? [];
      if (list.length === 0 || compareBytes(list[list.length - 1] as Uint8Array, k) !== 0) list.push(k);
      byRegion.set(r.id, list);
    }
    const created: RegionInfo[] = [];
    for (const [regionId, splitKeys] of byRegion) {
      const r = this.#mustRegion(regionId);
      const version = r.epoch.version + BigInt(splitKeys.length);
      let start = r.startKey;
      const leaderStore = r.leader.storeId;
      this.#remove(r);
      for (const k of splitKeys) {
        const peers = r.peers.map((p) => ({ id: this.allocId(), storeId: p.storeId, role: p.role }));
        const leader = peers.find((p) => p.storeId === leaderStore) ?? (peers[0] as PeerInfo);
        const id = this.allocId();
        created.push(this.#revise(r, { id, startKey: start, endKey: k, version, peers, leader }));
        start = k;
      }
      this.#revise(r, { startKey: start, version });
    }
    return created;
  }

  /**
   * Merges two adjacent regions (`left` ends where `right` starts): `left` absorbs `right` and
   * keeps its id, peers and leader; its version becomes max(both versions) + 1, as in TiKV's
   * commit-merge. Returns the merged region.
   */
  merge(leftId: bigint, rightId: bigint): RegionInfo {
    const left = this.#mustRegion(leftId);
    const right = this.#mustRegion(rightId);
    if (left.endKey.length === 0 || compareBytes(left.endKey, right.startKey) !== 0) {
      throw new TopologyError(`regions ${leftId} and ${rightId} are not adjacent`);
    }
    const version =
      (left.epoch.version > right.epoch.version ? left.epoch.version : right.epoch.version) + 1n;
    this.#remove(right);
    return this.#revise(left, { endKey: right.endKey, version });
  }

  /** Moves a region's leadership to its voter on `storeId`; epochs do not change. */
  transferLeader(regionId: bigint, storeId: bigint): RegionInfo {
    const r = this.#mustRegion(regionId);
    const peer = this.#peerOn(r, storeId);
    if (peer.role !== PeerRole.Voter) throw new TopologyError(`the peer on store ${storeId} is a learner`);
    return this.#revise(r, { leader: peer });
  }

  /** Adds a peer on `storeId` (conf change: `confVer` + 1). */
  addPeer(regionId: bigint, storeId: bigint, role: PeerRole = PeerRole.Voter): RegionInfo {
    const r = this.#mustRegion(regionId);
    this.#mutableStore(storeId);
    if (r.peers.some((p) => p.storeId === storeId)) {
      throw new TopologyError(`region ${regionId} already has a peer on store ${storeId}`);
    }
    const peers = [...r.peers, { id: this.allocId(), storeId, role }];
    return this.#revise(r, { confVer: r.epoch.confVer + 1n, peers });
  }

  /** Removes the peer on `storeId` (conf change: `confVer` + 1); the leader must move first. */
  removePeer(regionId: bigint, storeId: bigint): RegionInfo {
    const r = this.#mustRegion(regionId);
    const peer = this.#peerOn(r, storeId);
    if (peer.id === r.leader.id) {
      throw new TopologyError(`cannot remove the leader of region ${regionId}; transfer it first`);
    }
    const peers = r.peers.filter((p) => p.id !== peer.id);
    return this.#revise(r, { confVer: r.epoch.confVer + 1n, peers });
  }
}
