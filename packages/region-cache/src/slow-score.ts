/** Client-side slow score at or above which a store counts as slow. */
export const SLOW_SCORE_THRESHOLD = 80;
/** The highest slow score. */
export const SLOW_SCORE_MAX = 100;
const SLOW_SCORE_INIT = 1;
const INIT_TIMECOST_US = 500_000;
const MAX_TIMECOST_US = 30_000_000;
const WINDOW_SIZE = 10;

/** A sliding window over the last samples that keeps their sum and integer mean. */
class CountWindow {
  avg = 0;
  private sum = 0;
  private readonly history: number[] = [];

  /** Adds a sample and returns its relative change against the previous mean. */
  append(value: number): number {
    const prevAvg = this.avg;
    if (this.history.length < WINDOW_SIZE) {
      this.sum += value;
    } else {
      this.sum = this.sum - (this.history.shift() ?? 0) + value;
    }
    this.history.push(value);
    this.avg = Math.floor(this.sum / this.history.length);
    if (prevAvg > 0 && value !== prevAvg) return (value - prevAvg) / prevAvg;
    return 1e-6;
  }
}

/**
 * The client-side slow score of a store (client-go `SlowScoreStat`): request
 * latencies are recorded as they complete, and a periodic {@link SlowScore.update}
 * raises the score when latency grows while throughput falls, and lets it decay
 * otherwise. A request of 30 s or more makes the store slow at once.
 */
export class SlowScore {
  private score = SLOW_SCORE_INIT;
  private avgTimecostUs = 0;
  private intervalTimecostUs = 0;
  private intervalCount = 0;
  private readonly timecostWindow = new CountWindow();
  private readonly countWindow = new CountWindow();

  /** The current score, 1 (healthy) to 100. */
  get value(): number {
    return this.score;
  }

  /** Whether the score has reached {@link SLOW_SCORE_THRESHOLD}. */
  get isSlow(): boolean {
    return this.score >= SLOW_SCORE_THRESHOLD;
  }

  /**
   * Records how long one request took.
   *
   * @param timecostMs - the request's latency in milliseconds
   */
  record(timecostMs: number): void {
    this.intervalCount += 1;
    const us = Math.floor(timecostMs * 1000);
    if (this.avgTimecostUs === 0) {
      this.score = SLOW_SCORE_INIT;
      this.avgTimecostUs = INIT_TIMECOST_US;
      this.intervalTimecostUs = us;
      return;
    }
    if (us >= MAX_TIMECOST_US) {
      this.score = SLOW_SCORE_MAX;
      return;
    }
    this.intervalTimecostUs += us;
  }

  /** Folds the samples recorded since the last call into the score (call it periodically). */
  update(): void {
    if (this.avgTimecostUs === 0) {
      this.score = SLOW_SCORE_INIT;
      this.avgTimecostUs = INIT_TIMECOST_US;
      return;
    }
    let countGradient = 1;
    let timeGradient = 1;
    if (this.intervalCount > 0) {
      const intervalAvg = Math.floor(this.intervalTimecostUs / this.intervalCount);
      countGradient = this.countWindow.append(this.intervalCount);
      timeGradient = this.timecostWindow.append(intervalAvg);
    }
    if (countGradient + 0.1 <= 1e-9 && timeGradient - 0.1 >= 1e-9) {
      const ratio = Math.min(5.43, Math.abs(timeGradient / countGradient));
      this.score = Math.ceil(Math.min(this.score * ratio + 1, SLOW_SCORE_MAX));
    } else {
      const cost = Math.ceil(Math.max(SLOW_SCORE_INIT, Math.min(2.71, 1 + Math.abs(countGradient))));
      this.score = this.score <= SLOW_SCORE_INIT + cost ? SLOW_SCORE_INIT : this.score - cost;
    }
    this.avgTimecostUs = this.timecostWindow.avg;
    this.intervalTimecostUs = 0;
    this.intervalCount = 0;
  }

  /** Makes the store slow at once (the highest score). */
  markSlow(): void {
    this.score = SLOW_SCORE_MAX;
  }
}

/** TiKV-side slow score at or above which a store counts as slow. */
export const TIKV_SLOW_SCORE_THRESHOLD = 80;
/** Linear decay of the TiKV-side slow score, per second, when TiKV stops reporting. */
const TIKV_SLOW_SCORE_DECAY_PER_SECOND = 20 / 60;
const TIKV_SLOW_SCORE_UPDATE_INTERVAL_MS = 100;
const TIKV_SLOW_SCORE_ACTIVE_UPDATE_INTERVAL_MS = 15_000;

