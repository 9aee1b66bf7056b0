import { TiKVError } from './tikv-error.js';

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
 * A transaction's buffered writes passed the size limit of one transaction (client-go
 * `ErrTxnTooLarge`; TiDB's `txn-total-size-limit`); raised by the write that would pass it,
 * before anything is sent.
 */
export class TxnTooLargeError extends TiKVError {
  override name = 'TxnTooLargeError';
  declare readonly code: 'TXN_TOO_LARGE';
  /** The transaction's size in bytes had the write been accepted. */
  readonly sizeBytes: number;
  /** The largest accepted size in bytes. */
  readonly limitBytes: number;

  /**
   * @param sizeBytes - the size the write would have reached
   * @param limitBytes - the limit
   */
  constructor(sizeBytes: number, limitBytes: number) {
    super('TXN_TOO_LARGE', `transaction of ${sizeBytes} bytes exceeds the limit of ${limitBytes} bytes`);
    this.sizeBytes = sizeBytes;
    this.limitBytes = limitBytes;
  }
}
