import {
  Backoffer,
  BackoffKinds,
  ClientClosedError,
  type Clock,
  checkRequestOptions,
  isTiKVError,
  type Logger,
  openOperationScope,
  type PdErrorType,
} from '@tikv/common';
import type { pdpb } from '@tikv/proto';
import type { CallOptions } from './call-options.js';
import type { KeyspaceRpcClient, PdConnections, PdRpcClient } from './pd-connections.js';
import { errorFromHeader, isRetryablePdError, toPdCallError } from './pd-errors.js';
import type { ServiceDiscovery } from './service-discovery.js';

/** A PD response: every one carries a header that may hold PD's error. */
export type PdResponse = { readonly header?: pdpb.ResponseHeader | undefined };

/** What a {@link PdRpcCaller} is built from. @internal */
export interface PdRpcCallerDeps {
  /** Follows the leader; told to re-check the members after transport failures. */
  readonly discovery: ServiceDiscovery;
  /** The gRPC clients per member URL. */
  readonly connections: PdConnections;
  /** Deadline of one attempt, in ms. */
  readonly timeoutMs: number;
  /** Sleep budget of one call's PD-RPC backoff, in ms. */
  readonly maxBackoffMs: number;
  /** Identifies the client in request headers. */
  readonly callerId: string;
  readonly logger: Logger;
  /** Measures deadlines and backoff sleeps. */
  readonly clock: Clock;
}

/**
 * How every unary PD call of the client is made (PD's Go client `pdServiceDiscovery` plus the
 * retry of its callers): on the current leader, each attempt with its own deadline, retryable
 * failures backed off with the PD-RPC backoff and retried (re-checking the membership after
 * transport errors and attempt timeouts) until the budget, the caller's deadline or
 * {@link PdRpcCaller.close} ends the call. The parts of the client (timestamps, regions,
 * keyspaces, GC states) all call through one of these.
 *
 * @internal
 */
export class PdRpcCaller {
  readonly #d: PdRpcCallerDeps;
  readonly #closeController = new AbortController();

  /** @param deps - discovery, connections, the attempt deadline and the backoff budget */
  constructor(deps: PdRpcCallerDeps) {
    this.#d = deps;
  }

  /** Whether {@link PdRpcCaller.close} was called. */
  get closed(): boolean {
    return this.#closeController.signal.aborted;
  }

  /** Aborts (with a `ClientClosedError`) when the client closes; calls follow it. */
  get closeSignal(): AbortSignal {
    return this.#closeController.signal;
  }

  /** The gRPC clients per member URL. */
  get connections(): PdConnections {
    return this.#d.connections;
  }

  /** The request header of this client. */
  header(): pdpb.RequestHeader {
    return {
      clusterId: this.#d.discovery.clusterId,
      senderId: 0n,
      callerId: this.#d.callerId,
      callerComponent: '',
    };
  }

  /**
   * One call of the PD service on the leader, with the retry policy above.
   *
   * @param what - the RPC's name, for errors and logs
   * @param options - the caller's `signal` and `timeoutMs` (retries and backoff included)
   * @param fn - sends the request on a client with the attempt's signal
   * @param retryableHeaderTypes - header error types to retry (default: `NOT_BOOTSTRAPPED`);
   *   transient gRPC failures and attempt timeouts are retried regardless
   * @returns the first response without a header error
   */
  call<T extends PdResponse>(
    what: string,
    options: CallOptions | undefined,
    fn: (rpc: PdRpcClient, signal: AbortSignal) => Promise<T>,
    retryableHeaderTypes?: ReadonlySet<PdErrorType>,
  ): Promise<T> {
    const d = this.#d;
    return this.retry(what, options, async (signal) => {
      const resp = await fn(d.connections.get(d.discovery.leaderUrl), signal);
      const err = errorFromHeader(resp.header, d.discovery.clusterId, retryableHeaderTypes);
      if (err !== undefined) throw err;
      return resp;
    });
  }

