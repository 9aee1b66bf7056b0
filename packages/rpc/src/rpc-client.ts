import type { ChannelCredentials } from '@grpc/grpc-js';
import { ClientClosedError, type ClockTimer, noopMetrics } from '@tikv/common';
import type { Liveness } from '@tikv/region-cache';
import type { RpcCall, SendOptions } from './interceptor.js';
import { chainInterceptors } from './interceptor.js';
import type { KvTransport } from './kv-transport.js';
import { type LivenessProbeOptions, LivenessProber } from './liveness-probe.js';
import {
  type RpcConnectionEvent,
  type RpcRequestEvent,
  rpcChannels,
  tracingHasSubscribers,
} from './rpc-diagnostics.js';
import { RpcError } from './rpc-error.js';
import { channelCredentials, StoreConnectionPool } from './store-connection-pool.js';
import {
  type BatchRequestCmd,
  isBatchCommand,
  type ResponseFor,
  type TikvRequest,
  type TikvResponse,
} from './tikv-commands.js';
import {
  type ResolvedTransportOptions,
  resolveTransportOptions,
  type TransportOptions,
} from './transport-options.js';
import { sendUnary } from './unary-call.js';

/** The metric name of the request latency histogram (client-go `tikv_client_go_request_seconds`). */
export const REQUEST_SECONDS_METRIC = 'tikv_client_request_seconds';

const NO_OPTIONS: SendOptions = Object.freeze({});
/** Longest idle sweep period, in milliseconds. */
const MAX_SWEEP_MS = 60_000;
const BACKGROUND_TIMER = Object.freeze({ background: true });

/**
 * The TiKV transport (client-go `RPCClient`): a pool of `connectionsPerStore` gRPC connections
 * per store address, the `BatchCommands` multiplexer for every command client-go batches, unary
 * calls for the rest, interceptors around every request, `node:diagnostics_channel` events, idle
 * connection recycling and a clean `close()`.
 *
 * Connections are made lazily, on the first request to an address; constructing the client does
 * no I/O.
 *
 * @example
 * ```ts
 * const rpc = new RpcClient({ connectionsPerStore: 4 });
 * const res = await rpc.send('127.0.0.1:20160', {
 *   $case: 'RawGet',
 *   value: kvrpcpb.RawGetRequest.fromPartial({ context, key }),
 * }, { timeoutMs: 2_000 });
 * res.value.value; // the RawGetResponse's value
 * await rpc.close();
 * ```
 */
export class RpcClient implements KvTransport {
  /** The resolved options. */
  readonly options: ResolvedTransportOptions;
  readonly #pools = new Map<string, StoreConnectionPool>();
  readonly #credentials: ChannelCredentials;
  readonly #call: RpcCall;
  readonly #prober: LivenessProber;
  #sweepTimer: ClockTimer | undefined;
  #closed = false;

