import { type metapb, pdpb } from '@tikv/proto';
import type { ClusterModel } from '../cluster/cluster-model.js';
import { toMetaPeer, toMetaRegion, toMetaStore } from '../cluster/region-wire.js';
import { type RegionInfo, StoreState } from '../cluster/topology-types.js';
import type { ServiceHandlers } from '../server/grpc-host.js';
import { GrpcStatus, type RpcContext, RpcError, unimplemented } from '../server/rpc-error.js';
import { type TsoAllocator, TsoError, type TsoTimestamp } from '../tso-allocator.js';
import type { PdMembership } from './pd-members.js';

type P<T> = pdpb.DeepPartial<T>;

/** What the PD service serves from. */
export interface PdDeps {
  readonly clusterId: bigint;
  readonly model: ClusterModel;
  readonly tso: TsoAllocator;
  /** Unix seconds the cluster started at (stores report it). */
  readonly startTimestampSeconds: bigint;
  /** The version string stores and PD members report. */
  readonly storeVersion: string;
  /** PD's members and leader. */
  readonly membership: PdMembership;
  /** The TSO microservice's URLs while it is enabled (PD's API service mode); undefined otherwise. */
  readonly tsoServiceUrls?: (() => readonly string[] | undefined) | undefined;
}

/**
 * `pdpb.PD` as PD answers it for a bootstrapped cluster: headers carry the cluster id, lookups
 * that find nothing answer an empty response (PD's leader does not set REGION_NOT_FOUND for
 * them). Every member serves this one instance; each member's {@link PdMemberGate} checks
 * leadership and request headers first, as PD does per method.
 */
export class PdService {
  readonly #d: PdDeps;
  readonly #operators = new Map<bigint, string>();

  constructor(deps: PdDeps) {
    this.#d = deps;
  }

  #header(error?: { type: pdpb.ErrorType; message: string }): P<pdpb.ResponseHeader> {
    return { clusterId: this.#d.clusterId, error };
  }

