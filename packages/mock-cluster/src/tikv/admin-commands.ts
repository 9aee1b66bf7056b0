import { kvrpcpb } from '@tikv/proto';
import { TopologyError } from '../cluster/cluster-model.js';
import { toMetaRegion } from '../cluster/region-wire.js';
import type { RegionInfo } from '../cluster/topology-types.js';
import { compareBytes } from '../storage/ordered-map.js';
import { checkContext, checkKeyInRegion, isRegionError } from './context-check.js';
import type { KvDeps } from './kv-deps.js';
import { regionError } from './region-errors.js';

function overlaps(region: RegionInfo, start: Uint8Array, end: Uint8Array): boolean {
  const beforeEnd = end.length === 0 || compareBytes(region.startKey, end) < 0;
  const afterStart = region.endKey.length === 0 || compareBytes(start, region.endKey) < 0;
  return beforeEnd && afterStart;
}

/**
 * TiKV's store-level commands that are not transactions: SplitRegion (raftstore's batch split),
 * UnsafeDestroyRange (the GC worker's range destruction) and GetStoreSafeTS (resolved ts).
 */
export class AdminCommands {
  readonly #deps: KvDeps;
  readonly #storeId: bigint;

  constructor(deps: KvDeps, storeId: bigint) {
    this.#deps = deps;
    this.#storeId = storeId;
  }

  /** SplitRegion: splits the region at the keys (TiKV key domain) and returns every part. */
  splitRegion(req: kvrpcpb.SplitRegionRequest): kvrpcpb.SplitRegionResponse {
    const checked = checkContext(this.#deps.model, this.#storeId, req.context, 'write');
    if (isRegionError(checked)) return kvrpcpb.SplitRegionResponse.fromPartial({ regionError: checked });
    const { region } = checked;
    const keys = (req.splitKey.length > 0 ? [req.splitKey] : req.splitKeys).slice().sort(compareBytes);
    for (const k of keys) {
      if (k.length === 0 || compareBytes(k, region.startKey) === 0) {
        return kvrpcpb.SplitRegionResponse.fromPartial({
          regionError: regionError({
            message: `invalid split key ${Buffer.from(k).toString('hex')} for region ${region.id}`,
          }),
        });
      }
      const outside = checkKeyInRegion(k, region);
      if (outside !== undefined) return kvrpcpb.SplitRegionResponse.fromPartial({ regionError: outside });
    }
    if (keys.length === 0) {
      return kvrpcpb.SplitRegionResponse.fromPartial({
        regionError: regionError({ message: 'missing split key' }),
      });
    }
    try {
      this.#deps.model.split(keys);
    } catch (e) {
      if (e instanceof TopologyError)
        return kvrpcpb.SplitRegionResponse.fromPartial({ regionError: regionError({ message: e.message }) });
      throw e;
    }
    const regions = this.#deps.model
      .regions()
      .filter((r) => overlaps(r, region.startKey, region.endKey))
      .map(toMetaRegion);
    return kvrpcpb.SplitRegionResponse.fromPartial({
      regions,
      ...(regions.length === 2 ? { left: regions[0], right: regions[1] } : {}),
    });
  }

  /** UnsafeDestroyRange: drops every CF's data of the transactional key range on the store. */
  unsafeDestroyRange(req: kvrpcpb.UnsafeDestroyRangeRequest): kvrpcpb.UnsafeDestroyRangeResponse {
    if (req.startKey.length === 0 || req.endKey.length === 0) {
      return kvrpcpb.UnsafeDestroyRangeResponse.fromPartial({
        error: 'unsafe destroy range needs both start and end keys',
      });
    }
    this.#deps.txn?.storage.deleteRange(req.startKey, req.endKey);
    return kvrpcpb.UnsafeDestroyRangeResponse.fromPartial({});
  }

  /** GetStoreSafeTS: the smallest resolved ts of this store's regions overlapping the range. */
  getStoreSafeTs(req: kvrpcpb.StoreSafeTSRequest): kvrpcpb.StoreSafeTSResponse {
    const resolved = this.#deps.txn?.resolvedTs;
    const start = req.keyRange?.startKey ?? new Uint8Array(0);
    const end = req.keyRange?.endKey ?? new Uint8Array(0);
    let safeTs: bigint | undefined;
    for (const r of this.#deps.model.regions()) {
      if (!r.peers.some((p) => p.storeId === this.#storeId) || !overlaps(r, start, end)) continue;
      const ts = resolved?.safeTs(r.startKey, r.endKey, this.#storeId) ?? 0n;
      if (safeTs === undefined || ts < safeTs) safeTs = ts;
    }
    return { safeTs: safeTs ?? 0n };
  }

  /**
   * BroadcastTxnStatus: the statuses go to this store's txn status cache (TiKV
   * `future_broadcast_txn_status`), whatever the context says; the answer is empty.
   */
  broadcastTxnStatus(req: kvrpcpb.BroadcastTxnStatusRequest): kvrpcpb.BroadcastTxnStatusResponse {
    this.#deps.txn?.resolvedTs?.txnStatus(this.#storeId).update(req.txnStatus);
    return kvrpcpb.BroadcastTxnStatusResponse.fromPartial({});
  }
}

/** The `tikvpb.Tikv` methods {@link AdminCommands} serve. */
export function adminCommandEntries(c: AdminCommands): [string, (req: never) => object][] {
  return [
    ['SplitRegion', (r: kvrpcpb.SplitRegionRequest) => c.splitRegion(r)],
    ['UnsafeDestroyRange', (r: kvrpcpb.UnsafeDestroyRangeRequest) => c.unsafeDestroyRange(r)],
    ['GetStoreSafeTS', (r: kvrpcpb.StoreSafeTSRequest) => c.getStoreSafeTs(r)],
    ['BroadcastTxnStatus', (r: kvrpcpb.BroadcastTxnStatusRequest) => c.broadcastTxnStatus(r)],
  ];
}