  /**
   * @param options - transport options; see {@link TransportOptions} for defaults
   * @throws InvalidArgumentError for an invalid option
   */
  constructor(options?: TransportOptions) {
    this.options = resolveTransportOptions(options);
    this.#credentials = channelCredentials(this.options);
    const nameOverride = this.options.tls?.serverNameOverride;
    this.#prober = new LivenessProber(
      this.#credentials,
      this.options.clock,
      nameOverride === undefined ? {} : { 'grpc.ssl_target_name_override': nameOverride },
    );
    const dispatch: RpcCall = (address, request, opts) => this.#dispatch(address, request, opts);
    // The per-request interceptor runs inside the client's interceptors, next to the dispatch.
    const inner: RpcCall = (address, request, opts) =>
      opts.interceptor === undefined
        ? dispatch(address, request, opts)
        : opts.interceptor.wrap(dispatch)(address, request, opts);
    this.#call =
      this.options.interceptors.length === 0
        ? inner
        : chainInterceptors(...this.options.interceptors).wrap(inner);
  }

  /** Whether `close()` has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The addresses with open connection pools. */
  addresses(): string[] {
    return [...this.#pools.keys()];
  }

  /**
   * Sends a command to a store. Batchable commands (as in client-go) are multiplexed onto the
   * store's `BatchCommands` streams; the others are unary calls.
   *
   * @param address - the store's `host:port`
   * @param request - the command
   * @param options - signal, timeoutMs, forwardedHost, per-request interceptor
   * @returns the response arm of the same `$case`
   */
  send<R extends TikvRequest>(
    address: string,
    request: R,
    options: SendOptions = NO_OPTIONS,
  ): Promise<ResponseFor<R>> {
    if (this.#closed) return Promise.reject(new ClientClosedError('the RPC client is closed'));
    return this.#call(address, request, options) as Promise<ResponseFor<R>>;
  }

  #dispatch(address: string, request: TikvRequest, options: SendOptions): Promise<TikvResponse> {
    if (this.#closed) return Promise.reject(new ClientClosedError('the RPC client is closed'));
    const pool = this.#pool(address);
    const batched = pool.batcher !== undefined && isBatchCommand(request.$case);
    const tracing = rpcChannels().tracing;
    let result: Promise<TikvResponse>;
    if (tracingHasSubscribers(tracing)) {
      const context: RpcRequestEvent = {
        address,
        command: request.$case,
        request,
        batched,
        forwardedHost: options.forwardedHost,
      };
      result = tracing.tracePromise(() => this.#route(pool, batched, request, options), context);
    } else {
      result = this.#route(pool, batched, request, options);
    }
    if (this.options.metrics === noopMetrics) return result;
    return this.#observe(result, request.$case);
  }

  #route(
    pool: StoreConnectionPool,
    batched: boolean,
    request: TikvRequest,
    options: SendOptions,
  ): Promise<TikvResponse> {
    if (batched) {
      return (pool.batcher as NonNullable<StoreConnectionPool['batcher']>).send(
        request as BatchRequestCmd,
        options.forwardedHost ?? '',
        options.signal,
        options.timeoutMs ?? Number.NaN,
      );
    }
    return sendUnary(pool, request, options);
  }

  /**
   * Probes a store with the gRPC health check on a connection of its own (client-go
   * `requestLiveness`); concurrent probes of one address share one call. Never rejects but on
   * abort (with the signal's reason).
   *
   * @param address - the store's `host:port`
   * @param options - signal and timeout (default 1 s)
   * @returns `reachable`, `unreachable` (no answer, or not serving) or `unknown`
   */
  probeLiveness(address: string, options?: LivenessProbeOptions): Promise<Liveness> {
    if (this.#closed) return Promise.reject(new ClientClosedError('the RPC client is closed'));
    return this.#prober.probe(address, options);
  }

  async #observe(result: Promise<TikvResponse>, command: string): Promise<TikvResponse> {
    const started = performance.now();
    try {
      return await result;
    } finally {
      this.options.metrics.observeHistogram(REQUEST_SECONDS_METRIC, (performance.now() - started) / 1000, {
        type: command,
      });
    }
  }

  #pool(address: string): StoreConnectionPool {
    let pool = this.#pools.get(address);
    const now = this.options.clock.now();
    if (pool === undefined) {
      pool = new StoreConnectionPool(address, this.options, this.#credentials, now);
      this.#pools.set(address, pool);
      this.options.logger.debug('connection pool opened', { address, connections: pool.size });
      this.#publishConnection({ address, event: 'open', connections: pool.size });
      this.#startSweep();
    } else {
      pool.lastUsedMs = now;
    }
    return pool;
  }

  #publishConnection(event: RpcConnectionEvent): void {
    const ch = rpcChannels().connection;
    if (ch.hasSubscribers) ch.publish(event);
  }

  #startSweep(): void {
    const idle = this.options.idleTimeoutMs;
    if (idle === 0 || this.#sweepTimer !== undefined) return;
    this.#armSweep();
  }

  /** Sets the next sweep on the transport's clock; a background timer (nobody awaits it). */
  #armSweep(): void {
    const every = Math.max(1, Math.min(this.options.idleTimeoutMs, MAX_SWEEP_MS));
    this.#sweepTimer = this.options.clock.setTimer(every, this.#sweepTick, undefined, BACKGROUND_TIMER);
  }

  /** The sweep timer fired: sweep, and sweep again later while pools remain. */
  readonly #sweepTick = (): void => {
    this.#sweepTimer = undefined;
    this.#sweepIdle();
    if (this.#pools.size > 0 && !this.#closed) this.#armSweep();
  };

  #stopSweep(): void {
    if (this.#sweepTimer !== undefined) this.options.clock.clearTimer(this.#sweepTimer);
    this.#sweepTimer = undefined;
  }

  /** Closes the pools that served nothing for `idleTimeoutMs` and have nothing outstanding. */
  #sweepIdle(): void {
    const now = this.options.clock.now();
    for (const [address, pool] of this.#pools) {
      if (pool.outstanding > 0 || now - pool.lastUsedMs < this.options.idleTimeoutMs) continue;
      this.#closePool(address, pool, 'idle');
    }
    if (this.#pools.size === 0) this.#stopSweep();
  }

  #closePool(
    address: string,
    pool: StoreConnectionPool,
    reason: NonNullable<RpcConnectionEvent['reason']>,
  ): void {
    this.#pools.delete(address);
    const error =
      reason === 'client-closed'
        ? new ClientClosedError('the RPC client is closed')
        : new RpcError(`the connections to ${address} were closed`, {
            address,
            requestSent: true,
            retryable: true,
          });
    pool.close(error);
    this.options.logger.debug('connection pool closed', { address, reason });
    this.#publishConnection({ address, event: 'close', reason, connections: pool.size });
  }

  /**
   * Closes the connections to one store; the next request to it reconnects (client-go
   * `CloseAddr`). Outstanding requests fail with a retryable `RpcError`.
   *
   * @param address - the store's `host:port`
   */
  async closeAddress(address: string): Promise<void> {
    const pool = this.#pools.get(address);
    if (pool !== undefined) this.#closePool(address, pool, 'close-address');
  }

  /**
   * Fails every outstanding request with a `ClientClosedError`, closes every connection and stops
   * the idle timer. Idempotent; later `send` calls reject with `ClientClosedError`.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopSweep();
    for (const [address, pool] of [...this.#pools]) this.#closePool(address, pool, 'client-closed');
  }

  /** `await using rpc = new RpcClient()` closes it at scope exit. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
