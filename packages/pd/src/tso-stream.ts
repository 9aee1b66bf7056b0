/**
 * The TSO stream seen by the dispatcher: one long-lived bidirectional `Tso` call on which
 * requests for `count` timestamps are answered in order.
 */

/** What one TSO response grants: `count` timestamps ending at (`physical`, `logical`). */
export interface TsoResult {
  /** Physical part (milliseconds since the Unix epoch) of every timestamp in the range. */
  readonly physical: bigint;
  /** Logical part of the LAST timestamp in the range. */
  readonly logical: bigint;
  /** How many timestamps the range holds. */
  readonly count: number;
}

/**
 * One open TSO stream. Requests are answered in the order they were sent; when the stream
 * fails, every outstanding request rejects and `broken` becomes true.
 */
export interface TsoStream {
  /** The PD URL the stream is connected to. */
  readonly url: string;
  /** True once the stream has failed or been closed; a broken stream is never reused. */
  readonly broken: boolean;
  /** Asks for `count` consecutive timestamps. */
  request(count: number): Promise<TsoResult>;
  /** Closes the stream, rejecting outstanding requests with `reason`. */
  close(reason?: unknown): void;
}

/** Opens TSO streams to the current PD leader. */
export interface TsoStreamProvider {
  /** Opens a new stream to the current leader. Must honour `signal`. */
  connect(signal: AbortSignal): Promise<TsoStream>;
  /**
   * Told when a stream failed (or could not be opened), so that the owner can re-check the
   * PD membership before the next stream is opened.
   */
  onStreamFailure?(error: unknown, url: string | undefined): void;
}
