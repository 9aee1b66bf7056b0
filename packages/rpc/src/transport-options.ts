import type { ChannelCredentials, ChannelOptions } from '@grpc/grpc-js';
import {
  type Clock,
  type Logger,
  type MetricsHook,
  mustBeNonNegative,
  mustBeNonNegativeInteger,
  mustBePositive,
  mustBePositiveInteger,
  noopLogger,
  noopMetrics,
  type Resolved,
  resolveOptions,
  systemClock,
  type TlsOptions,
} from '@tikv/common';
import type { kvrpcpb } from '@tikv/proto';
import { DEFAULT_BATCH_POLICY, parseBatchPolicy } from './batch-policy.js';
import type { RpcInterceptor } from './interceptor.js';

/** Options of an {@link RpcClient}; every one is optional. */
export interface TransportOptions {
  /**
   * gRPC connections (channels) per store address; requests round-robin over them
   * (client-go `GrpcConnectionCount`).
   * @defaultValue 4
   */
  readonly connectionsPerStore?: number | undefined;
  /**
   * Most requests in one `BatchCommands` message (client-go `MaxBatchSize`). 0 disables
   * batching: every command is sent as a unary call.
   * @defaultValue 128
   */
  readonly maxBatchSize?: number | undefined;
  /**
   * Most bytes of encoded commands in one `BatchCommands` message. A batch is cut when the next
   * command would pass it; a command larger than this by itself is sent alone as a unary call,
   * so a store refusing it fails that request only, never a stream and the requests sharing it.
   * The default is TiKV's `server.max-grpc-send-msg-len` (10 MiB), the size TiKV caps its own
   * batched raft messages at. TiKV's KV service sets no receive limit; lower this below the
   * receive limit of anything else in the path (a proxy, a mock).
   * @defaultValue 10485760 (10 MiB)
   */
  readonly maxBatchBytes?: number | undefined;
  /**
   * Milliseconds a batch may wait for more requests when the store reports a transport-layer
   * load above {@link TransportOptions.overloadThreshold} (client-go `MaxBatchWaitTime`). 0 never
   * waits: a batch leaves on the next event-loop turn.
   * @defaultValue 0
   */
  readonly maxBatchWaitMs?: number | undefined;
  /**
   * While waiting, a batch leaves as soon as it holds this many requests (client-go `BatchWaitSize`).
   * @defaultValue 8
   */
  readonly batchWaitSize?: number | undefined;
  /**
   * When a short batch waits a moment for more requests (client-go `BatchPolicy`): `basic` never
   * waits; `standard` waits up to 0.1 ms while requests have been arriving less than 0.08 ms
   * apart; `positive` always waits up to 0.1 ms; `custom {"v":1,"t":0.0001,"n":5,"w":0.2,"p":0.8,"q":0.8}`
   * sets the parameters (see `BatchPolicyOptions`). A wait yields event-loop turns, not a timer.
   * @defaultValue 'standard'
   */
  readonly batchPolicy?: string | undefined;
  /**
   * Most requests in flight per connection (client-go `MaxConcurrencyRequestLimit`); further
   * requests wait in the store's priority queue (`resourceControlContext.overridePriority`,
   * highest first; 10 and above are never held). 0: no limit.
   * @defaultValue 0
   */
  readonly maxConcurrentRequests?: number | undefined;
  /**
   * Store transport-layer load (the `transport_layer_load` TiKV reports) above which batches wait
   * (client-go `OverloadThreshold`).
   * @defaultValue 200
   */
  readonly overloadThreshold?: number | undefined;
  /**
   * Milliseconds between keepalive pings on an idle connection (client-go `GrpcKeepAliveTime`, 10 s).
   * @defaultValue 10000
   */
  readonly keepaliveIntervalMs?: number | undefined;
  /**
   * Milliseconds to wait for a keepalive ack before the connection is declared dead
   * (client-go `GrpcKeepAliveTimeout`, 3 s).
   * @defaultValue 3000
   */
  readonly keepaliveTimeoutMs?: number | undefined;
  /**
   * Milliseconds after which the connections to a store that served no request are closed
   * (client-go's 3-minute idle recycling). 0 keeps them until `close()`.
   * @defaultValue 180000
   */
  readonly idleTimeoutMs?: number | undefined;
  /**
   * First reconnect delay after a failed connection attempt, in milliseconds (client-go 100 ms).
   * @defaultValue 100
   */
  readonly reconnectBaseDelayMs?: number | undefined;
  /**
   * Longest reconnect delay, in milliseconds (client-go 3 s).
   * @defaultValue 3000
   */
  readonly reconnectMaxDelayMs?: number | undefined;
  /**
   * Largest response message accepted, in bytes; 0 means unlimited. A larger message fails the
   * request (a unary call) or the stream carrying it.
   *
   * TiKV's KV service sets no send limit (`server.max-grpc-send-msg-len`, 10 MiB, caps only its
   * raft messages) and client-go accepts any size. The largest response TiKV builds with its
   * defaults is a `BatchCommands` message of up to 128 responses (its `GRPC_MSG_MAX_BATCH_SIZE`),
   * each value up to `raftstore.raft-entry-max-size` (8 MiB): about 1 GiB. The default is the
   * largest length gRPC expresses, 2^31 − 1 bytes (grpc's int32 limit, Go gRPC's default send
   * limit): every such response fits, and a faulty store cannot make the client buffer more.
   * A batch read or scan whose answer would pass it must be cut smaller.
   * @defaultValue 2147483647 (2 GiB − 1)
   */
  readonly maxReceiveMessageBytes?: number | undefined;
  /**
   * HTTP/2 flow-control window of each store connection and of each stream on it, in bytes
   * (client-go `grpc-initial-window-size` / `grpc-initial-conn-window-size`, 128 MiB): how much a
   * store may send before the client acknowledges it. With HTTP/2's 64 KiB default a response
   * larger than that (a big batch get or scan page) waits a round trip for each window update,
   * and every request multiplexed on the same `BatchCommands` stream waits behind it. At most
   * 2^31 − 1 (HTTP/2's limit).
   * @defaultValue 134217728 (128 MiB)
   */
  readonly initialWindowSizeBytes?: number | undefined;
  /** TLS to the stores (`@tikv/common`'s `TlsOptions`); plaintext when omitted. */
  readonly tls?: TlsOptions | undefined;
  /** Channel credentials, overriding `tls` (an escape hatch for custom verification). */
  readonly credentials?: ChannelCredentials | undefined;
  /** Extra grpc-js channel options, applied last (client-go `WithGRPCDialOptions`). */
  readonly channelOptions?: ChannelOptions | undefined;
  /** Interceptors around every request, outermost first (client-go `tikvrpc/interceptor`). */
  readonly interceptors?: readonly RpcInterceptor[] | undefined;
  /** Called with each store's `HealthFeedback` carried by `BatchCommands` responses. */
  readonly onHealthFeedback?: ((address: string, feedback: kvrpcpb.HealthFeedback) => void) | undefined;
  /** Where connection and stream events are logged. @defaultValue silent */
  readonly logger?: Logger | undefined;
  /** Where request latency and batch sizes are reported. @defaultValue no-op */
  readonly metrics?: MetricsHook | undefined;
  /** Time source for idle tracking and the timeouts of requests (batched and unary). @defaultValue the system clock */
  readonly clock?: Clock | undefined;
}

