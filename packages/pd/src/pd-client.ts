import {
  Backoffer,
  BackoffKinds,
  ClientClosedError,
  checkRequestOptions,
  composeTs,
  InvalidArgumentError,
  invalidArgument,
  isTiKVError,
  type Logger,
  noopLogger,
  openOperationScope,
  PdError,
  type PdErrorType,
  sleepMs,
  TiKVError,
  withOperationScope,
} from '@tikv/common';
import type { keyspacepb, pdpb } from '@tikv/proto';
import type { CallOptions } from './call-options.js';
import { GcStatesClient, NULL_KEYSPACE_ID } from './gc-states-client.js';
import { GrpcTsoStream } from './grpc-tso-stream.js';
import { OrderedBidiStream } from './ordered-bidi-stream.js';
import { checkPdKey, checkPdU64 } from './pd-argument-checks.js';
import {
  DEFAULT_PD_CLIENT_OPTIONS,
  type GetAllStoresOptions,
  type PdClientOptions,
  type RegionCallOptions,
  type RegionsOpOptions,
} from './pd-client-options.js';
import { type KeyspaceRpcClient, PdConnections, type PdRpcClient } from './pd-connections.js';
import { normalizeUrl } from './pd-endpoint.js';
import {
  errorFromHeader,
  isRetryablePdError,
  isStoreNotFound,
  isUnimplemented,
  REGION_LOOKUP_RETRYABLE_TYPES,
  toPdCallError,
} from './pd-errors.js';
import {
  type KeyRange,
  OPERATOR_STATUSES,
  type OperatorInfo,
  type ScatterRegionsResult,
  type SplitRegionsResult,
} from './pd-types.js';
import { QueryRegionBatcher, type RegionQuery } from './query-region-batcher.js';
import {
  type RegionInfo,
  regionFromWire,
  type StoreInfo,
  storeFromWire,
  type WireRegion,
} from './region-info.js';
import { IDENTITY_REGION_KEY_CODEC, type RegionKeyCodec } from './region-key-codec.js';
import { checkScanRanges } from './scan-ranges.js';
import { ServiceDiscovery } from './service-discovery.js';
import { TsoDispatcher, type TsoDispatcherStats } from './tso-dispatcher.js';

type Resolved = Readonly<Required<Omit<PdClientOptions, 'tls' | 'codec' | 'tso' | 'discovery' | 'logger'>>>;

/**
 * The PD client (PD's Go `pd.Client` as client-go uses it): member discovery and leader
 * following, the batched TSO stream, region and store lookups and the admin calls.
 * Structurally satisfies `RegionSource` (region cache) and `TimestampSource` (oracle).
 *
 * @example
 * ```ts
 * const pd = await PdClient.connect({ endpoints: ['127.0.0.1:2379'] });
 * const ts = await pd.getTimestamp();
 * const region = await pd.getRegion(new TextEncoder().encode('k'));
 * await pd.close();
 * ```
 */
export class PdClient {
  /** @internal */ protected readonly discovery: ServiceDiscovery;
  /** @internal */ protected readonly connections: PdConnections;
  private readonly opts: Resolved;
  private readonly codec: RegionKeyCodec;
  private readonly logger: Logger;
  private readonly tso: TsoDispatcher;
  private readonly router: QueryRegionBatcher | undefined;
  private readonly closeController = new AbortController();
  private tsoNeedsMemberCheck = false;
  private closed = false;

