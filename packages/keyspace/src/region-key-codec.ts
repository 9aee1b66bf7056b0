import type { Codec, KeyPair } from './codec.js';
import { isKeyOutOfKeyspace } from './keyspace-errors.js';

/** The parts of a PD region answer the region-key codec rewrites (`@tikv/pd`'s `RegionInfo`). */
export interface RegionShape {
  readonly region: { readonly startKey: Uint8Array; readonly endKey: Uint8Array };
  readonly buckets?: { readonly version: bigint; readonly keys: readonly Uint8Array[] } | undefined;
}

/**
 * Maps keys between the caller and PD for region lookups (client-go `CodecPDClient`): keys are
 * encoded before asking PD, and region boundaries and bucket keys are decoded on the way back.
 * It structurally satisfies `@tikv/pd`'s `RegionKeyCodec`; pass it as `PdClient`'s `codec`.
 */
export class CodecRegionKeyCodec {
  /** The codec this adapter delegates to. */
  readonly codec: Codec;

  /** @param codec - the request codec of the client (V1 raw, V1 txn or V2) */
  constructor(codec: Codec) {
    this.codec = codec;
  }

  /** The region-key form of a key, for GetRegion / GetPrevRegion / SplitRegions. */
  encodeRegionKey(key: Uint8Array): Uint8Array {
    return this.codec.encodeRegionKey(key);
  }

  /** The region-key form of a range, for ScanRegions / BatchScanRegions. */
  encodeRegionRange(start: Uint8Array, end: Uint8Array): KeyPair {
    return this.codec.encodeRegionRange(start, end);
  }

  /**
   * A region with its boundaries (clamped to the keyspace) and bucket keys in the caller's keys;
   * undefined when the region lies wholly outside the keyspace.
   *
   * @throws CodecError when a boundary is malformed
   */
  decodeRegion<R extends RegionShape>(info: R): R | undefined {
    let range: KeyPair;
    try {
      range = this.codec.decodeRegionRange(info.region.startKey, info.region.endKey);
    } catch (e) {
      if (isKeyOutOfKeyspace(e)) return undefined;
      throw e;
    }
    const [startKey, endKey] = range;
    const buckets =
      info.buckets === undefined || info.buckets === null
        ? info.buckets
        : { ...info.buckets, keys: this.codec.decodeBucketKeys(info.buckets.keys) };
    return { ...info, region: { ...info.region, startKey, endKey }, buckets };
  }
}
