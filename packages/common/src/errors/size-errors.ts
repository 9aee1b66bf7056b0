import { TiKVError } from './tikv-error.js';

/**
 * The base of the errors for input larger than TiKV accepts, raised before anything is sent:
 * the size and the limit, in bytes, and one message shape. Not exported from the package: catch
 * {@link KeyTooLargeError} or {@link EntryTooLargeError}.
 */
export abstract class SizeLimitError extends TiKVError {
  declare readonly code: 'KEY_TOO_LARGE' | 'ENTRY_TOO_LARGE';
  /** The size in bytes. */
  readonly sizeBytes: number;
  /** The largest accepted size in bytes. */
  readonly limitBytes: number;

  /**
   * @param code - the subclass's code
   * @param what - what is too large (`key`, `entry`), for the message
   * @param sizeBytes - its size
   * @param limitBytes - the limit
   */
  protected constructor(
    code: 'KEY_TOO_LARGE' | 'ENTRY_TOO_LARGE',
    what: string,
    sizeBytes: number,
    limitBytes: number,
  ) {
    super(code, `${what} of ${sizeBytes} bytes exceeds the limit of ${limitBytes} bytes`);
    this.sizeBytes = sizeBytes;
    this.limitBytes = limitBytes;
  }
}

/** A key is longer than TiKV accepts (`storage.max-key-size`); raised before anything is sent. */
export class KeyTooLargeError extends SizeLimitError {
  override name = 'KeyTooLargeError';
  declare readonly code: 'KEY_TOO_LARGE';

  /**
   * @param sizeBytes - the key's length
   * @param limitBytes - the limit
   */
  constructor(sizeBytes: number, limitBytes: number) {
    super('KEY_TOO_LARGE', 'key', sizeBytes, limitBytes);
  }
}

/**
 * A key and value together are larger than one TiKV write can carry (`raft-entry-max-size`);
 * raised before anything is sent. `sizeBytes` is the key plus the value.
 */
export class EntryTooLargeError extends SizeLimitError {
  override name = 'EntryTooLargeError';
  declare readonly code: 'ENTRY_TOO_LARGE';

  /**
   * @param sizeBytes - the entry's size (key plus value)
   * @param limitBytes - the limit
   */
  constructor(sizeBytes: number, limitBytes: number) {
    super('ENTRY_TOO_LARGE', 'entry', sizeBytes, limitBytes);
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
