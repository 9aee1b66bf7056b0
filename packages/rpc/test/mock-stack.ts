// The client stack the end-to-end tests run against @tikv/mock-cluster (real gRPC on loopback):
// PdClient feeds the region cache, RpcClient carries the requests, the sender retries.
import { MockCluster } from '@tikv/mock-cluster';
import { PdClient } from '@tikv/pd';
import { RegionCache, type RegionCacheOptions } from '@tikv/region-cache';
import { RegionRequestSender, RpcClient } from '../src/index.js';

/** What {@link startMockStack} started; `close` stops it all. */
export interface MockStack {
  readonly cluster: MockCluster;
  readonly pd: PdClient;
  readonly cache: RegionCache;
  readonly rpc: RpcClient;
  readonly sender: RegionRequestSender;
  close(): Promise<void>;
}

/** Options of {@link startMockStack}. */
export interface MockStackOptions {
  /** The region cache's options (`backgroundTasks` is off unless set). */
  readonly cache?: RegionCacheOptions;
  /** Probe a failed store's liveness through the RpcClient, every 20 ms. @defaultValue false */
  readonly livenessProbe?: boolean;
  /** Feed TiKV's health feedback into the cache's slow scores. @defaultValue false */
  readonly healthFeedback?: boolean;
}

/**
 * Starts a three-store mock cluster and the client stack on it.
 *
 * @param options - cache options, liveness probing, health feedback
 */
export async function startMockStack(options: MockStackOptions = {}): Promise<MockStack> {
  const cluster = await MockCluster.start({ stores: 3 });
  const pd = await PdClient.connect({ endpoints: cluster.pdEndpoints });
  let cache: RegionCache | undefined;
  const rpc = new RpcClient(
    options.healthFeedback === true
      ? {
          onHealthFeedback: (_address, feedback) =>
            cache?.onHealthFeedback(feedback.storeId, feedback.slowScore),
        }
      : {},
  );
  const regionCache = new RegionCache(pd, {
    backgroundTasks: false,
    ...(options.livenessProbe === true
      ? {
          healthCheckIntervalMs: 20,
          livenessProbe: (store, signal) => rpc.probeLiveness(store.address, { signal }),
        }
      : {}),
    ...options.cache,
  });
  cache = regionCache;
  const sender = new RegionRequestSender({ locator: regionCache, transport: rpc });
  return {
    cluster,
    pd,
    cache: regionCache,
    rpc,
    sender,
    close: async () => {
      await regionCache.close();
      await rpc.close();
      await pd.close();
      await cluster.close();
    },
  };
}
