import type { errorpb, metapb } from '@tikv/proto';
import type { Codec } from './codec.js';
import { isKeyOutOfKeyspace } from './keyspace-errors.js';

/**
 * Decodes the keys of a region error in place: KeyNotInRegion's range (and in V2 its key), the
 * current regions of an EpochNotMatch and BucketVersionNotMatch's bucket keys. In V2 (`dropOutside`), regions outside the keyspace
 * are dropped from EpochNotMatch, as client-go does; any other failure throws.
 *
 * @param codec - the codec whose region-key form the boundaries are in
 * @param err - the region error, modified in place
 * @param dropOutside - V2 behaviour: decode KeyNotInRegion's key and drop foreign regions
 * @returns `err`
 * @internal
 */
export function decodeRegionErrorWith(codec: Codec, err: errorpb.Error, dropOutside: boolean): errorpb.Error {
  const kn = err.keyNotInRegion;
  if (kn !== undefined) {
    if (dropOutside) kn.key = codec.decodeKey(kn.key);
    [kn.startKey, kn.endKey] = codec.decodeRegionRange(kn.startKey, kn.endKey);
  }
  const en = err.epochNotMatch;
  if (en !== undefined) {
    const kept: metapb.Region[] = [];
    for (const region of en.currentRegions) {
      try {
        [region.startKey, region.endKey] = codec.decodeRegionRange(region.startKey, region.endKey);
      } catch (e) {
        if (dropOutside && isKeyOutOfKeyspace(e)) continue;
        throw e;
      }
      kept.push(region);
    }
    en.currentRegions = kept;
  }
  // BucketVersionNotMatch's keys are region keys too (client-go leaves them encoded, which in
  // API V2 and V1 txn mode puts wrong boundaries in the cache).
  const bv = err.bucketVersionNotMatch;
  if (bv !== undefined && bv.keys.length > 0) bv.keys = codec.decodeBucketKeys(bv.keys);
  return err;
}
