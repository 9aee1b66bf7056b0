import { RpcError } from '@tikv/common';
import { tsopb } from '@tikv/proto';
import { DEFAULT_KEYSPACE_GROUP_ID } from './keyspace-group-serving.js';
import type { LegacyTsoDiscovery } from './tso-service-discovery.js';

/** The keyspace config key that assigns a keyspace to a keyspace group. */
export const TSO_KEYSPACE_GROUP_ID_KEY = 'tso_keyspace_group_id';

/** What the legacy discovery reads. @internal */
export interface LegacyTsoDiscoverySources {
  readonly clusterId: () => bigint;
  /** The client's keyspace, or undefined for none. */
  readonly keyspaceId: number | undefined;
  /** Whether PD runs the TSO microservice now (asked afresh). */
  readonly isApiServiceMode: (signal: AbortSignal) => Promise<boolean>;
  /** The keyspace's config. */
  readonly keyspaceConfig: (
    keyspaceId: number,
    signal: AbortSignal,
  ) => Promise<Readonly<Record<string, string>>>;
  /** The values stored under an etcd key in PD's meta storage. */
  readonly metaGet: (key: string, signal: AbortSignal) => Promise<readonly Uint8Array[]>;
}

/** The etcd key of the default keyspace group's primary (PD's `tsoSvcDiscoveryFormat`). */
export function defaultGroupPrimaryKey(clusterId: bigint): string {
  return `/ms/${clusterId}/tso/${String(DEFAULT_KEYSPACE_GROUP_ID).padStart(5, '0')}/primary`;
}

/**
 * The keyspace group a keyspace's config assigns it to when that is not the default group
 * (PD's `hasKeyspaceGroupIDConfig`): a missing, malformed or zero value leaves it free to fall
 * back to the default group.
 */
export function assignedNonDefaultGroup(config: Readonly<Record<string, string>>): number | undefined {
  const v = config[TSO_KEYSPACE_GROUP_ID_KEY];
  if (v === undefined || !/^\d+$/.test(v)) return undefined;
  const id = Number(v);
  if (!Number.isSafeInteger(id) || id > 0xffffffff || id === DEFAULT_KEYSPACE_GROUP_ID) return undefined;
  return id;
}

function discoveryError(message: string): RpcError {
  return new RpcError(message, { address: '', command: 'TSO discovery', requestSent: true, retryable: true });
}

/**
 * The way PD's Go client finds the TSO service when PD names no TSO server
 * (`discoverWithLegacyPath` and `checkAndHandleFallbackInMicroserviceMode`): the default
 * keyspace group's primary from etcd, unless PD runs the microservice and the keyspace is
 * assigned to another group (then falling back would hand out another group's timestamps).
 *
 * @internal
 */
export function createLegacyTsoDiscovery(s: LegacyTsoDiscoverySources): LegacyTsoDiscovery {
  return {
    async checkFallbackAllowed(signal) {
      if (!(await s.isApiServiceMode(signal)) || s.keyspaceId === undefined) return;
      const group = assignedNonDefaultGroup(await s.keyspaceConfig(s.keyspaceId, signal));
      if (group !== undefined)
        throw discoveryError(
          `no TSO microservice available in microservice mode: keyspace ${s.keyspaceId} belongs to keyspace group ${group}`,
        );
    },
    async primaryUrls(signal) {
      const key = defaultGroupPrimaryKey(s.clusterId());
      const values = await s.metaGet(key, signal);
      if (values.length === 0) throw discoveryError(`no TSO primary found at ${key}`);
      if (values.length > 1) throw discoveryError(`more than one value at ${key}`);
      const urls = tsopb.Participant.decode(values[0] as Uint8Array).listenUrls;
      if (urls.length === 0) throw discoveryError(`the TSO primary at ${key} lists no URL`);
      return urls;
    },
  };
}
