import { ApiVersion } from './api-version.js';
import { ClusterModel } from './cluster/cluster-model.js';
import { createRegionKeyCodec } from './cluster/region-key-codec.js';
import { StoreState } from './cluster/topology-types.js';
import { FaultRegistry } from './faults/fault-registry.js';
import { evenSplitKeys, type ResolvedMockClusterOptions } from './mock-cluster-options.js';
import { MaxTsLimit } from './mvcc/max-ts-limit.js';
import { composeTs } from './mvcc/txn-key.js';
import { GcStateService } from './pd/gc-state-service.js';
import { KeyspaceService } from './pd/keyspace-service.js';
import { PdHttpApi } from './pd/pd-http-api.js';
import { PdMembership } from './pd/pd-members.js';
import { PdServers } from './pd/pd-servers.js';
import { PdService } from './pd/pd-service.js';
import type { GrpcHostOptions } from './server/grpc-host.js';
import { serverCredentials } from './server/tls-credentials.js';
import { KvEngine } from './storage/kv-engine.js';
import { RawStore } from './storage/raw-store.js';
import { StoreHosts } from './store-hosts.js';
import { type ClusterTxn, createTxnDeps } from './tikv/txn-deps.js';
import { TsoServers } from './tso/tso-servers.js';
import { TsoAllocator } from './tso-allocator.js';

/** PD's default `max-request-bytes`, the receive limit of its gRPC server. */
const PD_MAX_REQUEST_BYTES = 150 * 1024 * 1024;

/** The version string the mock's stores and PD report. */
export const MOCK_CLUSTER_VERSION = '8.5.0-mock';

/** A started cluster's parts, as its handle drives them. */
export interface ClusterServices {
  readonly model: ClusterModel;
  readonly faults: FaultRegistry;
  readonly pd: PdServers;
  readonly stores: StoreHosts;
  readonly keyspaces: KeyspaceService;
  readonly txn: ClusterTxn;
  /** The TSO microservice, when started with `tsoService`. */
  readonly tsoServers: TsoServers | undefined;
}

/** What the storage's garbage collection reads of PD: the GC states and the keyspaces. */
interface PdGcView {
  readonly gcStates: GcStateService;
  readonly keyspaces: KeyspaceService;
}

/**
 * Builds the cluster from resolved options: the region model (bootstrapped and split), the shared
 * storage, PD (with the TSO microservice when asked) and one TiKV server per store, then starts
 * every server. A start that fails closes what it opened.
 */
export async function startClusterServices(o: ResolvedMockClusterOptions): Promise<ClusterServices> {
  const model = new ClusterModel(createRegionKeyCodec(o.regionKeyEncoding));
  const storeIds: bigint[] = [];
  for (let i = 0; i < o.stores; i++) storeIds.push(model.addStore({ ...o.storeLabels[i] }).id);
  model.bootstrap(storeIds.slice(0, o.replicas));
  model.split([...evenSplitKeys(o.regions, o.apiVersion), ...o.splitKeys]);

  const faults = new FaultRegistry();
  const tso = new TsoAllocator(o.nowMs);
  let pdGc: PdGcView | undefined;
  const { raw, txn } = createStorage(o, tso, () => pdGc);
  const credentials = o.tls === undefined ? undefined : serverCredentials(o.tls);
  const { pd, tsoServers, ...gcView } = createPd(o, { model, faults, tso, txn }, credentials);
  pdGc = gcView;
  const stores = new StoreHosts(
    {
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
    },
    // Unless told otherwise, receive what TiKV does: any size.
    { unref: o.unref, maxReceiveMessageBytes: o.maxReceiveMessageBytes ?? -1, credentials },
    o.host,
  );
  try {
    await pd.listen(o.host, o.pdPort);
    await tsoServers?.listen(o.host);
    tsoServers?.publishEtcd(pd.metaStore, o.clusterId);
    for (const [i, id] of storeIds.entries()) await stores.open(id, o.storePorts[i] ?? 0);
  } catch (e) {
    await pd.close();
    await tsoServers?.close();
    await stores.close();
    throw e;
  }
  return { model, faults, pd, stores, keyspaces: gcView.keyspaces, txn, tsoServers };
}

/**
 * The storage all stores share: raw and transactional, `max_ts` checked against the TSO, and
 * garbage collection following PD's safe points once `pdGc` answers.
 */
function createStorage(
  o: ResolvedMockClusterOptions,
  tso: TsoAllocator,
  pdGc: () => PdGcView | undefined,
): { raw: RawStore; txn: ClusterTxn } {
  const engine = new KvEngine();
  const raw = new RawStore(engine, o.apiVersion, () => BigInt(Math.floor(o.nowMs() / 1000)));
  const asTs = (t: { physical: bigint; logical: bigint }) => composeTs(t.physical, t.logical);
  const maxTsLimit = new MaxTsLimit({
    source: { latest: () => asTs(tso.peek()), issue: () => asTs(tso.allocate(1)) },
    action: o.actionOnInvalidMaxTs,
    driftMs: o.maxTsDriftMs,
  });
  const safePointFor = (id: number | undefined) => pdGc()?.gcStates.gcSafePointFor(id) ?? 0n;
  const txn = createTxnDeps(
    engine,
    o.nowMs,
    {
      safePointFor,
      // API V1 data follows the unified safe point only; V2 keyspaces may have their own.
      fingerprint: () =>
        o.apiVersion === ApiVersion.V1
          ? String(safePointFor(undefined))
          : [undefined, ...(pdGc()?.keyspaces.list() ?? []).map((k) => k.id)]
              .map((id) => safePointFor(id))
              .join(','),
    },
    maxTsLimit,
  );
  txn.storage.maxWriteBytes = o.raftEntryMaxSizeBytes;
  return { raw, txn };
}

/** PD's servers and the services behind them: TSO, keyspaces, GC states, the HTTP API. */
function createPd(
  o: ResolvedMockClusterOptions,
  cluster: { model: ClusterModel; faults: FaultRegistry; tso: TsoAllocator; txn: ClusterTxn },
  credentials: GrpcHostOptions['credentials'],
): PdGcView & { pd: PdServers; tsoServers: TsoServers | undefined } {
  const { model, faults, tso, txn } = cluster;
  const pdHttp = new PdHttpApi({
    stores: () =>
      model.stores().map((s) => ({
        id: s.id,
        available:
          s.state === StoreState.Up && model.regions().some((r) => r.peers.some((p) => p.storeId === s.id)),
      })),
    storeMinResolvedTs: (id) => storeMinResolvedTs(model, txn.resolvedTs, id),
  });
  // Unless told otherwise, receive what PD does: its max-request-bytes.
  const pdHostOptions = {
    unref: o.unref,
    maxReceiveMessageBytes: o.maxReceiveMessageBytes ?? PD_MAX_REQUEST_BYTES,
    credentials,
    http: pdHttp.handle,
  };
  const membership = new PdMembership({ count: o.pdMembers, host: o.host, tls: o.tls !== undefined });
  const tsoServers =
    o.tsoService === undefined
      ? undefined
      : new TsoServers(o.tsoService, { clusterId: o.clusterId, tso }, { ...pdHostOptions, http: undefined });
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
  const pd = new PdServers(
    { clusterId: o.clusterId, faults, membership, pd: pdService, gcStates, keyspaces, nowMs: o.nowMs },
    pdHostOptions,
  );
  return { pd, tsoServers, gcStates, keyspaces };
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
