import type { RequestOptions } from '@tikv/common';
import type { ResponseFor, TikvRequest } from '@tikv/rpc';

/** A store as the store list reports it (`@tikv/pd`'s `StoreInfo` satisfies it). */
export interface StoreRecord {
  readonly id: bigint;
  readonly address: string;
  /** `up`, `offline` or `tombstone`. */
  readonly state: string;
  readonly labels: readonly { readonly key: string; readonly value: string }[];
}

/** Lists the cluster's stores (`@tikv/pd`'s `PdClient.getAllStores`). */
export interface StoreLister {
  getAllStores(options?: RequestOptions): Promise<readonly StoreRecord[]>;
}

/**
 * Sends one command to one store address, keys through the client's codec (the `transport` of
 * `@tikv/cluster`'s `connectCluster`: a `CodecTransport`, so API V2 ranges stay in the keyspace).
 */
export interface StoreSender {
  send<R extends TikvRequest>(address: string, request: R, options?: RequestOptions): Promise<ResponseFor<R>>;
}

/** What per-store commands run on: the store list and the per-store transport. */
export interface StoreParts {
  readonly stores: StoreLister;
  readonly transport: StoreSender;
}

/** Whether a store is a TiFlash one (its `engine` label). */
export function isTiFlashStore(store: StoreRecord): boolean {
  return store.labels.some(
    (l) => l.key === 'engine' && (l.value === 'tiflash' || l.value === 'tiflash_compute'),
  );
}

/** The stores a per-store command goes to: not tombstones, not TiFlash (client-go `listStoresForUnsafeDestroy`). */
export async function liveTiKVStores(lister: StoreLister, options?: RequestOptions): Promise<StoreRecord[]> {
  const all = await lister.getAllStores(options);
  return all.filter((s) => s.state !== 'tombstone' && !isTiFlashStore(s));
}
