import { extractPhysical } from '@tikv/common';

/**
 * States of the adaptive low-resolution-timestamp update interval (client-go's
 * `adaptiveUpdateTSIntervalState`).
 */
export const AdaptiveIntervalState = Object.freeze({
  /** Not computed yet. */
  NONE: 'none',
  /** The interval equals the configured one. */
  NORMAL: 'normal',
  /** Shrunk because recent stale reads asked for less staleness than the interval. */
  ADAPTING: 'adapting',
  /** Growing back towards the configured interval. */
  RECOVERING: 'recovering',
  /** The configured interval is too short to adapt. */
  UNADJUSTABLE: 'unadjustable',
} as const);
/** One of the {@link AdaptiveIntervalState} values. */
export type AdaptiveIntervalState = (typeof AdaptiveIntervalState)[keyof typeof AdaptiveIntervalState];

/** The shortest interval adaptation may shrink to, in ms. */
export const MIN_ADAPTIVE_UPDATE_INTERVAL_MS = 500;
/** How much below the requested staleness the interval is shrunk, in ms. */
export const ADAPTIVE_SHRINKING_PRESERVE_MS = 100;
/** A read whose staleness is within this of the interval blocks recovery, in ms. */
export const ADAPTIVE_BLOCK_RECOVER_THRESHOLD_MS = 200;
/** How fast the interval grows back while recovering, in ms per second. */
export const ADAPTIVE_RECOVER_PER_SECOND_MS = 20;
/** How long the shrunk interval is held after the last short-staleness read, in ms. */
export const ADAPTIVE_DELAY_BEFORE_RECOVERING_MS = 5 * 60 * 1000;

type Transition = readonly [AdaptiveIntervalState, number] | undefined;

/**
 * The state machine behind the oracle's adaptive update interval: stale reads asking for
 * less staleness than the current interval shrink it at once (not below
 * {@link MIN_ADAPTIVE_UPDATE_INTERVAL_MS}); when such reads stop for
 * {@link ADAPTIVE_DELAY_BEFORE_RECOVERING_MS}, it grows back to the configured interval at
 * {@link ADAPTIVE_RECOVER_PER_SECOND_MS} per second. Time is passed in, never read.
 */
export class AdaptiveUpdateInterval {
  /** The configured interval, in ms. */
  configuredMs: number;
  /** The interval in use, in ms. */
  adaptiveMs: number;
  /** The current state. */
  state: AdaptiveIntervalState = AdaptiveIntervalState.NONE;
  /** When the low-resolution timestamp was last refreshed (Unix ms). */
  lastTickMs: number;
  /** The last time (Unix ms) a read asked for a staleness close to the interval. */
  lastShortStalenessReadMs = 0;

  /**
   * @param configuredMs - the configured interval
   * @param nowMs - the current time, as the first tick
   */
  constructor(configuredMs: number, nowMs: number) {
    this.configuredMs = configuredMs;
    this.adaptiveMs = configuredMs;
    this.lastTickMs = nowMs;
  }

  /**
   * Computes the interval to use next and moves the state. `requiredStalenessMs` is 0 on
   * a regular tick and the requested staleness when a read asked to shrink.
   */
  next(nowMs: number, requiredStalenessMs: number): number {
    const configured = this.configuredMs;
    let current = this.adaptiveMs;
    const sinceShortRead = nowMs - this.lastShortStalenessReadMs;

    const unadjustable = (): Transition =>
      configured <= MIN_ADAPTIVE_UPDATE_INTERVAL_MS
        ? [AdaptiveIntervalState.UNADJUSTABLE, configured]
        : undefined;
    const normal = (): Transition =>
      configured > MIN_ADAPTIVE_UPDATE_INTERVAL_MS && current === configured
        ? [AdaptiveIntervalState.NORMAL, current]
        : undefined;
    const adapting = (): Transition => {
      if (
        requiredStalenessMs !== 0 &&
        requiredStalenessMs < current &&
        current > MIN_ADAPTIVE_UPDATE_INTERVAL_MS
      ) {
        const shrunk = Math.max(
          requiredStalenessMs - ADAPTIVE_SHRINKING_PRESERVE_MS,
          MIN_ADAPTIVE_UPDATE_INTERVAL_MS,
        );
        return [AdaptiveIntervalState.ADAPTING, shrunk];
      }
      if (current !== configured && sinceShortRead < ADAPTIVE_DELAY_BEFORE_RECOVERING_MS) {
        return [AdaptiveIntervalState.ADAPTING, current];
      }
      return undefined;
    };
    const recovering = (): Transition => {
      if (current === configured || sinceShortRead < ADAPTIVE_DELAY_BEFORE_RECOVERING_MS) return undefined;
      const grownBy = ((nowMs - this.lastTickMs) / 1000) * ADAPTIVE_RECOVER_PER_SECOND_MS;
      return [AdaptiveIntervalState.RECOVERING, Math.min(current + grownBy, configured)];
    };

    const checks =
      requiredStalenessMs !== 0 ? [unadjustable, adapting] : [unadjustable, adapting, normal, recovering];
    for (const check of checks) {
      const t = check();
      if (t === undefined) continue;
      let [state, interval] = t;
      current = interval;
      if (state === AdaptiveIntervalState.RECOVERING) {
        const n = normal();
        if (n !== undefined) [state, interval] = n;
        current = interval;
      }
      this.adaptiveMs = current;
      this.state = state;
      return current;
    }
    return current;
  }

  /**
   * Records a stale read at `readTs` made when the current timestamp was `currentTs`.
   *
   * @returns the staleness (ms, at least 1) the interval must shrink to at once, or
   *   undefined when no immediate shrink is needed
   */
  observeStaleRead(readTs: bigint, currentTs: bigint, nowMs: number): number | undefined {
    const requiredMs = extractPhysical(currentTs) - extractPhysical(readTs);
    const current = this.adaptiveMs;
    if (
      requiredMs <= current + ADAPTIVE_BLOCK_RECOVER_THRESHOLD_MS &&
      this.lastShortStalenessReadMs < nowMs
    ) {
      this.lastShortStalenessReadMs = nowMs;
    }
    if (requiredMs <= current && current > MIN_ADAPTIVE_UPDATE_INTERVAL_MS) return Math.max(requiredMs, 1);
    return undefined;
  }

  /**
   * Applies a new configured interval: the interval in use follows at once when it was not
   * adapted, or when the new value is shorter than it.
   */
  setConfigured(ms: number): void {
    const prev = this.configuredMs;
    this.configuredMs = ms;
    if (ms === prev) return;
    if (this.adaptiveMs === prev || ms < this.adaptiveMs) this.adaptiveMs = ms;
  }
}
