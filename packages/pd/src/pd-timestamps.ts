import {
  type Clock,
  checkRequestOptions,
  composeTs,
  type Logger,
  type OperationScopeOptions,
  TiKVError,
  withOperationScope,
} from '@tikv/common';
import type { CallOptions } from './call-options.js';
import { NULL_KEYSPACE_ID } from './gc-states-client.js';
import { GrpcTsoStream, PD_TSO_METHOD } from './grpc-tso-stream.js';
import { checkPdU64 } from './pd-argument-checks.js';
import type { PdConnections } from './pd-connections.js';
import { isRetryablePdError } from './pd-errors.js';
import type { PdRpcCaller } from './pd-rpc-caller.js';
import type { ServiceDiscovery } from './service-discovery.js';
import { ServiceMode, type ServiceModeWatcher } from './service-mode-watcher.js';
import type { OracleTimestampSource } from './timestamp-source.js';
import { TsoDispatcher, type TsoDispatcherOptions, type TsoDispatcherStats } from './tso-dispatcher.js';
import { TsoServiceProvider, type TsoServiceProviderDeps } from './tso-service-provider.js';
import type { TsoStream } from './tso-stream.js';

/** Where the client's timestamps come from now ({@link PdTimestamps.tsoRoute}). */
export interface TsoRoute {
  /** `PD`: PD's leader serves TSO; `API`: PD's TSO microservice does, by keyspace group. */
  readonly serviceMode: ServiceMode;
  /** The keyspace the timestamps are for (`NULL_KEYSPACE_ID` when the client has none). */
  readonly keyspaceId: number;
  /** The keyspace group that serves the keyspace (0, the default group, in PD mode or until known). */
  readonly keyspaceGroupId: number;
  /** The URL the TSO stream goes to: the PD member, or the group's primary TSO server ('' until known). */
  readonly url: string;
}

/** The PD client options that can change while it runs ({@link PdTimestamps.updateOptions}, PD's `UpdateOption`). */
export interface PdDynamicOptions {
  /**
   * Send TSO requests through a follower, which forwards them to the leader (PD's
   * `EnableTSOFollowerProxy`): spreads the TSO streams of many clients over the members.
   */
  readonly enableTsoFollowerProxy?: boolean | undefined;
  /** TSO requests in flight at once on the stream (PD's `TSOClientRPCConcurrency`), >= 1. */
  readonly tsoClientRpcConcurrency?: number | undefined;
  /** How long a TSO batch waits for more callers, in ms, 0 to 10 (PD's `MaxTSOBatchWaitInterval`). */
  readonly maxTsoBatchWaitIntervalMs?: number | undefined;
  /**
   * Let followers serve unary region lookups (PD's `EnableFollowerHandle`; applied by
   * `PdClient.updateOptions` to its regions part, not by the timestamps part).
   */
  readonly enableFollowerHandle?: boolean | undefined;
}

/** PD's metadata key naming the leader a follower forwards a request to. */
const FORWARDED_HOST = 'pd-forwarded-host';

/** What {@link PdTimestamps} is built from. @internal */
export interface PdTimestampsDeps {
  readonly caller: PdRpcCaller;
  readonly discovery: ServiceDiscovery;
  readonly connections: PdConnections;
  /** TSO batching (`maxBatchSize`, `maxInFlight`). */
  readonly tso: Omit<TsoDispatcherOptions, 'rpcTimeoutMs' | 'clock'> | undefined;
  /** Deadline of one TSO request on the stream, and of opening a stream, in ms. */
  readonly timeoutMs: number;
  /** Attempts of `getTimestamp` on retryable failures. */
  readonly maxTsoRetries: number;
  /** Pause between attempts after the first retry, in ms. */
  readonly tsoRetryIntervalMs: number;
  readonly logger: Logger;
  /** Measures request deadlines, callers' timeouts and the pauses between attempts. */
  readonly clock: Clock;
  /** PD's service mode; without it PD always serves TSO. */
  readonly serviceMode?: ServiceModeWatcher | undefined;
  /** How to reach the TSO microservice in the API service mode (PD's TSO microservice client). */
  readonly tsoService?: Omit<TsoServiceProviderDeps, 'clock' | 'logger'> | undefined;
}

/**
 * The timestamp part of the PD client (PD's Go `tsoClient` and the TSO calls of `pd.Client`):
 * fresh timestamps from the batched TSO stream, with its retries, and the cluster's minimum
 * and external timestamps. Reached as `PdClient.timestamps`; it is the
 * {@link OracleTimestampSource} a `PdOracle` draws from.
 */