/** A snapshot of a store's two slow scores. */
export interface HealthStatusDetail {
  /** The score measured by this client from request latencies. */
  readonly clientSideSlowScore: number;
  /** The score TiKV reported in its health feedback (0 before any). */
  readonly tikvSideSlowScore: number;
}

/**
 * A store's health: the client-side slow score plus the slow score TiKV
 * reports in health feedback (client-go `StoreHealthStatus`). The store is
 * slow when either score reaches its threshold.
 */
export class StoreHealthStatus {
  /** The client-side score. */
  readonly clientSide = new SlowScore();
  private tikvScore = 0;
  private tikvUpdatedAtMs: number | undefined;
  private hasTikvFeedback = false;
  private slow = false;

  /** Whether the store currently counts as slow. */
  get isSlow(): boolean {
    return this.slow;
  }

  /** @returns both scores */
  detail(): HealthStatusDetail {
    return { clientSideSlowScore: this.clientSide.value, tikvSideSlowScore: this.tikvScore };
  }

  /**
   * Records one request's latency.
   *
   * @param timecostMs - latency in milliseconds
   */
  recordLatency(timecostMs: number): void {
    this.clientSide.record(timecostMs);
    this.refreshSlowFlag();
  }

  /** Marks the store slow at once. */
  markAlreadySlow(): void {
    this.clientSide.markSlow();
    this.refreshSlowFlag();
  }

  /**
   * Takes a slow score TiKV reported. Updates closer than 100 ms apart are
   * ignored unless the score is unchanged (then only the time is refreshed).
   *
   * @param score - TiKV's slow score (1 = healthy, 100 = slowest)
   * @param nowMs - the current time in milliseconds
   */
  updateTikvSlowScore(score: number, nowMs: number): void {
    if (score === this.tikvScore) {
      if (score > 1) this.tikvUpdatedAtMs = nowMs;
      this.refreshSlowFlag();
      return;
    }
    if (
      this.tikvUpdatedAtMs !== undefined &&
      nowMs - this.tikvUpdatedAtMs < TIKV_SLOW_SCORE_UPDATE_INTERVAL_MS
    ) {
      this.refreshSlowFlag();
      return;
    }
    this.hasTikvFeedback = true;
    this.tikvScore = score;
    this.tikvUpdatedAtMs = nowMs;
    this.refreshSlowFlag();
  }

  /**
   * Whether TiKV's slow score is worth asking for again (client-go
   * `updateTiKVServerSideSlowScoreOnTick`): TiKV has sent feedback, its score is above 1, and it
   * was not refreshed for 15 s.
   *
   * @param nowMs - the current time in milliseconds
   * @returns true when the tick should request fresh feedback first
   */
  needsTikvRefresh(nowMs: number): boolean {
    return (
      this.hasTikvFeedback &&
      this.tikvScore > 1 &&
      this.tikvUpdatedAtMs !== undefined &&
      nowMs - this.tikvUpdatedAtMs >= TIKV_SLOW_SCORE_ACTIVE_UPDATE_INTERVAL_MS
    );
  }

  /**
   * The periodic step: folds the client-side samples and decays a TiKV-side
   * score that has not been refreshed for 15 s.
   *
   * @param nowMs - the current time in milliseconds
   */
  tick(nowMs: number): void {
    this.clientSide.update();
    if (this.hasTikvFeedback && this.tikvScore > 1 && this.tikvUpdatedAtMs !== undefined) {
      const elapsedMs = nowMs - this.tikvUpdatedAtMs;
      if (elapsedMs >= TIKV_SLOW_SCORE_ACTIVE_UPDATE_INTERVAL_MS) {
        const decayed = Math.round(this.tikvScore - (TIKV_SLOW_SCORE_DECAY_PER_SECOND * elapsedMs) / 1000);
        this.tikvScore = Math.max(decayed, 1);
        this.tikvUpdatedAtMs = nowMs;
      }
    }
    this.refreshSlowFlag();
  }

  private refreshSlowFlag(): void {
    this.slow = this.clientSide.isSlow || this.tikvScore >= TIKV_SLOW_SCORE_THRESHOLD;
  }
}
