import {
  type Backoffer,
  BackoffKinds,
  type Clock,
  DeadlineExceededError,
  type ExecDetailsCollector,
  InvalidArgumentError,
  isTiKVError,
  type Logger,
  noopLogger,
  openOperationScope,
  type RandomSource,
  StoreTokenLimitError,
  systemClock,
} from '@tikv/common';
import { errorpb, kvrpcpb } from '@tikv/proto';
import type { RegionVerId, RpcContext } from '@tikv/region-cache';
import { chainInterceptors, type RpcInterceptor, type SendOptions } from './interceptor.js';
import type { KvTransport } from './kv-transport.js';
import { handleRegionError } from './region-error-handler.js';
import type { RegionLocator } from './region-locator.js';
import type { RegionSender } from './region-sender.js';
import { type PendingBackoff, ReplicaSelector, type ReplicaSelectorDeps } from './replica-selector.js';
import {
  isReadRequest,
  patchRequestSource,
  regionErrorOf,
  regionErrorResponse,
  type SenderContextSettings,
  withContext,
} from './request-context.js';
import { regionErrorLabel, sendErrorLabel } from './request-error-label.js';
import type { RegionRequestOptions, ReplicaReadType } from './request-options.js';
import { publishRpcRetry } from './rpc-diagnostics.js';
import { RpcError } from './rpc-error.js';
import type { ResponseFor, TikvRequest } from './tikv-commands.js';

/** Options of {@link RegionRequestSender}. */
export interface RegionRequestSenderOptions {
  /** The region cache (`@tikv/region-cache`'s `RegionCache` or any {@link RegionLocator}). */
  readonly locator: RegionLocator;
  /** Sends one command to one store (`RpcClient`, or a `CodecTransport` around it). */
  readonly transport: KvTransport;
  /** Sets `Context.apiVersion` on every request. @defaultValue leave the request's value */
  readonly apiVersion?: 'V1' | 'V2' | undefined;
  /** Sets `Context.keyspaceId` on every request. @defaultValue leave the request's value */
  readonly keyspaceId?: number | undefined;
  /** Sets `Context.clusterId` on every request. @defaultValue leave the request's value */
  readonly clusterId?: bigint | undefined;
  /**
   * Timeout of one attempt (one RPC) in milliseconds, unless a call gives `rpcTimeoutMs`
   * (client-go `ReadTimeoutShort`). @defaultValue 30_000
   */
  readonly rpcTimeoutMs?: number | undefined;
  /**
   * Most requests in flight to one store from this sender's client (client-go `StoreLimit`,
   * `store-limit`); a request past it fails at once with `StoreTokenLimitError`. 0: no limit.
   * @defaultValue 0
   */
  readonly storeLimit?: number | undefined;
  /** Interceptors around every request this sender makes, first outermost. @defaultValue none */
  readonly interceptors?: readonly RpcInterceptor[] | undefined;
  /** @defaultValue silent */
  readonly logger?: Logger | undefined;
  /** Time source (attempt durations, estimated waits). @defaultValue the system clock */
  readonly clock?: Clock | undefined;
  /** Randomness for replica choice among equals. @defaultValue Math.random */
  readonly random?: RandomSource | undefined;
}

/** Defaults of {@link RegionRequestSenderOptions}. */
export const DEFAULT_REGION_REQUEST_SENDER_OPTIONS = Object.freeze({ rpcTimeoutMs: 30_000, storeLimit: 0 });

const MISSING_REGION_MESSAGE = 'region missing from the cache or no replica available';

/** The options of a call that gives none: one object for all of them, not one per request. */
const NO_OPTIONS: RegionRequestOptions = Object.freeze({});

/** The attempt counters of one `sendRequest` call. */
interface CallState {
  sendTimes: number;
  readType: string;
}

/**
 * Sends requests to regions (client-go `RegionRequestSender`): picks the replica, fills the
 * request context, sends through the transport, and handles region errors and transport
 * failures with the caller's {@link Backoffer} as the one retry budget.
 */
export class RegionRequestSender implements RegionSender {
  private readonly locator: RegionLocator;
  private readonly transport: KvTransport;
  private readonly settings: SenderContextSettings;
  private readonly rpcTimeoutMs: number;
  private readonly storeLimit: number;
  private readonly interceptor: RpcInterceptor | undefined;
  private readonly logger: Logger;
  private readonly clock: Clock;
  private readonly random: RandomSource;
  /** The transport error each store last failed with when found unreachable (one entry a store). */
  private readonly unreachableCauses = new Map<bigint, unknown>();
  /** What every request's replica selector needs, made once. */
  private readonly selectorDeps: ReplicaSelectorDeps;

