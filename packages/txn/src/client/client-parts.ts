import type { ClusterConnection } from '@tikv/cluster';
import type { Clock, Logger } from '@tikv/common';
import type { PdOracle } from '@tikv/pd';
import { StoreType } from '@tikv/region-cache';
import { RegionExecutor } from '@tikv/rpc';
import type { AdminPd } from '../admin/admin-deps.js';
import { type GcStatesApi, gcKeyspaceIdOf } from '../gc/gc-deps.js';
import type { StoreSender } from '../range-task/store-deps.js';
import type { TxnParts } from '../txn-deps.js';

/**
 * The cluster pieces GC, range tasks and administration run on. `TransactionClient.connect`
 * passes them; a client built on other parts without them refuses those calls.
 */
export interface TxnClusterParts {
  /** PD, connected with the client's codec (`@tikv/pd`'s `PdClient`). */
  readonly pd: AdminPd;
  /** Per-store sends through the client's codec (`connectCluster(...).transport`). */
  readonly transport: StoreSender;
  /** The GC states API of the client's GC scope (`pd.gcStates(gcKeyspaceIdOf(codec.keyspaceMeta))`). */
  readonly gcStates: GcStatesApi;
}

/** What a {@link TransactionClient} runs on. */
export interface TransactionClientParts extends TxnParts {
  /** For GC, range tasks, administration and the visibility check. @defaultValue none */
  readonly cluster?: TxnClusterParts | undefined;
}

/**
 * The parts of a client connected by `TransactionClient.connect`: a region executor over the
 * cluster's sender and region cache, the TiKV stores and per-store sends, the cluster pieces of
 * the client's GC scope, and a close hook that closes the oracle, then the cluster.
 *
 * @param cluster - the cluster connection, for transactional keys
 * @param oracle - the timestamp oracle on the cluster's PD
 * @param tuning - the client's clock and logger
 * @internal
 */
export function clusterClientParts(
  cluster: ClusterConnection,
  oracle: PdOracle,
  tuning: { readonly clock: Clock; readonly logger: Logger },
): TransactionClientParts {
  const executor = new RegionExecutor({
    sender: cluster.sender,
    locator: cluster.regionCache,
    clock: tuning.clock,
    logger: tuning.logger,
  });
  return {
    executor,
    oracle,
    clusterId: cluster.clusterId,
    clock: tuning.clock,
    logger: tuning.logger,
    stores: {
      tikvStores: () =>
        cluster.regionCache
          .getAllStores()
          .filter((s) => s.storeType === StoreType.TIKV && s.address !== '')
          .map((s) => ({ id: s.id, address: s.address })),
      send: (address, request, opts) => cluster.transport.send(address, request, opts),
    },
    cluster: {
      pd: cluster.pd,
      transport: cluster.transport,
      gcStates: cluster.pd.gcStates(gcKeyspaceIdOf(cluster.codec.keyspaceMeta)),
    },
    close: async () => {
      oracle.close();
      await cluster.close();
    },
  };
}
