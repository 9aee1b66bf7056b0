/** Refused reservations that ask for tokens per grant while the bucket fills (PD client `defaultRemainingNotifyTimes`). */
const REFUSED_NOTIFY_TIMES = 3;

/** What {@link LocalTokenBucket.reserve} decides. */
export interface TokenReservation {
  /** Whether the tokens were taken (the caller then waits `waitMs` before it acts). */
  readonly ok: boolean;
  /** How long until the tokens are there, in ms (also when not taken). */
  readonly waitMs: number;
}

/** New settings for {@link LocalTokenBucket.reconfigure}. */
export interface TokenBucketSettings {
  /** Tokens to add (a burst below 0 sets them instead). */
  readonly tokens: number;
  /** Tokens added per second. */
  readonly fillRate: number;
  /** > 0: capacity; 0: no capacity limit; < 0: unlimited (nothing is ever waited for). */
  readonly burst: number;
  /** At or below this many tokens the bucket reports itself low. */
  readonly notifyThreshold: number;
}

/**
 * The client side of a resource group's RU budget (PD client `Limiter`): tokens that fill at a
 * rate up to a burst and may go negative (a debt the fill pays back). A request reserves its
 * tokens and waits until the bucket would have them; it is refused when that wait is longer
 * than allowed. When the tokens fall to the notify threshold, or a reservation is refused, the
 * bucket calls `onLow` (once until the next grant reconfigures it) so that more tokens are asked
 * of PD.
 */
export class LocalTokenBucket {
  #tokens = 0;
  #fillRate = 0;
  #burst = 0;
  #lastMs: number;
  #notifyThreshold = 0;
  /** Low tokens were reported since the last reconfigure (PD client `isLowProcess`): once is enough. */
  #lowReported = false;
  /** Refused reservations that may still ask for tokens while the bucket fills (PD client `remainingNotifyTimes`). */
  #refusedNotifies = REFUSED_NOTIFY_TIMES;
  readonly #onLow: () => void;

  /** @param nowMs - the clock's time; @param onLow - called when the tokens run low */
  constructor(nowMs: number, onLow: () => void) {
    this.#lastMs = nowMs;
    this.#onLow = onLow;
  }

  /** The tokens there would be at `nowMs`. */
  available(nowMs: number): number {
    return this.#tokensAt(nowMs);
  }

  /** Tokens added per second. */
  get fillRate(): number {
    return this.#fillRate;
  }

  /** Whether the bucket never makes anyone wait (burst below 0). */
  get unlimited(): boolean {
    return this.#burst < 0;
  }

  #tokensAt(nowMs: number): number {
    if (this.#burst < 0) return this.#tokens;
    const elapsedMs = Math.max(0, nowMs - this.#lastMs);
    const t = this.#tokens + (this.#fillRate * elapsedMs) / 1000;
    return this.#burst > 0 && t > this.#burst ? this.#burst : t;
  }

  #advance(nowMs: number): void {
    this.#tokens = this.#tokensAt(nowMs);
    if (nowMs > this.#lastMs) this.#lastMs = nowMs;
  }

  /** Whether the tokens are below the notify threshold (a threshold of 0 never reports: a trickle is running). */
  isLow(nowMs: number): boolean {
    return this.#burst >= 0 && this.#notifyThreshold > 0 && this.#tokensAt(nowMs) < this.#notifyThreshold;
  }

  /**
   * Takes `n` tokens if they will be there within `maxWaitMs` (PD client `reserveN`).
   *
   * @returns whether they were taken and how long to wait for them
   */
  reserve(nowMs: number, n: number, maxWaitMs: number): TokenReservation {
    if (this.#burst < 0) return { ok: true, waitMs: 0 };
    const left = this.#tokensAt(nowMs) - n;
    let waitMs = 0;
    if (left < 0) waitMs = this.#fillRate > 0 ? (-left / this.#fillRate) * 1000 : Number.POSITIVE_INFINITY;
    if (waitMs <= maxWaitMs) {
      this.#advance(nowMs);
      this.#tokens = left;
      if (this.isLow(nowMs)) this.#notify();
      return { ok: true, waitMs };
    }
    // Refused: ask for tokens when nothing fills the bucket, else a few times per grant.
    if (this.#fillRate === 0) this.#notify();
    else if (this.#refusedNotifies > 0) {
      this.#refusedNotifies--;
      this.#lowReported = false;
      this.#notify();
    }
    return { ok: false, waitMs };
  }

  /** Takes `n` tokens whatever the balance (a cost learnt after the fact). */
  remove(nowMs: number, n: number): void {
    if (this.#burst < 0) return;
    this.#advance(nowMs);
    this.#tokens -= n;
    if (this.isLow(nowMs)) this.#notify();
  }

  #notify(): void {
    if (this.#lowReported) return;
    this.#lowReported = true;
    this.#onLow();
  }

  /** Applies a grant (PD client `Limiter.Reconfigure`). */
  reconfigure(nowMs: number, s: TokenBucketSettings): void {
    if (s.burst < 0) {
      this.#tokens = s.tokens;
      if (nowMs > this.#lastMs) this.#lastMs = nowMs;
    } else {
      this.#advance(nowMs);
      this.#tokens += s.tokens;
    }
    this.#fillRate = s.fillRate;
    this.#burst = s.burst;
    this.#notifyThreshold = s.notifyThreshold;
    this.#lowReported = false;
    this.#refusedNotifies = REFUSED_NOTIFY_TIMES;
  }
}
