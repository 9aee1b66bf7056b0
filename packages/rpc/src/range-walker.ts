import { type Backoffer, compareKeys } from '@tikv/common';
import type { KeyLocation } from '@tikv/region-cache';
import type { RegionExecutor } from './region-executor.js';
import type { RegionRequestOptions } from './request-options.js';
import { concurrencyArg, runRound } from './retry-round.js';
import type { ResponseFor, TikvRequest } from './tikv-commands.js';

/** Where a range walk stands and where it ends. */
export interface RangeWalkBounds {
  /**
   * Where the walk starts. Forward: the inclusive lower bound. Reverse: the exclusive upper
   * bound, an empty key meaning +infinity.
   */
  readonly start: Uint8Array;
  /**
   * Where the walk ends. Forward: the exclusive upper bound, empty for none. Reverse: the
   * inclusive lower bound, empty for none.
   */
  readonly end: Uint8Array;
  /** Walk downwards. @defaultValue false */
  readonly reverse?: boolean;
}

/** The part of a walked range inside one region: `[startKey, endKey)`, clipped to the region. */
export interface RegionSpan {
  /** The region. */
  readonly location: KeyLocation;
  /** Inclusive start: the walk's position (forward) or the later of its bound and the region's start (reverse). */
  readonly startKey: Uint8Array;
  /** Exclusive end, empty for +infinity: the earlier of the walk's bound and the region's end (forward) or the walk's position (reverse). */
  readonly endKey: Uint8Array;
}

/** One step of a range walk, from {@link RegionExecutor.sendRangeStep}. */
export interface RangeStep<R extends TikvRequest> {
  /** The response. */
  readonly response: ResponseFor<R>;
  /** The part of the range the request was for. */
  readonly span: RegionSpan;
  /** Where the walk continues (the next region's edge), or undefined when it is complete. */
  readonly next: Uint8Array | undefined;
}

/**
 * What a range walk does after one region's response:
 *
 * - `'next'`: on to the next region.
 * - `'stop'`: the walk is over (a scan has its limit); with concurrency, no further region is
 *   started and the ones in flight finish.
 * - `'retry'`: send to the same position again (after resolving a lock; back off first where
 *   client-go does).
 * - `{ resumeAt }`: continue from this key, inside the region or past it (a page of a scan
 *   ended before the region did: forward, the key after the last one read; reverse, the last
 *   key read as the new exclusive upper bound).
 */
export type WalkOutcome = 'next' | 'stop' | 'retry' | { readonly resumeAt: Uint8Array };

/** Options of {@link RegionExecutor.walkRange}. */
export interface WalkRangeOptions<R extends TikvRequest> extends RangeWalkBounds {
  /**
   * Regions in flight at once. Above 1 the regions of the range are located first (from the
   * cache), then walked side by side, each on its own backoffer cloned from one fork of the
   * operation's; a region that splits meanwhile is walked piece by piece. @defaultValue 1
   */
  readonly concurrency?: number | undefined;
  /** Makes the request for the part of the range in one region. */
  readonly build: (span: RegionSpan) => R;
  /** The sender's request options. */
  readonly request?: RegionRequestOptions | undefined;
  /**
   * Takes one region's response and says how the walk goes on. Throwing ends the walk with
   * that error (with concurrency, once the regions in flight settle).
   *
   * @param response - the response
   * @param span - the part of the range it answers for
   * @param bo - the backoffer of this part of the walk
   */
  readonly onResponse: (
    response: ResponseFor<R>,
    span: RegionSpan,
    bo: Backoffer,
  ) => WalkOutcome | Promise<WalkOutcome>;
}

/** Whether a walk standing at `start` has anything left before `end`. */
function hasMore(start: Uint8Array, end: Uint8Array, reverse: boolean): boolean {
  if (reverse) return start.length === 0 || compareKeys(start, end) > 0;
  return end.length === 0 || compareKeys(start, end) < 0;
}