  /** @param options - the locator, the transport and request defaults */
  constructor(options: RegionRequestSenderOptions) {
    this.locator = options.locator;
    this.transport = options.transport;
    this.settings = {
      apiVersion:
        options.apiVersion === undefined
          ? undefined
          : options.apiVersion === 'V2'
            ? kvrpcpb.APIVersion.V2
            : kvrpcpb.APIVersion.V1,
      keyspaceId: options.keyspaceId,
      clusterId: options.clusterId,
    };
    this.rpcTimeoutMs = options.rpcTimeoutMs ?? DEFAULT_REGION_REQUEST_SENDER_OPTIONS.rpcTimeoutMs;
    if (!(this.rpcTimeoutMs > 0)) {
      throw new InvalidArgumentError(
        `option rpcTimeoutMs must be a number > 0, got ${String(this.rpcTimeoutMs)}`,
      );
    }
    this.storeLimit = options.storeLimit ?? DEFAULT_REGION_REQUEST_SENDER_OPTIONS.storeLimit;
    if (!(Number.isSafeInteger(this.storeLimit) && this.storeLimit >= 0)) {
      throw new InvalidArgumentError(
        `option storeLimit must be an integer >= 0, got ${String(this.storeLimit)}`,
      );
    }
    this.interceptor =
      options.interceptors === undefined || options.interceptors.length === 0
        ? undefined
        : chainInterceptors(...options.interceptors);
    this.logger = options.logger ?? noopLogger;
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    const clock = this.clock;
    this.selectorDeps = {
      locator: this.locator,
      random: this.random,
      nowMs: () => clock.now(),
      enableForwarding: this.locator.forwardingEnabled === true,
    };
  }

  /** The locator the sender routes with. */
  get regionLocator(): RegionLocator {
    return this.locator;
  }

  /**
   * Sends a request to a region (client-go `SendReq`). The request's `Context` is filled on a
   * copy; the request object itself is not changed.
   *
   * When client-go would hand the region error back to its caller (EpochNotMatch,
   * RegionNotFound, KeyNotInRegion, the region missing from the cache, ...), the response
   * resolves with `value.regionError` set and the cache already updated: re-locate the keys
   * and retry, after `backoffer.backoff(BackoffKinds.regionMiss, ...)` where client-go does
   * (`mayBackoffForRegionError`).
   *
   * @param backoffer - the retry budget of the whole operation
   * @param request - the command (`{ $case: 'RawGet', value: kvrpcpb.RawGetRequest }`)
   * @param region - the region version the request's keys were located in
   * @param options - replica read, stale read, context fields, `signal`, `timeoutMs`
   * @returns the response arm of the request's `$case`
   * @throws `signal.reason` on abort; `DeadlineExceededError` past `timeoutMs`;
   *   `BackoffBudgetExceededError` when the budget runs out; a final `RegionError`
   *   (RaftEntryTooLarge, FlashbackInProgress, ...); a non-retryable `RpcError`
   */
  sendRequest<R extends TikvRequest>(
    backoffer: Backoffer,
    request: R,
    region: RegionVerId,
    options: RegionRequestOptions = NO_OPTIONS,
  ): Promise<ResponseFor<R>> {
    // Plain calls run on the backoffer's signal and deadline alone: no scope to allocate.
    if (options.signal === undefined && options.timeoutMs === undefined) {
      return this.send(backoffer, request, region, options, backoffer.signal, backoffer.deadlineAtMs);
    }
    // The call's own signal and timeout, on top of the operation's: one scope, disposed (its
    // deadline timer cleared) when the call settles.
    const scope = openOperationScope(options, { clock: this.clock, follow: [backoffer.signal] });
    const deadlineAtMs = minDefined(scope.deadlineAtMs, backoffer.deadlineAtMs);
    return this.send(backoffer, request, region, options, scope.signal, deadlineAtMs).finally(() =>
      scope.dispose(),
    );
  }

