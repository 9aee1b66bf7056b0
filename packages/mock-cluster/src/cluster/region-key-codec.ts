import { decodeBytes, encodeBytes } from '@tikv/common';
import { RegionKeyEncoding } from '../api-version.js';

/** Converts region boundaries between the TiKV key domain and the form PD reports them in. */
export interface RegionKeyCodec {
  readonly encoding: RegionKeyEncoding;
  /** The wire form of a boundary; the empty key (the key space's end) stays empty. */
  toWire(key: Uint8Array): Uint8Array;
  /** The TiKV-domain form of a wire boundary; throws when it is not a valid encoding. */
  fromWire(wireKey: Uint8Array): Uint8Array;
}

/** Creates the codec for an encoding. */
export function createRegionKeyCodec(encoding: RegionKeyEncoding): RegionKeyCodec {
  if (encoding === RegionKeyEncoding.Raw) {
    return { encoding, toWire: (k) => k, fromWire: (k) => k };
  }
  return {
    encoding,
    toWire: (k) => (k.length === 0 ? k : encodeBytes(k)),
    fromWire: (k) => {
      if (k.length === 0) return k;
      const { value, rest } = decodeBytes(k);
      if (rest.length !== 0) throw new RangeError('region key has trailing bytes after its encoding');
      return value;
    },
  };
}
