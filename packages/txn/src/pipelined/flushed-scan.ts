import {
  compareKeys,
  keyErrorFromWire,
  keyToLatin1,
  nextKey,
  type RequestOptions,
  throwIfAborted,
  type WireKeyError,
} from '@tikv/common';
import type { BudgetOptions, RegionExecutor, RegionRequestOptions, TikvRequest } from '@tikv/rpc';

type ScanLockRequest = Extract<TikvRequest, { $case: 'ScanLock' }>;

import type { KvPair } from '../kv-pair.js';
import type { SnapshotIterateOptions, SnapshotReader } from '../union-store/snapshot-reader.js';
import type { BufferBatchGetter } from './pipelined-mem-buffer.js';

/** Locks per `KvScanLock` page when a scan looks for the transaction's flushed keys. */
const SCAN_LOCK_PAGE = 1024;

/** What {@link flushedOverSnapshot} reads with. @internal */
export interface FlushedScanParts {
  readonly exec: RegionExecutor;
  readonly startTs: bigint;
  readonly budget: BudgetOptions;
  readonly request: RegionRequestOptions;
  /** The flushed keys' range, or undefined before the first flush. */
  readonly flushedRange: () => { readonly lower: Uint8Array; readonly upper: Uint8Array } | undefined;
  /** Reads the flushed keys' values. */
  readonly bufferBatchGet: BufferBatchGetter;
}

/**
 * The keys of `[lower, upper)` this transaction holds flushed locks on, ascending: `KvScanLock`
 * region by region (the executor's range walk), pages of {@link SCAN_LOCK_PAGE}, keeping the locks
 * of its start ts.
 *
 * @internal
 */
export async function scanFlushedKeys(
  p: FlushedScanParts,
  lower: Uint8Array,
  upper: Uint8Array,
  options?: RequestOptions,
): Promise<Uint8Array[]> {
  const keys: Uint8Array[] = [];
  const { bo, scope } = p.exec.begin(options, p.budget);
  try {
    await p.exec.walkRange(bo, {
      start: lower,
      end: upper,
      request: p.request,
      build: (span): ScanLockRequest => ({
        $case: 'ScanLock',
        value: {
          context: undefined,
          maxVersion: p.startTs,
          startKey: span.startKey,
          endKey: span.endKey,
          limit: SCAN_LOCK_PAGE,
        },
      }),
      onResponse: (response) => {
        const resp = response.value;
        if (resp.error !== undefined && resp.error !== null)
          throw keyErrorFromWire(resp.error as WireKeyError);
        for (const lock of resp.locks) if (lock.lockVersion === p.startTs) keys.push(lock.key);
        const last = resp.locks[resp.locks.length - 1];
        // A full page: the region has more locks after the last one.
        return resp.locks.length >= SCAN_LOCK_PAGE && last !== undefined
          ? { resumeAt: nextKey(last.key) }
          : 'next';
      },
    });
  } finally {
    scope.dispose();
  }
  return keys;
}

/**
 * The committed data with this transaction's flushed writes over it, as a {@link SnapshotReader}
 * for the union merge of a pipelined transaction's scans. TiKV's scans skip the transaction's own
 * locks (they are `resolved_locks` of its snapshot), so the flushed keys of the walked range are
 * found with `KvScanLock` and read with `KvBufferBatchGet` first, and merged in: a flushed value
 * wins, a flushed delete hides the key. Only the part of the range inside the flushed keys'
 * range is looked at; that part is held in memory during the walk.
 *
 * @internal
 */
export function flushedOverSnapshot(p: FlushedScanParts, snapshot: SnapshotReader): SnapshotReader {
  return {
    get: (key, options) => snapshot.get(key, options),
    batchGet: (keys, options) => snapshot.batchGet(keys, options),
    getEntry: (key, options) => snapshot.getEntry(key, options),
    batchGetEntries: (keys, options) => snapshot.batchGetEntries(keys, options),
    iterate: (lower, upper, options) => mergeFlushed(p, snapshot, lower, upper, options),
  };
}

async function* mergeFlushed(
  p: FlushedScanParts,
  snapshot: SnapshotReader,
  lower: Uint8Array,
  upper: Uint8Array,
  options?: SnapshotIterateOptions,
): AsyncGenerator<KvPair> {
  const reverse = options?.reverse ?? false;
  const keyOnly = options?.keyOnly ?? false;
  const flushed = await flushedPairs(p, lower, upper, options);
  if (reverse) flushed.reverse();
  const snap = snapshot.iterate(lower, upper, options)[Symbol.asyncIterator]();
  let i = 0;
  try {
    let s = await snap.next();
    for (;;) {
      throwIfAborted(options?.signal);
      const f = flushed[i];
      if (f === undefined) {
        if (s.done === true) return;
        yield s.value;
        s = await snap.next();
        continue;
      }
      const c = s.done === true ? -1 : compareKeys(f.key, s.value.key) * (reverse ? -1 : 1);
      if (c > 0) {
        yield s.value;
        s = await snap.next();
        continue;
      }
      i++;
      if (c === 0) s = await snap.next();
      if (f.value.length > 0) yield { key: f.key, value: keyOnly ? new Uint8Array(0) : f.value };
    }
  } finally {
    await snap.return?.();
  }
}

/** The flushed pairs of `[lower, upper)`, ascending; a delete has a zero-length value. */
async function flushedPairs(
  p: FlushedScanParts,
  lower: Uint8Array,
  upper: Uint8Array,
  options?: RequestOptions,
): Promise<KvPair[]> {
  const range = p.flushedRange();
  if (range === undefined) return [];
  const from = compareKeys(lower, range.lower) > 0 ? lower : range.lower;
  const pastUpper = nextKey(range.upper);
  const to = upper.length > 0 && compareKeys(upper, pastUpper) < 0 ? upper : pastUpper;
  if (compareKeys(from, to) >= 0) return [];
  const keys = await scanFlushedKeys(p, from, to, options);
  if (keys.length === 0) return [];
  const values = await p.bufferBatchGet(keys, options);
  const out: KvPair[] = [];
  for (const key of keys) {
    const value = values.get(keyToLatin1(key));
    if (value !== undefined) out.push({ key, value });
  }
  return out;
}