  private constructor(options: PdClientOptions) {
    const d = DEFAULT_PD_CLIENT_OPTIONS;
    if (!Array.isArray(options?.endpoints) || options.endpoints.length === 0) {
      throw new InvalidArgumentError(
        `endpoints must be a non-empty array of PD endpoints, got ${JSON.stringify(options?.endpoints)}`,
      );
    }
    const urls = options.endpoints.map((e) => normalizeUrl(e, options.tls !== undefined));
    this.opts = Object.freeze({
      endpoints: options.endpoints,
      timeoutMs: options.timeoutMs ?? d.timeoutMs,
      connectTimeoutMs: options.connectTimeoutMs ?? d.connectTimeoutMs,
      maxBackoffMs: options.maxBackoffMs ?? d.maxBackoffMs,
      enableRouterClient: options.enableRouterClient ?? d.enableRouterClient,
      maxQueryRegionBatchSize: options.maxQueryRegionBatchSize ?? d.maxQueryRegionBatchSize,
      maxTsoRetries: options.maxTsoRetries ?? d.maxTsoRetries,
      tsoRetryIntervalMs: options.tsoRetryIntervalMs ?? d.tsoRetryIntervalMs,
      callerId: options.callerId ?? d.callerId,
    });
    if (!(this.opts.timeoutMs > 0))
      throw new InvalidArgumentError(`timeoutMs must be > 0, got ${this.opts.timeoutMs}`);
    if (!(this.opts.connectTimeoutMs > 0)) {
      throw new InvalidArgumentError(`connectTimeoutMs must be > 0, got ${this.opts.connectTimeoutMs}`);
    }
    if (!(this.opts.maxTsoRetries >= 1)) {
      throw new InvalidArgumentError(`maxTsoRetries must be >= 1, got ${this.opts.maxTsoRetries}`);
    }
    this.codec = options.codec ?? IDENTITY_REGION_KEY_CODEC;
    this.logger = options.logger ?? noopLogger;
    this.connections = new PdConnections(options.tls);
    this.discovery = new ServiceDiscovery(
      urls,
      (url, signal) => this.connections.get(url).getMembers({ header: this.header() }, { signal }),
      {
        ...options.discovery,
        timeoutMs: this.opts.timeoutMs,
        initTimeoutMs: this.opts.connectTimeoutMs,
        logger: this.logger,
      },
    );
    this.tso = new TsoDispatcher(
      {
        connect: (signal) => this.openTsoStream(signal),
        onStreamFailure: () => {
          this.tsoNeedsMemberCheck = true;
          this.discovery.scheduleCheckMemberChanged();
        },
      },
      { ...options.tso, rpcTimeoutMs: this.opts.timeoutMs },
    );
    this.router = this.opts.enableRouterClient
      ? new QueryRegionBatcher(
          {
            header: () => this.header(),
            connect: (signal) => this.openQueryRegionStream(signal),
            onStreamFailure: () => this.discovery.scheduleCheckMemberChanged(),
          },
          { maxBatchSize: this.opts.maxQueryRegionBatchSize, rpcTimeoutMs: this.opts.timeoutMs },
        )
      : undefined;
    this.discovery.onMembersChange((u) => this.connections.retain(u));
  }

  /**
   * Connects to a PD cluster: learns the cluster id and the leader from any endpoint,
   * retrying as PD's client does (every `discovery.initRetryIntervalMs`) for up to
   * `connectTimeoutMs`, and starts following the leader.
   *
   * @throws InvalidArgumentError for a malformed endpoint or option (before any network call)
   * @throws PdUnreachableError (`PD_UNREACHABLE`) when no endpoint answered within
   *   `connectTimeoutMs`, with the endpoints tried and the last failure as `cause`
   * @throws DeadlineExceededError when `call.timeoutMs` ended it first; its `cause` is that
   *   `PdUnreachableError`
   */
  static async connect(options: PdClientOptions, call?: CallOptions): Promise<PdClient> {
    checkRequestOptions(call, 'call');
    const client = new PdClient(options);
    try {
      await client.discovery.init(call);
    } catch (e) {
      await client.close();
      throw e;
    }
    return client;
  }

  /** The cluster id. */
  get clusterId(): bigint {
    return this.discovery.clusterId;
  }

  /** The current PD leader URL. */
  get leaderUrl(): string {
    return this.discovery.leaderUrl;
  }

  /** TSO batching counters: `timestamps / rpcs` is the batching ratio. */
  get tsoStats(): TsoDispatcherStats {
    return this.tso.stats;
  }

