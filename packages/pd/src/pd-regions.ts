import {
  type Clock,
  invalidArgument,
  isTiKVError,
  type Logger,
  openOperationScope,
  PdUnreachableError,
} from '@tikv/common';
import { pdpb } from '@tikv/proto';
import { Metadata } from 'nice-grpc';
import type { CallOptions } from './call-options.js';
import { bidiMethod } from './grpc-bidi-call.js';
import { OrderedBidiStream } from './ordered-bidi-stream.js';
import { checkPdKey, checkPdU64 } from './pd-argument-checks.js';
import type {
  BatchScanRegionsOptions,
  GetAllStoresOptions,
  RegionCallOptions,
  RegionsOpOptions,
} from './pd-client-options.js';
import type { PdConnections, PdRpcClient } from './pd-connections.js';
import { normalizeUrl } from './pd-endpoint.js';
import {
  errorFromHeader,
  isStoreNotFound,
  isUnimplemented,
  REGION_LOOKUP_RETRYABLE_TYPES,
} from './pd-errors.js';
import type { PdRpcCaller } from './pd-rpc-caller.js';
import {
  type KeyRange,
  OPERATOR_STATUSES,
  type OperatorInfo,
  type ScatterRegionsResult,
  type SplitAndScatterRegionsResult,
  type SplitRegionsResult,
} from './pd-types.js';
import { QueryRegionBatcher, type RegionQuery } from './query-region-batcher.js';

/** PD's metadata key that lets a follower serve a region read. */
const ALLOW_FOLLOWER_HANDLE = 'pd-allow-follower-handle';

import {
  type RegionInfo,
  regionFromWire,
  type StoreInfo,
  storeFromWire,
  type WireRegion,
} from './region-info.js';
import type { RegionKeyCodec } from './region-key-codec.js';
import type { RegionSource } from './region-source.js';
import { checkScanRanges } from './scan-ranges.js';
import type { ServiceDiscovery } from './service-discovery.js';

/** PD's `QueryRegion` stream method. */
const QUERY_REGION_METHOD = bidiMethod(pdpb.PDDefinition, pdpb.PDDefinition.methods.queryRegion);

/** What {@link PdRegions} is built from. @internal */
export interface PdRegionsDeps {
  readonly caller: PdRpcCaller;
  readonly discovery: ServiceDiscovery;
  readonly connections: PdConnections;
  /** Key codec of the caller's key space. */
  readonly codec: RegionKeyCodec;
  /** Whether the connections use TLS (member URLs then default to `https://`). */
  readonly tls: boolean;
  /** Region lookups go over the batched `QueryRegion` stream (else unary calls). */
  readonly enableRouterClient: boolean;
  /** Most lookups in one `QueryRegion` request. */
  readonly maxQueryRegionBatchSize: number;
  /** Deadline of one `QueryRegion` request and of opening its stream, in ms. */
  readonly timeoutMs: number;
  readonly logger: Logger;
  /** Measures the `QueryRegion` deadlines. */
  readonly clock: Clock;
}

/**
 * The region and store part of the PD client (PD's Go `RouterClient` and the store calls of
 * `pd.Client`): region lookups by key, previous key and id (batched over the `QueryRegion`
 * stream, falling back to unary calls on servers without it), region scans, stores, and the
 * split/scatter/operator calls. Keys are the caller's, encoded and decoded by the client's
 * {@link RegionKeyCodec}. Reached as `PdClient.regions`; it is a {@link RegionSource}.
 */
export class PdRegions implements RegionSource {
  readonly #d: PdRegionsDeps;
  readonly #router: QueryRegionBatcher | undefined;
  #followerHandle = false;
  #followerTurn = 0;
  #followerReads = 0;

  /** @internal */
  constructor(deps: PdRegionsDeps) {
    this.#d = deps;
    this.#router = deps.enableRouterClient
      ? new QueryRegionBatcher(
          {
            header: () => deps.caller.header(),
            connect: (signal) => this.#openQueryRegionStream(signal),
            onStreamFailure: () => deps.discovery.scheduleCheckMemberChanged(),
          },
          { maxBatchSize: deps.maxQueryRegionBatchSize, rpcTimeoutMs: deps.timeoutMs, clock: deps.clock },
        )
      : undefined;
  }

  /**
   * Lets PD followers serve unary region lookups (PD's `EnableFollowerHandle`): a lookup goes
   * to a follower with `pd-allow-follower-handle`, and to the leader when the follower fails.
   * Lookups over the `QueryRegion` stream are not affected.
   */
  setFollowerHandle(enabled: boolean): void {
    this.#followerHandle = enabled;
  }

