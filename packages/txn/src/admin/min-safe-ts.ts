import type { RequestOptions } from '@tikv/common';
import { liveTiKVStores, type StoreParts } from '../range-task/store-deps.js';

/** Timeout of one store's GetStoreSafeTS (client-go `ReadTimeoutShort`). */
export const STORE_SAFE_TS_TIMEOUT_MS = 30_000;

/** One store's safe ts, from {@link getMinSafeTs}. */
export interface StoreSafeTs {
  readonly storeId: bigint;
  readonly address: string;
  /** The store's safe ts (0: the store has none yet); undefined when the store did not answer. */
  readonly safeTs: bigint | undefined;
  /** Why the store did not answer. */
  readonly error?: unknown;
}

/** What {@link getMinSafeTs} found. */
export interface MinSafeTs {
  /**
   * The smallest non-zero safe ts over the stores (client-go `updateMinSafeTS`): 0 when a store
   * did not answer, when every store reports 0, or when there is no store.
   */
  readonly minSafeTs: bigint;
  /** Each store's answer. */
  readonly stores: readonly StoreSafeTs[];
}

/**
 * The safe ts of one store over the client's key range (client-go's `StoreSafeTS` request with
 * an empty range; API V2 narrows it to the keyspace): reads at or below it may be served by any
 * replica of the store without waiting (stale reads).
 *
 * @param parts - the per-store transport
 * @param address - the store's address
 * @param options - signal; `timeoutMs` @defaultValue 30000
 */
export async function getStoreSafeTs(
  parts: Pick<StoreParts, 'transport'>,
  address: string,
  options?: RequestOptions,
): Promise<bigint> {
  const empty = new Uint8Array(0);
  const resp = await parts.transport.send(
    address,
    { $case: 'GetStoreSafeTS', value: { context: undefined, keyRange: { startKey: empty, endKey: empty } } },
    { signal: options?.signal, timeoutMs: options?.timeoutMs ?? STORE_SAFE_TS_TIMEOUT_MS },
  );
  return resp.value.safeTs;
}

/**
 * Every TiKV store's safe ts and their minimum (client-go `KVStore.updateSafeTS` for the global
 * scope, asked of the stores; PD's cluster min resolved ts is not used: it needs PD's HTTP API).
 *
 * @param parts - the store list and the per-store transport
 * @param options - signal; `timeoutMs` per store
 */
export async function getMinSafeTs(parts: StoreParts, options?: RequestOptions): Promise<MinSafeTs> {
  const stores = await liveTiKVStores(parts.stores, options);
  const answers = await Promise.all(
    stores.map(async (s): Promise<StoreSafeTs> => {
      try {
        return { storeId: s.id, address: s.address, safeTs: await getStoreSafeTs(parts, s.address, options) };
      } catch (error) {
        return { storeId: s.id, address: s.address, safeTs: undefined, error };
      }
    }),
  );
  options?.signal?.throwIfAborted();
  let min: bigint | undefined;
  let missing = answers.length === 0;
  for (const a of answers) {
    if (a.safeTs === undefined) missing = true;
    else if (a.safeTs !== 0n && (min === undefined || a.safeTs < min)) min = a.safeTs;
  }
  return { minSafeTs: missing ? 0n : (min ?? 0n), stores: answers };
}
