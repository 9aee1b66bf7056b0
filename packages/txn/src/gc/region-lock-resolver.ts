import {
  type Backoffer,
  BackoffKinds,
  compareKeys,
  type LockInfo,
  lockInfoFromWire,
  TiKVError,
} from '@tikv/common';
import { type KeyLocation, locationContains } from '@tikv/region-cache';
import type { RegionExecutor } from '@tikv/rpc';
import type { RangeTaskStat } from '../range-task/range-task-stat.js';
import type { BatchLockResolving } from './gc-deps.js';

/**
 * Most locks one ScanLock returns during GC (client-go `GCScanLockLimit`: half the lock
 * resolver's resolved-transaction cache, so GC does not sweep other readers' entries out).
 */
export const GC_SCAN_LOCK_LIMIT = 1024;

/** Backoff budget of one page of GC lock resolution (client-go `gcResolveLockMaxBackoff`). */
export const GC_RESOLVE_LOCK_MAX_BACKOFF_MS = 100_000;

/** The locks of one region, from {@link RegionLockResolver.scanLocksInOneRegion}. */
export interface RegionLocks {
  /** The locks, in key order (shared locks expanded into the locks they hold). */
  readonly locks: LockInfo[];
  /** The region they were scanned in. */
  readonly location: KeyLocation;
}

/**
 * Scans and resolves the locks of one region at a time (client-go `RegionLockResolver`): the
 * GC worker forces every lock below the safe point out; another implementation (a log backup
 * advancer) may check transaction status and resolve only expired ones.
 */
export interface RegionLockResolver {
  /** The resolver's name, in log lines. */
  readonly identifier: string;
  /**
   * The locks with `ts <= maxVersion` of the first region `[key, endKey)` touches, at most
   * `scanLimit` of them, and that region.
   */
  scanLocksInOneRegion(
    bo: Backoffer,
    key: Uint8Array,
    endKey: Uint8Array,
    maxVersion: bigint,
    scanLimit: number,
  ): Promise<RegionLocks>;
  /**
   * Resolves locks scanned in one region (in key order).
   *
   * @returns the region they were resolved in, or undefined when they are no longer in one
   *   region (the caller scans again)
   */
  resolveLocksInOneRegion(
    bo: Backoffer,
    locks: readonly LockInfo[],
    location: KeyLocation,
  ): Promise<KeyLocation | undefined>;
}

/** What a {@link BaseRegionLockResolver} runs on. */
export interface BaseRegionLockResolverParts {
  /** Sends ScanLock and locates regions. */
  readonly executor: RegionExecutor;
  /** Resolves a region's locks whatever their TTL (the package's `LockResolver`). */
  readonly lockResolver: BatchLockResolving;
  /** @defaultValue 'gc-client-ts' */
  readonly identifier?: string | undefined;
}

/** Locks of a ScanLock response, shared locks expanded into the locks they hold. */
function expandLocks(wire: Parameters<typeof lockInfoFromWire>[0][]): LockInfo[] {
  const out: LockInfo[] = [];
  for (const w of wire) {
    const lock = lockInfoFromWire(w);
    if (lock.sharedLockInfos.length > 0) out.push(...lock.sharedLockInfos);
    else out.push(lock);
  }
  return out;
}

/**
 * The GC worker's {@link RegionLockResolver} (client-go `BaseRegionLockResolver`): ScanLock one
 * region, then one batch `ResolveLock` for every transaction met, rolling back those still alive.
 */
export class BaseRegionLockResolver implements RegionLockResolver {
  readonly #exec: RegionExecutor;
  readonly #resolver: BatchLockResolving;
  readonly identifier: string;

  /** @param parts - the executor, the lock resolver, the name */
  constructor(parts: BaseRegionLockResolverParts) {
    this.#exec = parts.executor;
    this.#resolver = parts.lockResolver;
    this.identifier = parts.identifier ?? 'gc-client-ts';
  }

