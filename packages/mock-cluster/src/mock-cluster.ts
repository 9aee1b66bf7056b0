import { keyspacepb, pdpb, tikvpb } from '@tikv/proto';
import { ClusterModel } from './cluster/cluster-model.js';
import { createRegionKeyCodec } from './cluster/region-key-codec.js';
import type { PeerRole, RegionInfo, StoreInfo, StoreState } from './cluster/topology-types.js';
import { FaultRegistry } from './faults/fault-registry.js';
import type { FaultHandle, FaultSpec } from './faults/fault-types.js';
import {
  evenSplitKeys,
  type IdInput,
  type KeyInput,
  type MockClusterOptions,
  type ResolvedMockClusterOptions,
  resolveMockClusterOptions,
  toKey,
} from './mock-cluster-options.js';
import { GcStateService } from './pd/gc-state-service.js';
import {
  createKeyspaceHandlers,
  type KeyspaceInfo,
  KeyspaceService,
  type KeyspaceSpec,
  type MockKeyspaceState,
} from './pd/keyspace-service.js';
import { createPdHandlers, PdService } from './pd/pd-service.js';
import { GrpcHost } from './server/grpc-host.js';
import { KvEngine } from './storage/kv-engine.js';
import { RawStore } from './storage/raw-store.js';
import type { KvDeps } from './tikv/kv-deps.js';
import { createTikvHandlers, KvService } from './tikv/kv-service.js';
import { TsoAllocator } from './tso-allocator.js';

/** Options of {@link MockCluster.startStore}. */
export interface StartStoreOptions {
  /** The port to listen on; 0 picks a free one. @defaultValue the store's previous port */
  readonly port?: number;
}

/** Options of {@link MockCluster.addStore}. */
export interface AddStoreOptions {
  /** The port to listen on; 0 picks a free one. @defaultValue 0 */
  readonly port?: number;
  /** Store labels PD reports. @defaultValue none */
  readonly labels?: Readonly<Record<string, string>>;
}

/** The version string the mock's stores and PD report. */
export const MOCK_CLUSTER_VERSION = '8.5.0-mock';

interface StoreHost {
  readonly id: bigint;
  readonly host: GrpcHost;
  /** Aborted when the store stops; replaced when it starts again. */
  readonly life: { current: AbortController };
}

/**
 * An embedded TiKV cluster: one PD and several TiKV stores, each a real gRPC server on loopback
 * serving `pdpb.PD` and `tikvpb.Tikv` from `@tikv/proto`. Storage is in memory and shared by all
 * stores (replication is instant); regions, leaders and epochs follow TiKV's rules, and the handle
 * changes the topology and injects faults while clients run against it.
 *
 * @example
 * ```ts
 * const cluster = await MockCluster.start({ stores: 3 });
 * try {
 *   // connect any TiKV client to cluster.pdEndpoints
 * } finally {
 *   await cluster.close();
 * }
 * ```
 */
export class MockCluster {
  /** PD endpoints, `host:port`. */
  readonly pdEndpoints: readonly string[];
  /** The cluster id PD reports (requests must carry it in their header). */
  readonly clusterId: bigint;
  /** The resolved options the cluster runs with. */
  readonly options: ResolvedMockClusterOptions;
  readonly #model: ClusterModel;
  readonly #faults: FaultRegistry;
  readonly #pd: GrpcHost;
  readonly #stores: Map<bigint, StoreHost>;
  readonly #keyspaces: KeyspaceService;
  /** Starts a new store's server; `start` sets it. */
  #openStore: (id: bigint, port: number) => Promise<void> = () =>
    Promise.reject(new Error('the cluster was not started by MockCluster.start'));
  #closed = false;

  private constructor(
    options: ResolvedMockClusterOptions,
    model: ClusterModel,
    faults: FaultRegistry,
    pd: GrpcHost,
    stores: Map<bigint, StoreHost>,
    keyspaces: KeyspaceService,
  ) {
    this.#keyspaces = keyspaces;
    this.options = options;
    this.clusterId = options.clusterId;
    this.#model = model;
    this.#faults = faults;
    this.#pd = pd;
    this.#stores = stores;
    this.pdEndpoints = Object.freeze([`${options.host}:${pd.port}`]);
  }

