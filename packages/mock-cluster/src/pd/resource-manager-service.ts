import { resource_manager } from '@tikv/proto';
import type { ServiceHandlers } from '../server/grpc-host.js';
import { GrpcStatus, type RpcContext, RpcError } from '../server/rpc-error.js';
import { GroupTokenBucket, type TokenLimit } from './group-token-bucket.js';
import type { MetaStore } from './meta-store.js';

type P<T> = resource_manager.DeepPartial<T>;
type Group = resource_manager.ResourceGroup;

/** PD's default group name and its unlimited RU settings (`DefaultResourceGroupName`). */
const DEFAULT_GROUP = 'default';
const UNLIMITED_RATE = 2 ** 31 - 1;
const MAX_GROUP_NAME_LENGTH = 32;
const enc = new TextEncoder();

/** What the resource manager serves from. */
export interface ResourceManagerDeps {
  /** PD's etcd: group settings live under `resource_group/settings/<name>`. */
  readonly store: MetaStore;
  /** The clock token buckets refill by, in ms. */
  nowMs(): number;
}

function limitOf(g: Group): TokenLimit {
  const s = g.rUSettings?.rU?.settings;
  return { fillRate: Number(s?.fillRate ?? 0n), burstLimit: Number(s?.burstLimit ?? 0n) };
}

function groupError(message: string): RpcError {
  return new RpcError(GrpcStatus.UNKNOWN, message);
}

/**
 * PD's resource manager (`resource_manager.ResourceManager` as PD serves it in its own process,
 * `pkg/mcs/resourcemanager/server`): groups in RU mode with PD's checks and messages (`default`
 * always exists, unlimited, and cannot be deleted; an unknown group to get, modify or delete is
 * `ErrGroupNotExists`; adding an existing name replaces it), settings persisted to the meta
 * storage as PD persists them (so they load and watch from there), and `AcquireTokenBuckets`
 * granting from each group's {@link GroupTokenBucket} and adding reported consumption to its
 * RU stats. Leader only, as PD's `checkServing`.
 */
export class ResourceManagerService {
  readonly #d: ResourceManagerDeps;
  readonly #groups = new Map<
    string,
    { group: Group; bucket: GroupTokenBucket; stats: resource_manager.Consumption }
  >();

