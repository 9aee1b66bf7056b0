import { InvalidArgumentError } from '@tikv/common';
import { health, tikvpb } from '@tikv/proto';
import { ApiVersion } from './api-version.js';
import { ClusterModel } from './cluster/cluster-model.js';
import { createRegionKeyCodec } from './cluster/region-key-codec.js';
import {
  DiskUsage,
  type PeerRole,
  type RegionInfo,
  type StoreInfo,
  StoreState,
} from './cluster/topology-types.js';
import { FaultRegistry } from './faults/fault-registry.js';
import type { FaultHandle, FaultSpec } from './faults/fault-types.js';
import { type StrandedTxn, type StrandedTxnSpec, strandTxn } from './faults/stranded-txn.js';
import {
  evenSplitKeys,
  type IdInput,
  type KeyInput,
  type MockClusterOptions,
  type ResolvedMockClusterOptions,
  resolveMockClusterOptions,
  toKey,
} from './mock-cluster-options.js';
import { type InvalidMaxTsUpdate, MaxTsLimit } from './mvcc/max-ts-limit.js';
import { composeTs } from './mvcc/txn-key.js';
import type { TxnState } from './mvcc/txn-status-cache.js';
import { GcStateService } from './pd/gc-state-service.js';
import {
  type KeyspaceInfo,
  KeyspaceService,
  type KeyspaceSpec,
  type MockKeyspaceState,
} from './pd/keyspace-service.js';
import { PdHttpApi } from './pd/pd-http-api.js';
import { type PdMemberInfo, PdMembership } from './pd/pd-members.js';
import { PdServers } from './pd/pd-servers.js';
import { PdService } from './pd/pd-service.js';
import { GrpcHost } from './server/grpc-host.js';
import { serverCredentials } from './server/tls-credentials.js';
import { KvEngine } from './storage/kv-engine.js';
import { RawStore } from './storage/raw-store.js';
import { HEALTH_HANDLERS } from './tikv/health-feedback.js';
import type { KvDeps } from './tikv/kv-deps.js';
import { createTikvHandlers, KvService } from './tikv/kv-service.js';
import { type ClusterTxn, createTxnDeps } from './tikv/txn-deps.js';
import type { TsoKeyspaceGroupInfo, TsoKeyspaceGroupSpec } from './tso/keyspace-groups.js';
import { type TsoServerInfo, TsoServers } from './tso/tso-servers.js';
import type { TsoRequestRecord } from './tso/tso-service.js';
import { TsoAllocator } from './tso-allocator.js';

/** PD's default `max-request-bytes`, the receive limit of its gRPC server. */
const PD_MAX_REQUEST_BYTES = 150 * 1024 * 1024;

/** Options of {@link MockCluster.startStore}. */
export interface StartStoreOptions {
  /** The port to listen on; 0 picks a free one. @defaultValue the store's previous port */
  readonly port?: number | undefined;
}

/** Options of {@link MockCluster.addStore}. */
export interface AddStoreOptions {
  /** The port to listen on; 0 picks a free one. @defaultValue 0 */
  readonly port?: number | undefined;
  /** Store labels PD reports. @defaultValue none */
  readonly labels?: Readonly<Record<string, string>> | undefined;
}

/** The version string the mock's stores and PD report. */
export const MOCK_CLUSTER_VERSION = '8.5.0-mock';

interface StoreHost {
  readonly id: bigint;
  readonly host: GrpcHost;
  /** The store's KV service (other stores forward to it in process). */
  readonly kv: KvService;
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
  /** PD endpoints, `host:port`, one per member (the first leads at start). */
  readonly pdEndpoints: readonly string[];
  /** The cluster id PD reports (requests must carry it in their header). */
  readonly clusterId: bigint;
  /** The resolved options the cluster runs with. */
  readonly options: ResolvedMockClusterOptions;
  readonly #model: ClusterModel;
  readonly #faults: FaultRegistry;
  readonly #pd: PdServers;
  readonly #stores: Map<bigint, StoreHost>;
  readonly #keyspaces: KeyspaceService;
  readonly #txn: ClusterTxn;
  /** The TSO microservice, when started with `tsoService`. */
  #tsoServers: TsoServers | undefined;
  /** Starts a new store's server; `start` sets it. */
  #openStore: (id: bigint, port: number) => Promise<void> = () =>
    Promise.reject(new Error('the cluster was not started by MockCluster.start'));
  #closed = false;

