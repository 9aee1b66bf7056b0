/**
 * `@tikv/cluster`: connects the pieces a TiKV client runs on, for a key mode (raw or txn): the
 * keyspace codec, the PD client, the region cache, the transport and the region request
 * sender, from one options type with one TLS type.
 *
 * @packageDocumentation
 */
export type { ClusterOptions, ConnectClusterOptions } from './cluster-options.js';
export { type ClusterConnection, connectCluster } from './connect-cluster.js';
