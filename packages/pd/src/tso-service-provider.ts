import { type Clock, type Logger, type RandomSource, RpcError } from '@tikv/common';
import { tsopb } from '@tikv/proto';
import { GrpcTsoServiceStream, TSO_SERVICE_TSO_METHOD } from './grpc-tso-service-stream.js';
import type { PdConnections } from './pd-connections.js';
import {
  type LegacyTsoDiscovery,
  TsoServiceDiscovery,
  type TsoServiceDiscoveryOptions,
} from './tso-service-discovery.js';
import { isCalleeMismatch, isTsoLeaderChange } from './tso-service-errors.js';

/** What a {@link TsoServiceProvider} is built from. @internal */
export interface TsoServiceProviderDeps {
  readonly clusterId: () => bigint;
  /** The client's keyspace (`NULL_KEYSPACE_ID` for none). */
  readonly keyspaceId: number;
  /** Connections to the TSO servers (kept apart from PD's members' connections). */
  readonly connections: PdConnections;
  readonly tsoServerUrls: (signal: AbortSignal) => Promise<readonly string[]>;
  readonly legacy?: LegacyTsoDiscovery | undefined;
  readonly clock: Clock;
  readonly random: RandomSource;
  readonly logger: Logger;
  readonly discovery?: TsoServiceDiscoveryOptions | undefined;
}

/**
 * Opens TSO streams to the primary of the client keyspace's keyspace group on PD's TSO
 * microservice (PD's TSO client with its `MSStreamBuilderFactory` and `tsoServiceDiscovery`),
 * and handles their failures as PD's client does: a server that is not the one named
 * (`mismatch callee id`) loses its connection; a moved primary or group ("not primary", "not
 * leader", "is not served") is looked up again before the next stream; anything else schedules
 * a lookup in the background.
 *
 * @internal
 */
export class TsoServiceProvider {
  /** The keyspace group discovery. */
  readonly discovery: TsoServiceDiscovery;
  readonly #d: TsoServiceProviderDeps;
  #needsCheck = false;
  #lastServedGroup: number | undefined;

  constructor(deps: TsoServiceProviderDeps) {
    this.#d = deps;
    this.discovery = new TsoServiceDiscovery(
      {
        clusterId: deps.clusterId,
        keyspaceId: deps.keyspaceId,
        tsoServerUrls: deps.tsoServerUrls,
        findGroup: (url, req, signal) =>
          deps.connections.service(url, tsopb.TSODefinition).findGroupByKeyspaceID(req, { signal }),
        dropConnection: (url) => deps.connections.drop(url),
        legacy: deps.legacy,
        clock: deps.clock,
        random: deps.random,
        logger: deps.logger,
      },
      deps.discovery,
    );
  }

  /** The group that served the last response (undefined before the first). */
  get lastServedGroup(): number | undefined {
    return this.#lastServedGroup;
  }

  /** Opens a stream to the keyspace group's primary, finding it first when unknown or moved. */
  async open(signal: AbortSignal): Promise<GrpcTsoServiceStream> {
    const discovery = this.discovery;
    if (this.#needsCheck || discovery.primaryUrl === '') {
      this.#needsCheck = false;
      try {
        await discovery.checkMemberChanged(signal);
      } catch (e) {
        // Without any primary there is nowhere to go (retryable: the caller's retries ask
        // again); with one, try it (it may still serve).
        if (discovery.primaryUrl === '')
          throw new RpcError(
            `no TSO primary known for keyspace ${this.#d.keyspaceId}: ${e instanceof Error ? e.message : String(e)}`,
            { address: '', command: 'TSO', requestSent: false, retryable: true, cause: e },
          );
        this.#d.logger.warn('pd: TSO service member check failed, keeping the primary', { error: e });
      }
    }
    signal.throwIfAborted();
    const url = discovery.primaryUrl;
    const connections = this.#d.connections;
    return new GrpcTsoServiceStream(url, (h) => connections.openBidiCall(url, TSO_SERVICE_TSO_METHOD, h), {
      clusterId: this.#d.clusterId(),
      keyspaceId: this.#d.keyspaceId,
      keyspaceGroupId: () => discovery.keyspaceGroupId,
      onServedBy: (groupId) => {
        if (this.#lastServedGroup !== undefined && groupId !== this.#lastServedGroup)
          this.#d.logger.info('pd: keyspace group changed', { old: this.#lastServedGroup, new: groupId });
        this.#lastServedGroup = groupId;
        // Served by another group than the one asked (a split moved the keyspace and the same
        // primary serves the new group): look the group up, so that requests (and `tsoRoute`)
        // name it. PD's Go client only logs this; it then keeps naming the old group for up to
        // a minute, which real servers accept.
        if (groupId !== discovery.keyspaceGroupId) discovery.scheduleCheckMemberChanged();
      },
    });
  }

  /** A stream (to `url`, when one was open) failed with `error`. */
  onStreamFailure(error: unknown, url: string | undefined): void {
    if (url !== undefined && isCalleeMismatch(error)) {
      this.#d.connections.drop(url);
      this.discovery.scheduleCheckMemberChanged();
    } else if (isTsoLeaderChange(error)) {
      this.#needsCheck = true;
    } else {
      this.discovery.scheduleCheckMemberChanged();
    }
  }

  /** Stops the discovery and closes the TSO servers' connections. */
  async close(): Promise<void> {
    await this.discovery.close();
    this.#d.connections.close();
  }
}
