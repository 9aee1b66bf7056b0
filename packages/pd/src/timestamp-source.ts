import type { CallOptions } from './call-options.js';

/**
 * Fresh timestamps: what a transaction needs to start and to commit, and all it needs from PD
 * for that. `PdClient`, `PdClient.timestamps` and every {@link Oracle} satisfy it, so a
 * consumer declares this and takes any of them (or a three-line fake in a test).
 *
 * @example
 * ```ts
 * async function begin(ts: TimestampSource) {
 *   const startTs = await ts.getTimestamp({ timeoutMs: 1_000 });
 * }
 * ```
 */
export interface TimestampSource {
  /**
   * A fresh timestamp, strictly greater than every one this source handed out before.
   *
   * @param options - `signal` cancels the call, `timeoutMs` bounds it (retries included)
   */
  getTimestamp(options?: CallOptions): Promise<bigint>;
}

/**
 * What a `PdOracle` draws from: fresh timestamps and the cluster's external timestamp.
 * `PdClient` and `PdClient.timestamps` satisfy it.
 */
export interface OracleTimestampSource extends TimestampSource {
  /** The cluster's external timestamp. */
  getExternalTimestamp(options?: CallOptions): Promise<bigint>;
  /** Sets the cluster's external timestamp. */
  setExternalTimestamp(ts: bigint, options?: CallOptions): Promise<void>;
}
