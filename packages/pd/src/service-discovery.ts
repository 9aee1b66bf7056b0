import {
  ClientClosedError,
  DeadlineExceededError,
  InvalidArgumentError,
  isTiKVError,
  type Logger,
  noopLogger,
  openOperationScope,
  PdUnreachableError,
  type Resolved,
  RpcError,
  sleepMs,
  withOperationScope,
} from '@tikv/common';
import type { pdpb } from '@tikv/proto';
import type { CallOptions } from './call-options.js';
import { errorFromHeader, toPdCallError } from './pd-errors.js';

/** Fetches `GetMembers` from one PD URL; must honour `signal`. */
export type MemberFetcher = (url: string, signal: AbortSignal) => Promise<pdpb.GetMembersResponse>;

/** Options of a {@link ServiceDiscovery}. */
export interface ServiceDiscoveryOptions {
  /**
   * Deadline of each `GetMembers` call made while connecting, in ms (PD's client timeout).
   * @defaultValue 3_000
   */
  readonly timeoutMs?: number | undefined;
  /** How often the membership is refreshed, in ms. @defaultValue 60_000 */
  readonly memberUpdateIntervalMs?: number | undefined;
  /** Deadline of each `GetMembers` call of a refresh, and of a refresh's retries, in ms. @defaultValue 1_000 */
  readonly updateMemberTimeoutMs?: number | undefined;
  /** First backoff between refresh attempts, in ms. @defaultValue 20 */
  readonly updateMemberBackoffBaseMs?: number | undefined;
  /** Largest backoff between refresh attempts, in ms. @defaultValue 100 */
  readonly updateMemberMaxBackoffMs?: number | undefined;
  /**
   * How long {@link ServiceDiscovery.init} may keep trying before it gives up with a
   * `PdUnreachableError`, in ms (PD's Go client bounds only the attempts).
   * @defaultValue 20_000
   */
  readonly initTimeoutMs?: number | undefined;
  /** Attempts to reach the cluster while connecting (whichever of this and `initTimeoutMs` ends first). @defaultValue 100 */
  readonly maxInitRetries?: number | undefined;
  /** Pause between those attempts, in ms. @defaultValue 1_000 */
  readonly initRetryIntervalMs?: number | undefined;
  /** Where discovery reports leader changes and failures. @defaultValue silent */
  readonly logger?: Logger | undefined;
}

/** Defaults of {@link ServiceDiscoveryOptions} (PD's Go client values). */
export const DEFAULT_SERVICE_DISCOVERY_OPTIONS = Object.freeze({
  timeoutMs: 3_000,
  memberUpdateIntervalMs: 60_000,
  updateMemberTimeoutMs: 1_000,
  updateMemberBackoffBaseMs: 20,
  updateMemberMaxBackoffMs: 100,
  initTimeoutMs: 20_000,
  maxInitRetries: 100,
  initRetryIntervalMs: 1_000,
});

/**
 * A retryable `RpcError` of `GetMembers`: an answer that cannot be used, or no usable answer
 * from any endpoint (`address`: the endpoints, comma-separated; `cause`: the last failure).
 */
