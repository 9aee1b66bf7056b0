import { InvalidArgumentError } from '@tikv/common';
import type { ClusterModel } from './cluster/cluster-model.js';
import {
  DiskUsage,
  type PeerRole,
  type RegionInfo,
  type StoreInfo,
  type StoreState,
} from './cluster/topology-types.js';
import { type IdInput, type KeyInput, toKey } from './mock-cluster-options.js';

/**
 * A cluster's topology as a test reads and changes it: regions (split, merge, leaders, peers,
 * buckets) and what PD knows of each store (state, delay, disk usage, slow score). Takes the
 * handle's loose id and key inputs and checks the values it is given; `MockCluster`'s methods of
 * the same names document each.
 */
export class ClusterTopology {
  readonly #model: ClusterModel;
  /** The id of an existing store; throws InvalidArgumentError for an unknown one. */
  readonly #storeId: (id: IdInput) => bigint;

  constructor(model: ClusterModel, storeId: (id: IdInput) => bigint) {
    this.#model = model;
    this.#storeId = storeId;
  }

  stores(): StoreInfo[] {
    return this.#model.stores();
  }

  regions(): RegionInfo[] {
    return this.#model.regions();
  }

  region(id: IdInput): RegionInfo | undefined {
    return this.#model.region(BigInt(id));
  }

  regionByKey(key: KeyInput): RegionInfo {
    const r = this.#model.regionByKey(toKey(key));
    if (r === undefined) throw new InvalidArgumentError('no region contains the key');
    return r;
  }

  split(keys: KeyInput | readonly KeyInput[]): RegionInfo[] {
    const list = Array.isArray(keys) ? (keys as readonly KeyInput[]) : [keys as KeyInput];
    return this.#model.split(list.map(toKey));
  }

  merge(left: IdInput, right: IdInput): RegionInfo {
    return this.#model.merge(BigInt(left), BigInt(right));
  }

  transferLeader(regionId: IdInput, storeId: IdInput): RegionInfo {
    return this.#model.transferLeader(BigInt(regionId), BigInt(storeId));
  }

  addPeer(regionId: IdInput, storeId: IdInput, role?: PeerRole): RegionInfo {
    return this.#model.addPeer(BigInt(regionId), BigInt(storeId), role);
  }

  removePeer(regionId: IdInput, storeId: IdInput): RegionInfo {
    return this.#model.removePeer(BigInt(regionId), BigInt(storeId));
  }

  /** @returns the new bucket version */
  setRegionBuckets(regionId: IdInput, keys: readonly KeyInput[]): bigint {
    return this.#model.setBuckets(BigInt(regionId), keys.map(toKey)).version;
  }

  setStoreState(id: IdInput, state: StoreState): StoreInfo {
    return this.#model.updateStore(this.#storeId(id), { state });
  }

  setStoreDelay(id: IdInput, delayMs: number): void {
    if (!(delayMs >= 0)) throw new InvalidArgumentError('delayMs must be >= 0');
    this.#model.updateStore(this.#storeId(id), { delayMs });
  }

  setStoreDiskUsage(id: IdInput, usage: DiskUsage): void {
    if (!Object.values(DiskUsage).includes(usage)) {
      throw new InvalidArgumentError(`disk usage must be one of ${Object.values(DiskUsage).join(', ')}`);
    }
    this.#model.updateStore(this.#storeId(id), { diskUsage: usage });
  }

  setStoreSlowScore(id: IdInput, slowScore: number): void {
    if (!(Number.isInteger(slowScore) && slowScore >= 1 && slowScore <= 100))
      throw new InvalidArgumentError('slowScore must be an integer in [1, 100]');
    this.#model.updateStore(this.#storeId(id), { slowScore });
  }
}
