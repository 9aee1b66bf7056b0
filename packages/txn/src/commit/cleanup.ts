import { type Backoffer, keyErrorFromWire, type WireKeyError } from '@tikv/common';
import type { CommitState } from './commit-state.js';
import type { TxnMutation } from './mutations.js';

const keyOf = (m: TxnMutation): Uint8Array => m.key;
const keySize = (m: TxnMutation): number => m.key.length;

/**
 * Rolls back mutations with `KvBatchRollback` (client-go `cleanupMutations`): grouped by region,
 * cut at the commit batch size (by key bytes), the primary's batch first, so a reader that checks
 * the primary sees the rollback before any secondary does. Rolling back a key twice, or one never
 * prewritten, is fine: TiKV leaves a rollback record either way.
 *
 * @param s - the commit
 * @param bo - the backoffer (cleanup's own budget)
 * @param items - mutations in key order
 * @throws the typed key error TiKV answers (for a key already committed, say)
 * @internal
 */
export async function cleanupMutations(
  s: CommitState,
  bo: Backoffer,
  items: readonly TxnMutation[],
): Promise<void> {
  const { exec } = s.deps;
  const primaryFirst = s.primary !== undefined && items.includes(s.primary);
  await exec.runBatches(bo, {
    items,
    keyOf,
    sorted: true,
    limit: { maxBytes: s.options.commitBatchSizeBytes, sizeOf: keySize },
    concurrency: s.options.concurrency,
    ...(primaryFirst ? { primary: { key: s.primaryKey } } : {}),
    send: async (batch, child) => {
      const response = await exec.sendToRegion(
        child,
        batch.region,
        {
          $case: 'BatchRollback',
          value: {
            context: undefined,
            startVersion: s.startTs,
            keys: batch.items.map(keyOf),
            isTxnFile: false,
          },
        },
        s.rollbackOptions,
      );
      if (response === undefined) return 'regionError';
      const keyError = response.value.error;
      if (keyError !== undefined && keyError !== null) throw keyErrorFromWire(keyError as WireKeyError);
      return 'done';
    },
  });
}
