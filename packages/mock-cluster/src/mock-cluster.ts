import { InvalidArgumentError } from '@tikv/common';
import type { DiskUsage, PeerRole, RegionInfo, StoreInfo, StoreState } from './cluster/topology-types.js';
import { type ClusterServices, startClusterServices } from './cluster-startup.js';
import { ClusterTopology } from './cluster-topology.js';
import type { FaultRegistry } from './faults/fault-registry.js';
import type { FaultHandle, FaultSpec } from './faults/fault-types.js';
import { type StrandedTxn, type StrandedTxnSpec, strandTxn } from './faults/stranded-txn.js';
import {
  type IdInput,
  type KeyInput,
  type MockClusterOptions,
  type ResolvedMockClusterOptions,
  resolveMockClusterOptions,
} from './mock-cluster-options.js';
import type { InvalidMaxTsUpdate } from './mvcc/max-ts-limit.js';
import type { TxnState } from './mvcc/txn-status-cache.js';
import type {
  KeyspaceInfo,
  KeyspaceService,
  KeyspaceSpec,
  MockKeyspaceState,
} from './pd/keyspace-service.js';
import type { PdMemberInfo } from './pd/pd-members.js';
import type { PdServers } from './pd/pd-servers.js';
import type { StoreHosts } from './store-hosts.js';
import type { ClusterTxn } from './tikv/txn-deps.js';
import type { TsoKeyspaceGroupInfo, TsoKeyspaceGroupSpec } from './tso/keyspace-groups.js';
import type { TsoServerInfo, TsoServers } from './tso/tso-servers.js';
import type { TsoRequestRecord } from './tso/tso-service.js';