  private constructor(
    options: ResolvedMockClusterOptions,
    model: ClusterModel,
    faults: FaultRegistry,
    pd: PdServers,
    stores: Map<bigint, StoreHost>,
    keyspaces: KeyspaceService,
    txn: ClusterTxn,
  ) {
    this.#keyspaces = keyspaces;
    this.#txn = txn;
    this.options = options;
    this.clusterId = options.clusterId;
    this.#model = model;
    this.#faults = faults;
    this.#pd = pd;
    this.#stores = stores;
    this.pdEndpoints = Object.freeze(pd.members().map((m) => m.address));
  }

  /** Starts PD and the stores, bootstraps the first region and applies the initial splits. */
  static async start(options: MockClusterOptions = {}): Promise<MockCluster> {
    const o = resolveMockClusterOptions(options);
    const model = new ClusterModel(createRegionKeyCodec(o.regionKeyEncoding));
    const faults = new FaultRegistry();
    const engine = new KvEngine();
    const raw = new RawStore(engine, o.apiVersion, () => BigInt(Math.floor(o.nowMs() / 1000)));
    let gcStateSource: GcStateService | undefined;
    let keyspaceSource: KeyspaceService | undefined;
    const tso = new TsoAllocator(o.nowMs);
    const asTs = (t: { physical: bigint; logical: bigint }) => composeTs(t.physical, t.logical);
    const maxTsLimit = new MaxTsLimit({
      source: { latest: () => asTs(tso.peek()), issue: () => asTs(tso.allocate(1)) },
      action: o.actionOnInvalidMaxTs,
      driftMs: o.maxTsDriftMs,
    });
    const txn = createTxnDeps(
      engine,
      o.nowMs,
      {
        safePointFor: (id) => gcStateSource?.gcSafePointFor(id) ?? 0n,
        // API V1 data follows the unified safe point only; V2 keyspaces may have their own.
        fingerprint: () =>
          o.apiVersion === ApiVersion.V1
            ? String(gcStateSource?.gcSafePointFor(undefined) ?? 0n)
            : [undefined, ...(keyspaceSource?.list() ?? []).map((k) => k.id)]
                .map((id) => gcStateSource?.gcSafePointFor(id) ?? 0n)
                .join(','),
      },
      maxTsLimit,
    );
    txn.storage.maxWriteBytes = o.raftEntryMaxSizeBytes;
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
      txn,
    };
    const credentials = o.tls === undefined ? undefined : serverCredentials(o.tls);
    // Unless told otherwise, receive what TiKV and PD do: any size / PD's max-request-bytes.
    const tikvHostOptions = {
      unref: o.unref,
      maxReceiveMessageBytes: o.maxReceiveMessageBytes ?? -1,
      credentials,
    };
    const pdHttp = new PdHttpApi({
      stores: () =>
        model.stores().map((s) => ({
          id: s.id,
          available:
            s.state === StoreState.Up && model.regions().some((r) => r.peers.some((p) => p.storeId === s.id)),
        })),
      storeMinResolvedTs: (id) => storeMinResolvedTs(model, txn.resolvedTs, id),
    });
    const pdHostOptions = {
      unref: o.unref,
      maxReceiveMessageBytes: o.maxReceiveMessageBytes ?? PD_MAX_REQUEST_BYTES,
      credentials,
      http: pdHttp.handle,
    };
    const storeIds: bigint[] = [];
    for (let i = 0; i < o.stores; i++) storeIds.push(model.addStore({ ...o.storeLabels[i] }).id);
    model.bootstrap(storeIds.slice(0, o.replicas));
    model.split([...evenSplitKeys(o.regions, o.apiVersion), ...o.splitKeys]);

