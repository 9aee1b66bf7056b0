import { type Backoffer, keyToLatin1 } from '@tikv/common';
import type { RegionExecutor } from '@tikv/rpc';
import { throwIfPairError, throwIfStorageError } from './raw-errors.js';
import { WRITE } from './raw-limits.js';

const EMPTY = new Uint8Array(0);

const identity = (k: Uint8Array): Uint8Array => k;

/** A pair ready to send, with its TTL in seconds. @internal */
export interface PutItem {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly ttl: bigint;
}

/** Shared settings of one batch call. @internal */
export interface BatchShape {
  readonly cf: string;
  readonly forCas: boolean;
  readonly maxBatchKeys: number;
  readonly maxBatchPutBytes: number;
}

/**
 * client-go `BatchGet`: RawBatchGet per region batch (unique keys), concurrently; values come
 * back in a map by key.
 *
 * @internal
 */
export async function batchGetKeys(
  exec: RegionExecutor,
  bo: Backoffer,
  keys: readonly Uint8Array[],
  shape: BatchShape,
): Promise<Map<string, Uint8Array>> {
  const found = new Map<string, Uint8Array>();
  await exec.runBatches(bo, {
    items: keys,
    keyOf: identity,
    limit: { maxCount: shape.maxBatchKeys },
    send: async (batch, child) => {
      const resp = await exec.sendToRegion(child, batch.region, {
        $case: 'RawBatchGet',
        value: { context: undefined, keys: batch.items as Uint8Array[], cf: shape.cf },
      });
      if (resp === undefined) return 'regionError';
      const value = resp.value;
      throwIfPairError(value.pairs);
      for (const p of value.pairs) found.set(keyToLatin1(p.key), p.value ?? EMPTY);
      return 'done';
    },
  });
  return found;
}

/**
 * client-go `BatchDelete`: RawBatchDelete per region batch, concurrently.
 *
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
 * @internal
 */
export async function batchPutItems(
  exec: RegionExecutor,
  bo: Backoffer,
  items: readonly PutItem[],
  shape: BatchShape,
): Promise<void> {
  const withTtl = items.some((i) => i.ttl !== 0n);
  await exec.runBatches(bo, {
    items,
    keyOf: (i) => i.key,
    limit: { maxBytes: shape.maxBatchPutBytes, sizeOf: (i) => i.key.length + i.value.length },
    send: async (batch, child) => {
      const ttls = withTtl ? batch.items.map((i) => i.ttl) : [];
      const resp = await exec.sendToRegion(
        child,
        batch.region,
        {
          $case: 'RawBatchPut',
          value: {
            context: undefined,
            pairs: batch.items.map((i) => ({ error: undefined, key: i.key, value: i.value, commitTs: 0n })),
            cf: shape.cf,
            ttl: ttls[0] ?? 0n,
            forCas: shape.forCas,
            ttls,
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