  #regionResponse(r: RegionInfo, needBuckets: boolean): P<pdpb.GetRegionResponse> {
    return {
      header: this.#header(),
      region: toMetaRegion(r),
      leader: toMetaPeer(r.leader),
      downPeers: [],
      pendingPeers: [],
      buckets: needBuckets ? this.#bucketsOf(r) : undefined,
    };
  }

  #pdRegion(r: RegionInfo, needBuckets = false): pdpb.RegionResponse {
    return {
      region: toMetaRegion(r),
      leader: toMetaPeer(r.leader),
      downPeers: [],
      pendingPeers: [],
      buckets: needBuckets ? this.#bucketsOf(r) : undefined,
    };
  }

  /** The region's buckets as PD reports them (wire keys), when it has any. */
  #bucketsOf(r: RegionInfo): metapb.Buckets | undefined {
    const b = this.#d.model.buckets(r.id);
    if (b === undefined) return undefined;
    const codec = this.#d.model.codec;
    return {
      regionId: r.id,
      version: b.version,
      keys: b.keys.map((k) => codec.toWire(k)),
      stats: undefined,
      periodInMs: 0n,
    };
  }

  async getMembers(): Promise<P<pdpb.GetMembersResponse>> {
    const m = this.#d.membership;
    const members = Array.from({ length: m.size }, (_, i) => m.wire(i, this.#d.storeVersion));
    const leader = m.leaderIndex === undefined ? undefined : members[m.leaderIndex];
    return { header: this.#header(), members, leader, etcdLeader: leader };
  }

  async getClusterInfo(): Promise<P<pdpb.GetClusterInfoResponse>> {
    // PD (server/grpc_service.go): API_SVC_MODE and the TSO servers' URLs while TSO is independent.
    const tsoUrls = this.#d.tsoServiceUrls?.();
    if (tsoUrls === undefined)
      return { header: this.#header(), serviceModes: [pdpb.ServiceMode.PD_SVC_MODE], tsoUrls: [] };
    return { header: this.#header(), serviceModes: [pdpb.ServiceMode.API_SVC_MODE], tsoUrls: [...tsoUrls] };
  }

  async *tso(requests: AsyncIterable<pdpb.TsoRequest>, _ctx: RpcContext): AsyncIterable<P<pdpb.TsoResponse>> {
    for await (const req of requests) {
      let ts: TsoTimestamp;
      try {
        ts = this.#d.tso.allocate(req.count);
      } catch (e) {
        if (e instanceof TsoError) throw new RpcError(GrpcStatus.UNKNOWN, e.message);
        throw e;
      }
      yield {
        header: this.#header(),
        count: req.count,
        timestamp: { physical: ts.physical, logical: ts.logical, suffixBits: 0 },
      };
    }
  }

  async getRegion(req: pdpb.GetRegionRequest): Promise<P<pdpb.GetRegionResponse>> {
    const r = this.#d.model.regionByWireKey(req.regionKey);
    return r === undefined ? { header: this.#header() } : this.#regionResponse(r, req.needBuckets);
  }

  async getPrevRegion(req: pdpb.GetRegionRequest): Promise<P<pdpb.GetRegionResponse>> {
    const r = this.#d.model.prevRegionByWireKey(req.regionKey);
    return r === undefined ? { header: this.#header() } : this.#regionResponse(r, req.needBuckets);
  }

  async getRegionByID(req: pdpb.GetRegionByIDRequest): Promise<P<pdpb.GetRegionResponse>> {
    const r = this.#d.model.region(req.regionId);
    return r === undefined ? { header: this.#header() } : this.#regionResponse(r, req.needBuckets);
  }

  async scanRegions(req: pdpb.ScanRegionsRequest): Promise<P<pdpb.ScanRegionsResponse>> {
    const regions = this.#d.model.scanWire(req.startKey, req.endKey, Math.max(0, req.limit));
    return {
      header: this.#header(),
      regionMetas: regions.map(toMetaRegion),
      leaders: regions.map((r) => toMetaPeer(r.leader)),
      regions: regions.map((r) => this.#pdRegion(r)),
    };
  }

  async batchScanRegions(req: pdpb.BatchScanRegionsRequest): Promise<P<pdpb.BatchScanRegionsResponse>> {
    const ranges = req.ranges;
    for (let i = 0; i < ranges.length; i++) {
      const r = ranges[i] as pdpb.KeyRange;
      const prev = ranges[i - 1];
      if (prev !== undefined && Buffer.compare(r.startKey, prev.endKey) < 0) {
        return {
          header: this.#header({
            type: pdpb.ErrorType.UNKNOWN,
            message: 'invalid key range, ranges overlapped',
          }),
        };
      }
      if (r.endKey.length > 0 && Buffer.compare(r.startKey, r.endKey) > 0) {
        return {
          header: this.#header({
            type: pdpb.ErrorType.UNKNOWN,
            message: 'invalid key range, start key > end key',
          }),
        };
      }
    }
    const limit = req.limit > 0 ? req.limit : Number.POSITIVE_INFINITY;
    const out: RegionInfo[] = [];
    const seen = new Set<bigint>();
    for (const range of ranges) {
      const found = this.#d.model.scanWire(range.startKey, range.endKey, 0);
      if (req.containAllKeyRange && !coversRange(found, range)) {
        return {
          header: this.#header({
            type: pdpb.ErrorType.REGIONS_NOT_CONTAIN_ALL_KEY_RANGE,
            message: 'regions are not adjacent or do not contain the whole key range',
          }),
        };
      }
      for (const r of found) {
        if (out.length >= limit) break;
        if (seen.has(r.id)) continue;
        seen.add(r.id);
        out.push(r);
      }
    }
    return { header: this.#header(), regions: out.map((r) => this.#pdRegion(r, req.needBuckets)) };
  }

  async *queryRegion(
    requests: AsyncIterable<pdpb.QueryRegionRequest>,
    _ctx: RpcContext,
  ): AsyncIterable<P<pdpb.QueryRegionResponse>> {
    for await (const req of requests) {
      const byId = new Map<bigint, pdpb.RegionResponse>();
      const add = (r: RegionInfo | undefined): bigint => {
        if (r === undefined) return 0n;
        if (!byId.has(r.id)) byId.set(r.id, this.#pdRegion(r, req.needBuckets));
        return r.id;
      };
      const keyIdMap = req.keys.map((k) => add(this.#d.model.regionByWireKey(k)));
      const prevKeyIdMap = req.prevKeys.map((k) => add(this.#d.model.prevRegionByWireKey(k)));
      for (const id of req.ids) {
        if (id === 0n || byId.has(id)) continue;
        add(this.#d.model.region(id));
      }
      yield { header: this.#header(), keyIdMap, prevKeyIdMap, regionsById: byId };
    }
  }

  async getStore(req: pdpb.GetStoreRequest): Promise<P<pdpb.GetStoreResponse>> {
    const s = this.#d.model.store(req.storeId);
    if (s === undefined) {
      return {
        header: this.#header({
          type: pdpb.ErrorType.UNKNOWN,
          message: `invalid store ID ${req.storeId}, not found`,
        }),
      };
    }
    const regionCount = this.#d.model.regions().filter((r) => r.peers.some((p) => p.storeId === s.id)).length;
    return {
      header: this.#header(),
      store: toMetaStore(s, this.#d.startTimestampSeconds, this.#d.storeVersion),
      stats: {
        storeId: s.id,
        capacity: 1n << 40n,
        available: 1n << 39n,
        regionCount,
        startTime: Number(this.#d.startTimestampSeconds),
      },
    };
  }

  async getAllStores(req: pdpb.GetAllStoresRequest): Promise<P<pdpb.GetAllStoresResponse>> {
    const stores = this.#d.model
      .stores()
      .filter((s) => !(req.excludeTombstoneStores && s.state === StoreState.Tombstone))
      .map((s) => toMetaStore(s, this.#d.startTimestampSeconds, this.#d.storeVersion));
    return { header: this.#header(), stores };
  }

  async splitRegions(req: pdpb.SplitRegionsRequest): Promise<P<pdpb.SplitRegionsResponse>> {
    let keys: Uint8Array[];
    try {
      keys = req.splitKeys.map((k) => this.#d.model.codec.fromWire(k));
    } catch (e) {
      return { header: this.#header({ type: pdpb.ErrorType.UNKNOWN, message: (e as Error).message }) };
    }
    const created = this.#d.model.split(keys);
    return { header: this.#header(), finishedPercentage: 100n, regionsId: created.map((r) => r.id) };
  }

  /**
   * PD's `SplitAndScatterRegions`: splits as `SplitRegions` does, then scatters the new regions;
   * nothing to scatter (no key split anything) is PD's scatterer's "empty region" gRPC error.
   */
  async splitAndScatterRegions(
    req: pdpb.SplitAndScatterRegionsRequest,
  ): Promise<P<pdpb.SplitAndScatterRegionsResponse>> {
    let keys: Uint8Array[];
    try {
      keys = req.splitKeys.map((k) => this.#d.model.codec.fromWire(k));
    } catch (e) {
      return { header: this.#header({ type: pdpb.ErrorType.UNKNOWN, message: (e as Error).message }) };
    }
    const created = this.#d.model.split(keys);
    if (created.length === 0)
      throw new RpcError(GrpcStatus.UNKNOWN, '[PD:scatter:ErrEmptyRegion]empty region');
    for (const r of created) this.#operators.set(r.id, 'scatter-region');
    return {
      header: this.#header(),
      splitFinishedPercentage: 100n,
      scatterFinishedPercentage: 100n,
      regionsId: created.map((r) => r.id),
    };
  }

  async scatterRegion(req: pdpb.ScatterRegionRequest): Promise<P<pdpb.ScatterRegionResponse>> {
    const model = this.#d.model;
    if (req.regionsId.length === 0) {
      // The deprecated single-region form: an unknown region is a REGION_NOT_FOUND header (PD
      // leaves the message's %d unformatted).
      const id = req.regionId;
      if (model.region(id) === undefined && req.region === undefined) {
        return {
          header: this.#header({ type: pdpb.ErrorType.REGION_NOT_FOUND, message: 'region %d not found' }),
        };
      }
      this.#operators.set(id, 'scatter-region');
      return { header: this.#header(), finishedPercentage: 100n, failedRegionsId: [] };
    }
    const ids = req.regionsId;
    // PD's scatterer refuses a single unknown region outright (a gRPC error), and lists unknown
    // ones among several as failures.
    if (ids.length === 1 && model.region(ids[0] as bigint) === undefined) {
      throw new RpcError(GrpcStatus.UNKNOWN, '[PD:region:ErrRegionNotFound]region %v not found');
    }
    const failed = ids.filter((id) => model.region(id) === undefined);
    const scattered = ids.filter((id) => !failed.includes(id));
    for (const id of scattered) this.#operators.set(id, 'scatter-region');
    const pct =
      failed.length === 0
        ? 100n
        : BigInt(100 - Math.floor((100 * failed.length) / (scattered.length + failed.length)));
    return { header: this.#header(), finishedPercentage: pct, failedRegionsId: failed };
  }

  async getOperator(req: pdpb.GetOperatorRequest): Promise<P<pdpb.GetOperatorResponse>> {
    const desc = this.#operators.get(req.regionId);
    if (desc === undefined) {
      return { header: this.#header({ type: pdpb.ErrorType.REGION_NOT_FOUND, message: 'Not Found' }) };
    }
    const enc = new TextEncoder();
    return {
      header: this.#header(),
      regionId: req.regionId,
      desc: enc.encode(desc),
      status: pdpb.OperatorStatus.SUCCESS,
      kind: enc.encode('admin,region'),
    };
  }
}

function coversRange(found: readonly RegionInfo[], range: pdpb.KeyRange): boolean {
  const first = found[0];
  if (first === undefined) return false;
  if (Buffer.compare(first.wireStartKey, range.startKey) > 0) return false;
  for (let i = 1; i < found.length; i++) {
    if (Buffer.compare((found[i - 1] as RegionInfo).wireEndKey, (found[i] as RegionInfo).wireStartKey) !== 0)
      return false;
  }
  const last = found[found.length - 1] as RegionInfo;
  if (last.wireEndKey.length === 0) return true;
  return range.endKey.length > 0 && Buffer.compare(last.wireEndKey, range.endKey) >= 0;
}

/**
 * Handlers for every `pdpb.PD` method: each is served by the first of `service` and `more`
 * that has a method of that name (for example the GC state service); UNIMPLEMENTED otherwise.
 */
export function createPdHandlers(service: PdService, ...more: readonly object[]): ServiceHandlers {
  const impl: Record<string, unknown> = {};
  const owners = [service, ...more] as unknown as Record<string, unknown>[];
  for (const [key, def] of Object.entries(pdpb.PDDefinition.methods)) {
    const owner = owners.find((o) => typeof o[key] === 'function');
    impl[key] =
      owner !== undefined
        ? (owner[key] as (...a: unknown[]) => unknown).bind(owner)
        : unimplemented(def.name, def.responseStream);
  }
  return impl as ServiceHandlers;
}