/** The part of the walk inside `location`. */
function spanOf(location: KeyLocation, start: Uint8Array, end: Uint8Array, reverse: boolean): RegionSpan {
  if (reverse) {
    const lower = compareKeys(location.startKey, end) > 0 ? location.startKey : end;
    const upper =
      start.length === 0 || (location.endKey.length > 0 && compareKeys(location.endKey, start) < 0)
        ? location.endKey
        : start;
    return { location, startKey: lower, endKey: upper };
  }
  const upper =
    location.endKey.length > 0 && (end.length === 0 || compareKeys(location.endKey, end) < 0)
      ? location.endKey
      : end;
  return { location, startKey: start, endKey: upper };
}

/** Where the walk goes after `location`, or undefined when the region reaches its bound. */
function nextOf(location: KeyLocation, end: Uint8Array, reverse: boolean): Uint8Array | undefined {
  const edge = reverse ? location.startKey : location.endKey;
  if (edge.length === 0) return undefined;
  return hasMore(edge, end, reverse) ? edge : undefined;
}

/** @internal */
export async function sendRangeStep<R extends TikvRequest>(
  exec: RegionExecutor,
  bo: Backoffer,
  walk: RangeWalkBounds,
  build: (span: RegionSpan) => R,
  request: RegionRequestOptions | undefined,
): Promise<RangeStep<R>> {
  const reverse = walk.reverse === true;
  const { start, end } = walk;
  let span: RegionSpan | undefined;
  const { response, location } = await exec.sendToKey(
    bo,
    start,
    (loc) => {
      span = spanOf(loc, start, end, reverse);
      return build(span);
    },
    { reverse, request },
  );
  return { response, span: span as RegionSpan, next: nextOf(location, end, reverse) };
}

/** Whether a concurrent walk was told to stop. */
interface StopFlag {
  stopped: boolean;
}

async function walkSequentially<R extends TikvRequest>(
  exec: RegionExecutor,
  bo: Backoffer,
  from: Uint8Array,
  options: WalkRangeOptions<R>,
  flag: StopFlag,
): Promise<void> {
  const reverse = options.reverse === true;
  const { end } = options;
  let start: Uint8Array | undefined = from;
  while (start !== undefined && !flag.stopped && hasMore(start, end, reverse)) {
    const step: RangeStep<R> = await sendRangeStep(
      exec,
      bo,
      { start, end, reverse },
      options.build,
      options.request,
    );
    const outcome = await options.onResponse(step.response, step.span, bo);
    if (outcome === 'next') start = step.next;
    else if (outcome === 'stop') flag.stopped = true;
    else if (outcome !== 'retry') start = outcome.resumeAt;
  }
}

/** The walk cut at the region edges the cache knows, for a concurrent walk. */
async function splitByRegion(
  exec: RegionExecutor,
  bo: Backoffer,
  options: RangeWalkBounds,
): Promise<RangeWalkBounds[]> {
  const reverse = options.reverse === true;
  const { end } = options;
  const locateOptions = bo.signal === undefined ? undefined : { signal: bo.signal };
  const parts: RangeWalkBounds[] = [];
  let start: Uint8Array | undefined = options.start;
  while (start !== undefined && hasMore(start, end, reverse)) {
    const loc = reverse
      ? await exec.locator.locateEndKey(start, locateOptions)
      : await exec.locator.locateKey(start, locateOptions);
    const next = nextOf(loc, end, reverse);
    parts.push({ start, end: next ?? end, reverse });
    start = next;
  }
  return parts;
}

/** @internal */
export async function walkRange<R extends TikvRequest>(
  exec: RegionExecutor,
  bo: Backoffer,
  options: WalkRangeOptions<R>,
): Promise<void> {
  const flag: StopFlag = { stopped: false };
  const concurrency = concurrencyArg(options.concurrency, 1, 'options.concurrency');
  if (concurrency <= 1) {
    await walkSequentially(exec, bo, options.start, options, flag);
    return;
  }
  const parts = await splitByRegion(exec, bo, options);
  await runRound(bo, parts, concurrency, (part, child) =>
    walkSequentially(exec, child, part.start, { ...options, end: part.end }, flag),
  );
}