export class PdTimestamps implements OracleTimestampSource {
  readonly #d: PdTimestampsDeps;
  readonly #tso: TsoDispatcher;
  /** Built once: a call with options allocates only its scope. */
  readonly #scopeOptions: OperationScopeOptions;
  #needsMemberCheck = false;
  #followerProxy = false;
  #proxyTurn = 0;
  #streamUrl: string | undefined;
  /** The TSO microservice route, while PD is in its API service mode. */
  #service: TsoServiceProvider | undefined;

  /** @internal */
  constructor(deps: PdTimestampsDeps) {
    this.#d = deps;
    this.#scopeOptions = Object.freeze({ clock: deps.clock });
    this.#tso = new TsoDispatcher(
      {
        connect: (signal) => this.#openTsoStream(signal),
        onStreamFailure: (error, url) => {
          const service = this.#service;
          if (service !== undefined) {
            service.onStreamFailure(error, url);
            return;
          }
          this.#needsMemberCheck = true;
          deps.discovery.scheduleCheckMemberChanged();
        },
      },
      { ...deps.tso, rpcTimeoutMs: deps.timeoutMs, clock: deps.clock },
    );
    const watcher = deps.serviceMode;
    if (watcher !== undefined) {
      watcher.onModeChange((mode) => this.#switchMode(mode));
      this.#switchMode(watcher.mode);
    }
  }

