import { type Backoffer, keysEqual, searchSortedKey } from '@tikv/common';
import type { RegionExecutor } from '@tikv/rpc';
import { throwIfPairError, throwIfStorageError } from './raw-errors.js';
import { WRITE } from './raw-limits.js';

const EMPTY = new Uint8Array(0);

const identity = (k: Uint8Array): Uint8Array => k;

/** A pair to write, with its own TTL in seconds when `batchPut` was given one per pair. @internal */
export interface PutItem {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly ttl?: bigint;
}

/** Shared settings of one batch call. @internal */
export interface BatchShape {
  readonly cf: string;
  readonly forCas: boolean;
  readonly maxBatchKeys: number;
  readonly maxBatchPutBytes: number;
}

/**
 * Puts each pair's value at its key's index in `keys` (ascending, distinct). TiKV answers a
 * batch's keys in the order they were sent, so each pair is checked against the next key of
 * the batch first; one met out of order is found by binary search.
 */
function placeValues(
  keys: readonly Uint8Array[],
  batch: readonly Uint8Array[],
  pairs: readonly { readonly key: Uint8Array; readonly value?: Uint8Array | undefined }[],
  values: (Uint8Array | undefined)[],
): void {
  let next = pairs.length === 0 ? 0 : searchSortedKey(keys, batch[0] as Uint8Array);
  for (const p of pairs) {
    const at = next >= 0 && keysEqual(keys[next] as Uint8Array, p.key) ? next : searchSortedKey(keys, p.key);
    if (at < 0) continue;
    values[at] = p.value ?? EMPTY;
    next = at + 1 < keys.length ? at + 1 : -1;
  }
}

/**
 * client-go `BatchGet`: RawBatchGet per region batch, concurrently.
 *
 * @param keys - distinct keys, ascending (`sortKeys`)
 * @param values - receives the values aligned with `keys`: left undefined where a key is absent
 * @internal
 */
export function batchGetKeys(
  exec: RegionExecutor,
  bo: Backoffer,
  keys: readonly Uint8Array[],
  values: (Uint8Array | undefined)[],
  shape: BatchShape,
): Promise<unknown> {
  const cf = shape.cf;
  return exec.runBatches(bo, {
    items: keys,
    keyOf: identity,
    limit: { maxCount: shape.maxBatchKeys },
    sorted: true,
    send: async (batch, child) => {
      const items = batch.items;
      const resp = await exec.sendToRegion(child, batch.region, {
        $case: 'RawBatchGet',
        value: { context: undefined, keys: items as Uint8Array[], cf },
      });
      if (resp === undefined) return 'regionError';
      const pairs = resp.value.pairs;
      throwIfPairError(pairs);
      placeValues(keys, items, pairs, values);
      return 'done';
    },
  });
}

/**
 * client-go `BatchDelete`: RawBatchDelete per region batch, concurrently.
 *
 * @param keys - distinct keys, ascending (`sortKeys`)
 * @internal
 */
export async function batchDeleteKeys(
  exec: RegionExecutor,
  bo: Backoffer,
  keys: readonly Uint8Array[],
  shape: BatchShape,
): Promise<void> {
  await exec.runBatches(bo, {
    items: keys,
    keyOf: identity,
    limit: { maxCount: shape.maxBatchKeys },
    sorted: true,
    send: async (batch, child) => {
      const resp = await exec.sendToRegion(
        child,
        batch.region,
        {
          $case: 'RawBatchDelete',
          value: {
            context: undefined,
            keys: batch.items as Uint8Array[],
            cf: shape.cf,
            forCas: shape.forCas,
          },
        },
        WRITE,
      );
      if (resp === undefined) return 'regionError';
      throwIfStorageError(resp.value.error);
      return 'done';
    },
  });
}

/**
 * client-go `BatchPutWithTTL`: RawBatchPut per region batch cut by size, concurrently. TTLs
 * travel per pair (`ttls`) when any is set, with `ttl` holding the first as client-go does.
 *
 * @param items - the pairs, with a TTL each when they have their own
 * @param ttl - the TTL of every pair without one of its own
 * @internal
 */
export async function batchPutItems(
  exec: RegionExecutor,
  bo: Backoffer,
  items: readonly PutItem[],
  ttl: bigint,
  shape: BatchShape,
): Promise<void> {
  const withTtl = ttl !== 0n || items.some((i) => i.ttl !== undefined && i.ttl !== 0n);
  const { cf, forCas } = shape;
  await exec.runBatches(bo, {
    items,
    keyOf: (i) => i.key,
    limit: { maxBytes: shape.maxBatchPutBytes, sizeOf: (i) => i.key.length + i.value.length },
    send: async (batch, child) => {
      const pairs = new Array<{ error: undefined; key: Uint8Array; value: Uint8Array; commitTs: bigint }>(
        batch.items.length,
      );
      const ttls: bigint[] = withTtl ? new Array<bigint>(batch.items.length) : [];
      batch.items.forEach((i, n) => {
        pairs[n] = { error: undefined, key: i.key, value: i.value, commitTs: 0n };
        if (withTtl) ttls[n] = i.ttl ?? ttl;
      });
      const resp = await exec.sendToRegion(
        child,
        batch.region,
        {
          $case: 'RawBatchPut',
          value: { context: undefined, pairs, cf, ttl: ttls[0] ?? 0n, forCas, ttls },
        },
        WRITE,
      );
      if (resp === undefined) return 'regionError';
      throwIfStorageError(resp.value.error);
      return 'done';
    },
  });
}
