import { keyToLatin1 } from '@tikv/common';
import type { SnapshotReader } from '../union-store/snapshot-reader.js';
import type { PessimisticState } from './pessimistic-state.js';

/**
 * The snapshot, with the values pessimistic locks returned answering first (no read goes to TiKV
 * for them). The reads with commit ts go to the snapshot: a lock's answer has no commit ts.
 *
 * @internal
 */
export function lockedValuesOver(snapshot: SnapshotReader, state: PessimisticState): SnapshotReader {
  const cached = (key: Uint8Array) =>
    state.values.size === 0 ? undefined : state.values.get(keyToLatin1(key));
  return {
    async get(key, options) {
      const hit = cached(key);
      return hit === undefined ? snapshot.get(key, options) : hit.value;
    },
    async batchGet(keys, options) {
      if (state.values.size === 0) return snapshot.batchGet(keys, options);
      const out: (Uint8Array | undefined)[] = new Array(keys.length);
      const missing: Uint8Array[] = [];
      const at: number[] = [];
      keys.forEach((key, i) => {
        const hit = cached(key);
        if (hit === undefined) {
          missing.push(key);
          at.push(i);
        } else out[i] = hit.value;
      });
      if (missing.length > 0) {
        const values = await snapshot.batchGet(missing, options);
        values.forEach((v, j) => {
          out[at[j] as number] = v;
        });
      }
      return out;
    },
    getEntry: (key, options) => snapshot.getEntry(key, options),
    batchGetEntries: (keys, options) => snapshot.batchGetEntries(keys, options),
    iterate: (lower, upper, options) => snapshot.iterate(lower, upper, options),
  };
}
