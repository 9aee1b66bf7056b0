import { KeyError, keyErrorFromWire, TiKVError, type WireKeyError } from '@tikv/common';

/** A key is longer than TiKV accepts (`storage.max-key-size`); raised before anything is sent. */
export class KeyTooLargeError extends TiKVError {
  override name = 'KeyTooLargeError';
  declare readonly code: 'KEY_TOO_LARGE';
  /** The key's length in bytes. */
  readonly sizeBytes: number;
  /** The largest accepted length in bytes. */
  readonly limitBytes: number;

  /**
   * @param sizeBytes - the key's length
   * @param limitBytes - the limit
   */
  constructor(sizeBytes: number, limitBytes: number) {
    super('KEY_TOO_LARGE', `key of ${sizeBytes} bytes exceeds the limit of ${limitBytes} bytes`);
    this.sizeBytes = sizeBytes;
    this.limitBytes = limitBytes;
  }
}

/**
 * A key and value together are larger than one TiKV write can carry (`raft-entry-max-size`);
 * raised before anything is sent.
 */
export class EntryTooLargeError extends TiKVError {
  override name = 'EntryTooLargeError';
  declare readonly code: 'ENTRY_TOO_LARGE';
  /** The entry's size (key plus value) in bytes. */
  readonly sizeBytes: number;
  /** The largest accepted size in bytes. */
  readonly limitBytes: number;

  /**
   * @param sizeBytes - the entry's size
   * @param limitBytes - the limit
   */
  constructor(sizeBytes: number, limitBytes: number) {
    super('ENTRY_TOO_LARGE', `entry of ${sizeBytes} bytes exceeds the limit of ${limitBytes} bytes`);
    this.sizeBytes = sizeBytes;
    this.limitBytes = limitBytes;
  }
}

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
