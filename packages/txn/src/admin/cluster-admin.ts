import { compareKeys, InvalidArgumentError, type RequestOptions } from '@tikv/common';
import type { RegionExecutor } from '@tikv/rpc';
import type { GcStatesApi } from '../gc/gc-deps.js';
import type { StoreRecord, StoreSender } from '../range-task/store-deps.js';
import type { AdminOracle, AdminPd, AdminPeer, AdminRegionInfo } from './admin-deps.js';
import { type FlashbackOptions, type FlashbackResult, flashbackToVersion } from './flashback.js';
import { getMinSafeTs, getStoreSafeTs, type MinSafeTs } from './min-safe-ts.js';
import {
  type SplitRegionsOptions,
  type SplitRegionsResult,
  splitRegions,
  type WaitScatterOptions,
  waitScatterRegionFinish,
} from './split-regions.js';

/** A peer of a {@link RegionDescription}. */
export interface RegionPeer {
  readonly id: bigint;
  readonly storeId: bigint;
  readonly role: string;
  readonly isLeader: boolean;
  /** PD reports it down. */
  readonly isDown: boolean;
  /** PD reports it pending (behind on the log). */
  readonly isPending: boolean;
}

/** A region, for inspection. */
export interface RegionDescription {
  readonly id: bigint;
  /** Inclusive start, in the client's keys. */
  readonly startKey: Uint8Array;
  /** Exclusive end; empty is the end of the client's key space. */
  readonly endKey: Uint8Array;
  readonly epoch: { readonly confVer: bigint; readonly version: bigint };
  /** The leader peer; undefined while PD knows none. */
  readonly leader: RegionPeer | undefined;
  readonly peers: readonly RegionPeer[];
}

/** What a {@link ClusterAdmin} runs on. */
export interface ClusterAdminParts {
  /** Region routing and sending (`@tikv/rpc`'s `RegionExecutor`). */
  readonly executor: RegionExecutor;
  /** PD, connected with the client's codec (`@tikv/pd`'s `PdClient`). */
  readonly pd: AdminPd;
  /** Per-store sends through the client's codec (`connectCluster(...).transport`). */
  readonly transport: StoreSender;
  /** Timestamps for flashback (`@tikv/pd`'s `PdOracle`). */
  readonly oracle: AdminOracle;
  /** The client's GC scope: flashback refuses versions below its GC safe point. @defaultValue no check */
  readonly gcStates?: Pick<GcStatesApi, 'getGcState'> | undefined;
}

/** Options of {@link ClusterAdmin.getRegionsInRange}. */
export interface RegionsInRangeOptions extends RequestOptions {
  /** Most regions returned. @defaultValue all */
  readonly limit?: number | undefined;
  /** Regions per PD ScanRegions call. @defaultValue 128 */
  readonly pageSize?: number | undefined;
}

function describe(info: AdminRegionInfo): RegionDescription {
  const down = new Set(info.downPeers.map((p) => p.id));
  const pending = new Set(info.pendingPeers.map((p) => p.id));
  const peer = (p: AdminPeer): RegionPeer => ({
    id: p.id,
    storeId: p.storeId,
    role: p.role,
    isLeader: info.leader?.id === p.id,
    isDown: down.has(p.id),
    isPending: pending.has(p.id),
  });
  const r = info.region;
  return {
    id: r.id,
    startKey: r.startKey,
    endKey: r.endKey,
    epoch: r.epoch,
    leader: info.leader === undefined ? undefined : peer(info.leader),
    peers: r.peers.map(peer),
  };
}

/**
 * Cluster administration in the client's key space (client-go `KVStore`'s `SplitRegions`,
 * `WaitScatterRegionFinish`, `GetMinSafeTS`, PD region and store lookups, and flashback): in
 * API V2 every key and range stays inside the client's keyspace.
 *
 * @example
 * ```ts
 * const admin = new ClusterAdmin({ executor, pd, transport: conn.transport, oracle });
 * const { regionIds } = await admin.splitRegions([k('m')], { scatter: true, waitForScatter: true });
 * const region = await admin.getRegionByKey(k('m'));
 * const { minSafeTs } = await admin.getMinSafeTs();
 * ```
 */
