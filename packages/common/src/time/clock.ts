import { type AbortListener, offAbort, onAbort } from '../options/abort-listeners.js';

/** Options of one {@link Clock.sleep}. */
export interface SleepOptions {
  /**
   * The sleep of a background loop that no caller awaits (a cache sweep, a member refresh):
   * with the system clock its timer does not keep the process alive. Leave it unset for
   * anything a caller waits on (a retry's backoff, a deadline), or a script awaiting that call
   * could exit before it settles.
   * @defaultValue false
   */
  readonly background?: boolean;
}

/**
 * A source of time and sleeps. Components take one so tests can drive time
 * with a {@link ManualClock} instead of real timers.
 */
export interface Clock {
  /** The current time in milliseconds (wall clock for the system clock). */
  now(): number;
  /**
   * Resolves after `ms` milliseconds; rejects with `signal.reason` as soon as
   * the signal aborts (immediately when it already has). An aborted sleep
   * leaves nothing pending.
   */
  sleep(ms: number, signal?: AbortSignal, options?: SleepOptions): Promise<void>;
}

/** A source of uniformly distributed numbers in [0, 1), like `Math.random`. */
export type RandomSource = () => number;

/**
 * Sleeps with a real timer, cleared when the signal aborts. The timer keeps
 * the process alive (someone awaits it) unless the sleep is a `background` one.
 *
 * @param ms - how long to sleep, in milliseconds (negative means 0)
 * @param signal - aborts the sleep with `signal.reason`
 * @param options - `background` for a loop nobody awaits
 * @returns a promise that settles when the sleep ends or aborts
 */
export function sleepMs(ms: number, signal?: AbortSignal, options?: SleepOptions): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const aborted: AbortListener = (reason) => {
      clearTimeout(timer);
      reject(reason);
    };
    const timer = setTimeout(
      () => {
        if (signal !== undefined) offAbort(signal, aborted);
        resolve();
      },
      Math.max(0, ms),
    );
    if (options?.background === true) timer.unref?.();
    if (signal !== undefined) onAbort(signal, aborted);
  });
}

/** The real clock: `Date.now()` and real timers (unref'd only for background sleeps). */
export const systemClock: Clock = Object.freeze({
  now: (): number => Date.now(),
  sleep: sleepMs,
});

interface PendingSleep {
  readonly dueMs: number;
  readonly seq: number;
  readonly background: boolean;
  readonly resolve: () => void;
}

/** Options of a {@link ManualClock}. */
export interface ManualClockOptions {
  /**
   * The clock's initial time, in milliseconds.
   * @defaultValue 0
   */
  readonly startMs?: number;
  /**
   * When true, every `sleep` advances the clock by its duration at once and
   * resolves, so code that sleeps runs to completion without a driver.
   * @defaultValue false
   */
  readonly autoAdvance?: boolean;
}

/**
 * A clock for tests: time moves only when {@link ManualClock.advance} is
 * called (or, with `autoAdvance`, when something sleeps). Sleeps that come due
 * resolve in due-time order.
 */
export class ManualClock implements Clock {
  private current: number;
  private readonly autoAdvance: boolean;
  private pending: PendingSleep[] = [];
  private seq = 0;
  /** Every sleep duration requested, in call order. */
  readonly sleeps: number[] = [];

  /** @param options - start time and auto-advance */
  constructor(options: ManualClockOptions = {}) {
    this.current = options.startMs ?? 0;
    this.autoAdvance = options.autoAdvance ?? false;
  }

  /** @returns the clock's current time in milliseconds */
  now(): number {
    return this.current;
  }

  /** How many sleeps are waiting for time to advance. */
  get pendingSleeps(): number {
    return this.pending.length;
  }

  /**
   * How many of the {@link ManualClock.pendingSleeps} someone awaits: those not marked
   * `background` (the ones a real clock's timers would keep the process alive for).
   */
  get pendingForegroundSleeps(): number {
    let n = 0;
    for (const p of this.pending) if (!p.background) n++;
    return n;
  }

  /**
   * Sleeps in clock time.
   *
   * @param ms - duration in milliseconds (negative means 0)
   * @param signal - aborts the sleep with `signal.reason` (and removes it from the pending ones)
   * @param options - `background`: counted apart in {@link ManualClock.pendingForegroundSleeps}
   * @returns a promise that settles when the clock reaches the due time or the signal aborts
   */
  sleep(ms: number, signal?: AbortSignal, options?: SleepOptions): Promise<void> {
    const duration = Math.max(0, ms);
    this.sleeps.push(duration);
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.autoAdvance) {
      this.current += duration;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const entry: PendingSleep = {
        dueMs: this.current + duration,
        seq: this.seq++,
        background: options?.background === true,
        resolve: () => {
          if (signal !== undefined) offAbort(signal, aborted);
          resolve();
        },
      };
      const aborted: AbortListener = (reason) => {
        this.pending = this.pending.filter((p) => p !== entry);
        reject(reason);
      };
      if (signal !== undefined) onAbort(signal, aborted);
      this.pending.push(entry);
    });
  }

  /**
   * Moves time forward and resolves the sleeps that come due, in due order.
   *
   * @param ms - how far to move, in milliseconds
   */
  advance(ms: number): void {
    this.current += Math.max(0, ms);
    const due = this.pending
      .filter((p) => p.dueMs <= this.current)
      .sort((a, b) => a.dueMs - b.dueMs || a.seq - b.seq);
    this.pending = this.pending.filter((p) => p.dueMs > this.current);
    for (const p of due) p.resolve();
  }

  /**
   * Moves time to an absolute point (never backwards).
   *
   * @param ms - the target time in milliseconds
   */
  setTime(ms: number): void {
    this.advance(ms - this.current);
  }
}

/**
 * A small deterministic pseudo-random generator (mulberry32) for tests that
 * need reproducible jitter.
 *
 * @param seed - any 32-bit integer
 * @returns a function returning numbers in [0, 1)
 */
export function createSeededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
