import type { Backoffer } from '@tikv/common';
import { keyToLatin1, MAX_WRITE_EXECUTION_MS } from '@tikv/common';
import { appendCountBatches, appendSizeBatches } from './batch-plan.js';
import { throwIfPairError, throwIfStorageError } from './raw-errors.js';
import type { RegionExecutor } from './region-executor.js';

const EMPTY = new Uint8Array(0);

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
  await exec.runBatches(
    bo,
    keys,
    (k) => k,
    (out, region, items) => appendCountBatches(out, region, items, shape.maxBatchKeys),
    async (child, batch) => {
      const resp = await exec.sendOnce(
        child,
        { $case: 'RawBatchGet', value: { context: undefined, keys: batch.items, cf: shape.cf } },
        batch.region,
      );
      if (resp === undefined) return false;
      const value = resp.value;
      throwIfPairError(value.pairs);
      for (const p of value.pairs) found.set(keyToLatin1(p.key), p.value ?? EMPTY);
      return true;
    },
  );
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
  await exec.runBatches(
    bo,
    keys,
    (k) => k,
    (out, region, items) => appendCountBatches(out, region, items, shape.maxBatchKeys),
    async (child, batch) => {
      const resp = await exec.sendOnce(
        child,
        {
          $case: 'RawBatchDelete',
          value: { context: undefined, keys: batch.items, cf: shape.cf, forCas: shape.forCas },
        },
        batch.region,
        { maxExecutionDurationMs: MAX_WRITE_EXECUTION_MS },
      );
      if (resp === undefined) return false;
      const value = resp.value;
      throwIfStorageError(value.error);
      return true;
    },
  );
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
  await exec.runBatches(
    bo,
    items,
    (i) => i.key,
    (out, region, group) =>
      appendSizeBatches(out, region, group, (i) => i.key.length + i.value.length, shape.maxBatchPutBytes),
    async (child, batch) => {
      const ttls = withTtl ? batch.items.map((i) => i.ttl) : [];
      const resp = await exec.sendOnce(
        child,
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
        batch.region,
        { maxExecutionDurationMs: MAX_WRITE_EXECUTION_MS },
      );
      if (resp === undefined) return false;
      const value = resp.value;
      throwIfStorageError(value.error);
      return true;
    },
  );
}
