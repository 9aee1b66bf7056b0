/** PD's refill rate of a group without one, RU/s (`defaultRefillRate`). */
const DEFAULT_REFILL_RATE = 10_000;
/** Tokens a burstable group starts with (`defaultInitialTokens`). */
const DEFAULT_INITIAL_TOKENS = 10 * 10_000;
/** Share of a period's fill PD grants even to a client deep in debt (`defaultReserveRatio`). */
const DEFAULT_RESERVE_RATIO = 0.5;
/** How many periods' worth of fill a client may borrow, in steps (`defaultLoanCoefficient`). */
const DEFAULT_LOAN_COEFFICIENT = 2;

/** A group's RU settings (`TokenLimitSettings`). */
export interface TokenLimit {
  /** RU per second. */
  readonly fillRate: number;
  /** > 0: capacity; 0: rate controlled, unlimited capacity; -1: unlimited. */
  readonly burstLimit: number;
}

/** What one token request is granted. */
export interface TokenGrant {
  readonly tokens: number;
  /** Over how long the client should spread the tokens, in ms (0: at once). */
  readonly trickleTimeMs: number;
  /** The burst limit the client's bucket takes. */
  readonly burstLimit: number;
}

/**
 * One resource group's RU bucket in PD's resource manager (`GroupTokenBucket` with one token
 * slot: the mock serves one client per group, as a test has): a burstable group (burst > 0)
 * starts with 100,000 RU and refills at its fill rate up to its burst; a rate-controlled one
 * (burst 0) never refills and lends instead; an unlimited one (burst -1) grants everything. A
 * request beyond the tokens left is granted as a loan paid back at the fill rate (up to two
 * periods' worth, the first at twice the rate), spread over a trickle time, and a client deep in
 * debt still gets half a period's fill (`assignSlotTokens`).
 */
export class GroupTokenBucket {
  #limit: TokenLimit;
  #tokens: number;
  #initialized = false;
  #lastUpdateMs = 0;

  /** @param limit - the group's settings; @param tokens - its stored tokens */
  constructor(limit: TokenLimit, tokens = 0) {
    this.#limit = limit;
    this.#tokens = tokens;
  }

  /** The tokens the group holds (negative: lent out). */
  get tokens(): number {
    return this.#tokens;
  }

  /** New settings (a modified group). */
  setLimit(limit: TokenLimit): void {
    this.#limit = limit;
  }

  #fillRate(): number {
    return this.#limit.fillRate === 0 ? DEFAULT_REFILL_RATE : this.#limit.fillRate;
  }

  /** Grants tokens for `required` RU at `nowMs` to a client that asks every `targetPeriodMs`. */
  request(nowMs: number, required: number, targetPeriodMs: number): TokenGrant {
    const burst = this.#limit.burstLimit;
    if (!this.#initialized) {
      if (burst > 0 && this.#tokens < DEFAULT_INITIAL_TOKENS) this.#tokens = DEFAULT_INITIAL_TOKENS;
      this.#lastUpdateMs = nowMs;
      this.#initialized = true;
    } else if (burst > 0) {
      const deltaMs = nowMs - this.#lastUpdateMs;
      if (deltaMs > 0) this.#tokens += (this.#fillRate() * deltaMs) / 1000;
      if (this.#tokens > burst) this.#tokens = burst;
      this.#lastUpdateMs = nowMs;
    }
    return this.#assign(required, targetPeriodMs);
  }

  #assign(requiredIn: number, targetPeriodMs: number): TokenGrant {
    const burstLimit = this.#limit.burstLimit;
    if (burstLimit === -1) return { tokens: requiredIn, trickleTimeMs: 0, burstLimit };
    if (requiredIn <= 0) return { tokens: 0, trickleTimeMs: 0, burstLimit };
    let required = requiredIn;
    if (this.#tokens >= required) {
      this.#tokens -= required;
      return { tokens: required, trickleTimeMs: 0, burstLimit };
    }
    const fillRate = this.#fillRate();
    let granted = 0;
    let consumedExisting = false;
    if (this.#tokens > 0) {
      granted = this.#tokens;
      required -= granted;
      this.#tokens = 0;
      consumedExisting = true;
    }
    const periodSec = targetPeriodMs / 1000;
    const coefficient = burstLimit > 0 && burstLimit <= fillRate ? 1 : DEFAULT_LOAN_COEFFICIENT;
    // p[i]: the debt the client may reach in round i (round i lends at (coefficient - i) x fill rate).
    const p: number[] = [coefficient * fillRate * periodSec];
    for (let i = 1; i < coefficient; i++)
      p.push((coefficient - i) * fillRate * periodSec + (p[i - 1] as number));
    let trickleSec = 0;
    for (let i = 0; i < coefficient && required > 0 && trickleSec < periodSec; i++) {
      const loan = -this.#tokens;
      const cap = p[i] as number;
      if (loan >= cap) continue;
      const roundTokens = cap - loan;
      const rate = (coefficient - i) * fillRate;
      if (roundTokens > required) {
        this.#tokens -= required;
        granted += required;
        trickleSec += granted / rate;
        required = 0;
      } else {
        const roundSec = roundTokens / rate;
        if (roundSec + trickleSec >= periodSec) {
          const t = (periodSec - trickleSec) * rate;
          required -= t;
          this.#tokens -= t;
          granted += t;
          trickleSec = periodSec;
        } else {
          granted += roundTokens;
          required -= roundTokens;
          this.#tokens -= roundTokens;
          trickleSec += roundSec;
        }
      }
    }
    const reserve = DEFAULT_RESERVE_RATIO * fillRate * periodSec;
    if (required > 0 && granted < reserve) {
      const reserved = Math.min(required + granted, reserve);
      this.#tokens -= reserved - granted;
      granted = reserved;
    }
    const trickleTimeMs = consumedExisting
      ? Math.floor(Math.min(trickleSec, periodSec) * 1000)
      : targetPeriodMs;
    return { tokens: granted, trickleTimeMs, burstLimit };
  }
}
