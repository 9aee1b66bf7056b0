import {
  keyErrorFromWire,
  keyToLatin1,
  type RequestOptions,
  sortKeys,
  type WireKeyError,
} from '@tikv/common';
import type { BudgetOptions, RegionExecutor, RegionRequestOptions } from '@tikv/rpc';

const identity = (k: Uint8Array): Uint8Array => k;

/** What {@link bufferBatchGet} reads with. @internal */
export interface BufferReadParts {
  readonly exec: RegionExecutor;
  /** The transaction's start ts: TiKV answers from the locks of this transaction only. */
  readonly startTs: bigint;
  /** Most keys per request. */
  readonly batchSize: number;
  /** The reads' request options (request source, resource group, priority). */
  readonly request: RegionRequestOptions;
  /** The reads' backoff budget. */
  readonly budget: BudgetOptions;
}

/**
 * Reads the values a pipelined transaction's flushed locks hold (client-go `BatchGetWithTier`
 * with `BatchGetBufferTier`, a `KvBufferBatchGet`): the keys grouped by region and sent
 * concurrently, a region error regrouping its batch. A flushed delete reads as a zero-length value;
 * a key the transaction did not flush is absent.
 *
 * @returns the values by `keyToLatin1` key
 * @throws the typed key error TiKV answered for a key
 * @internal
 */
export async function bufferBatchGet(
  parts: BufferReadParts,
  keys: readonly Uint8Array[],
  options?: RequestOptions,
): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  if (keys.length === 0) return out;
  const { keys: distinct } = sortKeys(keys);
  const { exec } = parts;
  const { bo, scope } = exec.begin(options, parts.budget);
  try {
    await exec.runBatches(bo, {
      items: distinct,
      keyOf: identity,
      sorted: true,
      limit: { maxCount: parts.batchSize },
      send: async (batch, child) => {
        const resp = await exec.sendToRegion(
          child,
          batch.region,
          {
            $case: 'BufferBatchGet',
            value: { context: undefined, keys: batch.items as Uint8Array[], version: parts.startTs },
          },
          parts.request,
        );
        if (resp === undefined) return 'regionError';
        const error = resp.value.error;
        if (error !== undefined && error !== null) throw keyErrorFromWire(error as WireKeyError);
        for (const pair of resp.value.pairs) {
          if (pair.error !== undefined && pair.error !== null)
            throw keyErrorFromWire(pair.error as WireKeyError);
          out.set(keyToLatin1(pair.key), pair.value);
        }
        return 'done';
      },
    });
  } finally {
    scope.dispose();
  }
  return out;
}
