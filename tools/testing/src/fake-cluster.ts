/**
 * An in-memory cluster that answers the region lookups the region cache makes of PD (the shape of
 * `@tikv/region-cache`'s `RegionSource`, satisfied structurally so this package depends on no
 * client package): regions, leaders, stores and buckets that a test changes directly, with call
 * counters.
 */
import { compareKeys, type RequestOptions } from '@tikv/common';

/** A region's replica, as `RegionSource` reports it. */
export interface FakePeer {
  readonly id: bigint;
  readonly storeId: bigint;
  readonly role: 'voter' | 'learner' | 'incomingVoter' | 'demotingVoter';
  readonly isWitness: boolean;
}

/** Bucket boundaries of a region. */
export interface FakeBuckets {
  readonly version: bigint;
  readonly keys: readonly Uint8Array[];
}

/** A region as the fake answers it (structurally `RegionSource`'s `FakeRegionInfo`). */
export interface FakeRegionInfo {
  readonly region: {
    readonly id: bigint;
    readonly startKey: Uint8Array;
    readonly endKey: Uint8Array;
    readonly epoch: { readonly confVer: bigint; readonly version: bigint };
    readonly peers: readonly FakePeer[];
  };
  readonly leader: FakePeer | undefined;
  readonly downPeers: readonly FakePeer[];
  readonly pendingPeers: readonly FakePeer[];
  readonly buckets: FakeBuckets | undefined;
}

/** A store label. */
export interface FakeStoreLabel {
  readonly key: string;
  readonly value: string;
}

/** A store as the fake answers it (structurally `RegionSource`'s `FakeStoreInfo`). */
export interface FakeStoreInfo {
  readonly id: bigint;
  readonly address: string;
  readonly peerAddress: string;
  readonly statusAddress: string;
  readonly state: 'up' | 'offline' | 'tombstone';
  readonly labels: readonly FakeStoreLabel[];
}

/** Per-call options of region lookups. */
interface LookupOptions extends RequestOptions {
  readonly needBuckets?: boolean;
}

interface FakeRegion {
  id: bigint;
  startKey: Uint8Array;
  endKey: Uint8Array;
  confVer: bigint;
  version: bigint;
  peers: FakePeer[];
  leaderPeerId: bigint | undefined;
  buckets: FakeBuckets | undefined;
}

interface FakeStore {
  id: bigint;
  address: string;
  labels: FakeStoreLabel[];
  state: 'up' | 'offline' | 'tombstone';
}

/** Source call counters. */
export interface CallCounts {
  getRegion: number;
  getPrevRegion: number;
  getRegionById: number;
  scanRegions: number;
  batchScanRegions: number;
  getStore: number;
  getAllStores: number;
}

const enc = (s: string | Uint8Array): Uint8Array => (typeof s === 'string' ? new TextEncoder().encode(s) : s);

/**
 * An in-memory cluster that answers as PD does, after client-go's mocktikv
 * `Cluster`: stores, regions with peers, splits, merges, leader changes, down
 * peers and tombstones. It is the `RegionSource` of the unit tests.
 */
export class FakeCluster {
  private nextId = 1n;
  readonly stores = new Map<bigint, FakeStore>();
  readonly regions = new Map<bigint, FakeRegion>();
  readonly downPeers = new Set<bigint>();
  readonly calls: CallCounts = {
    getRegion: 0,
    getPrevRegion: 0,
    getRegionById: 0,
    scanRegions: 0,
    batchScanRegions: 0,
    getStore: 0,
    getAllStores: 0,
  };
  /** When set, answers getRegion / getRegionById / scanRegions (return undefined to fall through). */
  hook: ((call: keyof CallCounts, arg: unknown) => Promise<unknown> | undefined) | undefined;
  /** A gate every call awaits before answering (for coalescing tests). */
  gate: Promise<void> | undefined;

  allocId(): bigint {
    return this.nextId++;
  }

  allocIds(n: number): bigint[] {
    return Array.from({ length: n }, () => this.allocId());
  }

  /** Stores `1..n` style ids with one region over everything; peer on each store, the first is leader. */
  bootstrap(storeCount: number): { storeIds: bigint[]; peerIds: bigint[]; regionId: bigint } {
    const storeIds = this.allocIds(storeCount);
    for (const id of storeIds) this.addStore(id, `store${id}`);
    const regionId = this.allocId();
    const peerIds = this.allocIds(storeCount);
    const peers = storeIds.map((storeId, i) => this.peer(peerIds[i] as bigint, storeId));
    this.regions.set(regionId, {
      id: regionId,
      startKey: new Uint8Array(0),
      endKey: new Uint8Array(0),
      confVer: 1n,
      version: 1n,
      peers,
      leaderPeerId: peerIds[0],
      buckets: undefined,
    });
    return { storeIds, peerIds, regionId };
  }