  private async send<R extends TikvRequest>(
    backoffer: Backoffer,
    request: R,
    region: RegionVerId,
    options: RegionRequestOptions,
    signal: AbortSignal | undefined,
    deadlineAtMs: number | undefined,
  ): Promise<ResponseFor<R>> {
    if (signal?.aborted) throw signal.reason;
    const rpcTimeoutMs = options.rpcTimeoutMs ?? this.rpcTimeoutMs;
    const maxExecutionDurationMs = options.maxExecutionDurationMs ?? rpcTimeoutMs;
    const readOnly = isReadRequest(request.$case);
    const state: CallState = { sendTimes: 0, readType: '' };
    // Set only when the caller asked for execution details: otherwise nothing more is measured.
    const details = backoffer.execDetails;
    // client-go calls the tagger once per request, when no fixed tag is set.
    const tagger = options.resourceGroupTagger;
    const taggedResourceGroup =
      tagger === undefined || options.resourceGroupTag !== undefined
        ? undefined
        : tagger({ command: request.$case });

    const leaderCtx = await this.locator.getRpcContext(region);
    const cached = leaderCtx === undefined ? undefined : this.locator.getCachedRegion(region);
    if (cached === undefined) return regionErrorResponse(request, missingRegionError());
    const selector = new ReplicaSelector(
      cached,
      {
        replicaRead: effectiveReplicaRead(options),
        staleRead: options.staleRead === true,
        readOnly,
        busyThresholdMs: options.busyThresholdMs ?? 0,
        labels: options.matchStoreLabels,
        storeIds: options.matchStoreIds,
      },
      this.selectorDeps,
    );

    for (;;) {
      if (signal?.aborted) throw signal.reason;
      const rpcCtx = selector.next();
      if (rpcCtx === undefined) {
        const pending = selector.largestPendingBackoff() ?? this.unreachableBackoff(selector);
        if (pending !== undefined) await backoffer.backoff(pending.kind, pending.error, { signal });
        return regionErrorResponse(request, missingRegionError());
      }
      const isRetry = state.sendTimes > 0;
      let requestSource = options.requestSource ?? '';
      if (requestSource !== '') {
        const patched = patchRequestSource(requestSource, {
          readType: state.readType,
          isRetry,
          staleRead: selector.staleRead,
          replicaType: selector.replicaType(),
        });
        requestSource = patched.source;
        state.readType = patched.readType;
      }
      const attemptTimeoutMs =
        deadlineAtMs === undefined ? rpcTimeoutMs : Math.min(rpcTimeoutMs, deadlineAtMs - this.clock.now());
      if (attemptTimeoutMs <= 0) throw new DeadlineExceededError('deadline exceeded before sending');
      const attempt = withContext(
        request,
        rpcCtx,
        options,
        {
          replicaRead: selector.replicaRead,
          staleRead: selector.staleRead,
          isRetryRequest: isRetry,
          busyThresholdMs: selector.busyThresholdMs,
          maxExecutionDurationMs: Math.min(maxExecutionDurationMs, attemptTimeoutMs),
          requestSource,
          taggedResourceGroup,
        },
        this.settings,
      );
      const pending = selector.takePendingBackoff(rpcCtx.store.id);
      if (pending !== undefined) await backoffer.backoff(pending.kind, pending.error, { signal });

      const store = rpcCtx.store;
      const limited = this.storeLimit > 0;
      if (limited) {
        // client-go getStoreToken: the request fails at once, it does not wait for a token.
        if (store.tokenCount >= this.storeLimit) throw new StoreTokenLimitError(store.id, this.storeLimit);
        store.tokenCount++;
      }
      const started = this.clock.now();
      let response: ResponseFor<R>;
      try {
        // Forwarded: sent to the proxy, which passes it on to the leader (tikv-forwarded-host).
        const proxyAddr = rpcCtx.proxyAddr;
        const sendOptions: SendOptions = {
          signal,
          timeoutMs: attemptTimeoutMs,
          ...(proxyAddr === undefined ? {} : { forwardedHost: rpcCtx.addr }),
          ...(this.interceptor === undefined ? {} : { interceptor: this.interceptor }),
        };
        response = await this.transport.send(proxyAddr ?? rpcCtx.addr, attempt, sendOptions);
      } catch (e) {
        if (limited) store.tokenCount--;
        if (details !== undefined) {
          details.recordRpc(request.$case, this.clock.now() - started, isRetry);
          details.recordRequestError(sendErrorLabel(e));
        }
        if (signal?.aborted) throw signal.reason;
        state.sendTimes++;
        selector.recordAttemptedTime(this.clock.now() - started);
        await this.onSendFail(backoffer, signal, rpcCtx, selector, e, readOnly, maxExecutionDurationMs);
        this.publishRetry(rpcCtx, request, state, e);
        continue;
      }
      if (limited) store.tokenCount--;
      state.sendTimes++;
      const regionError = regionErrorOf(response);
      if (details !== undefined)
        recordAttempt(
          details,
          request,
          response,
          regionError,
          this.clock.now() - started,
          isRetry,
          rpcCtx.region.id,
        );
      if (regionError === undefined) {
        // The selector ends with this call, so the attempt's time is not worth a clock read.
        selector.onSendSuccess();
        return response;
      }
      selector.recordAttemptedTime(this.clock.now() - started);
      const retry = await handleRegionError(
        {
          backoffer,
          signal,
          rpcCtx,
          selector,
          locator: this.locator,
          transport: this.transport,
          logger: this.logger,
          readOnly,
          maxExecutionDurationMs,
        },
        regionError,
      );
      if (!retry) return response;
      this.publishRetry(rpcCtx, request, state, regionError);
    }
  }

