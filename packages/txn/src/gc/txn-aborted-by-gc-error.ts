import { dateFromTs, TiKVError } from '@tikv/common';

/**
 * A read or transaction at `startTs` was refused: GC may already have removed versions it
 * needs, since `startTs` is below the txn safe point (client-go `ErrTxnAbortedByGC`). Not
 * retryable with the same ts: start again with a fresh one.
 */
export class TxnAbortedByGcError extends TiKVError {
  override name = 'TxnAbortedByGcError';
  declare readonly code: 'TXN_ABORTED_BY_GC';
  /** The refused start ts. */
  readonly startTs: bigint;
  /** The txn safe point it is below. */
  readonly txnSafePoint: bigint;

  /**
   * @param startTs - the refused ts
   * @param txnSafePoint - the txn safe point
   */
  constructor(startTs: bigint, txnSafePoint: bigint) {
    super(
      'TXN_ABORTED_BY_GC',
      `start ts ${startTs} (${dateFromTs(startTs).toISOString()}) is below the txn safe point ${txnSafePoint} (${dateFromTs(txnSafePoint).toISOString()}): GC may have removed the data it reads`,
      false,
    );
    this.startTs = startTs;
    this.txnSafePoint = txnSafePoint;
  }
}
