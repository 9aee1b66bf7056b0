import { type RequestOptions, TiKVError } from '@tikv/common';
import { liveTiKVStores, type StoreParts } from './store-deps.js';

/** Timeout of one store's UnsafeDestroyRange (client-go `unsafeDestroyRangeTimeout`). */
export const UNSAFE_DESTROY_RANGE_TIMEOUT_MS = 5 * 60_000;

/**
 * Frees the disk space of `[startKey, endKey)` on every TiKV store at once, bypassing Raft
 * (client-go `KVStore.UnsafeDestroyRange`). The range must never be read again; calling it
 * again on the same range is harmless. The store list is fetched on every call, so it is less
 * likely to be stale.
 *
 * @param parts - the store list and the per-store transport
 * @param startKey - inclusive start, in the client's keys
 * @param endKey - exclusive end; empty is unbounded (the keyspace's end in API V2)
 * @param options - signal; `timeoutMs` per store @defaultValue 5 minutes per store
 * @throws TiKVError `RPC_ERROR` naming every store that failed (cause: an `AggregateError`)
 */
export async function unsafeDestroyRange(
  parts: StoreParts,
  startKey: Uint8Array,
  endKey: Uint8Array,
  options?: RequestOptions,
): Promise<void> {
  const stores = await liveTiKVStores(parts.stores, options);
  const timeoutMs = options?.timeoutMs ?? UNSAFE_DESTROY_RANGE_TIMEOUT_MS;
  const results = await Promise.allSettled(
    stores.map(async (store) => {
      const resp = await parts.transport.send(
        store.address,
        { $case: 'UnsafeDestroyRange', value: { context: undefined, startKey, endKey } },
        { signal: options?.signal, timeoutMs },
      );
      if (resp.value.regionError !== undefined) {
        throw new TiKVError('REGION_ERROR', `store ${store.id}: ${resp.value.regionError.message}`);
      }
      if (resp.value.error !== '') {
        throw new TiKVError('INTERNAL', `range failed on store ${store.id}: ${resp.value.error}`);
      }
    }),
  );
  options?.signal?.throwIfAborted();
  const errors = results
    .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    .map((r) => r.reason);
  if (errors.length > 0) {
    throw new TiKVError(
      'RPC_ERROR',
      `[unsafe destroy range] destroy range finished with errors: ${errors.map(String).join('; ')}`,
      { cause: new AggregateError(errors) },
    );
  }
}
