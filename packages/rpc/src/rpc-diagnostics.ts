import { type Channel, channel, type TracingChannel, tracingChannel } from 'node:diagnostics_channel';
import type { kvrpcpb } from '@tikv/proto';
import type { TikvRequest } from './tikv-commands.js';

/**
 * Name of the tracing channel of every request (`node:diagnostics_channel` `tracingChannel`):
 * subscribers see `start`, `end`, `asyncStart`, `asyncEnd` and `error` with an
 * {@link RpcRequestEvent} as context; on completion the context also holds `result` or `error`.
 */
export const RPC_TRACING_CHANNEL = 'tikv:rpc';
/** Channel of each `BatchCommands` message sent: {@link RpcBatchEvent}. */
export const RPC_BATCH_CHANNEL = 'tikv:rpc:batch';
/** Channel of `BatchCommands` stream lifecycle events: {@link RpcStreamEvent}. */
export const RPC_STREAM_CHANNEL = 'tikv:rpc:stream';
/** Channel of connection pool lifecycle events: {@link RpcConnectionEvent}. */
export const RPC_CONNECTION_CHANNEL = 'tikv:rpc:connection';
/**
 * Channel of request retries, published by the region request sender: {@link RpcRetryEvent}.
 * Backoff sleeps are published on `tikv:backoff` by `@tikv/common`'s `Backoffer`.
 */
export const RPC_RETRY_CHANNEL = 'tikv:rpc:retry';
/** Channel of `HealthFeedback` received from stores: {@link RpcHealthFeedbackEvent}. */
export const RPC_HEALTH_FEEDBACK_CHANNEL = 'tikv:rpc:health-feedback';

/** Context of one request on the {@link RPC_TRACING_CHANNEL}. Never log `request` unless the user opted in: it holds keys and values. */
export interface RpcRequestEvent {
  /** The store address. */
  readonly address: string;
  /** The command's `$case`. */
  readonly command: string;
  /** The request. */
  readonly request: TikvRequest;
  /** Whether it travels on a `BatchCommands` stream (false: a unary call). */
  readonly batched: boolean;
  /** The forwarded host, when forwarding. */
  readonly forwardedHost: string | undefined;
  /** Set by the tracing channel when the request succeeds. */
  result?: unknown;
  /** Set by the tracing channel when the request fails. */
  error?: unknown;
}

/** One `BatchCommands` message written to a stream. */
export interface RpcBatchEvent {
  readonly address: string;
  /** Which of the store's connections carried it (0-based). */
  readonly connectionIndex: number;
  /** How many requests it carries. */
  readonly size: number;
  /** The forwarded host of the stream, or '' for a direct stream. */
  readonly forwardedHost: string;
}

/** A `BatchCommands` stream opened or broke. */
export interface RpcStreamEvent {
  readonly address: string;
  readonly connectionIndex: number;
  readonly forwardedHost: string;
  /** `open`: a new stream; `broken`: the stream failed or ended and its requests were failed. */
  readonly event: 'open' | 'broken';
  /** How many in-flight requests were failed (for `broken`). */
  readonly failedRequests: number;
  /** Why the stream broke. */
  readonly error?: unknown;
}

/** A store's connection pool opened or closed. */
export interface RpcConnectionEvent {
  readonly address: string;
  readonly event: 'open' | 'close';
  /** Why it closed: idle recycling, `closeAddress`, or the client's `close`. */
  readonly reason?: 'idle' | 'close-address' | 'client-closed';
  /** How many gRPC channels the pool holds. */
  readonly connections: number;
}

/** A request about to be retried by the region request sender. */
export interface RpcRetryEvent {
  readonly address: string;
  readonly command: string;
  /** The region the request is for, when known. */
  readonly regionId?: bigint;
  /** 1 for the first retry. */
  readonly attempt: number;
  /** Why it is retried (an `RpcError`, a `RegionError`, ...). */
  readonly error: unknown;
}

/** A `HealthFeedback` from a store. */
export interface RpcHealthFeedbackEvent {
  readonly address: string;
  readonly feedback: kvrpcpb.HealthFeedback;
}

/** The channels, created lazily on first use (no import-time side effects). */
export interface RpcChannels {
  readonly tracing: TracingChannel<unknown, RpcRequestEvent>;
  readonly batch: Channel;
  readonly stream: Channel;
  readonly connection: Channel;
  readonly healthFeedback: Channel;
}

let channels: RpcChannels | undefined;

/** The diagnostics channels of this package (created on first call). */
export function rpcChannels(): RpcChannels {
  channels ??= {
    tracing: tracingChannel<unknown, RpcRequestEvent>(RPC_TRACING_CHANNEL),
    batch: channel(RPC_BATCH_CHANNEL),
    stream: channel(RPC_STREAM_CHANNEL),
    connection: channel(RPC_CONNECTION_CHANNEL),
    healthFeedback: channel(RPC_HEALTH_FEEDBACK_CHANNEL),
  };
  return channels;
}

/** Whether anyone listens on the request tracing channel. */
export function tracingHasSubscribers(tracing: TracingChannel<unknown, RpcRequestEvent>): boolean {
  return (
    tracing.start.hasSubscribers ||
    tracing.end.hasSubscribers ||
    tracing.asyncStart.hasSubscribers ||
    tracing.asyncEnd.hasSubscribers ||
    tracing.error.hasSubscribers
  );
}

/**
 * Publishes a retry on {@link RPC_RETRY_CHANNEL} when someone listens.
 *
 * @param event - the retry
 */
export function publishRpcRetry(event: RpcRetryEvent): void {
  const ch = channel(RPC_RETRY_CHANNEL);
  if (ch.hasSubscribers) ch.publish(event);
}