    const membership = new PdMembership({ count: o.pdMembers, host: o.host, tls: o.tls !== undefined });
    const tsoServers =
      o.tsoService === undefined
        ? undefined
        : new TsoServers(
            o.tsoService,
            { clusterId: o.clusterId, tso },
            { ...pdHostOptions, http: undefined },
          );
    const pdService = new PdService({
      clusterId: o.clusterId,
      model,
      tso,
      startTimestampSeconds: BigInt(Math.floor(Date.now() / 1000)),
      storeVersion: MOCK_CLUSTER_VERSION,
      membership,
      tsoServiceUrls: () => (tsoServers?.enabled === true ? tsoServers.runningUrls() : undefined),
    });
    const keyspaces = new KeyspaceService({
      clusterId: o.clusterId,
      nowMs: o.nowMs,
      // PD in API service mode names each new keyspace's keyspace group in its config (it is not
      // updated when a split moves the keyspace later, as on a real PD).
      groupConfig:
        tsoServers === undefined
          ? undefined
          : (id) => ({
              region_bound_type: 'txn',
              tso_keyspace_group_id: String(tsoServers.groups.groupOf(id) ?? 0),
              user_kind: 'basic',
            }),
    });
    for (const spec of o.keyspaces) keyspaces.create(spec);
    const gcStates = new GcStateService({
      clusterId: o.clusterId,
      nowMs: o.nowMs,
      keyspaces: () => keyspaces.list(),
    });
    gcStateSource = gcStates;
    keyspaceSource = keyspaces;
    const pd = new PdServers(
      { clusterId: o.clusterId, faults, membership, pd: pdService, gcStates, keyspaces, nowMs: o.nowMs },
      pdHostOptions,
    );
    const stores = new Map<bigint, StoreHost>();
    /** Serves store `id`'s TiKV service on `port` (0: a free one) and records its address. */
    const openStore = async (id: bigint, port: number): Promise<void> => {
      const life = { current: new AbortController() };
      const kv = new KvService(deps, {
        storeId: id,
        delayMs: () => model.store(id)?.delayMs ?? 0,
        slowScore: () => model.store(id)?.slowScore ?? 1,
        get lifetime() {
          return life.current.signal;
        },
      });
      // A store forwards to any other store that is up, reachable from it or not from clients.
      const forward = (address: string): KvService | undefined => {
        for (const s of stores.values()) {
          if (s.id !== id && !s.life.current.signal.aborted && model.store(s.id)?.address === address)
            return s.kv;
        }
        return undefined;
      };
      const host = new GrpcHost(
        [
          [tikvpb.TikvDefinition, createTikvHandlers(kv, forward), 'complete'],
          [health.HealthDefinition, HEALTH_HANDLERS, 'partial'],
        ],
        tikvHostOptions,
      );
      const entry: StoreHost = { id, host, kv, life };
      stores.set(id, entry);
      const listened = await entry.host.listen(o.host, port);
      model.updateStore(id, { address: `${o.host}:${listened}` });
    };
    try {
      await pd.listen(o.host, o.pdPort);
      await tsoServers?.listen(o.host);
      tsoServers?.publishEtcd(pd.metaStore, o.clusterId);
      for (const [i, id] of storeIds.entries()) await openStore(id, o.storePorts[i] ?? 0);
    } catch (e) {
      await pd.close();
      await tsoServers?.close();
      for (const s of stores.values()) await s.host.close();
      throw e;
    }
    const cluster = new MockCluster(o, model, faults, pd, stores, keyspaces, txn);
    cluster.#openStore = openStore;
    cluster.#tsoServers = tsoServers;
    return cluster;
  }

  #storeHost(id: IdInput): StoreHost {
    const s = this.#stores.get(BigInt(id));
    if (s === undefined) throw new InvalidArgumentError(`store ${id} does not exist`);
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
    if (r === undefined) throw new InvalidArgumentError('no region contains the key');
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
   * Cuts clients off a store while it keeps running: its port refuses connections, but the other
   * stores still reach it, so a request forwarded through one of them (`tikv-forwarded-host`)
   * gets through, as when only the client's network path to a TiKV is broken. `startStore`
   * reconnects it (same port).
   */
  async isolateStore(id: IdInput): Promise<void> {
    await this.#storeHost(id).host.stop();
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

  /** PD's members in `pdEndpoints` order: address, client URL, whether each runs and leads. */
  pdMembers(): PdMemberInfo[] {
    return this.#pd.members();
  }

  /** Moves PD leadership to member `index` (a running one); followers then answer as PD followers do. */
  transferPdLeader(index: number): void {
    this.#pd.transferLeader(index);
  }

  /**
   * Stops PD member `index`: its port refuses connections and open connections drop. A stopped
   * leader hands leadership to the next running member at once.
   */
  async stopPdMember(index: number): Promise<void> {
    await this.#pd.stop(index);
  }

  /** Restarts a stopped PD member on the same port (as a follower, unless no member leads). */
  async startPdMember(index: number): Promise<void> {
    await this.#pd.start(index);
  }

  /** Makes a store slow: every request it serves waits `delayMs` first (0 restores it). */
  setStoreDelay(id: IdInput, delayMs: number): void {
    if (!(delayMs >= 0)) throw new InvalidArgumentError('delayMs must be >= 0');
    this.#model.updateStore(this.#storeHost(id).id, { delayMs });
  }

  /**
   * Sets a region's bucket boundaries, as its leader would report them to PD: PD answers them
   * to lookups that ask for buckets, and an injected `BucketVersionNotMatch` carries them. The
   * region's own start and end are added around `keys`; the bucket version goes up by one.
   *
   * @returns the new bucket version
   */
  setRegionBuckets(regionId: IdInput, keys: readonly KeyInput[]): bigint {
    return this.#model.setBuckets(BigInt(regionId), keys.map(toKey)).version;
  }

  /**
   * Sets how full a store's disk is (TiKV's disk usage levels): on `almostFull` its leaders refuse
   * writes unless the request's `Context.diskFullOpt` allows it; on `alreadyFull`, every write.
   * Refused writes answer a DiskFull region error.
   */
  setStoreDiskUsage(id: IdInput, usage: DiskUsage): void {
    if (!Object.values(DiskUsage).includes(usage)) {
      throw new InvalidArgumentError(`disk usage must be one of ${Object.values(DiskUsage).join(', ')}`);
    }
    this.#model.updateStore(this.#storeHost(id).id, { diskUsage: usage });
  }

  /**
   * Sets the slow score a store reports in its health feedback (TiKV's raftstore slow score:
   * 1 is healthy, 100 the slowest). Feedback rides on `BatchCommands` responses, at most once a
   * second per stream, and answers `GetHealthFeedback`.
   */
  setStoreSlowScore(id: IdInput, slowScore: number): void {
    if (!(Number.isInteger(slowScore) && slowScore >= 1 && slowScore <= 100))
      throw new InvalidArgumentError('slowScore must be an integer in [1, 100]');
    this.#model.updateStore(this.#storeHost(id).id, { slowScore });
  }

  /**
   * Creates a keyspace PD's `keyspacepb.Keyspace` service then serves (enabled unless told
   * otherwise; the next free id unless given). Throws InvalidArgumentError for a duplicate name or id.
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

  #tso(): TsoServers {
    if (this.#tsoServers === undefined)
      throw new InvalidArgumentError('the cluster runs no TSO microservice (start it with tsoService)');
    return this.#tsoServers;
  }

  /** The TSO microservice's servers (empty without `tsoService`). */
  tsoServers(): TsoServerInfo[] {
    return this.#tsoServers?.info() ?? [];
  }

  /** The TSO microservice's keyspace groups (members, primary, keyspaces). */
  keyspaceGroups(): TsoKeyspaceGroupInfo[] {
    return this.#tso().groups.list();
  }

  /** Adds a keyspace group; the keyspaces it lists leave their groups. */
  createKeyspaceGroup(spec: TsoKeyspaceGroupSpec): TsoKeyspaceGroupInfo {
    return this.#tso().groups.create(spec);
  }

  /** Moves a keyspace to another keyspace group (as PD's split and move do). */
  moveKeyspaceToGroup(keyspaceId: number, groupId: number): void {
    this.#tso().groups.move(keyspaceId, groupId);
  }

  /**
   * Splits `keyspaces` off keyspace group `sourceId` into a new group `targetId`, as PD's
   * `POST /pd/api/v2/tso/keyspace-groups/<source>/split` does: the target takes the source's
   * members and primary; both report a split state (`FindGroupByKeyspaceID`'s `split_state`)
   * until the target's primary serves its first timestamp.
   */
  splitKeyspaceGroup(sourceId: number, targetId: number, keyspaces: readonly number[]): TsoKeyspaceGroupInfo {
    return this.#tso().groups.split(sourceId, targetId, keyspaces);
  }

  /** Makes TSO server `server` the primary of keyspace group `groupId` (a primary change). */
  setTsoPrimary(groupId: number, server: number): void {
    this.#tso().groups.setPrimary(groupId, server);
  }

  /** Stops TSO server `index`: its groups elect the next running member as primary. */
  async stopTsoServer(index: number): Promise<void> {
    await this.#tso().stop(index);
  }

  /** Restarts a stopped TSO server on its port. */
  async startTsoServer(index: number): Promise<void> {
    await this.#tso().start(index);
  }

  /**
   * Switches PD between the API service mode (`true`: `GetClusterInfo` reports the TSO
   * microservice) and PD serving TSO itself (`false`); the TSO servers keep running.
   */
  setTsoServiceEnabled(enabled: boolean): void {
    this.#tso().enabled = enabled;
  }

  /** The TSO requests the TSO servers received (header fields, serving group), oldest first. */
  tsoRequests(): readonly TsoRequestRecord[] {
    return this.#tsoServers?.records() ?? [];
  }

  /**
   * The requests' timestamps that would have pushed TiKV's `max_ts` past what PD's TSO could have
   * issued, oldest first (the last 10 000): refused with a region error, or let through with
   * `actionOnInvalidMaxTs: 'log'` (TiKV logs them).
   */
  invalidMaxTsUpdates(): readonly InvalidMaxTsUpdate[] {
    return this.#txn.maxTsLimit?.invalidUpdates ?? [];
  }

  /** Arms a fault for the next `times` matching requests. */
  inject(spec: FaultSpec): FaultHandle {
    return this.#faults.add(spec);
  }

  /** Disarms every fault. */
  clearFaults(): void {
    this.#faults.clear();
  }

  /**
   * Holds back the wake-ups of pessimistic-lock waiters on one store (or on every store) until
   * {@link resumeLockWakeUps}: released locks no longer wake them, so their waits run into the
   * timeout unless resumed.
   */
  pauseLockWakeUps(storeId?: IdInput): void {
    this.#txn.lockWaits.pauseWakeUps(storeId === undefined ? undefined : BigInt(storeId));
  }

  /**
   * The pessimistic lock requests waiting for a lock now (what `GetLockWaitInfo` reports): the
   * waiter's start ts and the key it waits on (raw storage key).
   */
  lockWaiters(): { readonly startTs: bigint; readonly key: Uint8Array }[] {
    return this.#txn.lockWaits.waitInfo().map((w) => ({ startTs: w.txn, key: w.key }));
  }

  /**
   * Resolves once a pessimistic lock request of transaction `startTs` waits for a lock (at once
   * when one does): the event a test waits on to know a request is blocked.
   *
   * @param startTs - the waiting transaction's start ts
   * @param options - `signal` rejects the wait with its reason
   */
  whenLockWaiting(startTs: bigint, options: { signal?: AbortSignal } = {}): Promise<void> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        unwatch();
        reject(signal?.reason);
      };
      let waiting = false;
      const unwatch = this.#txn.lockWaits.watchWaiting(startTs, () => {
        waiting = true;
        signal?.removeEventListener('abort', onAbort);
        resolve();
      });
      if (!waiting) signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Ends a pause (of one store, or all) and delivers the wake-ups it held back. */
  resumeLockWakeUps(storeId?: IdInput): void {
    this.#txn.lockWaits.resumeWakeUps(storeId === undefined ? undefined : BigInt(storeId));
  }

  /**
   * Leaves a transaction as a client that crashed after prewrite would (optionally after
   * committing its primary), for lock-resolution tests. Throws the MVCC error when a key is locked.
   */
  strandTransaction(spec: StrandedTxnSpec): StrandedTxn {
    return strandTxn(this.#txn.storage, spec);
  }

  /**
   * How far per-region resolved ts (and so the safe ts of stale reads and GetStoreSafeTS) trails
   * the clock; TiKV advances it periodically. 0 by default.
   */
  setResolvedTsLagMs(lagMs: number): void {
    if (!(lagMs >= 0)) throw new InvalidArgumentError('lagMs must be >= 0');
    this.#txn.resolvedTs.lagMs = lagMs;
  }

  /**
   * What a store's txn status cache holds of a transaction (what `BroadcastTxnStatus` told it):
   * `{ kind: 'ongoing', minCommitTs }`, `{ kind: 'committed', commitTs }`, `{ kind: 'rolledBack' }`,
   * or undefined when unknown.
   */
  txnStatus(storeId: bigint, startTs: bigint): TxnState | undefined {
    return this.#txn.resolvedTs.txnStatus(storeId).get(startTs);
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
    this.#txn.lockWaits.close();
    for (const s of this.#stores.values()) s.life.current.abort();
    await Promise.all([
      this.#pd.close(),
      this.#tsoServers?.close(),
      ...[...this.#stores.values()].map((s) => s.host.close()),
    ]);
  }

  /** `await using cluster = await MockCluster.start()` closes it at scope exit. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The smallest resolved ts of the regions with a peer on `storeId` (what it reports to PD). */
function storeMinResolvedTs(
  model: ClusterModel,
  resolved: { safeTs(start: Uint8Array, end: Uint8Array, storeId?: bigint): bigint },
  storeId: bigint,
): bigint {
  let min: bigint | undefined;
  for (const r of model.regions()) {
    if (!r.peers.some((p) => p.storeId === storeId)) continue;
    const ts = resolved.safeTs(r.startKey, r.endKey, storeId);
    if (min === undefined || ts < min) min = ts;
  }
  return min ?? 0n;
}
