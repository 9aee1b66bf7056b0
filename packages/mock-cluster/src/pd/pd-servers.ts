import { InvalidArgumentError } from '@tikv/common';
import { keyspacepb, meta_storagepb, pdpb, resource_manager } from '@tikv/proto';
import type { FaultRegistry } from '../faults/fault-registry.js';
import { GrpcHost, type GrpcHostOptions } from '../server/grpc-host.js';
import { createEtcdClusterHandlers, EtcdClusterDefinition } from './etcd-cluster-service.js';
import type { GcStateService } from './gc-state-service.js';
import { GlobalConfigService } from './global-config-service.js';
import { createKeyspaceHandlers, type KeyspaceService } from './keyspace-service.js';
import { createMetaStorageHandlers, MetaStorageService } from './meta-storage-service.js';
import { MetaStore } from './meta-store.js';
import { PdMemberGate, pdMethodPolicy } from './pd-member-gate.js';
import type { PdMemberInfo, PdMembership } from './pd-members.js';
import { createPdHandlers, type PdService } from './pd-service.js';
import { createResourceManagerHandlers, ResourceManagerService } from './resource-manager-service.js';

/** The shared PD services every member serves. */
export interface PdServices {
  readonly clusterId: bigint;
  readonly faults: FaultRegistry;
  readonly membership: PdMembership;
  readonly pd: PdService;
  readonly gcStates: GcStateService;
  readonly keyspaces: KeyspaceService;
  /** The clock resource groups' token buckets refill by, in ms. */
  nowMs(): number;
}

/**
 * The PD members' gRPC servers: one host per member, each serving `pdpb.PD` (global config
 * included), `keyspacepb.Keyspace`, `meta_storagepb.MetaStorage` and etcd's `Cluster/MemberList` from the same shared state through its own
 * {@link PdMemberGate}, and the handle's operations on them (stop, start, move leadership).
 */
export class PdServers {
  readonly #s: PdServices;
  readonly #hosts: GrpcHost[];
  /** PD's etcd: the meta storage service's keys and the global config items. */
  readonly metaStore = new MetaStore();
  /** PD's resource manager (resource groups and their token buckets). */
  readonly resourceManager: ResourceManagerService;
  #listenHost = '127.0.0.1';

  constructor(services: PdServices, hostOptions: GrpcHostOptions) {
    this.#s = services;
    const meta = new MetaStorageService({ clusterId: services.clusterId, store: this.metaStore });
    const globalConfig = new GlobalConfigService(this.metaStore);
    const pdHandlers = createPdHandlers(services.pd, services.gcStates, globalConfig);
    const keyspaceHandlers = createKeyspaceHandlers(services.keyspaces);
    const metaHandlers = createMetaStorageHandlers(meta);
    this.resourceManager = new ResourceManagerService({
      store: this.metaStore,
      nowMs: () => services.nowMs(),
    });
    const rmHandlers = createResourceManagerHandlers(this.resourceManager);
    this.#hosts = Array.from({ length: services.membership.size }, (_, i) => {
      const gate = new PdMemberGate(services, i);
      return new GrpcHost(
        [
          [pdpb.PDDefinition, gate.wrap(pdpb.PDDefinition, pdHandlers, pdMethodPolicy)],
          [
            keyspacepb.KeyspaceDefinition,
            gate.wrap(keyspacepb.KeyspaceDefinition, keyspaceHandlers, () => 'keyspace'),
          ],
          [
            meta_storagepb.MetaStorageDefinition,
            gate.wrap(meta_storagepb.MetaStorageDefinition, metaHandlers, () => 'meta-storage'),
          ],
          [
            resource_manager.ResourceManagerDefinition,
            gate.wrap(resource_manager.ResourceManagerDefinition, rmHandlers, () => 'meta-storage'),
          ],
          [
            EtcdClusterDefinition,
            gate.wrap(
              EtcdClusterDefinition,
              createEtcdClusterHandlers(services.membership, services.clusterId, i),
              () => 'open',
            ),
            'complete',
          ],
        ],
        hostOptions,
      );
    });
  }

  #host(i: number): GrpcHost {
    const h = this.#hosts[i];
    if (h === undefined)
      throw new InvalidArgumentError(`PD member ${i} does not exist (0..${this.#hosts.length - 1})`);
    return h;
  }

  /** Starts every member: the first on `firstPort` (0: any free port), the others on free ports. */
  async listen(host: string, firstPort: number): Promise<void> {
    this.#listenHost = host;
    for (const [i, h] of this.#hosts.entries()) {
      this.#s.membership.setPort(i, await h.listen(host, i === 0 ? firstPort : 0));
    }
  }

  /** The members (address, client URL, running, leader). */
  members(): PdMemberInfo[] {
    return this.#s.membership.info();
  }

  /** Makes member `i` PD's leader. */
  transferLeader(i: number): void {
    this.#host(i);
    this.#s.membership.transfer(i);
  }

  /** Stops member `i` (its port refuses connections); a stopped leader hands over at once. */
  async stop(i: number): Promise<void> {
    const h = this.#host(i);
    this.#s.membership.markStopped(i);
    await h.stop();
  }

  /** Restarts a stopped member on its port; it leads only when no other member does. */
  async start(i: number): Promise<void> {
    const h = this.#host(i);
    if (h.listening) return;
    await h.listen(this.#listenHost, h.port);
    this.#s.membership.markStarted(i);
  }

  /** Stops every member for good. */
  async close(): Promise<void> {
    await Promise.all(this.#hosts.map((h) => h.close()));
  }
}
