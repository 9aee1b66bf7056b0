import type { RequestOptions } from '@tikv/common';
import type { KeyLocation } from '@tikv/region-cache';

/**
 * Where keys live: what the {@link RegionExecutor} needs from the region cache (keys in the
 * caller's key space; a keyspace codec, when there is one, sits below it). `@tikv/region-cache`'s
 * `RegionCache` satisfies it; a test may pass any object of this shape.
 */
export interface KeyLocator {
  /**
   * The region holding `key`.
   *
   * @param key - the key
   * @param options - signal and timeout of the lookup
   * @returns the region version and its range
   */
  locateKey(key: Uint8Array, options?: RequestOptions): Promise<KeyLocation>;
  /**
   * The region whose range ends at `key`: `startKey < key <= endKey`, an empty key meaning
   * +infinity (the last region). Reverse walks start here.
   *
   * @param key - an exclusive upper bound
   * @param options - signal and timeout of the lookup
   * @returns the region version and its range
   */
  locateEndKey(key: Uint8Array, options?: RequestOptions): Promise<KeyLocation>;
}
