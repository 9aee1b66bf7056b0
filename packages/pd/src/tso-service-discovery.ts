import {
  ClientClosedError,
  type Clock,
  isTiKVError,
  type Logger,
  openOperationScope,
  type RandomSource,
  RpcError,
} from '@tikv/common';
import { tsopb } from '@tikv/proto';
import {
  DEFAULT_KEYSPACE_GROUP_ID,
  type KeyspaceGroupInfo,
  KeyspaceGroupServing,
} from './keyspace-group-serving.js';
import { toPdCallError } from './pd-errors.js';
import { calleeIdOf, errorFromTsoHeader, isCalleeMismatch } from './tso-service-errors.js';

/** Calls `FindGroupByKeyspaceID` on one TSO server; must honour `signal`. @internal */
export type KeyspaceGroupFinder = (
  url: string,
  request: tsopb.FindGroupByKeyspaceIDRequest,
  signal: AbortSignal,
) => Promise<tsopb.FindGroupByKeyspaceIDResponse>;

/**
 * The way to the default keyspace group's primary when PD names no TSO server (a PD that
 * predates `GetClusterInfo.tso_urls`): PD's Go client reads the primary from etcd.
 *
 * @internal
 */
export interface LegacyTsoDiscovery {
  /**
   * Rejects when the keyspace must not fall back to the default group: PD runs the
   * microservice and the keyspace's config names a non-default `tso_keyspace_group_id`.
   */
  checkFallbackAllowed(signal: AbortSignal): Promise<void>;
  /** The default group's primary listen URLs (`/ms/<cluster>/tso/00000/primary`). */
  primaryUrls(signal: AbortSignal): Promise<readonly string[]>;
}

/** What a {@link TsoServiceDiscovery} works with. @internal */
export interface TsoServiceDiscoveryDeps {
  readonly clusterId: () => bigint;
  /** The keyspace whose group is looked for. */
  readonly keyspaceId: number;
  /** The TSO servers' URLs PD advertises now (`GetClusterInfo.tso_urls`). */
  readonly tsoServerUrls: (signal: AbortSignal) => Promise<readonly string[]>;
  readonly findGroup: KeyspaceGroupFinder;
  /** Closes the connection to a server that turned out to be another one (callee mismatch). */
  readonly dropConnection: (url: string) => void;
  /** The fallback when PD names no TSO server; without it that is an error. */
  readonly legacy?: LegacyTsoDiscovery | undefined;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly logger: Logger;
}

/** Options of the keyspace group discovery on PD's TSO microservice (`PdClientOptions.tsoServiceDiscovery`). */
export interface TsoServiceDiscoveryOptions {
  /** Deadline of one `FindGroupByKeyspaceID`, in ms (PD's `UpdateMemberTimeout`). @defaultValue 1_000 */
  readonly updateTimeoutMs?: number | undefined;
  /** Attempts of one refresh (PD's `queryRetryMaxTimes`). @defaultValue 10 */
  readonly maxUpdateRetries?: number | undefined;
  /** Pause between those attempts, in ms (PD's `queryRetryInterval`). @defaultValue 500 */
  readonly updateRetryIntervalMs?: number | undefined;
  /** How often the group is refreshed unasked, in ms (PD's `MemberUpdateInterval`). @defaultValue 60_000 */
  readonly memberUpdateIntervalMs?: number | undefined;
}

/** Defaults of {@link TsoServiceDiscoveryOptions} (PD's Go client values). */
export const DEFAULT_TSO_SERVICE_DISCOVERY_OPTIONS = Object.freeze({
  updateTimeoutMs: 1_000,
  maxUpdateRetries: 10,
  updateRetryIntervalMs: 500,
  memberUpdateIntervalMs: 60_000,
});