  private peer(id: bigint, storeId: bigint): FakePeer {
    return { id, storeId, role: 'voter', isWitness: false };
  }

  addStore(id: bigint, address: string, labels: FakeStoreLabel[] = []): void {
    this.stores.set(id, { id, address, labels, state: 'up' });
  }

  removeStore(id: bigint): void {
    this.stores.delete(id);
  }

  markTombstone(id: bigint): void {
    const s = this.stores.get(id);
    if (s !== undefined) s.state = 'tombstone';
  }

  startStore(id: bigint): void {
    const s = this.stores.get(id);
    if (s !== undefined) s.state = 'up';
  }

  updateStoreAddr(id: bigint, address: string, labels?: FakeStoreLabel[]): void {
    const s = this.stores.get(id);
    if (s === undefined) return;
    s.address = address;
    if (labels !== undefined) s.labels = labels;
  }

  updateStoreLabels(id: bigint, labels: FakeStoreLabel[]): void {
    const s = this.stores.get(id);
    if (s !== undefined) s.labels = labels;
  }

  getStoreMeta(id: bigint): FakeStore | undefined {
    return this.stores.get(id);
  }

  region(id: bigint): FakeRegion {
    const r = this.regions.get(id);
    if (r === undefined) throw new Error(`no region ${id}`);
    return r;
  }

  addPeer(regionId: bigint, storeId: bigint, peerId: bigint, role: FakePeer['role'] = 'voter'): void {
    const r = this.region(regionId);
    r.peers.push({ id: peerId, storeId, role, isWitness: false });
    r.confVer += 1n;
  }

  removePeer(regionId: bigint, peerId: bigint): void {
    const r = this.region(regionId);
    r.peers = r.peers.filter((p) => p.id !== peerId);
    r.confVer += 1n;
  }

  setWitness(regionId: bigint, peerId: bigint): void {
    const r = this.region(regionId);
    r.peers = r.peers.map((p) => (p.id === peerId ? { ...p, isWitness: true } : p));
  }

  changeLeader(regionId: bigint, leaderPeerId: bigint): void {
    this.region(regionId).leaderPeerId = leaderPeerId;
  }

  clearLeader(regionId: bigint): void {
    this.region(regionId).leaderPeerId = undefined;
  }

  markPeerDown(peerId: bigint): void {
    this.downPeers.add(peerId);
  }

  removeDownPeer(peerId: bigint): void {
    this.downPeers.delete(peerId);
  }

  setBuckets(regionId: bigint, buckets: FakeBuckets | undefined): void {
    this.region(regionId).buckets = buckets;
  }

  /**
   * Splits `regionId` at `key` (mocktikv `Split`): the old region keeps the
   * left part, `newRegionId` takes the right one, with peers `peerIds` on the
   * same stores as the old peers.
   */
  split(
    regionId: bigint,
    newRegionId: bigint,
    key: string | Uint8Array,
    peerIds: bigint[],
    leaderPeerId: bigint,
  ): void {
    const r = this.region(regionId);
    const k = enc(key);
    const peers = r.peers.map((p, i) => this.peer(peerIds[i] ?? this.allocId(), p.storeId));
    this.regions.set(newRegionId, {
      id: newRegionId,
      startKey: k,
      endKey: r.endKey,
      confVer: r.confVer,
      version: r.version + 1n,
      peers,
      leaderPeerId,
      buckets: undefined,
    });
    r.endKey = k;
    r.version += 1n;
  }

  /** Merges `rightId` into `leftId` (they must be adjacent). */
  merge(leftId: bigint, rightId: bigint): void {
    const l = this.region(leftId);
    const r = this.region(rightId);
    l.endKey = r.endKey;
    l.version = (l.version > r.version ? l.version : r.version) + 1n;
    this.regions.delete(rightId);
  }

  private toSource(r: FakeRegion, needBuckets = true): FakeRegionInfo {
    const leader = r.peers.find((p) => p.id === r.leaderPeerId);
    return {
      region: {
        id: r.id,
        startKey: r.startKey,
        endKey: r.endKey,
        epoch: { confVer: r.confVer, version: r.version },
        peers: r.peers.map((p) => ({ ...p })),
      },
      leader: leader === undefined ? undefined : { ...leader },
      downPeers: r.peers.filter((p) => this.downPeers.has(p.id)),
      pendingPeers: [],
      buckets: needBuckets ? r.buckets : undefined,
    };
  }

  private sorted(): FakeRegion[] {
    return [...this.regions.values()].sort((a, b) => compareKeys(a.startKey, b.startKey));
  }

