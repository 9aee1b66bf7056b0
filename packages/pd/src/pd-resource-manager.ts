import { isTiKVError, PdError } from '@tikv/common';
import { resource_manager } from '@tikv/proto';
import type { CallOptions } from './call-options.js';
import { bidiMethod } from './grpc-bidi-call.js';
import { OrderedBidiStream } from './ordered-bidi-stream.js';
import type { PdConnections } from './pd-connections.js';
import type { PdMetaStorage } from './pd-meta-storage.js';
import type { PdRpcCaller } from './pd-rpc-caller.js';

/** A resource group as PD's resource manager keeps it (`resource_manager.ResourceGroup`). */
export type ResourceGroup = resource_manager.ResourceGroup;

/** The meta storage folder PD's resource manager keeps group settings in (PD's `GroupSettingsPathPrefixBytes`). */
export const RESOURCE_GROUP_SETTINGS_PREFIX = 'resource_group/settings';
/** The meta storage key of the resource manager's controller config (PD's `ControllerConfigPathPrefixBytes`). */
export const RESOURCE_CONTROLLER_CONFIG_PATH = 'resource_group/controller';
/** The group every request without one belongs to (PD's `DefaultResourceGroupName`). */
export const DEFAULT_RESOURCE_GROUP = 'default';

/** Options of reading groups. */
export interface GetResourceGroupOptions extends CallOptions {
  /** Include the groups' RU consumption (`RUStats`). @defaultValue false */
  readonly withRuStats?: boolean | undefined;
}

/** One change {@link PdResourceManager.watchResourceGroups} reports. */
export interface ResourceGroupEvent {
  readonly type: 'put' | 'delete';
  /** The group after a put; before a delete (when PD still had it). */
  readonly group: ResourceGroup | undefined;
  /** The etcd revision of the change. */
  readonly revision: bigint;
}

/** The resource manager's `AcquireTokenBuckets` stream method. */
const ACQUIRE_TOKEN_BUCKETS_METHOD = bidiMethod(
  resource_manager.ResourceManagerDefinition,
  resource_manager.ResourceManagerDefinition.methods.acquireTokenBuckets,
);

const rmClient = (c: PdConnections, url: string) =>
  c.service(url, resource_manager.ResourceManagerDefinition);

function rmError(resp: { readonly error?: resource_manager.Error | undefined }): PdError | undefined {
  return resp.error === undefined ? undefined : new PdError('UNKNOWN', resp.error.message);
}

/** Whether an error is PD's "the X resource group does not exist" (it has no better type). */
function isGroupNotExists(e: unknown): boolean {
  return isTiKVError(e, 'RPC_ERROR') && /ErrGroupNotExists|resource group does not exist/.test(e.message);
}

/**
 * PD's resource manager (`resource_manager.ResourceManager` on the PD leader; PD's Go
 * `ResourceManagerClient`): resource group administration, the token bucket stream the
 * request-unit controller draws RU from, and the group settings PD keeps in its meta storage
 * (loaded and watched from there, as PD's client does). Reached as `PdClient.resourceManager`.
 * PD's refusals (an unknown group to modify or delete, deleting `default`, invalid settings)
 * reject with an `RpcError` carrying PD's message.
 */
export class PdResourceManager {
  readonly #caller: PdRpcCaller;
  readonly #meta: PdMetaStorage;
  readonly #leaderUrl: () => string;
  #tokenStream:
    | OrderedBidiStream<resource_manager.TokenBucketsRequest, resource_manager.TokenBucketsResponse>
    | undefined;

  /** @internal */
  constructor(caller: PdRpcCaller, meta: PdMetaStorage, leaderUrl: () => string) {
    this.#caller = caller;
    this.#meta = meta;
    this.#leaderUrl = leaderUrl;
  }

