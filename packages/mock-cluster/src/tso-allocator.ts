/** Number of bits of a TSO's logical part. */
export const LOGICAL_BITS = 18;
/** Exclusive upper bound of the logical part, as in PD. */
export const MAX_LOGICAL = 1 << LOGICAL_BITS;

/** A physical (ms) / logical pair: the last timestamp of an allocated batch. */
export interface TsoTimestamp {
  readonly physical: bigint;
  readonly logical: bigint;
}

/** Raised when PD would answer a TSO request with an error. */
export class TsoError extends Error {
  override name = 'TsoError';
}

/**
 * PD's timestamp oracle: one allocator per cluster, so timestamps are strictly increasing across
 * every stream. The physical part follows the wall clock and never goes back; a batch that would
 * push the logical part to 2^18 or beyond moves the physical part on by a millisecond first, as
 * PD's overflow update does (PD then waits for its next tick; the mock simply advances).
 */
export class TsoAllocator {
  #physical = 0;
  #logical = 0;
  readonly #nowMs: () => number;

  constructor(nowMs: () => number = Date.now) {
    this.#nowMs = nowMs;
  }

  /** Allocates `count` timestamps and returns the last of them. */
  allocate(count: number): TsoTimestamp {
    if (!Number.isInteger(count) || count <= 0) throw new TsoError('tso count should be positive');
    if (count >= MAX_LOGICAL) throw new TsoError('generate tso maximum number of retries exceeded');
    const now = this.#nowMs();
    if (now > this.#physical) {
      this.#physical = now;
      this.#logical = 0;
    }
    if (this.#logical + count >= MAX_LOGICAL) {
      this.#physical += 1;
      this.#logical = 0;
    }
    this.#logical += count;
    return this.peek();
  }

  /**
   * The newest timestamp allocated so far, without allocating one (`{ 0, 0 }` before the first):
   * what the mock TiKV takes as the latest TSO PD has issued.
   */
  peek(): TsoTimestamp {
    return { physical: BigInt(this.#physical), logical: BigInt(this.#logical) };
  }
}
