import type { CallOptions } from './call-options.js';
import type { GetAllStoresOptions, RegionCallOptions } from './pd-client-options.js';
import type { RegionInfo, StoreInfo } from './region-info.js';

/**
 * The region and store lookups a region cache needs; `PdClient` satisfies it structurally
 * (declared here too so that the package can check it).
 */
export interface RegionSource {
  getRegion(key: Uint8Array, options?: RegionCallOptions): Promise<RegionInfo | undefined>;
  getPrevRegion(key: Uint8Array, options?: RegionCallOptions): Promise<RegionInfo | undefined>;
  getRegionById(regionId: bigint, options?: RegionCallOptions): Promise<RegionInfo | undefined>;
  scanRegions(
    startKey: Uint8Array,
    endKey: Uint8Array,
    limit: number,
    options?: CallOptions,
  ): Promise<RegionInfo[]>;
  getStore(storeId: bigint, options?: CallOptions): Promise<StoreInfo | undefined>;
  getAllStores(options?: GetAllStoresOptions): Promise<StoreInfo[]>;
}
