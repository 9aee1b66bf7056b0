import {
  Backoffer,
  BackoffKinds,
  type Clock,
  keysEqual,
  type RequestOptions,
  sortKeys,
  systemClock,
  TiKVError,
} from '@tikv/common';
import type { RegionVerId } from '@tikv/region-cache';
import type { RegionExecutor } from '@tikv/rpc';
import type { AdminPd } from './admin-deps.js';

/** Most split keys per SplitRegion request (client-go `splitBatchRegionLimit`). */
export const SPLIT_BATCH_REGION_LIMIT = 2048;
/** Backoff budget per split key (client-go `splitRegionBackoff`). */
export const SPLIT_REGION_BACKOFF_MS = 20_000;
/** Most backoff budget of one split (client-go `maxSplitRegionsBackoff`). */
export const MAX_SPLIT_REGIONS_BACKOFF_MS = 120_000;
/** Default budget of {@link waitScatterRegionFinish} (client-go `waitScatterRegionFinishBackoff`). */
export const WAIT_SCATTER_REGION_FINISH_BACKOFF_MS = 120_000;

/** Options of {@link splitRegions}. */
export interface SplitRegionsOptions extends RequestOptions {
  /**
   * `'tikv'`: SplitRegion to each region's leader (client-go `KVStore.SplitRegions`);
   * `'pd'`: PD's `SplitRegions`. @defaultValue 'tikv'
   */
  readonly via?: 'tikv' | 'pd' | undefined;
  /** Ask PD to scatter the new regions. @defaultValue false */
  readonly scatter?: boolean | undefined;
  /** With `scatter`: wait until every scatter operator finished. @defaultValue false */
  readonly waitForScatter?: boolean | undefined;
}

/** What {@link splitRegions} did. */
export interface SplitRegionsResult {
  /** The ids of the new regions (client-go leaves out the last part of each split region). */
  readonly regionIds: bigint[];
  /** Regions PD could not scatter (empty when all went, or without `scatter`). */
  readonly scatterFailedRegionIds: bigint[];
}

/** What splitting runs on. */
export interface SplitParts {
  readonly executor: RegionExecutor;
  readonly pd: Pick<AdminPd, 'splitRegions' | 'scatterRegions' | 'getOperator'>;
}

interface SplitGroup {
  readonly region: RegionVerId;
  readonly keys: Uint8Array[];
}

/** Keys grouped by region, leaving out keys that already start a region (already split there). */
async function groupSplitKeys(
  exec: RegionExecutor,
  keys: readonly Uint8Array[],
  bo: Backoffer,
): Promise<SplitGroup[]> {
  const groups: SplitGroup[] = [];
  const signal = bo.signal;
  for (const key of keys) {
    const loc = await exec.locator.locateKey(key, signal === undefined ? undefined : { signal });
    if (keysEqual(loc.startKey, key)) continue;
    const last = groups[groups.length - 1];
    if (
      last !== undefined &&
      last.region.id === loc.region.id &&
      last.keys.length < SPLIT_BATCH_REGION_LIMIT
    ) {
      last.keys.push(key);
    } else {
      groups.push({ region: loc.region, keys: [key] });
    }
  }
  return groups;
}

/** Splits through TiKV: one SplitRegion per region batch, again after a region error. */
async function splitViaTiKV(
  exec: RegionExecutor,
  bo: Backoffer,
  keys: readonly Uint8Array[],
): Promise<bigint[]> {
  const groups = await groupSplitKeys(exec, keys, bo);
  const parts = await exec.mapConcurrently(bo, groups, async (group, child): Promise<bigint[]> => {
    const resp = await exec.sendToRegion(child, group.region, {
      $case: 'SplitRegion',
      value: { context: undefined, splitKey: new Uint8Array(0), splitKeys: group.keys, isRawKv: false },
    });
    if (resp === undefined) return splitViaTiKV(exec, child, group.keys);
    // A region split in n: n - 1 new regions (the last part keeps going as before).
    return resp.value.regions.slice(0, -1).map((r) => r.id);
  });
  return parts.flat();
}

/**
 * Splits regions at `keys` and optionally scatters the new ones (client-go
 * `KVStore.SplitRegions`). Keys that already start a region are skipped.
 *
 * @param parts - the executor and PD
 * @param keys - split keys, in the client's keys (API V2: inside the keyspace)
 * @param options - through TiKV or PD, scatter, wait, signal and deadline
 * @returns the new regions and those PD could not scatter
 */
export async function splitRegions(
  parts: SplitParts,
  keys: readonly Uint8Array[],
  options?: SplitRegionsOptions,
): Promise<SplitRegionsResult> {
  const sorted = sortKeys(keys).keys;
  const call = { signal: options?.signal, timeoutMs: options?.timeoutMs };
  let regionIds: bigint[];
  if (options?.via === 'pd') {
    regionIds = (await parts.pd.splitRegions(sorted, call)).regionIds;
  } else {
    const { bo, scope } = parts.executor.begin(call, {
      maxBackoffMs: Math.min(sorted.length * SPLIT_REGION_BACKOFF_MS, MAX_SPLIT_REGIONS_BACKOFF_MS),
    });
    try {
      regionIds = await splitViaTiKV(parts.executor, bo, sorted);
    } finally {
      scope.dispose();
    }
  }
  let scatterFailedRegionIds: bigint[] = [];
  if (options?.scatter === true && regionIds.length > 0) {
    scatterFailedRegionIds = (await parts.pd.scatterRegions(regionIds, call)).failedRegionIds;
    if (options.waitForScatter === true) {
      for (const id of regionIds) {
        if (!scatterFailedRegionIds.includes(id)) await waitScatterRegionFinish(parts.pd, id, call);
      }
    }
  }
  return { regionIds, scatterFailedRegionIds };
}

/** Options of {@link waitScatterRegionFinish}. */
export interface WaitScatterOptions extends RequestOptions {
  /** Backoff budget of the wait. @defaultValue 120000 */
  readonly maxBackoffMs?: number | undefined;
  /** @defaultValue the system clock */
  readonly clock?: Clock | undefined;
}

/**
 * Waits until the region has no running `scatter-region` operator (client-go
 * `WaitScatterRegionFinish`), polling PD with the `regionMiss` backoff.
 *
 * @throws BackoffBudgetExceededError when the scatter is still running at the end of the budget
 */
export async function waitScatterRegionFinish(
  pd: Pick<AdminPd, 'getOperator'>,
  regionId: bigint,
  options?: WaitScatterOptions,
): Promise<void> {
  const bo = new Backoffer({
    maxBackoffMs: options?.maxBackoffMs ?? WAIT_SCATTER_REGION_FINISH_BACKOFF_MS,
    signal: options?.signal,
    timeoutMs: options?.timeoutMs,
    clock: options?.clock ?? systemClock,
  });
  for (;;) {
    let failure: unknown;
    try {
      const op = await pd.getOperator(regionId, { signal: options?.signal });
      if (op.desc !== 'scatter-region' || op.status !== 'running') return;
    } catch (e) {
      options?.signal?.throwIfAborted();
      failure = e;
    }
    await bo.backoff(
      BackoffKinds.regionMiss,
      failure ?? new TiKVError('DEADLINE_EXCEEDED', `wait scatter region ${regionId} timeout`, true),
    );
  }
}