  /** Starts PD and the stores, bootstraps the first region and applies the initial splits. */
  static async start(options: MockClusterOptions = {}): Promise<MockCluster> {
    const o = resolveMockClusterOptions(options);
    const model = new ClusterModel(createRegionKeyCodec(o.regionKeyEncoding));
    const faults = new FaultRegistry();
    const engine = new KvEngine();
    const raw = new RawStore(engine, o.apiVersion, () => BigInt(Math.floor(o.nowMs() / 1000)));
    const deps: KvDeps = {
      model,
      raw,
      apiVersion: o.apiVersion,
      faults,
      limits: {
        maxKeySizeBytes: o.maxKeySizeBytes,
        raftEntryMaxSizeBytes: o.raftEntryMaxSizeBytes,
        maxBatchCommands: o.maxBatchCommands,
      },
    };
    const hostOptions = { unref: o.unref, maxReceiveMessageBytes: o.maxReceiveMessageBytes };
    const storeIds: bigint[] = [];
    for (let i = 0; i < o.stores; i++) storeIds.push(model.addStore().id);
    model.bootstrap(storeIds.slice(0, o.replicas));
    model.split([...evenSplitKeys(o.regions, o.apiVersion), ...o.splitKeys]);

    let pdPort = 0;
    const pdService = new PdService({
      clusterId: o.clusterId,
      model,
      tso: new TsoAllocator(o.nowMs),
      faults,
      startTimestampSeconds: BigInt(Math.floor(Date.now() / 1000)),
      storeVersion: MOCK_CLUSTER_VERSION,
      clientUrl: () => `http://${o.host}:${pdPort}`,
    });
    const keyspaces = new KeyspaceService({ clusterId: o.clusterId, faults, nowMs: o.nowMs });
    for (const spec of o.keyspaces) keyspaces.create(spec);
    const gcStates = new GcStateService({
      clusterId: o.clusterId,
      faults,
      nowMs: o.nowMs,
      keyspaces: () => keyspaces.list(),
    });
    const pd = new GrpcHost(
      [
        [pdpb.PDDefinition, createPdHandlers(pdService, gcStates)],
        [keyspacepb.KeyspaceDefinition, createKeyspaceHandlers(keyspaces)],
      ],
      hostOptions,
    );
    const stores = new Map<bigint, StoreHost>();
    /** Serves store `id`'s TiKV service on `port` (0: a free one) and records its address. */
    const openStore = async (id: bigint, port: number): Promise<void> => {
      const life = { current: new AbortController() };
      const kv = new KvService(deps, {
        storeId: id,
        delayMs: () => model.store(id)?.delayMs ?? 0,
        get lifetime() {
          return life.current.signal;
        },
      });
      const host = new GrpcHost([[tikvpb.TikvDefinition, createTikvHandlers(kv), 'complete']], hostOptions);
      const entry: StoreHost = { id, host, life };
      stores.set(id, entry);
      const listened = await entry.host.listen(o.host, port);
      model.updateStore(id, { address: `${o.host}:${listened}` });
    };
    try {
      pdPort = await pd.listen(o.host, o.pdPort);
      for (const [i, id] of storeIds.entries()) await openStore(id, o.storePorts[i] ?? 0);
    } catch (e) {
      await pd.close();
      for (const s of stores.values()) await s.host.close();
      throw e;
    }
    const cluster = new MockCluster(o, model, faults, pd, stores, keyspaces);
    cluster.#openStore = openStore;
    return cluster;
  }