  /**
   * One call of PD's keyspace service (`keyspacepb.Keyspace`) on the leader, with the same
   * retry policy.
   */
  keyspaceCall<T extends PdResponse>(
    what: string,
    options: CallOptions | undefined,
    fn: (rpc: KeyspaceRpcClient, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const d = this.#d;
    return this.retry(what, options, async (signal) => {
      const resp = await fn(d.connections.keyspace(d.discovery.leaderUrl), signal);
      const err = errorFromHeader(resp.header, d.discovery.clusterId);
      if (err !== undefined) throw err;
      return resp;
    });
  }

  /**
   * One call of another PD service on the leader (meta storage, resource manager), with the
   * same retry policy; `check` turns the service's own response header into an error.
   *
   * @param what - the RPC's name, for errors and logs
   * @param options - the caller's `signal` and `timeoutMs`
   * @param client - the service's client of a member URL
   * @param fn - sends the request on that client with the attempt's signal
   * @param check - the response's header error, if any
   */
  serviceCall<C, T>(
    what: string,
    options: CallOptions | undefined,
    client: (connections: PdConnections, url: string) => C,
    fn: (rpc: C, signal: AbortSignal) => Promise<T>,
    check: (resp: T) => Error | undefined,
  ): Promise<T> {
    const d = this.#d;
    return this.retry(what, options, async (signal) => {
      const resp = await fn(client(d.connections, d.discovery.leaderUrl), signal);
      const err = check(resp);
      if (err !== undefined) throw err;
      return resp;
    });
  }

  /**
   * A server-streaming call (a watch) on the leader of the moment, not retried: the stream
   * ends when the server ends it, and rejects when it fails, when the caller's `signal` aborts
   * (with its reason), when `timeoutMs` passes (`DeadlineExceededError`) or when the client
   * closes (`ClientClosedError`). A consumer's `break` cancels the call.
   *
   * @param what - the RPC's name, for errors
   * @param options - the caller's `signal` and `timeoutMs` (the whole watch's life)
   * @param client - the service's client of a member URL
   * @param open - starts the call on that client with the watch's signal
   */
  async *stream<C, Resp>(
    what: string,
    options: CallOptions | undefined,
    client: (connections: PdConnections, url: string) => C,
    open: (rpc: C, signal: AbortSignal) => AsyncIterable<Resp>,
  ): AsyncGenerator<Resp, void, undefined> {
    checkRequestOptions(options);
    if (this.closed) throw new ClientClosedError('PD client is closed');
    const d = this.#d;
    const scope = openOperationScope(options, { clock: d.clock, follow: [this.#closeController.signal] });
    const signal = scope.signal as AbortSignal;
    const address = d.discovery.leaderUrl;
    try {
      for await (const resp of open(client(d.connections, address), signal)) yield resp;
    } catch (e) {
      if (signal.aborted) throw signal.reason;
      const err = toPdCallError(e, { what, address });
      if (isTiKVError(err, 'RPC_ERROR')) d.discovery.scheduleCheckMemberChanged();
      throw err;
    } finally {
      scope.dispose();
    }
  }

  /**
   * Runs `attempt` until it succeeds or fails for good, under the caller's options and the
   * client's close signal; each attempt gets its own deadline (`timeoutMs` of the client).
   *
   * @param what - the operation's name, for errors and logs
   * @param options - the caller's `signal` and `timeoutMs`
   * @param attempt - one try, given the attempt's signal
   * @throws InvalidArgumentError for malformed options, before any attempt
   */
  async retry<T>(
    what: string,
    options: CallOptions | undefined,
    attempt: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    checkRequestOptions(options);
    // The call's scope (and each attempt's) follows the close signal, so its signal exists;
    // both are released, their deadline timers cleared, when they settle.
    const scope = openOperationScope(options, {
      clock: this.#d.clock,
      follow: [this.#closeController.signal],
    });
    try {
      return await this.#retryIn(what, scope.signal as AbortSignal, attempt);
    } finally {
      scope.dispose();
    }
  }

  /** Ends every call: pending ones reject with `CLIENT_CLOSED`, and so do later ones. */
  close(): void {
    if (!this.closed) this.#closeController.abort(new ClientClosedError('PD client is closed'));
  }

  async #retryIn<T>(
    what: string,
    signal: AbortSignal,
    attempt: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const d = this.#d;
    const bo = new Backoffer({ maxBackoffMs: d.maxBackoffMs, signal, clock: d.clock });
    const timeoutMs = d.timeoutMs;
    for (;;) {
      if (this.closed) throw new ClientClosedError('PD client is closed');
      // The attempt's own deadline is not the caller's: when it passes, the attempt failed
      // (PD stalled, a leader went away) and is retried; only `signal` is final.
      const attemptScope = openOperationScope({ timeoutMs }, { clock: d.clock, follow: [signal] });
      // Every attempt goes to the leader of the moment (`call`, `keyspaceCall`, the router).
      const address = d.discovery.leaderUrl;
      try {
        return await attempt(attemptScope.signal as AbortSignal);
      } catch (e) {
        attemptScope.dispose();
        if (this.closed) throw new ClientClosedError('PD client is closed', { cause: e });
        const err = toPdCallError(e, {
          what,
          address,
          callerSignal: signal,
          attempt: { signal: attemptScope.signal as AbortSignal, timeoutMs },
        });
        if (signal.aborted || !isRetryablePdError(err)) throw err;
        if (isTiKVError(err, 'RPC_ERROR') || isTiKVError(err, 'PD_ERROR'))
          d.discovery.scheduleCheckMemberChanged();
        d.logger.debug('pd: call failed, backing off', { what, error: err });
        await bo.backoff(BackoffKinds.pdRPC, err);
      } finally {
        attemptScope.dispose();
      }
    }
  }
}
