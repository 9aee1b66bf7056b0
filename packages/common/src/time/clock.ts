import { type AbortListener, offAbort, onAbort } from '../options/abort-listeners.js';

/** Options of one {@link Clock.sleep} or {@link Clock.setTimer}. */
export interface SleepOptions {
  /**
   * The sleep (or timer) of a background loop that no caller awaits (a cache sweep, a member
   * refresh): with the system clock its timer does not keep the process alive. Leave it unset
   * for anything a caller waits on (a retry's backoff, a deadline), or a script awaiting that
   * call could exit before it settles.
   * @defaultValue false
   */
  readonly background?: boolean | undefined;
}

declare const clockTimerBrand: unique symbol;

/** A timer set with {@link Clock.setTimer}: an opaque handle to give {@link Clock.clearTimer}. */
export interface ClockTimer {
  readonly [clockTimerBrand]: true;
}

/**
 * Timers longer than this overflow in Node (they would fire after 1 ms); callers treat a
 * longer timeout as none.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A source of time, sleeps and timers. Components take one so tests can drive time
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
  /**
   * Calls `callback(arg)` once, `ms` milliseconds from now (negative means 0; at most
   * {@link MAX_TIMER_MS}), unless {@link Clock.clearTimer} clears it first. Taking the
   * argument apart lets a hot path pass a shared function and its own object instead of
   * allocating a closure per timer (as Node's `setTimeout(fn, ms, arg)` does).
   *
   * @param ms - the delay in milliseconds
   * @param callback - what to call when the timer fires
   * @param arg - the argument to call it with
   * @param options - `background` for a timer nobody awaits (it does not keep the process alive)
   * @returns the handle to clear it with
   */
  setTimer<A>(ms: number, callback: (arg: A) => void, arg: A, options?: SleepOptions): ClockTimer;
  /**
   * Clears a timer of {@link Clock.setTimer}; it will not fire. Clearing one that fired or was
   * cleared already does nothing.
   */
  clearTimer(timer: ClockTimer): void;
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

function setSystemTimer<A>(
  ms: number,
  callback: (arg: A) => void,
  arg: A,
  options?: SleepOptions,
): ClockTimer {
  const timer = setTimeout(callback, Math.min(Math.max(0, ms), MAX_TIMER_MS), arg);
  if (options?.background === true) timer.unref?.();
  return timer as unknown as ClockTimer;
}

function clearSystemTimer(timer: ClockTimer): void {
  clearTimeout(timer as unknown as ReturnType<typeof setTimeout>);
}

/**
 * The real clock: `Date.now()` and real timers (unref'd only for background sleeps and
 * timers).
 */
export const systemClock: Clock = Object.freeze({
  now: (): number => Date.now(),
  sleep: sleepMs,
  setTimer: setSystemTimer,
  clearTimer: clearSystemTimer,
});

/** A sleep or timer of a {@link ManualClock}. */
interface ManualTimer {
  readonly dueMs: number;
  readonly seq: number;
  readonly background: boolean;
  readonly callback: (arg: unknown) => void;
  readonly arg: unknown;
  /** False once it fired or was cleared. */
  live: boolean;
}

/** Options of a {@link ManualClock}. */
export interface ManualClockOptions {
  /**
   * The clock's initial time, in milliseconds.
   * @defaultValue 0
   */
  readonly startMs?: number | undefined;
  /**
   * When true, every `sleep` advances the clock by its duration at once and
   * resolves (firing the timers that come due on the way), so code that sleeps
   * runs to completion without a driver. Timers alone never move the clock.
   * @defaultValue false
   */
  readonly autoAdvance?: boolean | undefined;
}

function resolveSleep(resolve: () => void): void {
  resolve();
}

/**
 * A clock for tests: time moves only when {@link ManualClock.advance} is
 * called (or, with `autoAdvance`, when something sleeps). Sleeps and timers
 * that come due fire in due-time order (ties in the order they were set).
 */
export class ManualClock implements Clock {
  #current: number;
  readonly #autoAdvance: boolean;
  #pending: ManualTimer[] = [];
  #seq = 0;
  /** Every sleep duration requested, in call order (timers are not recorded). */
  readonly sleeps: number[] = [];

  /** @param options - start time and auto-advance */
  constructor(options: ManualClockOptions = {}) {
    this.#current = options.startMs ?? 0;
    this.#autoAdvance = options.autoAdvance ?? false;
  }

  /** @returns the clock's current time in milliseconds */
  now(): number {
    return this.#current;
  }

  /** How many sleeps and timers are waiting for time to advance. */
  get pendingSleeps(): number {
    return this.#pending.length;
  }

  /**
   * How many of the {@link ManualClock.pendingSleeps} someone awaits: those not marked
   * `background` (the ones a real clock's timers would keep the process alive for).
   */
  get pendingForegroundSleeps(): number {
    let n = 0;
    for (const p of this.#pending) if (!p.background) n++;
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
    if (this.#autoAdvance) {
      this.advance(duration);
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        if (signal !== undefined) offAbort(signal, aborted);
        resolve();
      };
      const timer = this.setTimer(duration, resolveSleep, done, options);
      const aborted: AbortListener = (reason) => {
        this.clearTimer(timer);
        reject(reason);
      };
      if (signal !== undefined) onAbort(signal, aborted);
    });
  }

  /**
   * Sets a timer in clock time: it fires when {@link ManualClock.advance} reaches its due time.
   *
   * @param ms - delay in milliseconds (negative means 0)
   * @param callback - called with `arg` when the timer fires
   * @param arg - the callback's argument
   * @param options - `background`: counted apart in {@link ManualClock.pendingForegroundSleeps}
   * @returns the handle for {@link ManualClock.clearTimer}
   */
  setTimer<A>(ms: number, callback: (arg: A) => void, arg: A, options?: SleepOptions): ClockTimer {
    const timer: ManualTimer = {
      dueMs: this.#current + Math.max(0, ms),
      seq: this.#seq++,
      background: options?.background === true,
      callback: callback as (arg: unknown) => void,
      arg,
      live: true,
    };
    this.#pending.push(timer);
    return timer as unknown as ClockTimer;
  }

  /** Clears a timer of {@link ManualClock.setTimer} (nothing happens when it fired already). */
  clearTimer(timer: ClockTimer): void {
    const t = timer as unknown as ManualTimer;
    if (!t.live) return;
    t.live = false;
    const i = this.#pending.indexOf(t);
    if (i >= 0) this.#pending.splice(i, 1);
  }

  /**
   * Moves time forward and fires the sleeps and timers that come due, in due order. A timer
   * cleared by one that fires before it in the same advance does not fire; timers set while
   * firing wait for the next advance.
   *
   * @param ms - how far to move, in milliseconds
   */
  advance(ms: number): void {
    this.#current += Math.max(0, ms);
    const now = this.#current;
    const due = this.#pending
      .filter((p) => p.dueMs <= now)
      .sort((a, b) => a.dueMs - b.dueMs || a.seq - b.seq);
    if (due.length === 0) return;
    this.#pending = this.#pending.filter((p) => p.dueMs > now);
    for (const p of due) {
      if (!p.live) continue;
      p.live = false;
      p.callback(p.arg);
    }
  }

  /**
   * Moves time to an absolute point (never backwards).
   *
   * @param ms - the target time in milliseconds
   */
  setTime(ms: number): void {
    this.advance(ms - this.#current);
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