/** The answering server knows the group but not its primary: ask one of its members. */
class NoPrimaryError extends RpcError {
  constructor(url: string) {
    super(`no primary url found in the keyspace group (asked ${url})`, {
      address: url,
      command: 'FindGroupByKeyspaceID',
      requestSent: true,
      retryable: true,
    });
  }
}

function findError(url: string, message: string, cause?: unknown): RpcError {
  return new RpcError(`can't find keyspace group by keyspace id: ${message}`, {
    address: url,
    command: 'FindGroupByKeyspaceID',
    requestSent: true,
    retryable: true,
    ...(cause === undefined ? {} : { cause }),
  });
}

/**
 * Finds and follows the TSO microservice's serving endpoint for one keyspace (PD's
 * `tsoServiceDiscovery`): asks a TSO server PD advertises (round robin) which keyspace group
 * serves the keyspace (`FindGroupByKeyspaceID`) and which member is its primary; when that
 * server is no member of the group it knows no primary, and one of the group's members is
 * asked instead. Answers older (by etcd mod revision) than what is held are refused. The group
 * is refreshed every `memberUpdateIntervalMs`, on request after failures, and at once by
 * {@link TsoServiceDiscovery.checkMemberChanged} when the primary moved.
 *
 * @internal
 */
export class TsoServiceDiscovery {
  /** The keyspace group and its serving endpoints. */
  readonly serving = new KeyspaceGroupServing();
  readonly #d: TsoServiceDiscoveryDeps;
  readonly #o: Required<{ [K in keyof TsoServiceDiscoveryOptions]: number }>;
  readonly #closeController = new AbortController();
  readonly #primaryListeners = new Set<(url: string) => void>();
  #tsoUrls: readonly string[] = [];
  #selectIdx = 0;
  #updating: Promise<void> | undefined;
  #loop: Promise<void> | undefined;
  #wake: (() => void) | undefined;
  #checkRequested = false;
  #loggedFallback = false;

