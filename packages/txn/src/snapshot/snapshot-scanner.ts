import {
  type Backoffer,
  compareKeys,
  type ExecDetails,
  KeyIsLockedError,
  keyErrorFromWire,
  nextKey,
} from '@tikv/common';
import type { kvrpcpb } from '@tikv/proto';
import type { BudgetOptions, RegionExecutor, RegionRequestOptions } from '@tikv/rpc';
import type { KvPair } from '../kv-pair.js';
import type { LockResolving } from '../txn-deps.js';

const EMPTY = new Uint8Array(0);

/** What a scan needs from its snapshot. @internal */
export interface ScanHost {
  /** The snapshot's read ts (it may move: `setTs`). */
  ts(): bigint;
  readonly exec: RegionExecutor;
  readonly resolver: LockResolving;
  readonly budget: BudgetOptions;
  /** The request context carrying the resolved and committed locks, if any. */
  context(): kvrpcpb.Context | undefined;
  /** The region request options of the reads. */
  request(): RegionRequestOptions;
  /** A point read that resolves the locks it meets (the snapshot's `get` without the cache). */
  pointGet(bo: Backoffer, key: Uint8Array): Promise<Uint8Array | undefined>;
  /** Refuses a ts from the future (once per snapshot). */
  validate(bo: Backoffer): Promise<void>;
  /** The resolver's request source and resource group. */
  readonly resolveSource: { readonly requestSource?: string; readonly resourceGroupName?: string };
}

/** The settled options of one scan. @internal */
export interface ScanShape {
  readonly reverse: boolean;
  readonly keyOnly: boolean;
  readonly batchSize: number;
  readonly limit: number;
  readonly signal: AbortSignal | undefined;
  readonly timeoutMs: number | undefined;
  /** Receives the scan's execution details when it ends. */
  readonly onDetails: ((details: ExecDetails) => void) | undefined;
}

/** One page of a scan and where the next one starts. */
interface Page {
  readonly pairs: readonly kvrpcpb.KvPair[];
  readonly done: boolean;
}

/**
 * Pairs of `[lower, upper)` at the snapshot's ts, region by region and page by page (client-go
 * `txnsnapshot.Scanner`), ascending or with `reverse` descending. A page asks for
 * `batchSize` pairs; a short page ends its region. A locked pair is read again with a point
 * read (which resolves the lock); a response-level lock is resolved and the page asked again
 * after a `txnLockFast` backoff. Each page has its own backoff budget; the call's signal and
 * timeout cover the whole walk. Breaking out of the loop stops it.
 *
 * @internal
 */
export async function* scanPairs(
  host: ScanHost,
  lower: Uint8Array,
  upper: Uint8Array,
  shape: ScanShape,
): AsyncGenerator<KvPair> {
  const { exec } = host;
  const { reverse, keyOnly, limit } = shape;
  const op = exec.begin(shape, host.budget);
  try {
    await host.validate(op.bo);
    let nextStart = lower;
    let nextEnd = upper;
    let yielded = 0;
    let bo = op.bo;
    for (;;) {
      if (reverse ? !before(lower, nextEnd) : !before(nextStart, upper)) return;
      const batch = Math.min(shape.batchSize, limit - yielded);
      const { pairs, done, next } = await fetchPage(
        host,
        bo,
        reverse ? nextEnd : nextStart,
        reverse ? lower : upper,
        {
          reverse,
          keyOnly,
          batch,
        },
      );
      for (const pair of pairs) {
        if (
          reverse ? compareKeys(pair.key, lower) < 0 : upper.length > 0 && compareKeys(pair.key, upper) >= 0
        )
          return;
        let value: Uint8Array | undefined = pair.value;
        if (pair.error !== undefined) {
          value = await host.pointGet(bo, pair.key);
          if (value === undefined) continue;
        }
        yield { key: pair.key, value: keyOnly ? EMPTY : value };
        if (++yielded >= limit) return;
      }
      if (done || next === undefined) return;
      if (reverse) nextEnd = next;
      else nextStart = next;
      bo = exec.backofferIn(op.scope, host.budget);
    }
  } finally {
    op.scope.dispose();
  }
}

/** Whether a forward walk at `start` has keys left before `end` (empty: none). */
function before(start: Uint8Array, end: Uint8Array): boolean {
  return end.length === 0 || compareKeys(start, end) < 0;
}

/**
 * One page: the pairs, and the position of the next page (undefined when the walk is over).
 * Forward `at` is the inclusive start, reverse the exclusive end; `bound` is the other end.
 */
async function fetchPage(
  host: ScanHost,
  bo: Backoffer,
  at: Uint8Array,
  bound: Uint8Array,
  req: { readonly reverse: boolean; readonly keyOnly: boolean; readonly batch: number },
): Promise<Page & { readonly next: Uint8Array | undefined }> {
  const { reverse, keyOnly, batch } = req;
  for (;;) {
    const step = await host.exec.sendRangeStep(
      bo,
      { start: at, end: bound, reverse },
      (span) => ({
        $case: 'Scan' as const,
        value: {
          context: host.context(),
          // A reverse scan starts at its upper bound and ends at its lower one.
          startKey: reverse ? span.endKey : span.startKey,
          endKey: reverse ? span.startKey : span.endKey,
          limit: batch,
          version: host.ts(),
          keyOnly,
          reverse,
          sampleStep: 0,
        },
      }),
      host.request(),
    );
    const resp = step.response.value;
    if (resp.error !== undefined) {
      // The page is incomplete: resolve the lock, then ask for the same page again.
      const err = keyErrorFromWire(resp.error);
      if (!(err instanceof KeyIsLockedError)) throw err;
      const res = await host.resolver.resolveLocks(bo, {
        callerStartTs: host.ts(),
        locks: [err.lock],
        ...host.resolveSource,
      });
      if (res.msBeforeTxnExpired > 0) await bo.backoffWithMaxSleepTxnLockFast(res.msBeforeTxnExpired, err);
      continue;
    }
    const pairs = resp.pairs;
    for (const pair of pairs) {
      if (pair.error === undefined) continue;
      const err = keyErrorFromWire(pair.error);
      if (!(err instanceof KeyIsLockedError)) throw err;
      if (pair.key.length === 0) pair.key = err.lock.key;
    }
    if (pairs.length < batch) return { pairs, done: step.next === undefined, next: step.next };
    // A full page: the region may hold more after the last key.
    const last = (pairs[pairs.length - 1] as kvrpcpb.KvPair).key;
    return { pairs, done: false, next: reverse ? last : nextKey(last) };
  }
}