  /** Every resource group (`ListResourceGroups`), `default` included. */
  async listResourceGroups(options?: GetResourceGroupOptions): Promise<ResourceGroup[]> {
    const resp = await this.#caller.serviceCall(
      'ListResourceGroups',
      options,
      rmClient,
      (rpc, signal) =>
        rpc.listResourceGroups(
          { withRuStats: options?.withRuStats ?? false, keyspaceId: undefined },
          { signal },
        ),
      rmError,
    );
    return resp.groups;
  }

  /** One group (`GetResourceGroup`); undefined when it does not exist. */
  async getResourceGroup(
    name: string,
    options?: GetResourceGroupOptions,
  ): Promise<ResourceGroup | undefined> {
    try {
      const resp = await this.#caller.serviceCall(
        'GetResourceGroup',
        options,
        rmClient,
        (rpc, signal) =>
          rpc.getResourceGroup(
            { resourceGroupName: name, withRuStats: options?.withRuStats ?? false, keyspaceId: undefined },
            { signal },
          ),
        rmError,
      );
      return resp.group;
    } catch (e) {
      if (isGroupNotExists(e)) return undefined;
      throw e;
    }
  }

  /** Adds (or replaces) a group (`AddResourceGroup`, RU mode unless told); resolves with PD's answer ("Success!"). */
  addResourceGroup(
    group: resource_manager.DeepPartial<ResourceGroup>,
    options?: CallOptions,
  ): Promise<string> {
    return this.#putGroup('AddResourceGroup', group, options);
  }

  /** Changes a group's settings (`ModifyResourceGroup`); PD refuses an unknown group. */
  modifyResourceGroup(
    group: resource_manager.DeepPartial<ResourceGroup>,
    options?: CallOptions,
  ): Promise<string> {
    return this.#putGroup('ModifyResourceGroup', group, options);
  }

  /** Sends a group, RU mode unless told, with `AddResourceGroup` or `ModifyResourceGroup`. */
  async #putGroup(
    method: 'AddResourceGroup' | 'ModifyResourceGroup',
    group: resource_manager.DeepPartial<ResourceGroup>,
    options: CallOptions | undefined,
  ): Promise<string> {
    const g = resource_manager.ResourceGroup.fromPartial({
      mode: resource_manager.GroupMode.RUMode,
      ...group,
    });
    const resp = await this.#caller.serviceCall(
      method,
      options,
      rmClient,
      (rpc, signal) =>
        method === 'AddResourceGroup'
          ? rpc.addResourceGroup({ group: g }, { signal })
          : rpc.modifyResourceGroup({ group: g }, { signal }),
      rmError,
    );
    return resp.body;
  }

  /** Deletes a group (`DeleteResourceGroup`); PD refuses `default` and unknown groups. */
  async deleteResourceGroup(name: string, options?: CallOptions): Promise<string> {
    const resp = await this.#caller.serviceCall(
      'DeleteResourceGroup',
      options,
      rmClient,
      (rpc, signal) =>
        rpc.deleteResourceGroup({ resourceGroupName: name, keyspaceId: undefined }, { signal }),
      rmError,
    );
    return resp.body;
  }

  /**
   * The groups' settings as PD stores them in its meta storage, with the revision to watch from
   * (PD's `LoadResourceGroups`).
   */
  async loadResourceGroups(options?: CallOptions): Promise<{ groups: ResourceGroup[]; revision: bigint }> {
    const r = await this.#meta.get(RESOURCE_GROUP_SETTINGS_PREFIX, { ...options, prefix: true });
    return {
      groups: r.kvs.map((kv) => resource_manager.ResourceGroup.decode(kv.value)),
      revision: r.revision,
    };
  }

  /**
   * Watches group settings in PD's meta storage (how PD's controller learns of changes): from
   * `revision` (0n: from now). `break` or `signal` ends it.
   */
  async *watchResourceGroups(
    options?: CallOptions & { readonly revision?: bigint | undefined },
  ): AsyncGenerator<ResourceGroupEvent[], void, undefined> {
    const watch = this.#meta.watch(RESOURCE_GROUP_SETTINGS_PREFIX, {
      ...options,
      prefix: true,
      prevKv: true,
      startRevision: options?.revision ?? 0n,
    });
    for await (const r of watch) {
      yield r.events.map((e) => {
        const kv = e.type === 'put' ? e.kv : e.prevKv;
        return {
          type: e.type,
          group: kv === undefined ? undefined : resource_manager.ResourceGroup.decode(kv.value),
          revision: e.kv.modRevision,
        };
      });
    }
  }

  /**
   * Reports consumption and asks for tokens (`AcquireTokenBuckets`) over one long-lived stream
   * to the leader, reopened when it breaks or the leader moves.
   *
   * @returns PD's grants, one per group it knows (unknown groups are left out)
   * @throws PdError `UNKNOWN` with PD's message when PD answers an error
   */
  async acquireTokenBuckets(
    request: resource_manager.DeepPartial<resource_manager.TokenBucketsRequest>,
    options?: CallOptions,
  ): Promise<resource_manager.TokenBucketResponse[]> {
    const req = resource_manager.TokenBucketsRequest.fromPartial(request);
    const resp = await this.#caller.retry('AcquireTokenBuckets', options, (signal) => {
      const stream = this.#stream();
      return new Promise<resource_manager.TokenBucketsResponse>((resolve, reject) => {
        const aborted = (): void => reject(signal.reason);
        if (signal.aborted) return aborted();
        signal.addEventListener('abort', aborted, { once: true });
        stream.request(req).then(
          (r) => {
            signal.removeEventListener('abort', aborted);
            resolve(r);
          },
          (e: unknown) => {
            signal.removeEventListener('abort', aborted);
            reject(e);
          },
        );
      });
    });
    const err = rmError(resp);
    if (err !== undefined) throw err;
    return resp.responses;
  }

  #stream(): OrderedBidiStream<resource_manager.TokenBucketsRequest, resource_manager.TokenBucketsResponse> {
    const url = this.#leaderUrl();
    const s = this.#tokenStream;
    if (s !== undefined && !s.broken && s.url === url) return s;
    s?.close();
    const connections = this.#caller.connections;
    const fresh = new OrderedBidiStream<
      resource_manager.TokenBucketsRequest,
      resource_manager.TokenBucketsResponse
    >(
      url,
      (h) => connections.openBidiCall(url, ACQUIRE_TOKEN_BUCKETS_METHOD, h),
      () => undefined,
    );
    this.#tokenStream = fresh;
    return fresh;
  }

  /** Closes the token stream. @internal */
  close(): void {
    this.#tokenStream?.close();
    this.#tokenStream = undefined;
  }
}