export class ClusterAdmin {
  readonly #p: ClusterAdminParts;

  /** @param parts - executor, PD, per-store transport, oracle, GC states */
  constructor(parts: ClusterAdminParts) {
    this.#p = parts;
  }

  /** Splits regions at `keys` (see {@link splitRegions}). */
  splitRegions(keys: readonly Uint8Array[], options?: SplitRegionsOptions): Promise<SplitRegionsResult> {
    return splitRegions({ executor: this.#p.executor, pd: this.#p.pd }, keys, options);
  }

  /** Waits for a region's scatter to finish (see {@link waitScatterRegionFinish}). */
  waitScatterRegionFinish(regionId: bigint, options?: WaitScatterOptions): Promise<void> {
    return waitScatterRegionFinish(this.#p.pd, regionId, {
      ...options,
      clock: options?.clock ?? this.#p.executor.tuning.clock,
    });
  }

  /** The region holding `key`, with its leader and peers, as PD knows it. */
  async getRegionByKey(key: Uint8Array, options?: RequestOptions): Promise<RegionDescription | undefined> {
    const info = await this.#p.pd.getRegion(key, options);
    return info === undefined ? undefined : describe(info);
  }

  /** The region with this id, or undefined when PD knows none (or it lies outside the keyspace). */
  async getRegionById(regionId: bigint, options?: RequestOptions): Promise<RegionDescription | undefined> {
    const info = await this.#p.pd.getRegionById(regionId, options);
    return info === undefined ? undefined : describe(info);
  }

  /** The regions covering `[startKey, endKey)` in key order (an empty end is unbounded). */
  async getRegionsInRange(
    startKey: Uint8Array,
    endKey: Uint8Array,
    options?: RegionsInRangeOptions,
  ): Promise<RegionDescription[]> {
    const limit = options?.limit ?? Number.POSITIVE_INFINITY;
    const pageSize = options?.pageSize ?? 128;
    if (!(pageSize >= 1) || !Number.isInteger(pageSize)) {
      throw new InvalidArgumentError(`options.pageSize must be an integer >= 1, got ${pageSize}`);
    }
    const call = { signal: options?.signal, timeoutMs: options?.timeoutMs };
    const out: RegionDescription[] = [];
    let start = startKey;
    while (out.length < limit) {
      const page = await this.#p.pd.scanRegions(start, endKey, Math.min(pageSize, limit - out.length), call);
      if (page.length === 0) break;
      for (const info of page) out.push(describe(info));
      const last = (page[page.length - 1] as AdminRegionInfo).region.endKey;
      if (last.length === 0 || (endKey.length > 0 && compareKeys(last, endKey) >= 0)) break;
      start = last;
    }
    return out.slice(0, limit === Number.POSITIVE_INFINITY ? undefined : limit);
  }

  /** Every store PD knows, tombstones included. */
  async getStores(options?: RequestOptions): Promise<readonly StoreRecord[]> {
    return this.#p.pd.getAllStores(options);
  }

  /** One store's safe ts (see {@link getStoreSafeTs}). */
  async getStoreSafeTs(storeId: bigint, options?: RequestOptions): Promise<bigint> {
    const store = (await this.#p.pd.getAllStores(options)).find((s) => s.id === storeId);
    if (store === undefined) throw new InvalidArgumentError(`store ${storeId} is unknown`);
    return getStoreSafeTs(this.#p, store.address, options);
  }

  /** Every store's safe ts and their minimum (see {@link getMinSafeTs}). */
  getMinSafeTs(options?: RequestOptions): Promise<MinSafeTs> {
    return getMinSafeTs({ stores: this.#p.pd, transport: this.#p.transport }, options);
  }

  /** Restores a range to its state at `version` (see {@link flashbackToVersion}). */
  flashbackToVersion(
    version: bigint,
    startKey: Uint8Array,
    endKey: Uint8Array,
    options?: FlashbackOptions,
  ): Promise<FlashbackResult> {
    return flashbackToVersion(this.#p, version, startKey, endKey, options);
  }
}
