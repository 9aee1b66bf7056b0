import { KeyError, keyErrorFromWire, type WireKeyError } from '@tikv/common';

/**
 * Throws the storage error TiKV put in a raw response's `error` string (TTL not enabled, an
 * unknown column family, an API version mismatch...) as a `KeyError` with code `KEY_ERROR`
 * whose message is the server's, unchanged.
 *
 * @param error - the response's `error` field
 * @internal
 */
export function throwIfStorageError(error: string | undefined): void {
  if (error !== undefined && error !== '') throw new KeyError('KEY_ERROR', error);
}

/**
 * Throws the first per-pair error of a RawBatchGet / RawScan response.
 *
 * @param pairs - the response's pairs
 * @internal
 */
export function throwIfPairError(pairs: readonly { readonly error?: WireKeyError | undefined }[]): void {
  for (const p of pairs) {
    if (p.error !== undefined && p.error !== null) throw keyErrorFromWire(p.error);
  }
}