  /** {@inheritDoc RegionLockResolver.scanLocksInOneRegion} */
  async scanLocksInOneRegion(
    bo: Backoffer,
    key: Uint8Array,
    endKey: Uint8Array,
    maxVersion: bigint,
    scanLimit: number,
  ): Promise<RegionLocks> {
    const step = await this.#exec.sendRangeStep(bo, { start: key, end: endKey }, (span) => ({
      $case: 'ScanLock' as const,
      value: {
        context: undefined,
        maxVersion,
        startKey: span.startKey,
        endKey: span.endKey,
        limit: scanLimit,
      },
    }));
    const resp = step.response.value;
    if (resp.error !== undefined) {
      throw new TiKVError('INTERNAL', `unexpected ScanLock error: ${JSON.stringify(resp.error.abort)}`);
    }
    return { locks: expandLocks(resp.locks), location: step.span.location };
  }

  /** {@inheritDoc RegionLockResolver.resolveLocksInOneRegion} */
  async resolveLocksInOneRegion(
    bo: Backoffer,
    locks: readonly LockInfo[],
    location: KeyLocation,
  ): Promise<KeyLocation | undefined> {
    const first = locks[0];
    const last = locks[locks.length - 1];
    if (first === undefined || last === undefined) return location;
    let loc = location;
    for (;;) {
      if (await this.#resolver.batchResolveLocks(bo, locks, loc.region)) return loc;
      await bo.backoff(
        BackoffKinds.txnLock,
        new TiKVError('REGION_ERROR', `remain locks: ${locks.length}`, true),
      );
      const signal = bo.signal;
      loc = await this.#exec.locator.locateKey(first.key, signal === undefined ? undefined : { signal });
      // The region split or merged: the locks may no longer lie in one region, scan again.
      if (!locationContains(loc, last.key)) return undefined;
    }
  }
}

/** Options of {@link resolveLocksForRange}. */
export interface ResolveLocksForRangeOptions {
  /** Resolve the locks with `ts <= maxVersion` (the txn safe point). */
  readonly maxVersion: bigint;
  /** Inclusive start, in the client's keys. */
  readonly startKey: Uint8Array;
  /** Exclusive end; empty is unbounded (the keyspace's end in API V2). */
  readonly endKey: Uint8Array;
  /** A fresh backoffer for each page (client-go makes one per scan and resolve). */
  readonly newBackoffer: () => Backoffer;
  /** Locks per ScanLock. @defaultValue {@link GC_SCAN_LOCK_LIMIT} */
  readonly scanLimit?: number | undefined;
  /** Stops between pages (the backoffers carry it into each request too). */
  readonly signal?: AbortSignal | undefined;
  /** Told how many locks each page resolved. */
  readonly onLocksResolved?: ((count: number) => void) | undefined;
}

/**
 * Resolves every lock below `maxVersion` in a range, region by region, page by page (client-go
 * `ResolveLocksForRange`): scan a region's locks, resolve them in one batch, go on from the
 * region's end, or from the last lock when the page was full; scan again when the region
 * changed under the locks.
 *
 * @param resolver - scans and resolves one region's locks
 * @param options - the range, the safe point, the page size, the backoffers
 * @returns the regions completed
 */
export async function resolveLocksForRange(
  resolver: RegionLockResolver,
  options: ResolveLocksForRangeOptions,
): Promise<RangeTaskStat> {
  const { maxVersion, endKey } = options;
  const scanLimit = options.scanLimit ?? GC_SCAN_LOCK_LIMIT;
  let completedRegions = 0;
  let key = options.startKey;
  for (;;) {
    options.signal?.throwIfAborted();
    const bo = options.newBackoffer();
    const { locks, location } = await resolver.scanLocksInOneRegion(bo, key, endKey, maxVersion, scanLimit);
    const resolved = await resolver.resolveLocksInOneRegion(bo, locks, location);
    if (resolved === undefined) continue;
    options.onLocksResolved?.(locks.length);
    const lastLock = locks[locks.length - 1];
    if (locks.length < scanLimit || lastLock === undefined) {
      completedRegions++;
      key = location.endKey;
    } else {
      key = lastLock.key;
    }
    if (key.length === 0 || (endKey.length > 0 && compareKeys(key, endKey) >= 0)) break;
  }
  return { completedRegions };
}
