/**
 * `@tikv/mock-cluster`: an embedded PD and multi-store TiKV served over real gRPC on loopback,
 * for tests, demos and benchmarks.
 *
 * @packageDocumentation
 */
export { ApiVersion, keyspacePrefix, RegionKeyEncoding } from './api-version.js';
export { TopologyError } from './cluster/cluster-model.js';
export {
  DiskUsage,
  type PeerInfo,
  PeerRole,
  type RegionEpochInfo,
  type RegionInfo,
  type StoreInfo,
  StoreState,
} from './cluster/topology-types.js';
export type {
  FaultHandle,
  FaultSpec,
  GrpcStatusCode,
  InjectableRegionErrorKind,
  InjectedError,
} from './faults/fault-types.js';
export type { StrandedTxn, StrandedTxnSpec } from './faults/stranded-txn.js';
export {
  type AddStoreOptions,
  MOCK_CLUSTER_VERSION,
  MockCluster,
  type StartStoreOptions,
} from './mock-cluster.js';
export {
  DEFAULT_MOCK_CLUSTER_OPTIONS,
  type IdInput,
  type KeyInput,
  type MockClusterOptions,
  type MockTlsOptions,
  type ResolvedMockClusterOptions,
} from './mock-cluster-options.js';
export type { ActionOnInvalidMaxTs, InvalidMaxTsUpdate } from './mvcc/max-ts-limit.js';
export type { TxnState } from './mvcc/txn-status-cache.js';
export type { KeyspaceInfo, KeyspaceSpec, MockKeyspaceState } from './pd/keyspace-service.js';
export type { PdMemberInfo } from './pd/pd-members.js';
export { GrpcStatus } from './server/rpc-error.js';
export { ColumnFamily } from './storage/kv-engine.js';
export {
  DEFAULT_KEYSPACE_GROUP_ID,
  type TsoKeyspaceGroupInfo,
  type TsoKeyspaceGroupSpec,
  type TsoServiceSpec,
} from './tso/keyspace-groups.js';
export type { TsoServerInfo } from './tso/tso-servers.js';
export type { TsoRequestRecord } from './tso/tso-service.js';
