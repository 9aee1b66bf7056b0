/**
 * `@tikv/rpc`: the TiKV RPC layer: a gRPC connection pool per store, the `BatchCommands`
 * multiplexer, unary calls, interceptors and diagnostics channels (the transport); the
 * region request sender with its replica selector (routing, region errors, retries); and the
 * region executor the raw and transactional clients share (keys and ranges split by region,
 * batches with bounded concurrency, re-splits on region errors, primary batch first).
 *
 * @packageDocumentation
 */

/** The TLS options of `TransportOptions.tls`: `@tikv/common`'s one TLS type, re-exported. */
export type { TlsOptions } from '@tikv/common';
export {
  BATCH_POLICIES,
  type BatchPolicyOptions,
  BatchTrigger,
  DEFAULT_BATCH_POLICY,
  parseBatchPolicy,
} from './batch-policy.js';
export { CodecTransport, type RequestCodec } from './codec-transport.js';
export { BATCH_CONN_INDEX_METADATA_KEY, FORWARD_METADATA_KEY } from './grpc-batch-stream.js';
export {
  chainInterceptors,
  type RpcCall,
  type RpcInterceptor,
  RpcInterceptorChain,
  rpcInterceptor,
  type SendOptions,
} from './interceptor.js';
export type { KeyLocator } from './key-locator.js';
export type { KvTransport } from './kv-transport.js';
export {
  DEFAULT_LIVENESS_TIMEOUT_MS,
  type LivenessProbeOptions,
  LivenessProber,
} from './liveness-probe.js';
export { type PriorityItem, PriorityQueue } from './priority-queue.js';
export type {
  RangeStep,
  RangeWalkBounds,
  RegionSpan,
  WalkOutcome,
  WalkRangeOptions,
} from './range-walker.js';
export {
  type BatchLimit,
  type CountLimit,
  type GroupByRegionOptions,
  groupByRegion,
  type RegionBatch,
  type RegionGroup,
  type SizeLimit,
} from './region-batches.js';
export {
  type BatchOutcome,
  type BatchRun,
  type BudgetOptions,
  DEFAULT_REGION_EXECUTOR_OPTIONS,
  type Located,
  type MapConcurrentlyOptions,
  type Operation,
  type PrimaryFirstOptions,
  RegionExecutor,
  type RegionExecutorOptions,
  type RegionExecutorTuning,
  type RunBatchesOptions,
  type SendToKeyOptions,
} from './region-executor.js';
export type { RegionLocator } from './region-locator.js';
export {
  DEFAULT_REGION_REQUEST_SENDER_OPTIONS,
  RegionRequestSender,
  type RegionRequestSenderOptions,
} from './region-request-sender.js';
export type { RegionSender } from './region-sender.js';
export {
  calculateScore,
  isLeaderCandidate,
  MAX_REPLICA_ATTEMPT,
  MAX_REPLICA_ATTEMPT_TIME_MS,
  type MixedStrategy,
  READ_TIMEOUT_SHORT_MS,
  Replica,
  ReplicaFlag,
  SelectionScore,
} from './replica.js';
export {
  type PendingBackoff,
  ReplicaSelector,
  type ReplicaSelectorDeps,
  type ReplicaSelectorRequest,
} from './replica-selector.js';
export {
  CollapsingTransport,
  type CollapsingTransportOptions,
  collapseKey,
} from './request-collapse.js';
export {
  CommandPriority,
  DiskFullOpt,
  IsolationLevel,
  type RegionRequestOptions,
  ReplicaReadType,
  type ResourceGroupTagger,
  type ResourceGroupTagRequest,
  type StoreLabelMatch,
} from './request-options.js';
export { REQUEST_SECONDS_METRIC, RpcClient } from './rpc-client.js';
export {
  publishRpcRetry,
  RPC_BATCH_CHANNEL,
  RPC_CONNECTION_CHANNEL,
  RPC_HEALTH_FEEDBACK_CHANNEL,
  RPC_RETRY_CHANNEL,
  RPC_STREAM_CHANNEL,
  RPC_TRACING_CHANNEL,
  type RpcBatchEvent,
  type RpcConnectionEvent,
  type RpcHealthFeedbackEvent,
  type RpcRequestEvent,
  type RpcRetryEvent,
  type RpcStreamEvent,
} from './rpc-diagnostics.js';
export { MessageTooLargeError, RpcError, type RpcErrorFields } from './rpc-error.js';
export { BATCH_SIZE_METRIC, HIGH_TASK_PRIORITY } from './store-batcher.js';
export { CONNECTION_INDEX_OPTION } from './store-connection-pool.js';
export {
  type BatchRequestCmd,
  type BatchResponseCmd,
  isBatchCommand,
  type ResponseFor,
  type TikvCommand,
  type TikvRequest,
  type TikvResponse,
  UNARY_ONLY_COMMANDS,
  type UnaryOnlyRequest,
  type UnaryOnlyResponse,
} from './tikv-commands.js';
export {
  DEFAULT_TRANSPORT_OPTIONS,
  type ResolvedTransportOptions,
  resolveTransportOptions,
  type TransportOptions,
} from './transport-options.js';