export { MOCK_CLUSTER_VERSION } from './cluster-startup.js';

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
  readonly #topology: ClusterTopology;
  readonly #faults: FaultRegistry;
  readonly #pd: PdServers;
  readonly #stores: StoreHosts;
  readonly #keyspaces: KeyspaceService;
  readonly #txn: ClusterTxn;
  /** The TSO microservice, when started with `tsoService`. */
  readonly #tsoServers: TsoServers | undefined;
  #closed = false;

  private constructor(options: ResolvedMockClusterOptions, services: ClusterServices) {
    this.options = options;
    this.clusterId = options.clusterId;
    this.#topology = new ClusterTopology(services.model, (id) => services.stores.idOf(id));
    this.#faults = services.faults;
    this.#pd = services.pd;
    this.#stores = services.stores;
    this.#keyspaces = services.keyspaces;
    this.#txn = services.txn;
    this.#tsoServers = services.tsoServers;
    this.pdEndpoints = Object.freeze(services.pd.members().map((m) => m.address));
  }

  /** Starts PD and the stores, bootstraps the first region and applies the initial splits. */
  static async start(options: MockClusterOptions = {}): Promise<MockCluster> {
    const o = resolveMockClusterOptions(options);
    return new MockCluster(o, await startClusterServices(o));
  }

  /** Every store (id, address, state, liveness, delay). */
  stores(): StoreInfo[] {
    return this.#topology.stores();
  }

  /** Every region in key order. */
  regions(): RegionInfo[] {
    return this.#topology.regions();
  }

  /** One region by id. */
  region(id: IdInput): RegionInfo | undefined {
    return this.#topology.region(id);
  }

  /** The region containing a key (TiKV key domain). */
  regionByKey(key: KeyInput): RegionInfo {
    return this.#topology.regionByKey(key);
  }

  /**
   * Splits regions at the given keys (TiKV key domain, API V2 keys with their prefix). The
   * original region keeps the right-most part; returns the new regions.
   */
  split(keys: KeyInput | readonly KeyInput[]): RegionInfo[] {
    return this.#topology.split(keys);
  }

  /** Merges `right` into the adjacent `left` (left keeps its id); returns the merged region. */
  merge(left: IdInput, right: IdInput): RegionInfo {
    return this.#topology.merge(left, right);
  }

  /** Moves a region's leader to its peer on `storeId`. */
  transferLeader(regionId: IdInput, storeId: IdInput): RegionInfo {
    return this.#topology.transferLeader(regionId, storeId);
  }

  /** Adds a peer of a region on a store (bumps `confVer`). */
  addPeer(regionId: IdInput, storeId: IdInput, role?: PeerRole): RegionInfo {
    return this.#topology.addPeer(regionId, storeId, role);
  }

  /** Removes a region's peer from a store (bumps `confVer`). */
  removePeer(regionId: IdInput, storeId: IdInput): RegionInfo {
    return this.#topology.removePeer(regionId, storeId);
  }

  /** Stops a store: its port refuses connections and open connections drop. */
  async stopStore(id: IdInput): Promise<void> {
    await this.#stores.stop(id);
  }

  /**
   * Cuts clients off a store while it keeps running: its port refuses connections, but the other
   * stores still reach it, so a request forwarded through one of them (`tikv-forwarded-host`)
   * gets through, as when only the client's network path to a TiKV is broken. `startStore`
   * reconnects it (same port).
   */
  async isolateStore(id: IdInput): Promise<void> {
    await this.#stores.isolate(id);
  }

  /**
   * Restarts a stopped store, on the same port unless `port` is given (0: a free one). On
   * another port the store keeps its id and PD reports its new address, as after a TiKV
   * restart with a new `--addr`; clients holding the old address reach whatever listens there.
   */
  async startStore(id: IdInput, options: StartStoreOptions = {}): Promise<void> {
    await this.#stores.start(id, options.port);
  }

  /**
   * Adds a store (the next id) serving TiKV on `port` (0: a free one), for example the address
   * of a store that was stopped or removed. It holds no peers until `addPeer` places one.
   */
  async addStore(options: AddStoreOptions = {}): Promise<StoreInfo> {
    return this.#stores.add(options.labels ?? {}, options.port ?? 0);
  }

  /**
   * Sets the state PD reports for a store (`offline` while it is being removed, `tombstone`
   * after). Only PD's view changes: the store keeps serving until stopped.
   */
  setStoreState(id: IdInput, state: StoreState): StoreInfo {
    return this.#topology.setStoreState(id, state);
  }

  /**
   * Removes a store: its server stops for good and PD forgets it (GetStore answers "invalid
   * store ID N, not found", as PD does for a store it no longer knows). Peers on it stay in
   * their regions until `removePeer` drops them.
   */
  async removeStore(id: IdInput): Promise<void> {
    await this.#stores.remove(id);
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
    this.#topology.setStoreDelay(id, delayMs);
  }

  /**
   * Sets a region's bucket boundaries, as its leader would report them to PD: PD answers them
   * to lookups that ask for buckets, and an injected `BucketVersionNotMatch` carries them. The
   * region's own start and end are added around `keys`; the bucket version goes up by one.
   *
   * @returns the new bucket version
   */
  setRegionBuckets(regionId: IdInput, keys: readonly KeyInput[]): bigint {
    return this.#topology.setRegionBuckets(regionId, keys);
  }

  /**
   * Sets how full a store's disk is (TiKV's disk usage levels): on `almostFull` its leaders refuse
   * writes unless the request's `Context.diskFullOpt` allows it; on `alreadyFull`, every write.
   * Refused writes answer a DiskFull region error.
   */
  setStoreDiskUsage(id: IdInput, usage: DiskUsage): void {
    this.#topology.setStoreDiskUsage(id, usage);
  }

  /**
   * Sets the slow score a store reports in its health feedback (TiKV's raftstore slow score:
   * 1 is healthy, 100 the slowest). Feedback rides on `BatchCommands` responses, at most once a
   * second per stream, and answers `GetHealthFeedback`.
   */
  setStoreSlowScore(id: IdInput, slowScore: number): void {
    this.#topology.setStoreSlowScore(id, slowScore);
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
    return this.#txn.lockWaits.whenWaiting(startTs, options.signal);
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
    await Promise.all([this.#stores.close(), this.#pd.close(), this.#tsoServers?.close()]);
  }

  /** `await using cluster = await MockCluster.start()` closes it at scope exit. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
