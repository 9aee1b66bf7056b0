import {
  type Logger,
  noopLogger,
  openOperationScope,
  sleepMs,
  TiKVError,
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
  readonly timeoutMs?: number;
  /** How often the membership is refreshed, in ms. @defaultValue 60_000 */
  readonly memberUpdateIntervalMs?: number;
  /** Deadline of each `GetMembers` call of a refresh, and of a refresh's retries, in ms. @defaultValue 1_000 */
  readonly updateMemberTimeoutMs?: number;
  /** First backoff between refresh attempts, in ms. @defaultValue 20 */
  readonly updateMemberBackoffBaseMs?: number;
  /** Largest backoff between refresh attempts, in ms. @defaultValue 100 */
  readonly updateMemberMaxBackoffMs?: number;
  /** Attempts to reach the cluster while connecting. @defaultValue 100 */
  readonly maxInitRetries?: number;
  /** Pause between those attempts, in ms. @defaultValue 1_000 */
  readonly initRetryIntervalMs?: number;
  /** Where discovery reports leader changes and failures. @defaultValue silent */
  readonly logger?: Logger;
}

/** Defaults of {@link ServiceDiscoveryOptions} (PD's Go client values). */
export const DEFAULT_SERVICE_DISCOVERY_OPTIONS = Object.freeze({
  timeoutMs: 3_000,
  memberUpdateIntervalMs: 60_000,
  updateMemberTimeoutMs: 1_000,
  updateMemberBackoffBaseMs: 20,
  updateMemberMaxBackoffMs: 100,
  maxInitRetries: 100,
  initRetryIntervalMs: 1_000,
});

/**
 * Adds a scheme to a bare `host:port` endpoint and drops a trailing slash, as PD's client
 * does: `https://` when TLS is on, `http://` otherwise.
 */
export function normalizeUrl(endpoint: string, tls: boolean): string {
  const trimmed = endpoint.trim().replace(/\/+$/, '');
  if (trimmed.includes('://')) return trimmed;
  return `${tls ? 'https' : 'http'}://${trimmed}`;
}

/**
 * PD member discovery (PD's `serviceDiscovery`): learns the cluster id from any endpoint,
 * follows the leader, refreshes the membership every `memberUpdateIntervalMs` and on demand
 * (with backoff) after failures, and tells listeners when the leader or the members change.
 */
export class ServiceDiscovery {
  private readonly opts: Readonly<Required<Omit<ServiceDiscoveryOptions, 'logger'>>>;
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
    if (urls.length === 0) throw new TiKVError('INVALID_ARGUMENT', 'at least one PD endpoint is required');
    const d = DEFAULT_SERVICE_DISCOVERY_OPTIONS;
    this.opts = Object.freeze({
      timeoutMs: options.timeoutMs ?? d.timeoutMs,
      memberUpdateIntervalMs: options.memberUpdateIntervalMs ?? d.memberUpdateIntervalMs,
      updateMemberTimeoutMs: options.updateMemberTimeoutMs ?? d.updateMemberTimeoutMs,
      updateMemberBackoffBaseMs: options.updateMemberBackoffBaseMs ?? d.updateMemberBackoffBaseMs,
      updateMemberMaxBackoffMs: options.updateMemberMaxBackoffMs ?? d.updateMemberMaxBackoffMs,
      maxInitRetries: options.maxInitRetries ?? d.maxInitRetries,
      initRetryIntervalMs: options.initRetryIntervalMs ?? d.initRetryIntervalMs,
    });
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
   * Learns the cluster id and the leader, retrying up to `maxInitRetries` times, then
   * starts the background refresh.
   */
  async init(options?: CallOptions): Promise<void> {
    // Released (its deadline timer cleared) once init settles; it follows the close signal.
    const scope = openOperationScope(options, { follow: [this.closeController.signal] });
    try {
      await this.initIn(scope.signal as AbortSignal);
    } finally {
      scope.dispose();
    }
  }

  private async initIn(signal: AbortSignal): Promise<void> {
    let lastErr: unknown;
    for (let attempt = 0; attempt < this.opts.maxInitRetries; attempt++) {
      try {
        if (this.cluster === 0n) await this.initClusterId(signal);
        await this.updateMember(signal, this.opts.timeoutMs);
        this.loop = this.runLoop();
        return;
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        if (e instanceof TiKVError && !e.retryable) throw e;
        lastErr = e;
      }
      if (attempt + 1 < this.opts.maxInitRetries) await sleepMs(this.opts.initRetryIntervalMs, signal);
    }
    throw lastErr;
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
    if (this.closed) return Promise.reject(new TiKVError('CLIENT_CLOSED', 'service discovery is closed'));
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
    this.closeController.abort(new TiKVError('CLIENT_CLOSED', 'service discovery is closed'));
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
        throw new TiKVError(
          'INVALID_ARGUMENT',
          `PD endpoints belong to different clusters: ${clusterId} and ${id}`,
        );
      }
    }
    if (clusterId === 0n) {
      throw new TiKVError('RPC_ERROR', 'failed to get the cluster id from any PD endpoint', {
        retryable: true,
        cause: lastErr,
      });
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
      throw toPdCallError(e, `GetMembers ${url}`, signal);
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
        lastErr = new TiKVError('RPC_ERROR', `cluster id does not match: ${id} != ${this.cluster}`, {
          retryable: true,
        });
        continue;
      }
      const leaderUrls = resp.leader?.clientUrls ?? [];
      const leaderUrl = leaderUrls[0];
      if (leaderUrl === undefined) {
        lastErr = new TiKVError('RPC_ERROR', `no PD leader known by ${url}`, { retryable: true });
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
    throw new TiKVError('RPC_ERROR', 'failed to get the PD members from any endpoint', {
      retryable: true,
      cause: lastErr,
    });
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
