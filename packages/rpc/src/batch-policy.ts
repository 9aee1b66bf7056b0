import { InvalidArgumentError } from '@tikv/common';

/**
 * When the batcher waits a moment for more requests before sending a short batch (client-go
 * `turboBatchOptions`):
 * - `v` the strategy: 0 always, 1 time-based (the estimated arrival interval is below `p × t`),
 *   2 probability-based (the estimated chance of a request within `t` is above `p`);
 * - `t` the longest wait, in seconds;
 * - `n` caps one arrival interval at `n × t` (time-based);
 * - `w` the weight of the newest sample in the moving estimate;
 * - `p` the threshold above;
 * - `q` rounds the average batch size up to the next wait size when its fraction reaches `q`.
 */
export interface BatchPolicyOptions {
  readonly v: 0 | 1 | 2;
  readonly t: number;
  readonly n: number;
  readonly w: number;
  readonly p: number;
  readonly q: number;
}

/** The named policies (client-go `presetBatchPolicies`). */
export const BATCH_POLICIES: Readonly<
  Record<'basic' | 'standard' | 'positive', Readonly<BatchPolicyOptions>>
> = Object.freeze({
  /** Never waits (client-go before v8.3). */
  basic: Object.freeze({ v: 0, t: 0, n: 0, w: 0, p: 0, q: 0 }),
  /** Waits up to 0.1 ms when requests arrived closer than 0.08 ms apart lately (the default). */
  standard: Object.freeze({ v: 1, t: 0.0001, n: 5, w: 0.2, p: 0.8, q: 0.8 }),
  /** Always waits up to 0.1 ms. */
  positive: Object.freeze({ v: 0, t: 0.0001, n: 0, w: 0, p: 0, q: 0 }),
});

/** The default batch policy (client-go `DefBatchPolicy`). */
export const DEFAULT_BATCH_POLICY = 'standard';

function num(o: Record<string, unknown>, key: string, policy: string): number {
  const v = o[key];
  if (v === undefined) return 0;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
    throw new InvalidArgumentError(`batchPolicy ${policy}: "${key}" must be a number >= 0`);
  return v;
}

/**
 * Parses a batch policy: `basic`, `standard`, `positive`, or `custom` followed by JSON options
 * (`custom {"v":1,"t":0.0002,"n":5,"w":0.2,"p":0.8,"q":0.8}`), as client-go's `batch-policy`.
 *
 * @param policy - the policy string
 * @returns its options
 * @throws InvalidArgumentError for an unknown name or malformed custom options (client-go falls
 *   back to `standard` with a warning instead)
 */
export function parseBatchPolicy(policy: string): BatchPolicyOptions {
  if (policy === 'basic' || policy === 'standard' || policy === 'positive') return BATCH_POLICIES[policy];
  if (typeof policy !== 'string' || !(policy.startsWith('custom') || policy.trimStart().startsWith('{')))
    throw new InvalidArgumentError(
      `batchPolicy must be basic, standard, positive or "custom {...}", got ${String(policy)}`,
    );
  let raw: unknown;
  try {
    raw = JSON.parse((policy.startsWith('custom') ? policy.slice('custom'.length) : policy).trim());
  } catch (e) {
    throw new InvalidArgumentError(`batchPolicy ${policy}: options are not JSON`, { cause: e });
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new InvalidArgumentError(`batchPolicy ${policy}: options must be a JSON object`);
  const o = raw as Record<string, unknown>;
  const v = num(o, 'v', policy);
  if (v !== 0 && v !== 1 && v !== 2)
    throw new InvalidArgumentError(`batchPolicy ${policy}: "v" must be 0, 1 or 2`);
  return Object.freeze({
    v,
    t: num(o, 't', policy),
    n: num(o, 'n', policy),
    w: num(o, 'w', policy),
    p: num(o, 'p', policy),
    q: num(o, 'q', policy),
  });
}

/**
 * Decides, batch by batch, whether to wait for more requests (client-go `turboBatchTrigger`),
 * from the interval between the arrival of a batch's first request and the last request of the
 * batch before.
 */
export class BatchTrigger {
  #estArrivalSec = 0;
  #estProb = 0;
  #maxArrivalSec = 0;

  /** @param opts - the policy's options */
  constructor(readonly opts: BatchPolicyOptions) {}

  /** The longest wait, in milliseconds (0: never waits). */
  get waitMs(): number {
    return this.opts.t * 1000;
  }

  /**
   * @param arrivalIntervalMs - milliseconds between the head request and the previous batch's last
   * @returns whether to wait for more requests
   */
  needFetchMore(arrivalIntervalMs: number): boolean {
    const o = this.opts;
    const sec = arrivalIntervalMs / 1000;
    if (o.v === 1) {
      if (this.#maxArrivalSec === 0) this.#maxArrivalSec = o.t * o.n;
      const x = Math.min(sec, this.#maxArrivalSec);
      this.#estArrivalSec = this.#estArrivalSec === 0 ? x : o.w * x + (1 - o.w) * this.#estArrivalSec;
      return this.#estArrivalSec < o.t * o.p;
    }
    if (o.v === 2) {
      const hit = sec < o.t ? 1 : 0;
      this.#estProb = o.w * hit + (1 - o.w) * this.#estProb;
      return this.#estProb > o.p;
    }
    return true;
  }

  /**
   * How many requests a wait collects before the batch leaves (client-go `preferredBatchWaitSize`).
   *
   * @param avgBatchSize - the moving average of batch sizes
   * @param defaultWaitSize - the configured `batchWaitSize`
   */
  preferredWaitSize(avgBatchSize: number, defaultWaitSize: number): number {
    if (this.opts.v === 0) return defaultWaitSize;
    const whole = Math.floor(avgBatchSize);
    return avgBatchSize - whole >= this.opts.q ? whole + 1 : whole;
  }
}