  /** Whether followers may serve unary region lookups. */
  get followerHandle(): boolean {
    return this.#followerHandle;
  }

  /** Unary region lookups a follower answered. */
  get followerReads(): number {
    return this.#followerReads;
  }

  /** `QueryRegion` requests sent so far (0 when the router client is off). */
  get queryRegionRequests(): number {
    return this.#router?.requestCount ?? 0;
  }

  /** The region containing `key`, or undefined when PD has none. */
  async getRegion(key: Uint8Array, options?: RegionCallOptions): Promise<RegionInfo | undefined> {
    checkPdKey(key, 'key');
    const encoded = this.#d.codec.encodeRegionKey(key);
    const needBuckets = options?.needBuckets ?? false;
    const caller = this.#d.caller;
    const wire = await this.#lookup(
      { kind: 'key', key: encoded, needBuckets },
      options,
      'GetRegion',
      (rpc, signal, metadata) =>
        rpc.getRegion(
          { header: caller.header(), regionKey: encoded, needBuckets },
          { signal, ...(metadata === undefined ? {} : { metadata }) },
        ),
    );
    return this.#decode(wire);
  }

  /** The region just before the one containing `key`, or undefined. */
  async getPrevRegion(key: Uint8Array, options?: RegionCallOptions): Promise<RegionInfo | undefined> {
    checkPdKey(key, 'key');
    const encoded = this.#d.codec.encodeRegionKey(key);
    const needBuckets = options?.needBuckets ?? false;
    const caller = this.#d.caller;
    const wire = await this.#lookup(
      { kind: 'prevKey', key: encoded, needBuckets },
      options,
      'GetPrevRegion',
      (rpc, signal, metadata) =>
        rpc.getPrevRegion(
          { header: caller.header(), regionKey: encoded, needBuckets },
          { signal, ...(metadata === undefined ? {} : { metadata }) },
        ),
    );
    return this.#decode(wire);
  }

  /** The region with id `regionId`, or undefined. */
  async getRegionById(regionId: bigint, options?: RegionCallOptions): Promise<RegionInfo | undefined> {
    checkPdU64(regionId, 'regionId');
    const needBuckets = options?.needBuckets ?? false;
    const caller = this.#d.caller;
    const wire = await this.#lookup(
      { kind: 'id', id: regionId, needBuckets },
      options,
      'GetRegionByID',
      (rpc, signal, metadata) =>
        rpc.getRegionByID(
          { header: caller.header(), regionId, needBuckets },
          { signal, ...(metadata === undefined ? {} : { metadata }) },
        ),
    );
    return this.#decode(wire);
  }

  /**
   * The region containing `key`, asked of the given PD members in turn (PD's
   * `GetRegionFromMember`): the first member that answers without error gives it. A follower
   * answers only when it may (PD serves followers' region reads only with follower handling on),
   * so this is for asking a particular member, not for availability.
   *
   * @param key - the key (the client's codec encodes it)
   * @param memberUrls - PD member URLs or `host:port`s, tried in order, each once
   * @returns the region, or undefined when the member that answered knows none
   * @throws PdUnreachableError (`PD_UNREACHABLE`) when no member answered; its `cause` is the
   *   last failure
   */
  async getRegionFromMember(
    key: Uint8Array,
    memberUrls: readonly string[],
    options?: CallOptions,
  ): Promise<RegionInfo | undefined> {
    checkPdKey(key, 'key');
    if (!Array.isArray(memberUrls) || memberUrls.length === 0) {
      throw invalidArgument('memberUrls', 'a non-empty array of PD URLs', memberUrls);
    }
    const urls = memberUrls.map((u) => normalizeUrl(u, this.#d.tls));
    const d = this.#d;
    const encoded = d.codec.encodeRegionKey(key);
    const scope = openOperationScope(options, { clock: d.clock, follow: [d.caller.closeSignal] });
    const signal = scope.signal as AbortSignal;
    let last: unknown;
    try {
      for (const url of urls) {
        const attempt = openOperationScope({ timeoutMs: d.timeoutMs }, { clock: d.clock, follow: [signal] });
        try {
          const resp = await d.connections
            .get(url)
            .getRegion(
              { header: d.caller.header(), regionKey: encoded, needBuckets: false },
              { signal: attempt.signal as AbortSignal },
            );
          const err = errorFromHeader(resp.header, d.discovery.clusterId);
          if (err === undefined) return this.#decode(resp.region === undefined ? undefined : resp);
          last = err;
        } catch (e) {
          if (signal.aborted) throw signal.reason;
          last = e;
        } finally {
          attempt.dispose();
        }
        d.logger.debug('pd: cannot get the region from a member', { url, error: last });
      }
    } finally {
      scope.dispose();
    }
    d.discovery.scheduleCheckMemberChanged();
    throw new PdUnreachableError(`can't get region info from member URLs: ${urls.join(', ')}`, {
      endpoints: urls,
      cause: last,
    });
  }

  /**
   * Up to `limit` regions overlapping `[startKey, endKey)` (empty end: unbounded), in key
   * order. `limit <= 0` means no limit.
   */
  async scanRegions(
    startKey: Uint8Array,
    endKey: Uint8Array,
    limit: number,
    options?: CallOptions,
  ): Promise<RegionInfo[]> {
    checkPdKey(startKey, 'startKey');
    checkPdKey(endKey, 'endKey');
    if (typeof limit !== 'number' || !Number.isSafeInteger(limit))
      throw invalidArgument('limit', 'an integer', limit);
    const [start, end] = this.#d.codec.encodeRegionRange(startKey, endKey);
    const caller = this.#d.caller;
    const resp = await caller.call(
      'ScanRegions',
      options,
      (rpc, signal) =>
        rpc.scanRegions(
          { header: caller.header(), startKey: start, endKey: end, limit: Math.max(0, limit) },
          { signal },
        ),
      REGION_LOOKUP_RETRYABLE_TYPES,
    );
    const wires: WireRegion[] =
      resp.regions.length > 0
        ? resp.regions
        : resp.regionMetas.map((region, i) => ({
            region,
            leader: resp.leaders[i],
            downPeers: [],
            pendingPeers: [],
            buckets: undefined,
          }));
    return this.#decodeAll(wires);
  }

  /**
   * Regions overlapping any of `ranges` (sorted, non-overlapping), at most `limit` (`<= 0`:
   * no limit). Falls back to one `ScanRegions` per range when the server lacks
   * `BatchScanRegions`.
   *
   * @throws InvalidArgumentError when a range ends before it starts, or a range starts before
   *   the previous one ends (PD refuses both; checked before sending)
   */
  async batchScanRegions(
    ranges: readonly KeyRange[],
    limit: number,
    options?: BatchScanRegionsOptions,
  ): Promise<RegionInfo[]> {
    checkScanRanges(ranges);
    const codec = this.#d.codec;
    const encoded = ranges.map((r) => {
      const [startKey, endKey] = codec.encodeRegionRange(r.startKey, r.endKey);
      return { startKey, endKey };
    });
    const caller = this.#d.caller;
    try {
      const resp = await caller.call(
        'BatchScanRegions',
        options,
        (rpc, signal) =>
          rpc.batchScanRegions(
            {
              header: caller.header(),
              ranges: encoded,
              limit: Math.max(0, limit),
              needBuckets: options?.needBuckets ?? false,
              containAllKeyRange: options?.containAllKeyRange ?? false,
            },
            { signal },
          ),
        REGION_LOOKUP_RETRYABLE_TYPES,
      );
      return this.#decodeAll(resp.regions);
    } catch (e) {
      if (!(isTiKVError(e) && isUnimplemented(e.cause))) throw e;
    }
    const out: RegionInfo[] = [];
    for (const r of ranges) {
      const left = limit > 0 ? limit - out.length : 0;
      if (limit > 0 && left <= 0) break;
      out.push(...(await this.scanRegions(r.startKey, r.endKey, left, options)));
    }
    return out;
  }

  /**
   * The store with id `storeId`; undefined when it does not exist (PD's "invalid store ID N,
   * not found", as client-go's `isStoreNotFoundError` reads it), is a tombstone or removed.
   */
  async getStore(storeId: bigint, options?: CallOptions): Promise<StoreInfo | undefined> {
    checkPdU64(storeId, 'storeId');
    const caller = this.#d.caller;
    let resp: pdpb.GetStoreResponse;
    try {
      resp = await caller.call('GetStore', options, (rpc, signal) =>
        rpc.getStore({ header: caller.header(), storeId }, { signal }),
      );
    } catch (e) {
      if (isTiKVError(e, 'PD_ERROR') && e.pdErrorType === 'STORE_TOMBSTONE') return undefined;
      if (isStoreNotFound(e)) return undefined;
      throw e;
    }
    const s = resp.store;
    if (s === undefined) return undefined;
    const store = storeFromWire(s);
    return store.nodeState === 'removed' ? undefined : store;
  }

  /** Every store the cluster knows. */
  async getAllStores(options?: GetAllStoresOptions): Promise<StoreInfo[]> {
    const caller = this.#d.caller;
    const resp = await caller.call('GetAllStores', options, (rpc, signal) =>
      rpc.getAllStores(
        { header: caller.header(), excludeTombstoneStores: options?.excludeTombstone ?? false },
        { signal },
      ),
    );
    return resp.stores.map(storeFromWire);
  }

  /**
   * Asks PD to split regions at `splitKeys` (client-go `SplitRegions`).
   *
   * @returns how much finished (percent) and the ids of the new regions
   */
  async splitRegions(
    splitKeys: readonly Uint8Array[],
    options?: RegionsOpOptions,
  ): Promise<SplitRegionsResult> {
    const codec = this.#d.codec;
    const keys = splitKeys.map((k) => codec.encodeRegionKey(k));
    const caller = this.#d.caller;
    const resp = await caller.call('SplitRegions', options, (rpc, signal) =>
      rpc.splitRegions(
        { header: caller.header(), splitKeys: keys, retryLimit: BigInt(options?.retryLimit ?? 0) },
        { signal },
      ),
    );
    return { finishedPercentage: Number(resp.finishedPercentage), regionIds: resp.regionsId };
  }

  /**
   * Asks PD to scatter one region's replicas (client-go `ScatterRegion`).
   *
   * @returns how much finished (percent) and, when PD could not scatter it (no target
   *   store), the region's id in `failedRegionIds`
   * @throws TiKVError `RPC_ERROR` (not retried) when PD refuses: an unknown region alone is
   *   refused with gRPC `UNKNOWN` "region not found"
   */
  async scatterRegion(regionId: bigint, options?: RegionsOpOptions): Promise<ScatterRegionsResult> {
    return this.scatterRegions([regionId], options);
  }

  /**
   * Asks PD to scatter regions' replicas (client-go `ScatterRegions`). PD scatters what it can
   * and lists the rest (unknown regions among several, regions with no target store) in
   * `failedRegionIds`; the call itself still succeeds.
   *
   * @returns how much finished (percent) and the regions PD failed to scatter
   */
  async scatterRegions(
    regionIds: readonly bigint[],
    options?: RegionsOpOptions,
  ): Promise<ScatterRegionsResult> {
    const caller = this.#d.caller;
    const resp = await caller.call('ScatterRegion', options, (rpc, signal) =>
      rpc.scatterRegion(
        {
          header: caller.header(),
          regionsId: [...regionIds],
          group: options?.group ?? '',
          retryLimit: BigInt(options?.retryLimit ?? 0),
          skipStoreLimit: options?.skipStoreLimit ?? false,
        },
        { signal },
      ),
    );
    return { finishedPercentage: Number(resp.finishedPercentage), failedRegionIds: resp.failedRegionsId };
  }

  /**
   * Asks PD to split at `splitKeys` and scatter the new regions (PD's `SplitAndScatterRegions`,
   * used by BR and Lightning); `group` and `retryLimit` as for scatter.
   *
   * @throws TiKVError `RPC_ERROR` when PD refuses (no region was created: "empty region")
   */
  async splitAndScatterRegions(
    splitKeys: readonly Uint8Array[],
    options?: RegionsOpOptions,
  ): Promise<SplitAndScatterRegionsResult> {
    for (const k of splitKeys) checkPdKey(k, 'splitKeys[]');
    const codec = this.#d.codec;
    const keys = splitKeys.map((k) => codec.encodeRegionKey(k));
    const caller = this.#d.caller;
    const resp = await caller.call('SplitAndScatterRegions', options, (rpc, signal) =>
      rpc.splitAndScatterRegions(
        {
          header: caller.header(),
          splitKeys: keys,
          group: options?.group ?? '',
          retryLimit: BigInt(options?.retryLimit ?? 0),
        },
        { signal },
      ),
    );
    return {
      splitFinishedPercentage: Number(resp.splitFinishedPercentage),
      scatterFinishedPercentage: Number(resp.scatterFinishedPercentage),
      regionIds: resp.regionsId,
    };
  }

  /** The operator PD runs (or last ran) on a region (client-go `GetOperator`). */
  async getOperator(regionId: bigint, options?: CallOptions): Promise<OperatorInfo> {
    checkPdU64(regionId, 'regionId');
    const caller = this.#d.caller;
    const resp = await caller.call('GetOperator', options, (rpc, signal) =>
      rpc.getOperator({ header: caller.header(), regionId }, { signal }),
    );
    const text = new TextDecoder();
    return {
      regionId: resp.regionId,
      desc: text.decode(resp.desc),
      kind: text.decode(resp.kind),
      status: OPERATOR_STATUSES[resp.status] ?? 'running',
    };
  }

  /** Rejects pending `QueryRegion` lookups with `CLIENT_CLOSED`. @internal */
  close(): void {
    this.#router?.close();
  }

  async #lookup(
    query: RegionQuery,
    options: CallOptions | undefined,
    what: string,
    unary: (rpc: PdRpcClient, signal: AbortSignal, metadata?: Metadata) => Promise<pdpb.GetRegionResponse>,
  ): Promise<WireRegion | undefined> {
    const router = this.#router;
    const caller = this.#d.caller;
    if (router !== undefined && !router.unsupported) {
      try {
        return await caller.retry('QueryRegion', options, (signal) => router.query(query, { signal }));
      } catch (e) {
        if (!router.unsupported) throw e;
        this.#d.logger.info('pd: QueryRegion is not supported, falling back to unary region calls');
      }
    }
    const followers = this.#d.discovery.followerUrls;
    if (this.#followerHandle && followers.length > 0) {
      const url = followers[this.#followerTurn++ % followers.length] as string;
      const fromFollower = await this.#followerLookup(url, options, unary);
      if (fromFollower !== undefined) {
        this.#followerReads++;
        return fromFollower.region === undefined ? undefined : fromFollower;
      }
    }
    const resp = await caller.call(what, options, unary, REGION_LOOKUP_RETRYABLE_TYPES);
    return resp.region === undefined ? undefined : resp;
  }

  /** One try on a follower (PD's follower handle); undefined when it failed (the leader is asked then). */
  async #followerLookup(
    url: string,
    options: CallOptions | undefined,
    unary: (rpc: PdRpcClient, signal: AbortSignal, metadata?: Metadata) => Promise<pdpb.GetRegionResponse>,
  ): Promise<pdpb.GetRegionResponse | undefined> {
    const d = this.#d;
    const scope = openOperationScope(
      { timeoutMs: Math.min(d.timeoutMs, options?.timeoutMs ?? d.timeoutMs) },
      { clock: d.clock, follow: [options?.signal, d.caller.closeSignal] },
    );
    try {
      const resp = await unary(
        d.connections.get(url),
        scope.signal as AbortSignal,
        Metadata({ [ALLOW_FOLLOWER_HANDLE]: 'true' }),
      );
      const err = errorFromHeader(resp.header, d.discovery.clusterId);
      if (err !== undefined) throw err;
      return resp;
    } catch (e) {
      options?.signal?.throwIfAborted();
      d.logger.debug('pd: follower region lookup failed, asking the leader', { url, error: e });
      return undefined;
    } finally {
      scope.dispose();
    }
  }

  #decode(wire: WireRegion | undefined): RegionInfo | undefined {
    if (wire === undefined) return undefined;
    const r = regionFromWire(wire);
    return r === undefined ? undefined : this.#d.codec.decodeRegion(r);
  }

  #decodeAll(wires: readonly WireRegion[]): RegionInfo[] {
    const out: RegionInfo[] = [];
    for (const w of wires) {
      const r = this.#decode(w);
      if (r !== undefined) out.push(r);
    }
    return out;
  }

  #openQueryRegionStream(
    signal: AbortSignal,
  ): Promise<OrderedBidiStream<pdpb.QueryRegionRequest, pdpb.QueryRegionResponse>> {
    signal.throwIfAborted();
    const discovery = this.#d.discovery;
    const url = discovery.leaderUrl;
    const connections = this.#d.connections;
    const clusterId = discovery.clusterId;
    return Promise.resolve(
      new OrderedBidiStream<pdpb.QueryRegionRequest, pdpb.QueryRegionResponse>(
        url,
        (h) => connections.openBidiCall(url, QUERY_REGION_METHOD, h),
        (resp) => errorFromHeader(resp.header, clusterId, REGION_LOOKUP_RETRYABLE_TYPES),
      ),
    );
  }
}