  /**
   * A transport failure (client-go `onSendFail`): final errors propagate; a short read
   * timeout fails over at once; otherwise the store is marked failed (every region on it
   * reloads lazily), and the request backs off (`tikvRPC`) and tries the next replica.
   */
  private async onSendFail(
    backoffer: Backoffer,
    signal: AbortSignal | undefined,
    rpcCtx: RpcContext,
    selector: ReplicaSelector,
    error: unknown,
    readOnly: boolean,
    maxExecutionDurationMs: number,
  ): Promise<void> {
    const timedOut = isTiKVError(error, 'DEADLINE_EXCEEDED');
    if (!timedOut && !(error instanceof RpcError && error.retryable)) throw error;
    this.logger.debug('send to store failed', {
      regionId: rpcCtx.region.id,
      storeId: rpcCtx.store.id,
      address: rpcCtx.addr,
      error,
    });
    if (timedOut && selector.onReadReqConfigurableTimeout(readOnly, maxExecutionDurationMs)) return;
    if (error instanceof RpcError && error.grpcCode === GRPC_CANCELLED) {
      await this.transport.closeAddress(rpcCtx.addr);
    }
    // Without a liveness check, only a failure to connect marks the store; a timeout may be a
    // slow store.
    let unreachable = !timedOut;
    const failedStore = rpcCtx.proxyStore ?? rpcCtx.store;
    if (this.locator.checkStoreLiveness !== undefined) {
      // client-go checks the store's liveness first, after a timeout too: a store that still
      // answers its health check keeps its regions; one that does not is marked and left to the
      // health-check loop, and the request moves on to another replica.
      unreachable = (await this.locator.checkStoreLiveness(failedStore.id)) !== 'reachable';
      if (signal?.aborted) throw signal.reason;
    }
    selector.onSendFailure(unreachable);
    if (unreachable) this.unreachableCauses.set(failedStore.id, error);
    await backoffer.backoff(BackoffKinds.tikvRPC, error, { signal });
  }

  /**
   * With no replica to send to because the region's stores failed their health check, the
   * request backs off as for a failed send (`tikvRPC`, with the store's last transport error)
   * before its pseudo region error: the caller's re-locate finds the same unreachable stores, and
   * `regionMiss` alone would spin (client-go `backoffOnNoCandidate` keeps the budget's cause on
   * the store error the same way).
   */
  private unreachableBackoff(selector: ReplicaSelector): PendingBackoff | undefined {
    for (const r of selector.replicas) {
      if (r.store.liveness === 'reachable') continue;
      const error = this.unreachableCauses.get(r.store.id);
      if (error !== undefined) return { kind: BackoffKinds.tikvRPC, error };
    }
    return undefined;
  }

  private publishRetry(rpcCtx: RpcContext, request: TikvRequest, state: CallState, error: unknown): void {
    publishRpcRetry({
      address: rpcCtx.addr,
      command: request.$case,
      regionId: rpcCtx.region.id,
      attempt: state.sendTimes,
      error,
    });
  }
}

/** The details of one attempt that got a response: its time, its region error or TiKV's details. */
function recordAttempt(
  details: ExecDetailsCollector,
  request: TikvRequest,
  response: { readonly value: unknown },
  regionError: errorpb.Error | undefined,
  elapsedMs: number,
  isRetry: boolean,
  regionId: bigint,
): void {
  if (regionError !== undefined) {
    details.recordRpc(request.$case, elapsedMs, isRetry);
    details.recordRequestError(regionErrorLabel(regionError));
    return;
  }
  details.recordRpc(request.$case, elapsedMs, isRetry, regionId);
  const store = (response.value as { execDetailsV2?: kvrpcpb.ExecDetailsV2 | undefined } | undefined)
    ?.execDetailsV2;
  if (store !== undefined && store !== null) details.recordStoreDetails(store);
}

/** gRPC status CANCELLED. */
const GRPC_CANCELLED = 1;

/** The pseudo EpochNotMatch client-go answers with when a region cannot be routed. */
function missingRegionError(): errorpb.Error {
  return errorpb.Error.fromPartial({
    message: MISSING_REGION_MESSAGE,
    epochNotMatch: { currentRegions: [] },
  });
}

function effectiveReplicaRead(options: RegionRequestOptions): ReplicaReadType {
  const r = options.replicaRead ?? 'leader';
  // Stale reads go to any replica (client-go sets ReplicaReadMixed for them).
  if (options.staleRead === true && r === 'leader') return 'mixed';
  return r;
}

function minDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.min(a, b);
}
