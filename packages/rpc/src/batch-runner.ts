import { type Backoffer, InvalidArgumentError } from '@tikv/common';
import {
  appendBatches,
  checkBatchLimit,
  groupByRegion,
  holdsKey,
  type RegionBatch,
} from './region-batches.js';
import type { BatchOutcome, BatchRun, RegionExecutor, RunBatchesOptions } from './region-executor.js';
import { concurrencyArg, runRound } from './retry-round.js';

/** The answer of a run without background work: one frozen object for every run. */
const NO_BACKGROUND: BatchRun = Object.freeze({ background: undefined });

/** Groups items by region and cuts the groups into batches. */
async function plan<T>(
  exec: RegionExecutor,
  bo: Backoffer,
  items: readonly T[],
  options: RunBatchesOptions<T>,
): Promise<RegionBatch<T>[]> {
  const { keyOf, limit, primary } = options;
  const groups = await groupByRegion(exec.locator, items, {
    keyOf,
    ...(bo.signal === undefined ? {} : { signal: bo.signal }),
  });
  const isPrimary =
    primary === undefined ? undefined : (part: readonly T[]) => holdsKey(part, keyOf, primary.key);
  const batches: RegionBatch<T>[] = [];
  for (const g of groups) appendBatches(batches, g.location.region, g.items, limit, isPrimary);
  return batches;
}

/**
 * Sends one batch until it is done or meets a region error, re-sending it (or the part the
 * callback names) on `'retry'` with the same backoffer.
 *
 * @returns undefined when done; the items to group again after a region error
 */
async function sendBatch<T>(
  batch: RegionBatch<T>,
  bo: Backoffer,
  send: RunBatchesOptions<T>['send'],
): Promise<readonly T[] | undefined> {
  let current = batch;
  for (;;) {
    const outcome: BatchOutcome<T> = await send(current, bo);
    if (outcome === 'done') return undefined;
    if (outcome === 'regionError') return current.items;
    if (outcome === 'retry') continue;
    if (outcome.retry.length === 0) return undefined;
    current = { region: current.region, items: outcome.retry, primary: current.primary };
  }
}

/** Sends batches round after round until every item is done. */
async function sendAll<T>(
  exec: RegionExecutor,
  bo: Backoffer,
  first: RegionBatch<T>[],
  options: RunBatchesOptions<T>,
  concurrency: number,
): Promise<void> {
  let batches = first;
  while (batches.length > 0) {
    const only = batches.length === 1 ? batches[0] : undefined;
    let retry: readonly T[];
    if (only !== undefined) {
      // One batch, nothing to cancel: the operation's backoffer serves as the batch's own,
      // exactly as a fork of it would (its sleep would flow back anyway).
      retry = (await sendBatch(only, bo, options.send)) ?? [];
    } else {
      const failed = await runRound(bo, batches, concurrency, (batch, child) =>
        sendBatch(batch, child, options.send),
      );
      retry = failed.flatMap((f) => f ?? []);
    }
    batches = retry.length === 0 ? [] : await plan(exec, bo, retry, options);
  }
}

/** @internal */
export async function runBatches<T>(
  exec: RegionExecutor,
  bo: Backoffer,
  options: RunBatchesOptions<T>,
): Promise<BatchRun> {
  checkBatchLimit(options.limit);
  const concurrency = concurrencyArg(options.concurrency, exec.tuning.maxConcurrency, 'options.concurrency');
  if (options.items.length === 0) return NO_BACKGROUND;
  let batches = await plan(exec, bo, options.items, options);
  const primary = options.primary;
  if (primary === undefined) {
    await sendAll(exec, bo, batches, options, concurrency);
    return NO_BACKGROUND;
  }
  // The primary's batch alone first; after a region error its items are grouped again and the
  // batch that now holds the primary goes alone again (client-go re-enters
  // `doActionOnMutations`, primary first, for them).
  const rest: RegionBatch<T>[] = [];
  for (;;) {
    const index = batches.findIndex((b) => b.primary);
    const head = batches[index];
    if (head === undefined) {
      throw new InvalidArgumentError('options.primary.key must be the key of one of the items');
    }
    for (let i = 0; i < batches.length; i++) if (i !== index) rest.push(batches[i] as RegionBatch<T>);
    const retry = await sendBatch(head, bo, options.send);
    if (retry === undefined) break;
    batches = await plan(exec, bo, retry, options);
  }
  if (primary.background === undefined) {
    await sendAll(exec, bo, rest, options, concurrency);
    return NO_BACKGROUND;
  }
  return { background: sendAll(exec, primary.background, rest, options, concurrency) };
}
