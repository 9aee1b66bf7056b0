/**
 * The TTL of a small transaction's locks, in milliseconds: a lock older than this is taken for
 * the lock of a dead client and may be cleaned up (client-go `defaultLockTTL`).
 */
export const DEFAULT_LOCK_TTL_MS = 3000;

/** TTL per square root of MiB written (client-go `ttlFactor`). */
const TTL_FACTOR = 6000;
const BYTES_PER_MIB = 1024 * 1024;

/** Options of {@link txnLockTtlMs}. */
export interface TxnLockTtlOptions {
  /** Transactions below this size keep {@link DEFAULT_LOCK_TTL_MS} (client-go `TxnCommitBatchSize`). */
  readonly commitBatchSizeBytes: number;
  /** The TTL never passes this (client-go `ManagedLockTTL`). */
  readonly managedLockTtlMs: number;
}

/**
 * The lock TTL of a transaction, in milliseconds (client-go `txnLockTTL`): 3 s below one commit
 * batch (16 KiB); above it `6000 * sqrt(size in MiB)` (6 s at 1 MiB, 12 s at 4 MiB), kept within
 * [3 s, `managedLockTtlMs`]; plus the time the transaction has run, so a transaction that read
 * for long is not taken for a dead one right after its prewrite.
 *
 * @param txnSizeBytes - bytes of keys and values written
 * @param elapsedMs - milliseconds since the transaction began
 * @param options - the batch size and the TTL ceiling
 * @returns the TTL in milliseconds
 */
export function txnLockTtlMs(txnSizeBytes: number, elapsedMs: number, options: TxnLockTtlOptions): number {
  let ttl = DEFAULT_LOCK_TTL_MS;
  if (txnSizeBytes >= options.commitBatchSizeBytes) {
    ttl = Math.floor(TTL_FACTOR * Math.sqrt(txnSizeBytes / BYTES_PER_MIB));
    if (ttl < DEFAULT_LOCK_TTL_MS) ttl = DEFAULT_LOCK_TTL_MS;
    if (ttl > options.managedLockTtlMs) ttl = options.managedLockTtlMs;
  }
  return ttl + Math.max(0, Math.floor(elapsedMs));
}
