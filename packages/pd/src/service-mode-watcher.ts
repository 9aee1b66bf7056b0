import { type Clock, isTiKVError, type Logger, openOperationScope, RpcError } from '@tikv/common';
import { pdpb } from '@tikv/proto';
import { isUnimplemented, toPdCallError } from './pd-errors.js';

/**
 * Who serves timestamps (PD's `pdpb.ServiceMode`): PD itself (`PD`), or PD's TSO
 * microservice, with PD in its API service mode (`API`).
 */
export const ServiceMode = Object.freeze({
  /** PD serves TSO (`PD_SVC_MODE`). */
  PD: 'PD',
  /** A TSO microservice serves TSO by keyspace group (`API_SVC_MODE`). */
  API: 'API',
} as const);
/** One of the {@link ServiceMode} values. */
export type ServiceMode = (typeof ServiceMode)[keyof typeof ServiceMode];

/** Fetches `GetClusterInfo` from the PD leader; must honour `signal`. @internal */
export type ClusterInfoFetcher = (signal: AbortSignal) => Promise<pdpb.GetClusterInfoResponse>;

/** Options of a {@link ServiceModeWatcher}. @internal */
export interface ServiceModeWatcherOptions {
  /** How often the mode is checked, in ms (PD's `serviceModeUpdateInterval`). */
  readonly intervalMs: number;
  /** Deadline of one `GetClusterInfo`, in ms. */
  readonly timeoutMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Told when a check failed (the leader may have moved). */
  readonly onCheckFailed: () => void;
}

/**
 * Follows PD's service mode (PD's `checkServiceModeChanged` and `updateServiceModeLoop`): asks
 * the leader's `GetClusterInfo` at start and every `intervalMs`, and tells listeners when the
 * mode changes. A PD without the method (gRPC `UNIMPLEMENTED`) serves TSO itself. It also
 * answers the TSO servers' URLs PD advertises (`tso_urls`), asked afresh each time, as PD's
 * client does when it looks for a TSO server.
 *
 * @internal
 */
export class ServiceModeWatcher {
  readonly #fetch: ClusterInfoFetcher;
  readonly #o: ServiceModeWatcherOptions;
  readonly #listeners = new Set<(mode: ServiceMode) => void>();
  readonly #closeController = new AbortController();
  #mode: ServiceMode = ServiceMode.PD;
  #loop: Promise<void> | undefined;

  constructor(fetch: ClusterInfoFetcher, options: ServiceModeWatcherOptions) {
    this.#fetch = fetch;
    this.#o = options;
  }

  /** The mode last seen (`PD` until a check says otherwise). */
  get mode(): ServiceMode {
    return this.#mode;
  }

  /** Registers a listener of mode changes; returns the function that unregisters it. */
  onModeChange(listener: (mode: ServiceMode) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /**
   * Asks the leader for the mode once and applies it.
   *
   * @throws RpcError when PD does not answer (other than `UNIMPLEMENTED`) or names no mode
   */
  async check(signal: AbortSignal): Promise<void> {
    let info: pdpb.GetClusterInfoResponse;
    try {
      info = await this.#clusterInfo(signal);
    } catch (e) {
      if (isUnimplemented(e) || (isTiKVError(e) && isUnimplemented(e.cause))) {
        // An older PD: it serves TSO itself.
        this.#apply(ServiceMode.PD);
        return;
      }
      throw e;
    }
    const first = info.serviceModes[0];
    if (first === undefined) {
      throw new RpcError('GetClusterInfo: PD returned no service mode', {
        address: '',
        command: 'GetClusterInfo',
        requestSent: true,
        retryable: true,
      });
    }
    if (first === pdpb.ServiceMode.PD_SVC_MODE) this.#apply(ServiceMode.PD);
    else if (first === pdpb.ServiceMode.API_SVC_MODE) this.#apply(ServiceMode.API);
    else this.#o.logger.warn('pd: unknown service mode, keeping the current one', { mode: first });
  }

  /** The TSO servers' URLs PD advertises now (empty from a PD that names none). */
  async tsoServerUrls(signal: AbortSignal): Promise<readonly string[]> {
    return (await this.#clusterInfo(signal)).tsoUrls;
  }

  /** Starts the periodic check (background timers). */
  start(): void {
    this.#loop ??= this.#run();
  }

  /** Stops the periodic check. */
  async close(): Promise<void> {
    this.#closeController.abort(new Error('closed'));
    await this.#loop;
  }

  async #clusterInfo(signal: AbortSignal): Promise<pdpb.GetClusterInfoResponse> {
    const scope = openOperationScope(
      { timeoutMs: this.#o.timeoutMs },
      { clock: this.#o.clock, follow: [signal] },
    );
    const attempt = scope.signal as AbortSignal;
    try {
      return await this.#fetch(attempt);
    } catch (e) {
      throw toPdCallError(e, {
        what: 'GetClusterInfo',
        command: 'GetClusterInfo',
        address: '',
        callerSignal: signal,
        attempt: { signal: attempt, timeoutMs: this.#o.timeoutMs },
      });
    } finally {
      scope.dispose();
    }
  }

  #apply(mode: ServiceMode): void {
    if (mode === this.#mode) return;
    this.#mode = mode;
    this.#o.logger.info('pd: service mode changed', { mode });
    for (const l of this.#listeners) l(mode);
  }

  async #run(): Promise<void> {
    const signal = this.#closeController.signal;
    while (!signal.aborted) {
      try {
        await this.#o.clock.sleep(this.#o.intervalMs, signal, { background: true });
        await this.check(signal);
      } catch (e) {
        if (signal.aborted) return;
        this.#o.logger.warn('pd: failed to update the service mode', { error: e });
        this.#o.onCheckFailed();
      }
    }
  }
}
