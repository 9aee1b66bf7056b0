/**
 * One server under comparison (the embedded mock or a real TiKV), reached the same way for both:
 * PD for timestamps and routing, then the region leader's store over `tikvpb.Tikv`.
 */
import { encodeBytes } from '@tikv/common';
import { PdClient, type RegionInfo, type RegionKeyCodec } from '@tikv/pd';
import { kvrpcpb, pdpb, tikvpb } from '@tikv/proto';
import { type Channel, createChannel, createClient } from 'nice-grpc';

/** The API version a cluster runs. */
export type Mode = 'v1' | 'v2';

/** Which server a target is. */
export type TargetName = 'mock' | 'real';

/** API V2 transactional keys of keyspace DEFAULT (id 0) start with `x` and the 3-byte id. */
export const V2_TXN_PREFIX = new Uint8Array([0x78, 0, 0, 0]);

// Transactional regions are cut at memcomparable-encoded keys, in both API versions.
const MEMCOMPARABLE_REGIONS: RegionKeyCodec = Object.freeze({
  encodeRegionKey: (key: Uint8Array): Uint8Array => encodeBytes(key),
  encodeRegionRange: (start: Uint8Array, end: Uint8Array): readonly [Uint8Array, Uint8Array] => [
    encodeBytes(start),
    end.length === 0 ? end : encodeBytes(end),
  ],
  decodeRegion: (region: RegionInfo): RegionInfo => region,
});

/** Where a request for a key goes and the `Context` it carries. */
export interface Route {
  readonly kv: tikvpb.TikvClient;
  readonly context: kvrpcpb.Context;
  readonly region: RegionInfo;
}

/** A server under comparison. */
export class Target {
  readonly name: TargetName;
  readonly mode: Mode;
  readonly pd: PdClient;
  /** PD's own service, for the calls `PdClient` does not wrap (the pre-GC-states safe point API). */
  readonly pdRpc: pdpb.PDClient;
  readonly #pdChannel: Channel;
  readonly #channels = new Map<string, Channel>();
  readonly #clients = new Map<string, tikvpb.TikvClient>();

  private constructor(name: TargetName, mode: Mode, pd: PdClient, pdChannel: Channel) {
    this.name = name;
    this.mode = mode;
    this.pd = pd;
    this.#pdChannel = pdChannel;
    this.pdRpc = createClient(pdpb.PDDefinition, pdChannel);
  }

  /** Connects to the cluster whose PD listens at `pdEndpoint`. */
  static async connect(name: TargetName, mode: Mode, pdEndpoint: string): Promise<Target> {
    const pd = await PdClient.connect({ endpoints: [pdEndpoint], codec: MEMCOMPARABLE_REGIONS });
    return new Target(name, mode, pd, createChannel(pdEndpoint));
  }

  /** A timestamp from PD's TSO. */
  tso(): Promise<bigint> {
    return this.pd.getTimestamp();
  }

  /** The header PD's own calls need. */
  pdHeader(): pdpb.RequestHeader {
    return pdpb.RequestHeader.fromPartial({ clusterId: this.pd.clusterId });
  }

  /** The region holding `key` as PD sees it now, its leader's store and the `Context` to send. */
  async route(key: Uint8Array): Promise<Route> {
    const region = await this.pd.getRegion(key);
    if (region === undefined) throw new Error(`${this.name}: PD knows no region for the key`);
    const leader = region.leader;
    if (leader === undefined) throw new Error(`${this.name}: region ${region.region.id} has no leader`);
    const kv = await this.#storeClient(leader.storeId);
    const context = kvrpcpb.Context.fromPartial({
      regionId: region.region.id,
      regionEpoch: region.region.epoch,
      peer: { id: leader.id, storeId: leader.storeId },
      ...(this.mode === 'v2'
        ? { apiVersion: kvrpcpb.APIVersion.V2, keyspace: { $case: 'keyspaceId', value: 0 } }
        : {}),
    });
    return { kv, context, region };
  }

  async #storeClient(storeId: bigint): Promise<tikvpb.TikvClient> {
    const store = await this.pd.getStore(storeId);
    if (store === undefined) throw new Error(`${this.name}: PD does not know store ${storeId}`);
    let client = this.#clients.get(store.address);
    if (client === undefined) {
      // Answers may be larger than gRPC's default 4 MiB (a value near TiKV's 8 MiB entry limit).
      const channel = createChannel(store.address, undefined, { 'grpc.max_receive_message_length': -1 });
      this.#channels.set(store.address, channel);
      client = createClient(tikvpb.TikvDefinition, channel);
      this.#clients.set(store.address, client);
    }
    return client;
  }

  /** Closes every channel and the PD client. */
  async close(): Promise<void> {
    for (const c of this.#channels.values()) c.close();
    this.#pdChannel.close();
    await this.pd.close();
  }
}
