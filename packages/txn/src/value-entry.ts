/**
 * A value read with its commit ts (client-go `kv.ValueEntry`), as {@link Snapshot.getEntry} and
 * `Transaction.getEntry` return it.
 */
export interface ValueEntry {
  /** The value (never zero-length: an absent key has no entry). */
  readonly value: Uint8Array;
  /**
   * The commit ts of the transaction that wrote the value. `0n` for a value the reading
   * transaction wrote itself and has not committed (its buffer, or a pipelined transaction's
   * flushed locks): it has no commit ts yet.
   */
  readonly commitTs: bigint;
}
