import { kvrpcpb, pdpb, tikvpb } from '@tikv/proto';
import { type Channel, createChannel, createClient } from 'nice-grpc';
import { toMetaPeer } from '../src/cluster/region-wire.js';
import type { RegionInfo } from '../src/cluster/topology-types.js';
import type { MockCluster } from '../src/mock-cluster.js';

/** Plain generated clients for a mock cluster, for tests. */
export class TestClients {
  readonly #channels: Channel[] = [];
  readonly pd: pdpb.PDClient;
  readonly #cluster: MockCluster;
  readonly #kv = new Map<bigint, tikvpb.TikvClient>();

  constructor(cluster: MockCluster) {
    this.#cluster = cluster;
    this.pd = createClient(pdpb.PDDefinition, this.#channel(cluster.pdEndpoints[0] as string));
  }

  #channel(address: string): Channel {
    const ch = createChannel(address);
    this.#channels.push(ch);
    return ch;
  }

  /** The Tikv client of one store. */
  kv(storeId: bigint | number): tikvpb.TikvClient {
    const id = BigInt(storeId);
    let c = this.#kv.get(id);
    if (c === undefined) {
      const store = this.#cluster.stores().find((s) => s.id === id);
      if (store === undefined) throw new Error(`no store ${id}`);
      c = createClient(tikvpb.TikvDefinition, this.#channel(store.address));
      this.#kv.set(id, c);
    }
    return c;
  }

  /** The Tikv client of a region's leader store. */
  leaderKv(region: RegionInfo): tikvpb.TikvClient {
    return this.kv(region.leader.storeId);
  }

  /** A PD request header carrying the cluster id. */
  header(): { clusterId: bigint } {
    return { clusterId: this.#cluster.clusterId };
  }

  close(): void {
    for (const ch of this.#channels) ch.close();
  }
}

/** A request context that routes to a region's leader. */
export function ctxFor(region: RegionInfo, apiVersion = kvrpcpb.APIVersion.V1): kvrpcpb.Context {
  return kvrpcpb.Context.fromPartial({
    regionId: region.id,
    regionEpoch: { confVer: region.epoch.confVer, version: region.epoch.version },
    peer: toMetaPeer(region.leader),
    apiVersion,
  });
}

/** UTF-8 bytes. */
export function b(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** UTF-8 text of bytes. */
export function text(u: Uint8Array | undefined): string | undefined {
  return u === undefined ? undefined : new TextDecoder().decode(u);
}