  private containing(key: Uint8Array): FakeRegion | undefined {
    return this.sorted().find(
      (r) => compareKeys(r.startKey, key) <= 0 && (r.endKey.length === 0 || compareKeys(key, r.endKey) < 0),
    );
  }

  private async enter(call: keyof CallCounts, arg: unknown): Promise<{ hooked: boolean; value: unknown }> {
    this.calls[call] += 1;
    if (this.gate !== undefined) await this.gate;
    const hooked = this.hook?.(call, arg);
    if (hooked !== undefined) return { hooked: true, value: await hooked };
    return { hooked: false, value: undefined };
  }

  async getRegion(key: Uint8Array, options?: LookupOptions): Promise<FakeRegionInfo | undefined> {
    const h = await this.enter('getRegion', key);
    if (h.hooked) return h.value as FakeRegionInfo | undefined;
    const r = this.containing(key);
    return r === undefined ? undefined : this.toSource(r, options?.needBuckets);
  }

  async getPrevRegion(key: Uint8Array, options?: LookupOptions): Promise<FakeRegionInfo | undefined> {
    const h = await this.enter('getPrevRegion', key);
    if (h.hooked) return h.value as FakeRegionInfo | undefined;
    const all = this.sorted();
    const i = all.findIndex(
      (r) => compareKeys(r.startKey, key) <= 0 && (r.endKey.length === 0 || compareKeys(key, r.endKey) < 0),
    );
    const prev = i > 0 ? all[i - 1] : undefined;
    return prev === undefined ? undefined : this.toSource(prev, options?.needBuckets);
  }

  async getRegionById(regionId: bigint, options?: LookupOptions): Promise<FakeRegionInfo | undefined> {
    const h = await this.enter('getRegionById', regionId);
    if (h.hooked) return h.value as FakeRegionInfo | undefined;
    const r = this.regions.get(regionId);
    return r === undefined ? undefined : this.toSource(r, options?.needBuckets);
  }

  async scanRegions(
    startKey: Uint8Array,
    endKey: Uint8Array,
    limit: number,
    _options?: RequestOptions,
  ): Promise<FakeRegionInfo[]> {
    const h = await this.enter('scanRegions', { startKey, endKey, limit });
    if (h.hooked) return h.value as FakeRegionInfo[];
    const out: FakeRegionInfo[] = [];
    for (const r of this.sorted()) {
      if (r.endKey.length !== 0 && compareKeys(r.endKey, startKey) <= 0) continue;
      if (endKey.length !== 0 && compareKeys(r.startKey, endKey) >= 0) break;
      out.push(this.toSource(r, false));
      if (limit > 0 && out.length >= limit) break;
    }
    return out;
  }

  /** PD `BatchScanRegions`: the regions overlapping any range, each once, at most `limit`. */
  async batchScanRegions(
    ranges: readonly { readonly startKey: Uint8Array; readonly endKey: Uint8Array }[],
    limit: number,
    options?: LookupOptions,
  ): Promise<FakeRegionInfo[]> {
    const h = await this.enter('batchScanRegions', { ranges, limit });
    if (h.hooked) return h.value as FakeRegionInfo[];
    const out: FakeRegionInfo[] = [];
    const seen = new Set<bigint>();
    for (const { startKey, endKey } of ranges) {
      for (const r of this.sorted()) {
        if (r.endKey.length !== 0 && compareKeys(r.endKey, startKey) <= 0) continue;
        if (endKey.length !== 0 && compareKeys(r.startKey, endKey) >= 0) break;
        if (seen.has(r.id)) continue;
        seen.add(r.id);
        out.push(this.toSource(r, options?.needBuckets));
        if (limit > 0 && out.length >= limit) return out;
      }
    }
    return out;
  }

  private storeInfo(s: FakeStore): FakeStoreInfo {
    return {
      id: s.id,
      address: s.address,
      peerAddress: '',
      statusAddress: '',
      state: s.state,
      labels: s.labels,
    };
  }

  async getStore(storeId: bigint, _options?: RequestOptions): Promise<FakeStoreInfo | undefined> {
    const h = await this.enter('getStore', storeId);
    if (h.hooked) return h.value as FakeStoreInfo | undefined;
    const s = this.stores.get(storeId);
    return s === undefined ? undefined : this.storeInfo(s);
  }

  async getAllStores(_options?: RequestOptions): Promise<FakeStoreInfo[]> {
    const h = await this.enter('getAllStores', undefined);
    if (h.hooked) return h.value as FakeStoreInfo[];
    return [...this.stores.values()].map((s) => this.storeInfo(s));
  }
}
