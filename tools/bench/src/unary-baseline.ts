/**
 * The baseline that client benchmarks are compared with: bare `@grpc/grpc-js` unary RawGet calls
 * carrying a full Context for the region of a key, with the same generated codec.
 */
import * as grpc from '@grpc/grpc-js';
import { kvrpcpb, pdpb } from '@tikv/proto';
import { createChannel, createClient } from 'nice-grpc';
import type { StandaloneCluster } from './standalone-cluster.js';

/** A bare unary RawGet caller. */
export interface UnaryRawGet {
  /** The request every call sends. */
  readonly request: kvrpcpb.RawGetRequest;
  /** The address of the store that leads the key's region. */
  readonly address: string;
  /** Sends the request once. */
  call(): Promise<kvrpcpb.RawGetResponse>;
  close(): void;
}

const serialize = (r: kvrpcpb.RawGetRequest): Buffer => Buffer.from(kvrpcpb.RawGetRequest.encode(r).finish());
const deserialize = (b: Buffer): kvrpcpb.RawGetResponse => kvrpcpb.RawGetResponse.decode(b);

/** Asks PD for the region and leader of `key`, then opens one bare grpc-js channel to its store. */
export async function unaryRawGet(cluster: StandaloneCluster, key: Uint8Array): Promise<UnaryRawGet> {
  const channel = createChannel(cluster.pdEndpoint);
  let request: kvrpcpb.RawGetRequest;
  let address: string | undefined;
  try {
    const pd = createClient(pdpb.PDDefinition, channel);
    const r = await pd.getRegion({ header: { clusterId: cluster.clusterId }, regionKey: key });
    if (r.region === undefined || r.leader === undefined) throw new Error('no region for the benchmark key');
    address = cluster.stores.get(r.leader.storeId);
    request = kvrpcpb.RawGetRequest.fromPartial({
      context: {
        regionId: r.region.id,
        regionEpoch: r.region.regionEpoch,
        peer: r.leader,
        requestSource: 'bench',
        resourceControlContext: { resourceGroupName: 'default' },
      },
      key,
      cf: 'default',
    });
  } finally {
    channel.close();
  }
  if (address === undefined) throw new Error('the leader store is not in the cluster output');
  const client = new grpc.Client(address, grpc.credentials.createInsecure());
  return {
    request,
    address,
    call: () =>
      new Promise((resolve, reject) => {
        client.makeUnaryRequest('/tikvpb.Tikv/RawGet', serialize, deserialize, request, (e, r) =>
          e ? reject(e) : resolve(r as kvrpcpb.RawGetResponse),
        );
      }),
    close: () => client.close(),
  };
}