  #storeHost(id: IdInput): StoreHost {
    const s = this.#stores.get(BigInt(id));
    if (s === undefined) throw new RangeError(`store ${id} does not exist`);
    return s;
  }

  /** Every store (id, address, state, liveness, delay). */
  stores(): StoreInfo[] {
    return this.#model.stores();
  }

  /** Every region in key order. */
  regions(): RegionInfo[] {
    return this.#model.regions();
  }

  /** One region by id. */
  region(id: IdInput): RegionInfo | undefined {
    return this.#model.region(BigInt(id));
  }

  /** The region containing a key (TiKV key domain). */
  regionByKey(key: KeyInput): RegionInfo {
    const r = this.#model.regionByKey(toKey(key));
    if (r === undefined) throw new RangeError('no region contains the key');
    return r;
  }

  /**
   * Splits regions at the given keys (TiKV key domain, API V2 keys with their prefix). The
   * original region keeps the right-most part; returns the new regions.
   */
  split(keys: KeyInput | readonly KeyInput[]): RegionInfo[] {
    const list = Array.isArray(keys) ? (keys as readonly KeyInput[]) : [keys as KeyInput];
    return this.#model.split(list.map(toKey));
  }

  /** Merges `right` into the adjacent `left` (left keeps its id); returns the merged region. */
  merge(left: IdInput, right: IdInput): RegionInfo {
    return this.#model.merge(BigInt(left), BigInt(right));
  }

  /** Moves a region's leader to its peer on `storeId`. */
  transferLeader(regionId: IdInput, storeId: IdInput): RegionInfo {
    return this.#model.transferLeader(BigInt(regionId), BigInt(storeId));
  }

  /** Adds a peer of a region on a store (bumps `confVer`). */
  addPeer(regionId: IdInput, storeId: IdInput, role?: PeerRole): RegionInfo {
    return this.#model.addPeer(BigInt(regionId), BigInt(storeId), role);
  }

  /** Removes a region's peer from a store (bumps `confVer`). */
  removePeer(regionId: IdInput, storeId: IdInput): RegionInfo {
    return this.#model.removePeer(BigInt(regionId), BigInt(storeId));
  }

  /** Stops a store: its port refuses connections and open connections drop. */
  async stopStore(id: IdInput): Promise<void> {
    const s = this.#storeHost(id);
    s.life.current.abort();
    await s.host.stop();
    this.#model.updateStore(s.id, { running: false });
  }

  /**
   * Restarts a stopped store, on the same port unless `port` is given (0: a free one). On
   * another port the store keeps its id and PD reports its new address, as after a TiKV
   * restart with a new `--addr`; clients holding the old address reach whatever listens there.
   */
  async startStore(id: IdInput, options: StartStoreOptions = {}): Promise<void> {
    const s = this.#storeHost(id);
    if (s.host.listening) return;
    s.life.current = new AbortController();
    const port = await s.host.listen(this.options.host, options.port ?? s.host.port);
    this.#model.updateStore(s.id, { running: true, address: `${this.options.host}:${port}` });
  }

  /**
   * Adds a store (the next id) serving TiKV on `port` (0: a free one), for example the address
   * of a store that was stopped or removed. It holds no peers until `addPeer` places one.
   */
  async addStore(options: AddStoreOptions = {}): Promise<StoreInfo> {
    const id = this.#model.addStore(options.labels ?? {}).id;
    try {
      await this.#openStore(id, options.port ?? 0);
    } catch (e) {
      await this.#stores.get(id)?.host.close();
      this.#stores.delete(id);
      this.#model.removeStore(id);
      throw e;
    }
    return this.#model.store(id) as StoreInfo;
  }

  /**
   * Sets the state PD reports for a store (`offline` while it is being removed, `tombstone`
   * after). Only PD's view changes: the store keeps serving until stopped.
   */
  setStoreState(id: IdInput, state: StoreState): StoreInfo {
    return this.#model.updateStore(this.#storeHost(id).id, { state });
  }

  /**
   * Removes a store: its server stops for good and PD forgets it (GetStore answers "invalid
   * store ID N, not found", as PD does for a store it no longer knows). Peers on it stay in
   * their regions until `removePeer` drops them.
   */
  async removeStore(id: IdInput): Promise<void> {
    const s = this.#storeHost(id);
    s.life.current.abort();
    await s.host.close();
    this.#stores.delete(s.id);
    this.#model.removeStore(s.id);
  }

  /** Makes a store slow: every request it serves waits `delayMs` first (0 restores it). */
  setStoreDelay(id: IdInput, delayMs: number): void {
    if (!(delayMs >= 0)) throw new RangeError('delayMs must be >= 0');
    this.#model.updateStore(this.#storeHost(id).id, { delayMs });
  }

  /**
   * Creates a keyspace PD's `keyspacepb.Keyspace` service then serves (enabled unless told
   * otherwise; the next free id unless given). Throws RangeError for a duplicate name or id.
   */
  createKeyspace(name: string, spec: Omit<KeyspaceSpec, 'name'> = {}): KeyspaceInfo {
    return this.#keyspaces.create({ ...spec, name });
  }

  /** Changes a keyspace's state (for example to `disabled`). */
  setKeyspaceState(name: string, state: MockKeyspaceState): KeyspaceInfo {
    return this.#keyspaces.setState(name, state);
  }

  /** Every keyspace PD knows, by id (`DEFAULT` is id 0). */
  keyspaces(): KeyspaceInfo[] {
    return this.#keyspaces.list();
  }

  /** Arms a fault for the next `times` matching requests. */
  inject(spec: FaultSpec): FaultHandle {
    return this.#faults.add(spec);
  }

  /** Disarms every fault. */
  clearFaults(): void {
    this.#faults.clear();
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Stops every server and releases every port and timer. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#faults.clear();
    for (const s of this.#stores.values()) s.life.current.abort();
    await Promise.all([this.#pd.close(), ...[...this.#stores.values()].map((s) => s.host.close())]);
  }

  /** `await using cluster = await MockCluster.start()` closes it at scope exit. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