  /** `QueryRegion` requests sent so far (0 when the router client is off). */
  get queryRegionRequests(): number {
    return this.router?.requestCount ?? 0;
  }

  /** Registers a listener for leader switches. */
  onLeaderChange(listener: (url: string) => void): () => void {
    return this.discovery.onLeaderChange(listener);
  }

  /**
   * A fresh timestamp from the batched TSO stream, strictly greater than every timestamp
   * this client handed out before. Retryable failures (a broken stream, a leader change) are
   * retried up to `maxTsoRetries` times, `tsoRetryIntervalMs` apart after the first retry.
   */
  getTimestamp(options?: CallOptions): Promise<bigint> {
    if (options !== undefined) {
      try {
        checkRequestOptions(options);
      } catch (e) {
        return Promise.reject(e);
      }
    }
    // Plain calls allocate nothing; a signal or timeout gets a scope released on settle.
    if (options?.signal === undefined && options?.timeoutMs === undefined) return this.timestampIn(undefined);
    return withOperationScope(options, undefined, (scope) => this.timestampIn(scope.signal));
  }

  private async timestampIn(signal: AbortSignal | undefined): Promise<bigint> {
    const call = signal === undefined ? undefined : { signal };
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.tso.getTimestamp(call);
      } catch (e) {
        if (signal?.aborted === true) throw signal.reason;
        if (!isRetryablePdError(e) || attempt + 1 >= this.opts.maxTsoRetries || this.closed) throw e;
        this.logger.debug('pd: get timestamp failed, retrying', { attempt, error: e });
      }
      await sleepMs(attempt === 0 ? 0 : this.opts.tsoRetryIntervalMs, signal);
    }
  }

  /** The smallest timestamp of all TSO allocators (`GetMinTS`). */
  async getMinTimestamp(options?: CallOptions): Promise<bigint> {
    const resp = await this.call('GetMinTS', options, (rpc, signal) =>
      rpc.getMinTS({ header: this.header() }, { signal }),
    );
    const ts = resp.timestamp;
    if (ts === undefined) throw new TiKVError('INTERNAL', 'GetMinTS response has no timestamp');
    return composeTs(ts.physical, ts.logical);
  }

  /** The cluster's external timestamp. */
  async getExternalTimestamp(options?: CallOptions): Promise<bigint> {
    const resp = await this.call('GetExternalTimestamp', options, (rpc, signal) =>
      rpc.getExternalTimestamp({ header: this.header() }, { signal }),
    );
    return resp.timestamp;
  }

  /** Sets the cluster's external timestamp (PD refuses one that goes back or passes the TSO). */
  async setExternalTimestamp(ts: bigint, options?: CallOptions): Promise<void> {
    checkPdU64(ts, 'ts');
    await this.call('SetExternalTimestamp', options, (rpc, signal) =>
      rpc.setExternalTimestamp({ header: this.header(), timestamp: ts }, { signal }),
    );
  }

  /** The region containing `key`, or undefined when PD has none. */
  async getRegion(key: Uint8Array, options?: RegionCallOptions): Promise<RegionInfo | undefined> {
    checkPdKey(key, 'key');
    const encoded = this.codec.encodeRegionKey(key);
    const needBuckets = options?.needBuckets ?? false;
    const wire = await this.lookup(
      { kind: 'key', key: encoded, needBuckets },
      options,
      'GetRegion',
      (rpc, signal) => rpc.getRegion({ header: this.header(), regionKey: encoded, needBuckets }, { signal }),
    );
    return this.decode(wire);
  }

  /** The region just before the one containing `key`, or undefined. */
  async getPrevRegion(key: Uint8Array, options?: RegionCallOptions): Promise<RegionInfo | undefined> {
    checkPdKey(key, 'key');
    const encoded = this.codec.encodeRegionKey(key);
    const needBuckets = options?.needBuckets ?? false;
    const wire = await this.lookup(
      { kind: 'prevKey', key: encoded, needBuckets },
      options,
      'GetPrevRegion',
      (rpc, signal) =>
        rpc.getPrevRegion({ header: this.header(), regionKey: encoded, needBuckets }, { signal }),
    );
    return this.decode(wire);
  }

  /** The region with id `regionId`, or undefined. */
  async getRegionById(regionId: bigint, options?: RegionCallOptions): Promise<RegionInfo | undefined> {
    checkPdU64(regionId, 'regionId');
    const needBuckets = options?.needBuckets ?? false;
    const wire = await this.lookup(
      { kind: 'id', id: regionId, needBuckets },
      options,
      'GetRegionByID',
      (rpc, signal) => rpc.getRegionByID({ header: this.header(), regionId, needBuckets }, { signal }),
    );
    return this.decode(wire);
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
    const [start, end] = this.codec.encodeRegionRange(startKey, endKey);
    const resp = await this.call(
      'ScanRegions',
      options,
      (rpc, signal) =>
        rpc.scanRegions(
          { header: this.header(), startKey: start, endKey: end, limit: Math.max(0, limit) },
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
    return this.decodeAll(wires);
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
    options?: RegionCallOptions & { readonly containAllKeyRange?: boolean },
  ): Promise<RegionInfo[]> {
    checkScanRanges(ranges);
    const encoded = ranges.map((r) => {
      const [startKey, endKey] = this.codec.encodeRegionRange(r.startKey, r.endKey);
      return { startKey, endKey };
    });
    try {
      const resp = await this.call(
        'BatchScanRegions',
        options,
        (rpc, signal) =>
          rpc.batchScanRegions(
            {
              header: this.header(),
              ranges: encoded,
              limit: Math.max(0, limit),
              needBuckets: options?.needBuckets ?? false,
              containAllKeyRange: options?.containAllKeyRange ?? false,
            },
            { signal },
          ),
        REGION_LOOKUP_RETRYABLE_TYPES,
      );
      return this.decodeAll(resp.regions);
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
    let resp: pdpb.GetStoreResponse;
    try {
      resp = await this.call('GetStore', options, (rpc, signal) =>
        rpc.getStore({ header: this.header(), storeId }, { signal }),
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
    const resp = await this.call('GetAllStores', options, (rpc, signal) =>
      rpc.getAllStores(
        { header: this.header(), excludeTombstoneStores: options?.excludeTombstone ?? false },
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
    const keys = splitKeys.map((k) => this.codec.encodeRegionKey(k));
    const resp = await this.call('SplitRegions', options, (rpc, signal) =>
      rpc.splitRegions(
        { header: this.header(), splitKeys: keys, retryLimit: BigInt(options?.retryLimit ?? 0) },
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
    const resp = await this.call('ScatterRegion', options, (rpc, signal) =>
      rpc.scatterRegion(
        {
          header: this.header(),
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

  /** The operator PD runs (or last ran) on a region (client-go `GetOperator`). */
  async getOperator(regionId: bigint, options?: CallOptions): Promise<OperatorInfo> {
    checkPdU64(regionId, 'regionId');
    const resp = await this.call('GetOperator', options, (rpc, signal) =>
      rpc.getOperator({ header: this.header(), regionId }, { signal }),
    );
    const text = new TextDecoder();
    return {
      regionId: resp.regionId,
      desc: text.decode(resp.desc),
      kind: text.decode(resp.kind),
      status: OPERATOR_STATUSES[resp.status] ?? 'running',
    };
  }

  /**
   * Loads a keyspace's meta by name from PD's keyspace service (`keyspacepb.Keyspace`
   * LoadKeyspace) on the leader. Satisfies `@tikv/keyspace`'s `KeyspaceSource`.
   *
   * @throws PdError of type `ENTRY_NOT_FOUND` for an unknown keyspace
   */
  async loadKeyspace(name: string, options?: CallOptions): Promise<keyspacepb.KeyspaceMeta> {
    if (typeof name !== 'string') throw invalidArgument('name', 'a string', name);
    const resp = await this.keyspaceCall('LoadKeyspace', options, (rpc, signal) =>
      rpc.loadKeyspace({ header: this.header(), name }, { signal }),
    );
    if (resp.keyspace === undefined) throw new PdError('ENTRY_NOT_FOUND', `keyspace ${name} not found`);
    return resp.keyspace;
  }

  /**
   * Loads a keyspace's meta by id (`keyspacepb.Keyspace` LoadKeyspaceByID) on the leader.
   *
   * @throws PdError of type `ENTRY_NOT_FOUND` for an unknown keyspace
   */
  async loadKeyspaceById(id: number, options?: CallOptions): Promise<keyspacepb.KeyspaceMeta> {
    const resp = await this.keyspaceCall('LoadKeyspaceByID', options, (rpc, signal) =>
      rpc.loadKeyspaceByID({ header: this.header(), keyspace: { $case: 'id', value: id } }, { signal }),
    );
    if (resp.keyspace === undefined) throw new PdError('ENTRY_NOT_FOUND', `keyspace ${id} not found`);
    return resp.keyspace;
  }

  private async keyspaceCall<T extends { readonly header?: pdpb.ResponseHeader | undefined }>(
    what: string,
    options: CallOptions | undefined,
    fn: (rpc: KeyspaceRpcClient, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    return this.retry(what, options, async (signal) => {
      const resp = await fn(this.connections.keyspace(this.discovery.leaderUrl), signal);
      const err = errorFromHeader(resp.header, this.discovery.clusterId);
      if (err !== undefined) throw err;
      return resp;
    });
  }

  /**
   * The GC states API bound to one keyspace (PD's `GCStatesClient` and `InternalController`):
   * txn and GC safe points, GC barriers and global GC barriers.
   *
   * @param keyspaceId - the keyspace; {@link NULL_KEYSPACE_ID} (the default) for unified GC.
   *   A keyspace without keyspace-level GC is served from the unified state by the user calls,
   *   and refused by the advance calls.
   */
  gcStates(keyspaceId: number = NULL_KEYSPACE_ID): GcStatesClient {
    return new GcStatesClient(
      {
        header: () => this.header(),
        call: (what, options, fn) => this.call(what, options, fn),
      },
      keyspaceId,
    );
  }

  /** Closes the client: pending calls reject with `CLIENT_CLOSED`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closeController.abort(new ClientClosedError('PD client is closed'));
    this.tso.close();
    this.router?.close();
    await this.discovery.close();
    this.connections.close();
  }

  /** The request header of this client. @internal */
  header(): pdpb.RequestHeader {
    return {
      clusterId: this.discovery.clusterId,
      senderId: 0n,
      callerId: this.opts.callerId,
      callerComponent: '',
    };
  }

  /**
   * One PD unary call on the leader with the PD-RPC backoff: retryable failures back off
   * and retry (re-checking the membership after transport errors and attempt timeouts) until
   * the budget or the caller's deadline runs out; others reject at once.
   *
   * @param retryableHeaderTypes - header error types to retry (default: `NOT_BOOTSTRAPPED`);
   *   transient gRPC failures and attempt timeouts are retried regardless
   * @internal
   */
  async call<T extends { readonly header?: pdpb.ResponseHeader | undefined }>(
    what: string,
    options: CallOptions | undefined,
    fn: (rpc: PdRpcClient, signal: AbortSignal) => Promise<T>,
    retryableHeaderTypes?: ReadonlySet<PdErrorType>,
  ): Promise<T> {
    return this.retry(what, options, async (signal) => {
      const resp = await fn(this.connections.get(this.discovery.leaderUrl), signal);
      const err = errorFromHeader(resp.header, this.discovery.clusterId, retryableHeaderTypes);
      if (err !== undefined) throw err;
      return resp;
    });
  }

  private async retry<T>(
    what: string,
    options: CallOptions | undefined,
    attempt: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    checkRequestOptions(options);
    // The call's scope (and each attempt's) follows the close signal, so its signal exists;
    // both are released, their deadline timers cleared, when they settle.
    const scope = openOperationScope(options, { follow: [this.closeController.signal] });
    try {
      return await this.retryIn(what, scope.signal as AbortSignal, attempt);
    } finally {
      scope.dispose();
    }
  }

  private async retryIn<T>(
    what: string,
    signal: AbortSignal,
    attempt: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const bo = new Backoffer({ maxBackoffMs: this.opts.maxBackoffMs, signal });
    const timeoutMs = this.opts.timeoutMs;
    for (;;) {
      if (this.closed) throw new ClientClosedError('PD client is closed');
      // The attempt's own deadline is not the caller's: when it passes, the attempt failed
      // (PD stalled, a leader went away) and is retried; only `signal` is final.
      const attemptScope = openOperationScope({ timeoutMs }, { follow: [signal] });
      try {
        return await attempt(attemptScope.signal as AbortSignal);
      } catch (e) {
        attemptScope.dispose();
        if (this.closed) throw new ClientClosedError('PD client is closed', { cause: e });
        const err = toPdCallError(e, what, signal, { signal: attemptScope.signal as AbortSignal, timeoutMs });
        if (signal.aborted || !isRetryablePdError(err)) throw err;
        if (isTiKVError(err, 'RPC_ERROR') || isTiKVError(err, 'PD_ERROR'))
          this.discovery.scheduleCheckMemberChanged();
        this.logger.debug('pd: call failed, backing off', { what, error: err });
        await bo.backoff(BackoffKinds.pdRPC, err);
      } finally {
        attemptScope.dispose();
      }
    }
  }

  private async lookup(
    query: RegionQuery,
    options: CallOptions | undefined,
    what: string,
    unary: (rpc: PdRpcClient, signal: AbortSignal) => Promise<pdpb.GetRegionResponse>,
  ): Promise<WireRegion | undefined> {
    const router = this.router;
    if (router !== undefined && !router.unsupported) {
      try {
        return await this.retry('QueryRegion', options, (signal) => router.query(query, { signal }));
      } catch (e) {
        if (!router.unsupported) throw e;
        this.logger.info('pd: QueryRegion is not supported, falling back to unary region calls');
      }
    }
    const resp = await this.call(what, options, unary, REGION_LOOKUP_RETRYABLE_TYPES);
    return resp.region === undefined ? undefined : resp;
  }

  private decode(wire: WireRegion | undefined): RegionInfo | undefined {
    if (wire === undefined) return undefined;
    const r = regionFromWire(wire);
    return r === undefined ? undefined : this.codec.decodeRegion(r);
  }

  private decodeAll(wires: readonly WireRegion[]): RegionInfo[] {
    const out: RegionInfo[] = [];
    for (const w of wires) {
      const r = this.decode(w);
      if (r !== undefined) out.push(r);
    }
    return out;
  }

  private async openTsoStream(signal: AbortSignal): Promise<GrpcTsoStream> {
    if (this.tsoNeedsMemberCheck) {
      this.tsoNeedsMemberCheck = false;
      await this.discovery.checkMemberChanged({ signal }).catch((e: unknown) => {
        this.logger.warn('pd: member check before reopening the TSO stream failed', { error: e });
      });
    }
    signal.throwIfAborted();
    const url = this.discovery.leaderUrl;
    const rpc = this.connections.get(url);
    return new GrpcTsoStream(url, (reqs, s) => rpc.tso(reqs, { signal: s }), this.header());
  }

  private openQueryRegionStream(
    signal: AbortSignal,
  ): Promise<OrderedBidiStream<pdpb.QueryRegionRequest, pdpb.QueryRegionResponse>> {
    signal.throwIfAborted();
    const url = this.discovery.leaderUrl;
    const rpc = this.connections.get(url);
    const clusterId = this.discovery.clusterId;
    return Promise.resolve(
      new OrderedBidiStream<pdpb.QueryRegionRequest, pdpb.QueryRegionResponse>(
        url,
        (reqs, s) => rpc.queryRegion(reqs, { signal: s }),
        (resp) => errorFromHeader(resp.header, clusterId, REGION_LOOKUP_RETRYABLE_TYPES),
      ),
    );
  }
}
