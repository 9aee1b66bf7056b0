/** Sub-buckets per power of two: values are kept to within 1/64 (about 1.6%). */
const SUB_BUCKET_BITS = 6;
const SUB_BUCKETS = 1 << SUB_BUCKET_BITS;

/** Bucket of a non-negative integer: exact below 2·64, then 64 buckets per power of two. */
function bucketOf(v: number): number {
  if (v < 2 * SUB_BUCKETS) return v;
  const shift = Math.floor(Math.log2(v)) - SUB_BUCKET_BITS;
  const top = Math.floor(v / 2 ** shift); // in [64, 128)
  return SUB_BUCKETS * shift + top;
}

/** The largest value that falls in a bucket. */
function highestIn(bucket: number): number {
  if (bucket < 2 * SUB_BUCKETS) return bucket;
  const shift = Math.floor(bucket / SUB_BUCKETS) - 1;
  const top = bucket - SUB_BUCKETS * shift;
  return (top + 1) * 2 ** shift - 1;
}

/** What {@link LatencyHistogram.summary} reports, in microseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly minUs: number;
  readonly meanUs: number;
  readonly p50Us: number;
  readonly p90Us: number;
  readonly p99Us: number;
  readonly p999Us: number;
  readonly maxUs: number;
}

/**
 * A small HDR-style histogram of latencies in whole microseconds: log-linear buckets (64 per
 * power of two), so a percentile is reported to within 1/64 of its value, in constant memory.
 */
export class LatencyHistogram {
  readonly #counts: number[] = [];
  #count = 0;
  #sum = 0;
  #min = Number.POSITIVE_INFINITY;
  #max = 0;

  /** Records one latency; negative or fractional values are rounded into range. */
  record(us: number): void {
    const v = Math.max(0, Math.round(us));
    const b = bucketOf(v);
    this.#counts[b] = (this.#counts[b] ?? 0) + 1;
    this.#count++;
    this.#sum += v;
    if (v < this.#min) this.#min = v;
    if (v > this.#max) this.#max = v;
  }

  /** How many latencies were recorded. */
  get count(): number {
    return this.#count;
  }

  /**
   * The value at a percentile: the highest value of the bucket that holds it (never above the
   * largest value recorded); 0 when empty.
   *
   * @param p - in [0, 100]
   */
  percentile(p: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil((Math.min(100, Math.max(0, p)) / 100) * this.#count));
    let seen = 0;
    for (let b = 0; b < this.#counts.length; b++) {
      seen += this.#counts[b] ?? 0;
      if (seen >= rank) return Math.min(highestIn(b), this.#max);
    }
    return this.#max;
  }

  /** Count, min, mean, p50, p90, p99, p99.9 and max. */
  summary(): LatencySummary {
    const empty = this.#count === 0;
    return {
      count: this.#count,
      minUs: empty ? 0 : this.#min,
      meanUs: empty ? 0 : Math.round(this.#sum / this.#count),
      p50Us: this.percentile(50),
      p90Us: this.percentile(90),
      p99Us: this.percentile(99),
      p999Us: this.percentile(99.9),
      maxUs: this.#max,
    };
  }
}

/** Microseconds for people: `850µs`, `12.3ms`, `1.20s`. */
export function formatMicros(us: number): string {
  if (us < 1000) return `${us}µs`;
  if (us < 1_000_000) return `${(us / 1000).toFixed(us < 10_000 ? 2 : 1)}ms`;
  return `${(us / 1_000_000).toFixed(2)}s`;
}
