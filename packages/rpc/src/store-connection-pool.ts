import {
  Channel,
  type ChannelCredentials,
  type ChannelOptions,
  Client,
  credentials as grpcCredentials,
} from '@grpc/grpc-js';
import { type Clock, pemBytes, type TlsOptions } from '@tikv/common';
import type { kvrpcpb } from '@tikv/proto';
import { parseBatchPolicy } from './batch-policy.js';
import { commandBytesOf } from './batch-request-encoding.js';
import { openGrpcBatchStream } from './grpc-batch-stream.js';
import { rpcChannels } from './rpc-diagnostics.js';
import { StoreBatcher } from './store-batcher.js';
import type { BatchResponseCmd } from './tikv-commands.js';
import type { ResolvedTransportOptions } from './transport-options.js';
import { type PendingUnaryCall, sendEncodedUnary, type UnaryCallPool } from './unary-call.js';

/**
 * The channel option that makes each of a store's channels distinct: grpc-js shares one
 * subchannel (one TCP connection) among channels with identical options.
 */
export const CONNECTION_INDEX_OPTION = 'grpc.tikv_connection_index';

/**
 * Builds the channel credentials: `credentials` if given, TLS from PEM material, or plaintext.
 *
 * @param o - the transport options
 * @returns the credentials
 */
export function channelCredentials(
  o: Pick<ResolvedTransportOptions, 'credentials' | 'tls'>,
): ChannelCredentials {
  if (o.credentials !== undefined) return o.credentials;
  const tls: TlsOptions | undefined = o.tls;
  if (tls === undefined) return grpcCredentials.createInsecure();
  return grpcCredentials.createSsl(
    pemBytes(tls.caPem) ?? null,
    pemBytes(tls.keyPem) ?? null,
    pemBytes(tls.certPem) ?? null,
  );
}

/**
 * The grpc-js channel options client-go's dial options translate to: keepalive, reconnect
 * backoff, the receive size limit, the flow-control window, no retry buffering.
 *
 * @param o - the transport options
 * @param index - the connection's index within its store
 * @returns the options
 */
export function channelOptionsFor(o: ResolvedTransportOptions, index: number): ChannelOptions {
  const opts: ChannelOptions = {
    'grpc.keepalive_time_ms': o.keepaliveIntervalMs,
    'grpc.keepalive_timeout_ms': o.keepaliveTimeoutMs,
    'grpc.initial_reconnect_backoff_ms': o.reconnectBaseDelayMs,
    'grpc.max_reconnect_backoff_ms': o.reconnectMaxDelayMs,
    'grpc.max_receive_message_length': o.maxReceiveMessageBytes === 0 ? -1 : o.maxReceiveMessageBytes,
    'grpc.max_send_message_length': -1,
    'grpc.enable_retries': 0,
    'grpc-node.flow_control_window': o.initialWindowSizeBytes,
    'grpc.use_local_subchannel_pool': 1,
    [CONNECTION_INDEX_OPTION]: index,
  };
  if (o.tls?.serverNameOverride !== undefined)
    opts['grpc.ssl_target_name_override'] = o.tls.serverNameOverride;
  return { ...opts, ...o.channelOptions };
}

/**
 * The gRPC connections to one store (client-go `connPool`): `connectionsPerStore` channels, each
 * its own TCP connection, used round-robin by unary calls; and the store's `BatchCommands`
 * multiplexer, which runs one stream per channel.
 */
export class StoreConnectionPool implements UnaryCallPool {
  readonly address: string;
  /** The transport's clock: measures the timeouts of unary calls. */
  readonly clock: Clock;
  /** The store's batcher; undefined when batching is disabled. */
  readonly batcher: StoreBatcher | undefined;
  readonly #channels: Channel[];
  readonly #grpcClients: Client[];
  #nextUnary = 0;
  readonly #unaryCalls = new Set<PendingUnaryCall>();
  #closed = false;
  /** When the pool last served a request, in the transport clock's milliseconds. */
  lastUsedMs: number;

  /**
   * @param address - the store's `host:port`
   * @param o - the transport options
   * @param creds - the channel credentials
   * @param nowMs - the current time
   */
  constructor(address: string, o: ResolvedTransportOptions, creds: ChannelCredentials, nowMs: number) {
    this.address = address;
    this.clock = o.clock;
    this.lastUsedMs = nowMs;
    const n = o.connectionsPerStore;
    this.#channels = Array.from(
      { length: n },
      (_, i) => new Channel(address, creds, channelOptionsFor(o, i)),
    );
    this.#grpcClients = this.#channels.map(
      (channel) => new Client(address, creds, { channelOverride: channel }),
    );
    const userFeedback = o.onHealthFeedback;
    const onHealthFeedback = (feedback: kvrpcpb.HealthFeedback): void => {
      const ch = rpcChannels().healthFeedback;
      if (ch.hasSubscribers) ch.publish({ address, feedback });
      userFeedback?.(address, feedback);
    };
    this.batcher =
      o.maxBatchSize > 0
        ? new StoreBatcher(
            address,
            {
              connections: n,
              maxBatchSize: o.maxBatchSize,
              maxBatchWaitMs: o.maxBatchWaitMs,
              batchWaitSize: o.batchWaitSize,
              batchPolicy: parseBatchPolicy(o.batchPolicy),
              maxConcurrentRequests: o.maxConcurrentRequests,
              overloadThreshold: o.overloadThreshold,
              maxBatchBytes: o.maxBatchBytes,
              logger: o.logger,
              metrics: o.metrics,
              clock: o.clock,
              onHealthFeedback,
              sendAlone: (cmd, item, forwardedHost, signal, timeoutMs) =>
                sendEncodedUnary(this, cmd.$case, commandBytesOf(item), {
                  forwardedHost,
                  signal,
                  timeoutMs,
                }) as Promise<BatchResponseCmd>,
            },
            (index, forwardedHost, handlers) =>
              openGrpcBatchStream(this.#grpcClients[index] as Client, index, forwardedHost, handlers),
          )
        : undefined;
  }

  /** How many gRPC channels the pool holds. */
  get size(): number {
    return this.#channels.length;
  }

  /** Whether the pool has been closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Requests queued or in flight, unary and batched. */
  get outstanding(): number {
    return this.#unaryCalls.size + (this.batcher?.outstanding ?? 0);
  }

  /** The next channel's client for unary calls, round-robin (client-go `connPool.Get`). */
  unaryClient(): Client {
    const i = this.#nextUnary;
    this.#nextUnary = (i + 1) % this.#channels.length;
    return this.#grpcClients[i] as Client;
  }

  /** Registers an in-flight unary call; `close` rejects it. */
  addUnaryCall(call: PendingUnaryCall): void {
    this.#unaryCalls.add(call);
  }

  /** Unregisters a settled unary call. */
  removeUnaryCall(call: PendingUnaryCall): void {
    this.#unaryCalls.delete(call);
  }

  /** Fails everything outstanding with `error` and closes every channel. Idempotent. */
  close(error: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.batcher?.close(error);
    // Rejecting a call cancels it and takes it out of the set: iterate over a copy.
    for (const c of [...this.#unaryCalls]) c.reject(error);
    this.#unaryCalls.clear();
    for (const c of this.#grpcClients) c.close();
    for (const ch of this.#channels) ch.close();
  }
}