function membersError(message: string, address: string, cause?: unknown): RpcError {
  return new RpcError(message, {
    address,
    command: 'GetMembers',
    requestSent: true,
    retryable: true,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * PD member discovery (PD's `serviceDiscovery`): learns the cluster id from any endpoint,
 * follows the leader, refreshes the membership every `memberUpdateIntervalMs` and on demand
 * (with backoff) after failures, and tells listeners when the leader or the members change.
 */
export class ServiceDiscovery {
  private readonly opts: Resolved<Omit<ServiceDiscoveryOptions, 'logger'>>;
  private readonly logger: Logger;
  private serviceUrls: string[];
  private leader = '';
  private followers: string[] = [];
  private cluster = 0n;
  private closed = false;
  private readonly closeController = new AbortController();
  private readonly leaderListeners = new Set<(url: string) => void>();
  private readonly membersListeners = new Set<(urls: readonly string[]) => void>();
  private wake: (() => void) | undefined;
  private checkRequested = false;
  private updating: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  /** The last failure of one endpoint seen by init, for the error when nothing answers. */
  private lastEndpointFailure: unknown;

  /**
   * @param urls - the endpoints to start from (normalised URLs)
   * @param fetchMembers - issues `GetMembers` to one URL
   * @param options - timeouts and intervals
   */
  constructor(
    urls: readonly string[],
    private readonly fetchMembers: MemberFetcher,
    options: ServiceDiscoveryOptions = {},
  ) {
    if (urls.length === 0) throw new InvalidArgumentError('at least one PD endpoint is required');
    const d = DEFAULT_SERVICE_DISCOVERY_OPTIONS;
    this.opts = Object.freeze({
      timeoutMs: options.timeoutMs ?? d.timeoutMs,
      memberUpdateIntervalMs: options.memberUpdateIntervalMs ?? d.memberUpdateIntervalMs,
      updateMemberTimeoutMs: options.updateMemberTimeoutMs ?? d.updateMemberTimeoutMs,
      updateMemberBackoffBaseMs: options.updateMemberBackoffBaseMs ?? d.updateMemberBackoffBaseMs,
      updateMemberMaxBackoffMs: options.updateMemberMaxBackoffMs ?? d.updateMemberMaxBackoffMs,
      initTimeoutMs: options.initTimeoutMs ?? d.initTimeoutMs,
      maxInitRetries: options.maxInitRetries ?? d.maxInitRetries,
      initRetryIntervalMs: options.initRetryIntervalMs ?? d.initRetryIntervalMs,
    });
    if (!(this.opts.initTimeoutMs > 0)) {
      throw new InvalidArgumentError(`initTimeoutMs must be > 0, got ${this.opts.initTimeoutMs}`);
    }
    this.logger = options.logger ?? noopLogger;
    this.serviceUrls = [...new Set(urls)].sort();
  }

  /** The cluster id (0n before {@link ServiceDiscovery.init}). */
  get clusterId(): bigint {
    return this.cluster;
  }

  /** The current leader's URL ('' before init). */
  get leaderUrl(): string {
    return this.leader;
  }

  /** Every known member URL, sorted. */
  get urls(): readonly string[] {
    return this.serviceUrls;
  }

  /** The non-leader member URLs. */
  get followerUrls(): readonly string[] {
    return this.followers;
  }

  /**
   * Learns the cluster id and the leader, retrying every `initRetryIntervalMs` for up to
   * `initTimeoutMs` (and `maxInitRetries` attempts), then starts the background refresh.
   *
   * @throws PdUnreachableError when no endpoint answered in time (`endpoints`: what was tried,
   *   `cause`: the last failure)
   * @throws DeadlineExceededError when the caller's `timeoutMs` ended it first (its `cause`
   *   is the `PdUnreachableError` describing the attempts); a caller's abort rejects with the
   *   signal's reason
   */
  async init(options?: CallOptions): Promise<void> {
    const user = options?.signal;
    const timeoutMs = options?.timeoutMs;
    // Both scopes are released (deadline timers cleared) once init settles. `caller` ends on the
    // caller's signal, its deadline or close; `signal` also on the init deadline.
    const caller = openOperationScope(options, { follow: [this.closeController.signal] });
    const whole = openOperationScope({ timeoutMs: this.opts.initTimeoutMs }, { follow: [caller.signal] });
    try {
      await this.initIn(whole.signal as AbortSignal, caller.signal as AbortSignal, user, timeoutMs);
    } finally {
      whole.dispose();
      caller.dispose();
    }
  }

  private async initIn(
    signal: AbortSignal,
    callerSignal: AbortSignal,
    user: AbortSignal | undefined,
    timeoutMs: number | undefined,
  ): Promise<void> {
    const startMs = Date.now();
    this.lastEndpointFailure = undefined;
    let lastErr: unknown;
    let attempts = 0;
    while (attempts < this.opts.maxInitRetries && !signal.aborted) {
      attempts++;
      try {
        if (this.cluster === 0n) await this.initClusterId(signal);
        await this.updateMember(signal, this.opts.timeoutMs);
        this.loop = this.runLoop();
        return;
      } catch (e) {
        if (signal.aborted) break;
        if (isTiKVError(e) && !e.retryable) throw e;
        lastErr = e;
      }
      if (attempts < this.opts.maxInitRetries) {
        await sleepMs(this.opts.initRetryIntervalMs, signal).catch(() => {});
      }
    }
    const reason: unknown = signal.aborted ? signal.reason : undefined;
    if (this.closeController.signal.aborted) throw this.closeController.signal.reason;
    if (user?.aborted === true && reason === user.reason) throw reason;
    const last = this.lastEndpointFailure ?? lastErr;
    const detail =
      last === undefined ? 'no answer' : `last error: ${last instanceof Error ? last.message : String(last)}`;
    const unreachable = new PdUnreachableError(
      `no PD reachable at ${this.serviceUrls.join(', ')} ` +
        `(${attempts} attempt${attempts === 1 ? '' : 's'} in ${Date.now() - startMs} ms); ${detail}`,
      { endpoints: this.serviceUrls, ...(last === undefined ? {} : { cause: last }) },
    );
    if (timeoutMs !== undefined && callerSignal.aborted && reason === callerSignal.reason) {
      throw new DeadlineExceededError(`connecting to PD: deadline of ${timeoutMs} ms exceeded`, {
        timeoutMs,
        cause: unreachable,
      });
    }
    throw unreachable;
  }

  /** Registers a listener called with the new leader URL on every leader switch. */
  onLeaderChange(listener: (url: string) => void): () => void {
    this.leaderListeners.add(listener);
    return () => this.leaderListeners.delete(listener);
  }

  /** Registers a listener called with the new URL list when the membership changes. */
  onMembersChange(listener: (urls: readonly string[]) => void): () => void {
    this.membersListeners.add(listener);
    return () => this.membersListeners.delete(listener);
  }

  /** Asks the background loop to refresh the membership soon; calls coalesce. */
  scheduleCheckMemberChanged(): void {
    if (this.closed) return;
    this.checkRequested = true;
    this.wake?.();
  }

  /**
   * Refreshes the membership now (one round over the known URLs), sharing a round already
   * under way.
   */
  checkMemberChanged(options?: CallOptions): Promise<void> {
    if (this.closed) return Promise.reject(new ClientClosedError('service discovery is closed'));
    if (this.updating === undefined) {
      this.updating = withOperationScope(options, { follow: [this.closeController.signal] }, (scope) =>
        this.updateMember(scope.signal as AbortSignal, this.opts.updateMemberTimeoutMs),
      ).finally(() => {
        this.updating = undefined;
      });
    }
    return this.updating;
  }

  /** Stops the background refresh. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closeController.abort(new ClientClosedError('service discovery is closed'));
    this.wake?.();
    await this.loop;
  }

  private async initClusterId(signal: AbortSignal): Promise<void> {
    let clusterId = 0n;
    let lastErr: unknown;
    for (const url of this.serviceUrls) {
      let resp: pdpb.GetMembersResponse;
      try {
        resp = await this.getMembers(url, signal, this.opts.timeoutMs);
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        lastErr = e;
        this.logger.warn('pd: failed to get cluster id', { url, error: e });
        continue;
      }
      const id = resp.header?.clusterId ?? 0n;
      if (id === 0n) continue;
      if (clusterId === 0n) clusterId = id;
      else if (id !== clusterId) {
        throw new InvalidArgumentError(`PD endpoints belong to different clusters: ${clusterId} and ${id}`);
      }
    }
    if (clusterId === 0n) {
      throw membersError(
        'failed to get the cluster id from any PD endpoint',
        this.serviceUrls.join(','),
        lastErr,
      );
    }
    this.cluster = clusterId;
  }

  private async getMembers(
    url: string,
    signal: AbortSignal,
    timeoutMs: number,
  ): Promise<pdpb.GetMembersResponse> {
    const call = openOperationScope({ timeoutMs }, { follow: [signal] });
    try {
      const resp = await this.fetchMembers(url, call.signal as AbortSignal);
      const err = errorFromHeader(resp.header, 0n);
      if (err !== undefined) throw err;
      return resp;
    } catch (e) {
      const err = toPdCallError(e, {
        what: `GetMembers ${url}`,
        command: 'GetMembers',
        address: url,
        callerSignal: signal,
        attempt: { signal: call.signal as AbortSignal, timeoutMs },
      });
      if (!signal.aborted) this.lastEndpointFailure = err;
      throw err;
    } finally {
      call.dispose();
    }
  }

  private async updateMember(signal: AbortSignal, timeoutMs: number): Promise<void> {
    let lastErr: unknown;
    for (const url of this.serviceUrls) {
      let resp: pdpb.GetMembersResponse;
      try {
        resp = await this.getMembers(url, signal, timeoutMs);
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        lastErr = e;
        continue;
      }
      const id = resp.header?.clusterId ?? 0n;
      if (id !== this.cluster) {
        lastErr = membersError(`${url}: cluster id does not match: ${id} != ${this.cluster}`, url);
        this.lastEndpointFailure = lastErr;
        continue;
      }
      const leaderUrls = resp.leader?.clientUrls ?? [];
      const leaderUrl = leaderUrls[0];
      if (leaderUrl === undefined) {
        lastErr = membersError(`no PD leader known by ${url}`, url);
        this.lastEndpointFailure = lastErr;
        continue;
      }
      this.updateUrls(resp.members);
      this.followers = resp.members
        .filter((m) => m.memberId !== resp.leader?.memberId)
        .flatMap((m) => m.clientUrls)
        .sort();
      this.switchLeader(leaderUrl);
      return;
    }
    throw membersError('failed to get the PD members from any endpoint', this.serviceUrls.join(','), lastErr);
  }

  private updateUrls(members: readonly pdpb.Member[]): void {
    const urls = [...new Set(members.flatMap((m) => m.clientUrls))].sort();
    if (urls.length === 0) return;
    if (urls.length === this.serviceUrls.length && urls.every((u, i) => u === this.serviceUrls[i])) return;
    this.logger.info('pd: member urls changed', { old: this.serviceUrls, new: urls });
    this.serviceUrls = urls;
    for (const l of this.membersListeners) l(urls);
  }

  private switchLeader(url: string): void {
    if (url === this.leader) return;
    const old = this.leader;
    this.leader = url;
    this.logger.info('pd: leader switched', { old, new: url });
    for (const l of this.leaderListeners) l(url);
  }

  private async runLoop(): Promise<void> {
    while (!this.closed) {
      if (!this.checkRequested) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.opts.memberUpdateIntervalMs);
          timer.unref?.();
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
      if (this.closed) return;
      this.checkRequested = false;
      await this.refreshWithBackoff();
    }
  }

  private async refreshWithBackoff(): Promise<void> {
    // Background work: its timers do not keep the process alive, and are cleared when it ends.
    const budget = openOperationScope(
      { timeoutMs: this.opts.updateMemberTimeoutMs },
      { follow: [this.closeController.signal], background: true },
    );
    try {
      await this.refreshIn(budget.signal as AbortSignal);
    } finally {
      budget.dispose();
    }
  }

  private async refreshIn(signal: AbortSignal): Promise<void> {
    let delay = this.opts.updateMemberBackoffBaseMs;
    for (;;) {
      try {
        await this.checkMemberChanged({ signal });
        return;
      } catch (e) {
        if (signal.aborted || this.closed) {
          this.logger.warn('pd: failed to update members', { error: e });
          return;
        }
      }
      try {
        await sleepMs(delay, signal, { background: true });
      } catch {
        return;
      }
      delay = Math.min(delay * 2, this.opts.updateMemberMaxBackoffMs);
    }
  }
}
