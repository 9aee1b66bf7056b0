/** How much a new flush duration weighs in the average (client-go's EWMA of age 10: 2 / (10 + 1)). */
const DECAY = 2 / 11;

/**
 * The moving average of a pipelined transaction's flush durations (client-go's
 * `flushBatchDurationEWMA`), seeded with the first one, and the throttle sleep it gives.
 *
 * @internal
 */
export class FlushDurationAverage {
  #value = 0;

  /** The average, in ms; 0 before any flush. */
  get value(): number {
    return this.#value;
  }

  /** Adds a flush's duration, in ms. */
  add(ms: number): void {
    this.#value = this.#value === 0 ? ms : ms * DECAY + this.#value * (1 - DECAY);
  }

  /**
   * The sleep before the next flush, so that sleeping is `ratio` of sleeping plus flushing
   * (client-go `throttlePipelinedTxn`: `ratio / (1 - ratio) * average`), whole milliseconds.
   *
   * @param ratio - in [0, 1)
   */
  sleepMs(ratio: number): number {
    if (!(ratio > 0 && ratio < 1)) return 0;
    return Math.trunc((ratio / (1 - ratio)) * this.#value);
  }
}