  /**
   * Follows a service mode change as PD's client does (`resetTSOClientLocked`): the API mode
   * routes timestamps to the keyspace group's primary on the TSO microservice, the PD mode back
   * to PD's leader. The stream is reopened on the new route; requests in flight on the old one
   * are retried. Timestamps stay strictly increasing across the switch (the dispatcher checks).
   */
  #switchMode(mode: ServiceMode): void {
    const ts = this.#d.tsoService;
    if (mode === ServiceMode.API && this.#service === undefined && ts !== undefined) {
      this.#service = new TsoServiceProvider({ ...ts, clock: this.#d.clock, logger: this.#d.logger });
      this.#tso.resetStream();
    } else if (mode === ServiceMode.PD && this.#service !== undefined) {
      const old = this.#service;
      this.#service = undefined;
      this.#tso.resetStream();
      void old.close();
    }
  }

  /** Where timestamps come from now: PD or the TSO microservice, the keyspace group, the URL. */
  get tsoRoute(): TsoRoute {
    const s = this.#service;
    const keyspaceId = this.#d.tsoService?.keyspaceId ?? NULL_KEYSPACE_ID;
    if (s === undefined)
      return {
        serviceMode: ServiceMode.PD,
        keyspaceId,
        keyspaceGroupId: 0,
        url: this.#d.discovery.leaderUrl,
      };
    return {
      serviceMode: ServiceMode.API,
      keyspaceId,
      keyspaceGroupId: s.discovery.keyspaceGroupId,
      url: s.discovery.primaryUrl,
    };
  }

  /**
   * Changes TSO options while the client runs (PD's `UpdateOption`): the follower proxy (the
   * stream is reopened on the new route), the RPC concurrency and the batch wait.
   *
   * @throws InvalidArgumentError for a concurrency below 1 or a batch wait outside [0, 10] ms
   */
  updateOptions(options: PdDynamicOptions): void {
    this.#tso.update({
      maxInFlight: options.tsoClientRpcConcurrency,
      maxBatchWaitMs: options.maxTsoBatchWaitIntervalMs,
    });
    const proxy = options.enableTsoFollowerProxy;
    if (proxy !== undefined && proxy !== this.#followerProxy) {
      this.#followerProxy = proxy;
      this.#tso.resetStream();
    }
  }

  /** The options {@link PdTimestamps.updateOptions} set, as in force now. */
  get dynamicOptions(): Readonly<Required<Omit<PdDynamicOptions, 'enableFollowerHandle'>>> {
    const d = this.#tso.dynamicOptions;
    return {
      enableTsoFollowerProxy: this.#followerProxy,
      tsoClientRpcConcurrency: d.maxInFlight,
      maxTsoBatchWaitIntervalMs: d.maxBatchWaitMs,
    };
  }

  /** The PD member the current TSO stream goes to (a follower with the proxy on); undefined before the first. */
  get tsoStreamUrl(): string | undefined {
    return this.#streamUrl;
  }

  /** TSO batching counters: `timestamps / rpcs` is the batching ratio. */
  get stats(): TsoDispatcherStats {
    return this.#tso.stats;
  }

  /**
   * A fresh timestamp from the batched TSO stream, strictly greater than every timestamp
   * this client handed out before. Retryable failures (a broken stream, a leader change) are
   * retried up to `maxTsoRetries` times, `tsoRetryIntervalMs` apart after the first retry.
   *
   * @param options - `signal` cancels the call, `timeoutMs` bounds it (retries included)
   * @throws InvalidArgumentError for malformed options
   */
  getTimestamp(options?: CallOptions): Promise<bigint> {
    if (options !== undefined) {
      try {
        checkRequestOptions(options);
      } catch (e) {
        return Promise.reject(e);
      }
    }
    // Plain calls allocate nothing; a signal or timeout gets a scope released on settle.
    if (options?.signal === undefined && options?.timeoutMs === undefined)
      return this.#timestampIn(undefined);
    return withOperationScope(options, this.#scopeOptions, (scope) => this.#timestampIn(scope.signal));
  }

  /** The smallest timestamp of all TSO allocators (`GetMinTS`). */
  async getMinTimestamp(options?: CallOptions): Promise<bigint> {
    const caller = this.#d.caller;
    const resp = await caller.call('GetMinTS', options, (rpc, signal) =>
      rpc.getMinTS({ header: caller.header() }, { signal }),
    );
    const ts = resp.timestamp;
    if (ts === undefined) throw new TiKVError('INTERNAL', 'GetMinTS response has no timestamp');
    return composeTs(ts.physical, ts.logical);
  }

  /** The cluster's external timestamp. */
  async getExternalTimestamp(options?: CallOptions): Promise<bigint> {
    const caller = this.#d.caller;
    const resp = await caller.call('GetExternalTimestamp', options, (rpc, signal) =>
      rpc.getExternalTimestamp({ header: caller.header() }, { signal }),
    );
    return resp.timestamp;
  }

  /** Sets the cluster's external timestamp (PD refuses one that goes back or passes the TSO). */
  async setExternalTimestamp(ts: bigint, options?: CallOptions): Promise<void> {
    checkPdU64(ts, 'ts');
    const caller = this.#d.caller;
    await caller.call('SetExternalTimestamp', options, (rpc, signal) =>
      rpc.setExternalTimestamp({ header: caller.header(), timestamp: ts }, { signal }),
    );
  }

  /** Rejects waiting and in-flight timestamp requests with `CLIENT_CLOSED`. @internal */
  close(): Promise<void> {
    this.#tso.close();
    const service = this.#service;
    this.#service = undefined;
    return service?.close() ?? Promise.resolve();
  }

  async #timestampIn(signal: AbortSignal | undefined): Promise<bigint> {
    const d = this.#d;
    const call = signal === undefined ? undefined : { signal };
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#tso.getTimestamp(call);
      } catch (e) {
        if (signal?.aborted === true) throw signal.reason;
        if (!isRetryablePdError(e) || attempt + 1 >= d.maxTsoRetries || d.caller.closed) throw e;
        d.logger.debug('pd: get timestamp failed, retrying', { attempt, error: e });
      }
      await d.clock.sleep(attempt === 0 ? 0 : d.tsoRetryIntervalMs, signal);
    }
  }

  async #openTsoStream(signal: AbortSignal): Promise<TsoStream> {
    const service = this.#service;
    if (service !== undefined) {
      const stream = await service.open(signal);
      this.#streamUrl = stream.url;
      return stream;
    }
    const d = this.#d;
    if (this.#needsMemberCheck) {
      this.#needsMemberCheck = false;
      await d.discovery.checkMemberChanged({ signal }).catch((e: unknown) => {
        d.logger.warn('pd: member check before reopening the TSO stream failed', { error: e });
      });
    }
    signal.throwIfAborted();
    const leader = d.discovery.leaderUrl;
    const followers = d.discovery.followerUrls;
    if (this.#followerProxy && followers.length > 0) {
      // A follower forwards the stream to the leader it is told of (PD's TSO follower proxy).
      const url = followers[this.#proxyTurn++ % followers.length] as string;
      const metadata = { [FORWARDED_HOST]: leader };
      this.#streamUrl = url;
      return new GrpcTsoStream(
        url,
        (h) => d.connections.openBidiCall(url, PD_TSO_METHOD, h, metadata),
        d.caller.header(),
      );
    }
    this.#streamUrl = leader;
    return new GrpcTsoStream(
      leader,
      (h) => d.connections.openBidiCall(leader, PD_TSO_METHOD, h),
      d.caller.header(),
    );
  }
}
