import { keyErrorFromWire, type Logger, nextKey, type RequestOptions, type WireKeyError } from '@tikv/common';
import type { RegionExecutor, RegionRequestOptions } from '@tikv/rpc';
import { type RangeTaskResult, RangeTaskRunner } from '../range-task/range-task-runner.js';
import { walkRegions } from '../range-task/region-walk.js';

/** What {@link resolveFlushedLocks} runs on. @internal */
export interface ResolveFlushedLocksOptions {
  readonly exec: RegionExecutor;
  readonly logger: Logger;
  readonly startTs: bigint;
  /** The commit ts; 0n rolls the locks back. */
  readonly commitTs: bigint;
  /** The smallest flushed key. */
  readonly lower: Uint8Array;
  /** The largest flushed key (inclusive). */
  readonly upper: Uint8Array;
  /** Regions resolved at once. */
  readonly concurrency: number;
  /** Backoff budget of each region. */
  readonly maxBackoffMs: number;
  readonly request: RegionRequestOptions;
}

/**
 * Commits or rolls back every lock a pipelined transaction flushed (client-go
 * `resolveFlushedLocks` and `buildPipelinedResolveHandler`): a range task over the flushed keys'
 * range, one region per task, `concurrency` regions at once, each sent one `KvResolveLock` for the
 * whole region (no keys) at the transaction's start ts and commit ts, with its own backoff budget;
 * a region error locates the rest of the range again.
 *
 * The range ends just after the largest flushed key (client-go passes the key itself as the
 * exclusive end, which leaves it out when it starts a region).
 *
 * @param o - the transaction, its outcome and range, the concurrency
 * @param call - signal and deadline of the whole walk
 * @returns the regions resolved
 * @throws TiKVError for a key error TiKV answers
 * @internal
 */
export async function resolveFlushedLocks(
  o: ResolveFlushedLocksOptions,
  call?: RequestOptions,
): Promise<RangeTaskResult> {
  const status = o.commitTs === 0n ? 'rollback' : 'commit';
  const runner = new RangeTaskRunner({
    name: `pipelined-dml-${status}-${o.startTs}`,
    locator: o.exec.locator,
    concurrency: o.concurrency,
    regionsPerTask: 1,
    logger: o.logger,
    handler: (range, signal) =>
      walkRegions(o.exec, range, {
        maxBackoffMs: o.maxBackoffMs,
        signal,
        build: () => ({
          $case: 'ResolveLock' as const,
          value: {
            context: undefined,
            startVersion: o.startTs,
            commitVersion: o.commitTs,
            txnInfos: [],
            keys: [],
            isAsync: false,
            isTxnFile: false,
          },
        }),
        check: (response) => {
          const error = response.value.error;
          if (error !== undefined && error !== null) throw keyErrorFromWire(error as WireKeyError);
        },
        request: o.request,
      }),
  });
  return runner.runOnRange(o.lower, nextKey(o.upper), call);
}
