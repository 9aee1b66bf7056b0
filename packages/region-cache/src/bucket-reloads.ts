import type { Logger } from '@tikv/common';
import type { CachedRegion } from './cached-region.js';
import { publishMiss } from './diagnostics.js';
import type { RegionFetcher } from './region-fetcher.js';

/**
 * Background reloads of regions whose buckets TiKV reports newer than the cache has (client-go
 * `UpdateBucketsIfNeeded`), one reload per region at a time.
 *
 * @internal
 */
export class BucketReloads {
  readonly #inflight = new Set<bigint>();
  readonly #fetcher: RegionFetcher;
  readonly #logger: Logger;

  /**
   * @param fetcher - loads a region by id and inserts it
   * @param logger - receives failed reloads
   */
  constructor(fetcher: RegionFetcher, logger: Logger) {
    this.#fetcher = fetcher;
    this.#logger = logger;
  }

  /**
   * Reloads `r` unless the request carried buckets older than the cached ones, the cache is
   * already as new as TiKV, or a reload of the region is running.
   *
   * @param r - the cached region
   * @param requestBucketsVersion - the buckets version the request carried (0: none)
   * @param latestBucketsVersion - the version TiKV reported
   * @returns the reload (it never rejects)
   */
  reloadIfNeeded(
    r: CachedRegion,
    requestBucketsVersion: bigint,
    latestBucketsVersion: bigint,
  ): Promise<void> {
    const id = r.id;
    const cachedVersion = r.buckets?.version ?? 0n;
    if (requestBucketsVersion !== 0n && requestBucketsVersion < cachedVersion) return Promise.resolve();
    if (cachedVersion >= latestBucketsVersion || this.#inflight.has(id)) return Promise.resolve();
    this.#inflight.add(id);
    publishMiss(() => ({ lookup: 'id', reason: 'bucketsStale', regionId: id }));
    return this.#fetcher.loadByIdAndInsert(id, true).then(
      () => {
        this.#inflight.delete(id);
      },
      (e: unknown) => {
        this.#inflight.delete(id);
        this.#logger.error('updating buckets failed', { regionId: id, error: e });
      },
    );
  }
}