  constructor(deps: TsoServiceDiscoveryDeps, options: TsoServiceDiscoveryOptions = {}) {
    const d = DEFAULT_TSO_SERVICE_DISCOVERY_OPTIONS;
    this.#d = deps;
    this.#o = {
      updateTimeoutMs: options.updateTimeoutMs ?? d.updateTimeoutMs,
      maxUpdateRetries: options.maxUpdateRetries ?? d.maxUpdateRetries,
      updateRetryIntervalMs: options.updateRetryIntervalMs ?? d.updateRetryIntervalMs,
      memberUpdateIntervalMs: options.memberUpdateIntervalMs ?? d.memberUpdateIntervalMs,
    };
  }

  /** The keyspace whose group is followed. */
  get keyspaceId(): number {
    return this.#d.keyspaceId;
  }

  /** The keyspace group id; the default group (0) until known. */
  get keyspaceGroupId(): number {
    return this.serving.groupId;
  }

  /** The group primary's URL ('' until known). */
  get primaryUrl(): string {
    return this.serving.primaryUrl;
  }

  /** The TSO servers' URLs PD last advertised. */
  get tsoServerUrls(): readonly string[] {
    return this.#tsoUrls;
  }

  /** Registers a listener of primary switches; returns the function that unregisters it. */
  onPrimaryChange(listener: (url: string) => void): () => void {
    this.#primaryListeners.add(listener);
    return () => this.#primaryListeners.delete(listener);
  }

  /**
   * Refreshes the group now, retrying `maxUpdateRetries` times `updateRetryIntervalMs` apart
   * (PD's `CheckMemberChanged`); a refresh under way is shared. Starts the periodic refresh.
   *
   * @throws RpcError (retryable) with the last failure when no attempt succeeded
   */
  checkMemberChanged(signal?: AbortSignal): Promise<void> {
    if (this.#closeController.signal.aborted)
      return Promise.reject(new ClientClosedError('TSO service discovery is closed'));
    this.#loop ??= this.#run();
    if (this.#updating === undefined) {
      const scope = openOperationScope(undefined, { follow: [this.#closeController.signal, signal] });
      this.#updating = this.#updateWithRetry(scope.signal ?? this.#closeController.signal).finally(() => {
        scope.dispose();
        this.#updating = undefined;
      });
    }
    return this.#updating;
  }

  /** Asks the background loop to refresh the group soon; calls coalesce. */
  scheduleCheckMemberChanged(): void {
    if (this.#closeController.signal.aborted) return;
    this.#loop ??= this.#run();
    this.#checkRequested = true;
    this.#wake?.();
  }

  /** Stops the periodic refresh and any refresh under way. */
  async close(): Promise<void> {
    if (this.#closeController.signal.aborted) return;
    this.#closeController.abort(new ClientClosedError('TSO service discovery is closed'));
    this.#wake?.();
    await this.#loop;
    await this.#updating?.catch(() => {});
  }

  async #updateWithRetry(signal: AbortSignal): Promise<void> {
    let last: unknown;
    for (let i = 0; i < this.#o.maxUpdateRetries; i++) {
      if (i > 0) await this.#d.clock.sleep(this.#o.updateRetryIntervalMs, signal);
      try {
        await this.#updateMember(signal);
        return;
      } catch (e) {
        if (signal.aborted) throw signal.reason;
        last = e;
        this.#d.logger.debug('pd: TSO service discovery attempt failed', { attempt: i, error: e });
      }
    }
    throw isTiKVError(last) ? last : findError('', 'no attempt succeeded', last);
  }

  /** One refresh (PD's `updateMember`). */
  async #updateMember(signal: AbortSignal): Promise<void> {
    const url = await this.#pickTsoServer(signal);
    try {
      await this.#updateFrom(url, signal);
    } catch (e) {
      // The server knows the group's members but is none of them: ask a member.
      if (!(e instanceof NoPrimaryError)) throw e;
      const members = this.serving.secondaryUrls;
      if (members.length === 0) throw e;
      const member = members[Math.floor(this.#d.random() * members.length)] as string;
      await this.#updateFrom(member, signal);
    }
  }

  /** A TSO server PD advertises, round robin; '' when PD names none. */
  async #pickTsoServer(signal: AbortSignal): Promise<string> {
    const urls = await this.#d.tsoServerUrls(signal);
    if (urls.length === 0) return '';
    const same = urls.length === this.#tsoUrls.length && urls.every((u) => this.#tsoUrls.includes(u));
    if (!same) {
      this.#d.logger.info('pd: TSO server urls changed', { urls });
      this.#tsoUrls = [...urls];
      this.#selectIdx = 0;
    }
    const url = this.#tsoUrls[this.#selectIdx] as string;
    this.#selectIdx = (this.#selectIdx + 1) % this.#tsoUrls.length;
    return url;
  }

  async #updateFrom(url: string, signal: AbortSignal): Promise<void> {
    let group: KeyspaceGroupInfo;
    let modRevision = 0n;
    if (url !== '') {
      ({ group, modRevision } = await this.#findGroup(url, signal));
    } else {
      group = await this.#legacyGroup(signal);
    }
    if (group.id !== this.serving.groupId)
      this.#d.logger.info('pd: the keyspace group changed', {
        keyspaceId: this.#d.keyspaceId,
        old: this.serving.groupId,
        new: group.id,
      });
    let primary = '';
    const secondaries: string[] = [];
    for (const m of group.members) {
      if (m.isPrimary) primary = m.url;
      else secondaries.push(m.url);
    }
    const r = this.serving.update(
      group,
      primary,
      secondaries,
      group.members.map((m) => m.url),
      modRevision,
    );
    if (r.primarySwitched) {
      this.#d.logger.info('pd: TSO primary switched', {
        old: r.oldPrimaryUrl,
        new: primary,
        group: group.id,
      });
      for (const l of this.#primaryListeners) l(primary);
    }
    // Even without a primary the group and its members were taken above.
    if (primary === '') throw new NoPrimaryError(url);
    if (!r.metaChanged)
      throw findError(
        url,
        `stale keyspace group mod revision ${modRevision}, holding ${this.serving.modRevision}`,
      );
  }

  async #findGroup(
    url: string,
    signal: AbortSignal,
  ): Promise<{ group: KeyspaceGroupInfo; modRevision: bigint }> {
    const keyspaceId = this.#d.keyspaceId;
    const held = this.serving.modRevision;
    const req = tsopb.FindGroupByKeyspaceIDRequest.fromPartial({
      header: {
        clusterId: this.#d.clusterId(),
        keyspace: { $case: 'keyspaceId', value: keyspaceId },
        keyspaceGroupId: DEFAULT_KEYSPACE_GROUP_ID,
        calleeId: calleeIdOf(url),
      },
      keyspace: { $case: 'keyspaceId', value: keyspaceId },
      modRevision: held,
    });
    const timeoutMs = this.#o.updateTimeoutMs;
    const scope = openOperationScope({ timeoutMs }, { clock: this.#d.clock, follow: [signal] });
    let resp: tsopb.FindGroupByKeyspaceIDResponse;
    try {
      resp = await this.#d.findGroup(url, req, scope.signal as AbortSignal);
    } catch (e) {
      throw toPdCallError(e, {
        what: `FindGroupByKeyspaceID ${url}`,
        command: 'FindGroupByKeyspaceID',
        address: url,
        callerSignal: signal,
        attempt: { signal: scope.signal as AbortSignal, timeoutMs },
      });
    } finally {
      scope.dispose();
    }
    const err = errorFromTsoHeader(resp.header, this.#d.clusterId());
    if (err !== undefined) {
      if (isCalleeMismatch(err)) this.#d.dropConnection(url);
      throw findError(url, err.message, err);
    }
    const g = resp.keyspaceGroup;
    if (g === undefined) throw findError(url, 'no keyspace group found');
    if (resp.modRevision < held)
      throw findError(url, `response mod revision ${resp.modRevision} is older than ${held}`);
    return {
      group: {
        id: g.id,
        members: g.members.map((m) => ({ url: m.address, isPrimary: m.isPrimary })),
        splitSource: g.splitState?.splitSource,
      },
      modRevision: resp.modRevision,
    };
  }

  /** The default group from PD's etcd, for a PD that names no TSO server. */
  async #legacyGroup(signal: AbortSignal): Promise<KeyspaceGroupInfo> {
    const legacy = this.#d.legacy;
    if (legacy === undefined) throw findError('', 'PD names no TSO server');
    await legacy.checkFallbackAllowed(signal);
    if (!this.#loggedFallback) {
      this.#loggedFallback = true;
      this.#d.logger.warn('pd: no TSO server url found, discovering the default group from etcd', {
        keyspaceId: this.#d.keyspaceId,
      });
    }
    const urls = await legacy.primaryUrls(signal);
    if (urls.length === 0) throw findError('', 'no tso server url found');
    return { id: DEFAULT_KEYSPACE_GROUP_ID, members: urls.map((url, i) => ({ url, isPrimary: i === 0 })) };
  }

  async #run(): Promise<void> {
    const signal = this.#closeController.signal;
    while (!signal.aborted) {
      if (!this.#checkRequested) {
        await new Promise<void>((resolve) => {
          const timer = this.#d.clock.setTimer(this.#o.memberUpdateIntervalMs, resolve, undefined, {
            background: true,
          });
          this.#wake = () => {
            this.#d.clock.clearTimer(timer);
            resolve();
          };
        });
        this.#wake = undefined;
      }
      if (signal.aborted) return;
      this.#checkRequested = false;
      await this.checkMemberChanged().catch((e: unknown) => {
        if (!signal.aborted) this.#d.logger.warn('pd: failed to update the TSO service member', { error: e });
      });
    }
  }
}