/** {@link TransportOptions} after defaults are applied. */
export type ResolvedTransportOptions = Readonly<
  Resolved<Omit<TransportOptions, 'tls' | 'credentials' | 'onHealthFeedback'>> &
    Pick<TransportOptions, 'tls' | 'credentials' | 'onHealthFeedback'>
>;

/** The largest flow-control window HTTP/2 allows (RFC 9113 §6.9.1). */
const MAX_HTTP2_WINDOW_BYTES = 2 ** 31 - 1;

/** The defaults of {@link TransportOptions} (client-go's `config.DefaultTiKVClient`). */
export const DEFAULT_TRANSPORT_OPTIONS: ResolvedTransportOptions = Object.freeze({
  connectionsPerStore: 4,
  maxBatchSize: 128,
  maxBatchBytes: 10 * 1024 * 1024,
  maxBatchWaitMs: 0,
  batchWaitSize: 8,
  batchPolicy: DEFAULT_BATCH_POLICY,
  maxConcurrentRequests: 0,
  overloadThreshold: 200,
  keepaliveIntervalMs: 10_000,
  keepaliveTimeoutMs: 3_000,
  idleTimeoutMs: 180_000,
  reconnectBaseDelayMs: 100,
  reconnectMaxDelayMs: 3_000,
  maxReceiveMessageBytes: 2 ** 31 - 1,
  initialWindowSizeBytes: 2 ** 27,
  tls: undefined,
  credentials: undefined,
  channelOptions: Object.freeze({}),
  interceptors: Object.freeze([]),
  onHealthFeedback: undefined,
  logger: noopLogger,
  metrics: noopMetrics,
  clock: systemClock,
});

/**
 * Applies the defaults to transport options and validates them.
 *
 * @param options - the caller's options
 * @returns frozen, validated options
 * @throws InvalidArgumentError naming the first invalid option
 */
export function resolveTransportOptions(options?: TransportOptions): ResolvedTransportOptions {
  return resolveOptions(DEFAULT_TRANSPORT_OPTIONS as Resolved<TransportOptions>, options, {
    connectionsPerStore: mustBePositiveInteger,
    maxBatchSize: mustBeNonNegativeInteger,
    maxBatchBytes: mustBePositiveInteger,
    maxBatchWaitMs: mustBeNonNegative,
    batchWaitSize: mustBePositiveInteger,
    batchPolicy: (v) => {
      try {
        parseBatchPolicy(v);
        return undefined;
      } catch (e) {
        return `is invalid: ${(e as Error).message}`;
      }
    },
    maxConcurrentRequests: mustBeNonNegativeInteger,
    overloadThreshold: mustBeNonNegative,
    keepaliveIntervalMs: mustBePositive,
    keepaliveTimeoutMs: mustBePositive,
    idleTimeoutMs: mustBeNonNegative,
    reconnectBaseDelayMs: mustBePositive,
    reconnectMaxDelayMs: mustBePositive,
    maxReceiveMessageBytes: mustBeNonNegativeInteger,
    initialWindowSizeBytes: (v) =>
      mustBePositiveInteger(v) ??
      (v > MAX_HTTP2_WINDOW_BYTES ? `must be at most ${MAX_HTTP2_WINDOW_BYTES}` : undefined),
  });
}