  constructor(deps: ResourceManagerDeps) {
    this.#d = deps;
    this.#put(
      resource_manager.ResourceGroup.fromPartial({
        name: DEFAULT_GROUP,
        mode: resource_manager.GroupMode.RUMode,
        rUSettings: { rU: { settings: { fillRate: BigInt(UNLIMITED_RATE), burstLimit: -1n } } },
        priority: 8,
      }),
    );
  }

  #put(group: Group): void {
    const existing = this.#groups.get(group.name);
    const bucket = new GroupTokenBucket(limitOf(group), group.rUSettings?.rU?.tokens ?? 0);
    this.#groups.set(group.name, {
      group,
      bucket,
      stats: existing?.stats ?? resource_manager.Consumption.fromPartial({}),
    });
    this.#persist(group);
  }

  #persist(group: Group): void {
    const stored = resource_manager.ResourceGroup.fromPartial({ ...group, RUStats: undefined });
    this.#d.store.put(
      enc.encode(`resource_group/settings/${group.name}`),
      resource_manager.ResourceGroup.encode(stored).finish(),
    );
  }

  #get(name: string): { group: Group; bucket: GroupTokenBucket; stats: resource_manager.Consumption } {
    const g = this.#groups.get(name);
    if (g === undefined) {
      throw groupError(`[PD:resourcemanager:ErrGroupNotExists]the ${name} resource group does not exist`);
    }
    return g;
  }

  #out(
    e: { group: Group; bucket: GroupTokenBucket; stats: resource_manager.Consumption },
    withStats: boolean,
  ): Group {
    const tokens = e.bucket.tokens;
    return {
      ...e.group,
      rUSettings:
        e.group.rUSettings?.rU === undefined
          ? e.group.rUSettings
          : { rU: { ...e.group.rUSettings.rU, tokens } },
      RUStats: withStats ? e.stats : undefined,
    };
  }

  #validate(group: Group | undefined): Group {
    if (group === undefined || group.name === '' || group.name.length > MAX_GROUP_NAME_LENGTH) {
      throw groupError(
        '[PD:resourcemanager:ErrInvalidGroup]invalid group settings, please check the group name',
      );
    }
    if (group.mode !== resource_manager.GroupMode.RUMode) {
      throw groupError(
        '[PD:resourcemanager:ErrInvalidGroup]invalid group settings, please check the group mode',
      );
    }
    return group;
  }

  async listResourceGroups(
    req: resource_manager.ListResourceGroupsRequest,
  ): Promise<P<resource_manager.ListResourceGroupsResponse>> {
    const groups = [...this.#groups.values()]
      .sort((a, b) => (a.group.name < b.group.name ? -1 : 1))
      .map((e) => this.#out(e, req.withRuStats));
    return { groups };
  }

  async getResourceGroup(
    req: resource_manager.GetResourceGroupRequest,
  ): Promise<P<resource_manager.GetResourceGroupResponse>> {
    return { group: this.#out(this.#get(req.resourceGroupName), req.withRuStats) };
  }

  async addResourceGroup(
    req: resource_manager.PutResourceGroupRequest,
  ): Promise<P<resource_manager.PutResourceGroupResponse>> {
    this.#put(this.#validate(req.group));
    return { body: 'Success!' };
  }

  async modifyResourceGroup(
    req: resource_manager.PutResourceGroupRequest,
  ): Promise<P<resource_manager.PutResourceGroupResponse>> {
    const g = req.group;
    if (g === undefined || g.name === '') {
      throw groupError(
        '[PD:resourcemanager:ErrInvalidGroup]invalid group settings, please check the group name',
      );
    }
    const e = this.#get(g.name);
    // PD patches what the request sets: the RU settings, priority, runaway and background settings.
    const patched: Group = {
      ...e.group,
      rUSettings: g.rUSettings ?? e.group.rUSettings,
      priority: g.priority,
      runawaySettings: g.runawaySettings,
      backgroundSettings: g.backgroundSettings,
    };
    e.group = patched;
    e.bucket.setLimit(limitOf(patched));
    this.#persist(patched);
    return { body: 'Success!' };
  }

  async deleteResourceGroup(
    req: resource_manager.DeleteResourceGroupRequest,
  ): Promise<P<resource_manager.DeleteResourceGroupResponse>> {
    if (req.resourceGroupName === DEFAULT_GROUP) {
      throw groupError('[PD:resourcemanager:ErrDeleteReservedGroup]cannot delete reserved group');
    }
    this.#get(req.resourceGroupName);
    this.#groups.delete(req.resourceGroupName);
    this.#d.store.delete(enc.encode(`resource_group/settings/${req.resourceGroupName}`));
    return { body: 'Success!' };
  }

  async *acquireTokenBuckets(
    requests: AsyncIterable<resource_manager.TokenBucketsRequest>,
    _ctx: RpcContext,
  ): AsyncIterable<P<resource_manager.TokenBucketsResponse>> {
    for await (const request of requests) {
      const responses: P<resource_manager.TokenBucketResponse>[] = [];
      for (const req of request.requests) {
        const e = this.#groups.get(req.resourceGroupName);
        if (e === undefined) continue;
        addConsumption(e.stats, req.consumptionSinceLastRequest);
        if (req.isBackground) continue;
        const granted: P<resource_manager.GrantedRUTokenBucket>[] = [];
        if (req.request?.$case === 'ruItems') {
          for (const item of req.request.value.requestRU) {
            if (item.type !== resource_manager.RequestUnitType.RU) continue;
            const g = e.bucket.request(this.#d.nowMs(), item.value, Number(request.targetRequestPeriodMs));
            granted.push({
              type: resource_manager.RequestUnitType.RU,
              grantedTokens: {
                settings: { burstLimit: BigInt(g.burstLimit) },
                tokens: g.tokens,
              },
              trickleTimeMs: BigInt(g.trickleTimeMs),
            });
          }
        }
        responses.push({
          resourceGroupName: e.group.name,
          grantedRUTokens: granted,
          keyspaceId: { keyspace: { $case: 'value', value: 0 } },
        });
      }
      yield { responses };
    }
  }
}

function addConsumption(to: resource_manager.Consumption, c: resource_manager.Consumption | undefined): void {
  if (c === undefined) return;
  to.rRU += c.rRU;
  to.wRU += c.wRU;
  to.readBytes += c.readBytes;
  to.writeBytes += c.writeBytes;
  to.totalCpuTimeMs += c.totalCpuTimeMs;
  to.kvReadRpcCount += c.kvReadRpcCount;
  to.kvWriteRpcCount += c.kvWriteRpcCount;
}

/** Handlers of `resource_manager.ResourceManager`. */
export function createResourceManagerHandlers(service: ResourceManagerService): ServiceHandlers {
  return {
    listResourceGroups: service.listResourceGroups.bind(service),
    getResourceGroup: service.getResourceGroup.bind(service),
    addResourceGroup: service.addResourceGroup.bind(service),
    modifyResourceGroup: service.modifyResourceGroup.bind(service),
    deleteResourceGroup: service.deleteResourceGroup.bind(service),
    acquireTokenBuckets: service.acquireTokenBuckets.bind(service),
  } as ServiceHandlers;
}
