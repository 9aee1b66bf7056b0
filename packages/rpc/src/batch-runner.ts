import { type Backoffer, InvalidArgumentError, type RequestOptions } from '@tikv/common';
import {
  appendBatches,
  checkBatchLimit,
  groupFrom,
  holdsKey,
  oneRegion,
  type RegionBatch,
  type RegionGroup,
} from './region-batches.js';
import type { BatchOutcome, BatchRun, RegionExecutor, RunBatchesOptions } from './region-executor.js';
import { concurrencyArg, runRound } from './retry-round.js';

/** The answer of a run without background work: one frozen object for every run. */
const NO_BACKGROUND: BatchRun = Object.freeze({ background: undefined });

/** The lookups' options: the operation's signal. */
function locateOptionsOf(bo: Backoffer): RequestOptions | undefined {
  return bo.signal === undefined ? undefined : { signal: bo.signal };
}

/** Cuts groups into batches. */
function cut<T>(groups: readonly RegionGroup<T>[], options: RunBatchesOptions<T>): RegionBatch<T>[] {
  const { keyOf, limit, primary } = options;
  const isPrimary =
    primary === undefined ? undefined : (part: readonly T[]) => holdsKey(part, keyOf, primary.key);
  const batches: RegionBatch<T>[] = [];
  for (const g of groups) appendBatches(batches, g.location.region, g.items, limit, isPrimary);
  return batches;
}

/** Groups items by region and cuts the groups into batches. */
async function plan<T>(
  exec: RegionExecutor,
  bo: Backoffer,
  items: readonly T[],
  options: RunBatchesOptions<T>,
): Promise<RegionBatch<T>[]> {
  const keyOf = options.keyOf;
  const sorted = options.sorted === true;
  const locateOptions = locateOptionsOf(bo);
  const location = await exec.locator.locateKey(keyOf(items[0] as T), locateOptions);
  const groups =
    oneRegion(items, keyOf, location, sorted) ??
    (await groupFrom(exec.locator, items, keyOf, location, locateOptions, sorted));
  return cut(groups, options);
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

/** Primary first: its batch alone, then the rest (awaited, or in the background). */
async function primaryFirst<T>(
  exec: RegionExecutor,
  bo: Backoffer,
  first: RegionBatch<T>[],
  options: RunBatchesOptions<T>,
  concurrency: number,
): Promise<BatchRun> {
  const primary = options.primary as NonNullable<RunBatchesOptions<T>['primary']>;
  // The primary's batch alone first; after a region error its items are grouped again and the
  // batch that now holds the primary goes alone again (client-go re-enters
  // `doActionOnMutations`, primary first, for them).
  let batches = first;
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

/** @internal */
export async function runBatches<T>(
  exec: RegionExecutor,
  bo: Backoffer,
  options: RunBatchesOptions<T>,
): Promise<BatchRun> {
  checkBatchLimit(options.limit);
  const concurrency = concurrencyArg(options.concurrency, exec.tuning.maxConcurrency, 'options.concurrency');
  const items = options.items;
  if (items.length === 0) return NO_BACKGROUND;
  const batches = await plan(exec, bo, items, options);
  if (options.primary !== undefined) return primaryFirst(exec, bo, batches, options, concurrency);
  await sendAll(exec, bo, batches, options, concurrency);
  return NO_BACKGROUND;
}
