import type { RegionInfo } from './region-info.js';

/**
 * How keys map between the caller's key space and the one PD stores regions in (API V1
 * keys as they are, API V2 keys with a keyspace prefix, or memcomparable-encoded keys).
 * `@tikv/keyspace` provides the real codecs; PD only needs this narrow view.
 */
export interface RegionKeyCodec {
  /** Encodes a user key for a region lookup. */
  encodeRegionKey(key: Uint8Array): Uint8Array;
  /** Encodes a user range `[start, end)` (empty end: unbounded) for a scan. */
  encodeRegionRange(start: Uint8Array, end: Uint8Array): readonly [Uint8Array, Uint8Array];
  /**
   * Decodes a region's boundaries back to the caller's key space, clamping them to it;
   * returns undefined for a region wholly outside it.
   */
  decodeRegion(region: RegionInfo): RegionInfo | undefined;
}

/** The codec that leaves keys as they are (API V1 raw keys). */
export const IDENTITY_REGION_KEY_CODEC: RegionKeyCodec = Object.freeze({
  encodeRegionKey: (key: Uint8Array): Uint8Array => key,
  encodeRegionRange: (start: Uint8Array, end: Uint8Array): readonly [Uint8Array, Uint8Array] => [start, end],
  decodeRegion: (region: RegionInfo): RegionInfo => region,
});
