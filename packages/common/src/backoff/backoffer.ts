import { channel } from 'node:diagnostics_channel';
import type { ExecDetailsCollector } from '../details/exec-details-collector.js';
import {
  BackoffBudgetExceededError,
  type BackoffErrorRecord,
  type BackoffKindStats,
  DeadlineExceededError,
  InvalidArgumentError,
} from '../errors/client-errors.js';
import { type Logger, noopLogger } from '../hooks/logger.js';
import { METRIC_NAMES, type MetricsHook, noopMetrics } from '../hooks/metrics.js';
import { openOperationScope } from '../options/operation-scope.js';
import {
  mustBeNonNegative,
  mustBePositiveInteger,
  type OptionRules,
  type Resolved,
} from '../options/resolve-options.js';
import { type Clock, type RandomSource, systemClock } from '../time/clock.js';
import { BackoffHistory } from './backoff-history.js';
import { type BackoffKind, BackoffKinds, BackoffSequence, TXN_LOCK_FAST_KIND_NAME } from './backoff-kind.js';

/** The numeric options of a {@link Backoffer}, which have defaults. */
export interface BackofferBudgetOptions {
  /**
   * The sleep budget, in milliseconds, before the weight multiplies it; 0
   * means unlimited. See `MAX_BACKOFF_MS` for client-go's budget per operation.
   * @defaultValue 20000 (client-go's `rawkvMaxBackoff`)
   */
  readonly maxBackoffMs?: number | undefined;
  /**
   * Multiplies `maxBackoffMs` (client-go's `BackOffWeight`), unless the
   * product would pass 2^31−1.
   * @defaultValue 2
   */
  readonly backoffWeight?: number | undefined;
  /**
   * The base of the `txnLockFast` kind, in milliseconds (client-go's `BackoffLockFast`).
   * @defaultValue 10
   */
  readonly lockFastBaseMs?: number | undefined;
}

/** Options of a {@link Backoffer}. */
export interface BackofferOptions extends BackofferBudgetOptions {
  /** Aborts every sleep; `backoff` then rejects with `signal.reason`. */
  readonly signal?: AbortSignal | undefined;
  /** A deadline relative to construction, in milliseconds: sleeps never pass it. */
  readonly timeoutMs?: number | undefined;
  /** An absolute deadline in the clock's milliseconds: sleeps never pass it. */
  readonly deadlineAtMs?: number | undefined;
  /** Time source and sleeps. @defaultValue the system clock */
  readonly clock?: Clock | undefined;
  /** Randomness for jitter, in [0, 1). @defaultValue Math.random */
  readonly random?: RandomSource | undefined;
  /** Receives a debug line per sleep and a warning when the budget runs out. @defaultValue silent */
  readonly logger?: Logger | undefined;
  /** Receives the backoff sleep histogram. @defaultValue no-op */
  readonly metrics?: MetricsHook | undefined;
  /**
   * Gathers the execution details of the operation this backoffer serves: every sleep of it and
   * of its copies and forks is recorded there, and request senders record their attempts there.
   * @defaultValue none
   */
  readonly execDetails?: ExecDetailsCollector | undefined;
}

/** Defaults of the {@link BackofferBudgetOptions}. */
export const DEFAULT_BACKOFFER_OPTIONS: Resolved<BackofferBudgetOptions> = Object.freeze({
  maxBackoffMs: 20000,
  backoffWeight: 2,
  lockFastBaseMs: 10,
});

const NUMERIC_RULES: OptionRules<Resolved<BackofferBudgetOptions>> = {
  maxBackoffMs: mustBeNonNegative,
  backoffWeight: mustBePositiveInteger,
  lockFastBaseMs: mustBeNonNegative,
};

/** Options of one {@link Backoffer.backoff} call. */
export interface BackoffOptions {
  /** Aborts this sleep (in addition to the backoffer's own signal). */
  readonly signal?: AbortSignal | undefined;
  /** Caps this sleep, in milliseconds (client-go's `maxSleepMs`, e.g. a lock's remaining TTL). */
  readonly maxSleepMs?: number | undefined;
  /** Sleeps at least this long, in milliseconds: a server hint such as ServerIsBusy's backoff. */
  readonly minSleepMs?: number | undefined;
}

/** Options of {@link Backoffer.clone} and {@link Backoffer.fork}. */
export interface BackofferCopyOptions {
  /**
   * Continue each kind's exponential sequence where this backoffer is, instead of starting
   * over (client-go's copies start over). For retry rounds of one operation: without it every
   * round sleeps the shortest steps again, and the budget buys many more attempts.
   * @defaultValue false
   */
  readonly keepSequences?: boolean | undefined;
}

/** The value returned by {@link Backoffer.fork}. */
export interface ForkedBackoffer extends Disposable {
  /** The child backoffer. */
  readonly backoffer: Backoffer;
  /** Aborts the child's sleeps (not the parent's). */
  cancel(reason?: unknown): void;
  /** Stops the child following the parent's signal; call it when the child is done. Idempotent. */
  dispose(): void;
}

/** Payload published on the {@link BACKOFF_CHANNEL} diagnostics channel after each sleep. */
export interface BackoffEvent {
  /** The kind's name. */
  readonly kind: string;
  /** How long the backoffer slept, in milliseconds. */
  readonly sleepMs: number;
  /** How many times this kind has backed off in this backoffer, including this one. */
  readonly attempt: number;
  /** The backoffer's total sleep so far, in milliseconds. */
  readonly totalSleepMs: number;
  /** The error that asked for the backoff. */
  readonly error: unknown;
}

/** The `node:diagnostics_channel` name backoff events are published on. */
export const BACKOFF_CHANNEL = 'tikv:backoff';

/** How many of the latest errors a backoffer keeps (client-go's `MaxRecordBackoffErrCount`). */
export const MAX_RECORDED_BACKOFF_ERRORS = 3;

const MAX_INT32 = 2 ** 31 - 1;

function weighted(maxBackoffMs: number, weight: number): number {
  return maxBackoffMs > 0 && Math.floor(MAX_INT32 / weight) >= maxBackoffMs
    ? maxBackoffMs * weight
    : maxBackoffMs;
}

/**
 * One budget option, defaulted and checked like `resolveOptions` would.
 *
 * @throws InvalidArgumentError naming the option when its value is invalid
 */
function budgetOption(name: keyof BackofferBudgetOptions, value: number | undefined): number {
  if (value === undefined) return DEFAULT_BACKOFFER_OPTIONS[name];
  const problem = NUMERIC_RULES[name]?.(value);
  if (problem !== undefined) throw new InvalidArgumentError(`option ${name} ${problem}`);
  return value;
}

let backoffChannel: ReturnType<typeof channel> | undefined;

/**
 * Retries with exponential backoff under one sleep budget: the port of
 * client-go's `retry.Backoffer`.
 *
 * Each {@link BackoffKind} keeps its own exponential sequence; all kinds share
 * the budget (`maxBackoffMs × backoffWeight`). Once the slept time reaches the
 * budget, the next `backoff` call throws a {@link BackoffBudgetExceededError}
 * listing attempts and sleep per kind and the latest errors. ServerIsBusy
 * sleeps are excluded from the budget up to their own limit.
 *
 * Sleeps are abortable (rejecting with `signal.reason`) and never pass the
 * deadline: the last sleep is clipped to the time left and then a
 * {@link DeadlineExceededError} is thrown.
 *
 * @example
 * ```ts
 * const bo = new Backoffer({ maxBackoffMs: MAX_BACKOFF_MS.rawkv, signal });
 * for (;;) {
 *   try { return await send(); }
 *   catch (e) { await bo.backoff(BackoffKinds.tikvRPC, e); }
 * }
 * ```
 */
export class Backoffer {
  private readonly clock: Clock;
  private readonly random: RandomSource;
  private readonly logger: Logger;
  private readonly metrics: MetricsHook;
  private readonly weight: number;
  private readonly lockFastBaseMs: number;
  private isNoop: boolean;
  private ownSignal: AbortSignal | undefined;
  private readonly deadline: number | undefined;
  private readonly detailsSink: ExecDetailsCollector | undefined;

  private maxSleep: number;
  private totalSleep = 0;
  private excludedSleep = 0;
  /** Made on the first backoff (most operations never back off). */
  private history: BackoffHistory | undefined;
  private parent: Backoffer | undefined;

  /**
   * @param options - budget, weight, signal, deadline, clock and hooks
   * @throws InvalidArgumentError for an invalid numeric option
   */
  constructor(options: BackofferOptions = {}) {
    // Checked one by one rather than through `resolveOptions`: a backoffer is made per
    // operation, and merging and freezing an options object each time shows in profiles.
    const maxBackoffMs = budgetOption('maxBackoffMs', options.maxBackoffMs);
    const backoffWeight = budgetOption('backoffWeight', options.backoffWeight);
    const lockFastBaseMs = budgetOption('lockFastBaseMs', options.lockFastBaseMs);
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.logger = options.logger ?? noopLogger;
    this.metrics = options.metrics ?? noopMetrics;
    this.weight = backoffWeight;
    this.lockFastBaseMs = lockFastBaseMs;
    this.maxSleep = weighted(maxBackoffMs, backoffWeight);
    this.ownSignal = options.signal;
    this.detailsSink = options.execDetails;
    this.isNoop = false;
    const fromTimeout = options.timeoutMs === undefined ? undefined : this.clock.now() + options.timeoutMs;
    const deadlineAtMs = options.deadlineAtMs;
    this.deadline =
      fromTimeout === undefined || deadlineAtMs === undefined
        ? (fromTimeout ?? deadlineAtMs)
        : Math.min(fromTimeout, deadlineAtMs);
  }

  /**
   * A backoffer that never sleeps: `backoff` rejects with the error it is
   * given (client-go's `NewNoopBackoff`).
   *
   * @param options - the signal (other options are ignored)
   * @returns the no-op backoffer
   */
  static noop(options: Pick<BackofferOptions, 'signal'> = {}): Backoffer {
    const b = new Backoffer(options);
    b.isNoop = true;
    return b;
  }

  /** The budget in milliseconds, after the weight (0 = unlimited). */
  get maxBackoffMs(): number {
    return this.maxSleep;
  }

  /** Total time slept, in milliseconds (excluded kinds included). */
  get totalSleepMs(): number {
    return this.totalSleep;
  }

  /** Time slept for excluded kinds (ServerIsBusy), in milliseconds. */
  get excludedSleepMs(): number {
    return this.excludedSleep;
  }

  /** The number of errors recorded, including those no longer kept. */
  get errorsNum(): number {
    return this.history?.errorCount ?? 0;
  }

  /** The signal that aborts this backoffer's sleeps, if any. */
  get signal(): AbortSignal | undefined {
    return this.ownSignal;
  }

  /** The execution details collector of the operation, when its caller asked for details. */
  get execDetails(): ExecDetailsCollector | undefined {
    return this.detailsSink;
  }

  /** The absolute deadline in clock milliseconds, if any. */
  get deadlineAtMs(): number | undefined {
    return this.deadline;
  }

  /** Backoff count per kind name. */
  get backoffTimes(): ReadonlyMap<string, number> {
    return this.history?.timesByKind ?? new Map();
  }

  /** Sleep per kind name, in milliseconds. */
  get backoffSleepMs(): ReadonlyMap<string, number> {
    return this.history?.sleepByKind ?? new Map();
  }

  /** The total number of backoffs over all kinds. */
  get totalBackoffTimes(): number {
    let n = 0;
    for (const t of this.history?.timesByKind.values() ?? []) n += t;
    return n;
  }

  /**
   * Sleeps before the next retry and records `err`.
   *
   * @param kind - the kind of failure (one of {@link BackoffKinds} or a custom kind)
   * @param err - the error that caused the retry
   * @param options - a per-call signal, a cap and a floor for this sleep
   * @returns a promise that resolves after the sleep
   * @throws the signal's reason when aborted; the given `err` for a no-op
   *   backoffer; {@link DeadlineExceededError} when the deadline passes;
   *   {@link BackoffBudgetExceededError} when the budget is used up
   */
  async backoff(kind: BackoffKind, err: unknown, options: BackoffOptions = {}): Promise<void> {
    const own = this.ownSignal;
    const call = options.signal;
    if (own?.aborted) throw own.reason;
    if (call?.aborted) throw call.reason;
    if (this.isNoop) throw err;
    const now = this.clock.now();
    if (this.deadline !== undefined && now >= this.deadline) {
      throw new DeadlineExceededError(`deadline exceeded before ${kind.name} backoff`, { cause: err });
    }
    this.checkBudget(kind, err);

    this.history ??= new BackoffHistory();
    const history = this.history;
    this.recordError(history, kind, err, now);
    history.kinds.push(kind);
    if (kind.excludedMaxMs !== undefined) history.excludedLimits.set(kind.name, kind.excludedMaxMs);
    let seq = history.sequences.get(kind.name);
    if (seq === undefined) {
      const base = kind.name === TXN_LOCK_FAST_KIND_NAME ? this.lockFastBaseMs : kind.baseMs;
      seq = new BackoffSequence(base, kind.capMs, kind.jitter, this.random);
      history.sequences.set(kind.name, seq);
    }
    const computed = seq.peek();
    let sleep = Math.max(computed, options.minSleepMs ?? 0);
    if (options.maxSleepMs !== undefined && options.maxSleepMs >= 0 && sleep > options.maxSleepMs) {
      sleep = options.maxSleepMs;
    }
    const remaining = this.deadline === undefined ? Number.POSITIVE_INFINITY : this.deadline - now;
    const clipped = sleep > remaining;
    if (clipped) sleep = remaining;

    if (call === undefined || own === undefined || call === own) {
      await this.clock.sleep(sleep, call ?? own);
    } else {
      const both = openOperationScope(undefined, { follow: [own, call] });
      try {
        await this.clock.sleep(sleep, both.signal);
      } finally {
        both.dispose();
      }
    }
    seq.advance(computed);
    this.recordSleep(history, kind, sleep, err);
    if (clipped) {
      throw new DeadlineExceededError(`deadline exceeded during ${kind.name} backoff`, { cause: err });
    }
  }

  /**
   * Backs off with the `txnLockFast` kind, never sleeping more than
   * `maxSleepMs` (client-go's `BackoffWithMaxSleepTxnLockFast`).
   *
   * @param maxSleepMs - the cap for this sleep, in milliseconds
   * @param err - the error that caused the retry
   * @param options - a per-call signal and floor
   * @returns a promise that resolves after the sleep
   */
  backoffWithMaxSleepTxnLockFast(
    maxSleepMs: number,
    err: unknown,
    options: Omit<BackoffOptions, 'maxSleepMs'> = {},
  ): Promise<void> {
    return this.backoff(BackoffKinds.txnLockFast, err, { ...options, maxSleepMs });
  }

  /**
   * The latest recorded errors (at most {@link MAX_RECORDED_BACKOFF_ERRORS}), oldest first.
   *
   * @returns a copy of the records
   */
  latestErrors(): BackoffErrorRecord[] {
    return [...(this.history?.errors ?? [])];
  }

  /**
   * The names of the kinds this backoffer and its ancestors backed off with,
   * in order (client-go's `GetTypes`).
   *
   * @returns the kind names
   */
  types(): string[] {
    const out: string[] = [];
    for (let b: Backoffer | undefined = this; b !== undefined; b = b.parent) {
      for (const k of b.history?.kinds ?? []) out.push(k.name);
    }
    return out;
  }

  /**
   * The non-excluded kind that slept longest.
   *
   * @returns its name and total sleep, or undefined when nothing slept
   */
  longestSleep(): { readonly kind: string; readonly sleepMs: number } | undefined {
    let best: { kind: string; sleepMs: number } | undefined;
    const history = this.history;
    if (history === undefined) return undefined;
    for (const [name, ms] of history.sleepByKind) {
      if (history.excludedLimits.has(name)) continue;
      if (ms > (best?.sleepMs ?? 0)) best = { kind: name, sleepMs: ms };
    }
    return best;
  }

  /**
   * A copy that keeps this backoffer's sleep, errors and counters and shares
   * its signal and deadline; the exponential sequences start over unless
   * `keepSequences` is set.
   *
   * @param options - whether the sequences carry on
   * @returns the copy
   */
  clone(options?: BackofferCopyOptions): Backoffer {
    const b = this.copy(options?.keepSequences === true);
    b.parent = this.parent;
    return b;
  }

  /**
   * A child that starts from this backoffer's sleep, errors and counters (so
   * it has only the budget left) with its own cancellation; its sleep does
   * not flow back unless {@link Backoffer.updateUsingForked} is called. Its
   * exponential sequences start over unless `keepSequences` is set.
   *
   * @param options - whether the sequences carry on
   * @returns the child, a function that aborts the child's sleeps, and `dispose`
   */
  fork(options?: BackofferCopyOptions): ForkedBackoffer {
    const controller = new AbortController();
    // The child's signal follows the parent's through one shared listener, released by dispose.
    const link = openOperationScope({ signal: controller.signal }, { follow: [this.ownSignal] });
    const b = this.copy(options?.keepSequences === true);
    b.parent = this;
    b.ownSignal = link.signal;
    const dispose = (): void => link.dispose();
    return {
      backoffer: b,
      cancel: (reason?: unknown) => controller.abort(reason),
      dispose,
      [Symbol.dispose]: dispose,
    };
  }

  /**
   * Takes over the sleep, errors and counters of a backoffer forked (directly
   * or transitively) from this one, and each of its exponential sequences that
   * went further than this one's; does nothing for an unrelated backoffer.
   *
   * @param forked - the forked backoffer, which must not be used afterwards
   */
  updateUsingForked(forked: Backoffer | undefined): void {
    if (forked === undefined) return;
    for (let b = forked.parent; b !== undefined; b = b.parent) {
      if (b !== this) continue;
      this.totalSleep = forked.totalSleep;
      this.excludedSleep = forked.excludedSleep;
      const from = forked.history;
      if (from === undefined) return;
      this.history ??= new BackoffHistory();
      const to = this.history;
      to.errors = [...from.errors];
      to.lastErrorByKind = new Map(from.lastErrorByKind);
      to.errorCount = from.errorCount;
      to.sleepByKind = new Map(from.sleepByKind);
      to.timesByKind = new Map(from.timesByKind);
      for (const [name, limit] of from.excludedLimits) to.excludedLimits.set(name, limit);
      for (const [name, seq] of from.sequences) {
        const own = to.sequences.get(name);
        if (own === undefined || seq.attemptCount > own.attemptCount) to.sequences.set(name, seq.copy());
      }
      return;
    }
  }

  /**
   * Clears the slept time and the exponential sequences so the next stage of
   * an operation starts with short sleeps; counters and errors stay.
   */
  reset(): void {
    if (this.history !== undefined) this.history.sequences = new Map();
    this.totalSleep = 0;
    this.excludedSleep = 0;
  }

  /**
   * {@link Backoffer.reset} and set a new budget (the weight applies again).
   *
   * @param maxBackoffMs - the new budget before the weight, in milliseconds
   */
  resetMaxBackoff(maxBackoffMs: number): void {
    this.reset();
    this.maxSleep = weighted(maxBackoffMs, this.weight);
  }

  /** @returns client-go's summary, e.g. ` backoff(12ms regionMiss,tikvRPC)`, or '' before any sleep */
  toString(): string {
    if (this.totalSleep === 0) return '';
    return ` backoff(${this.totalSleep}ms ${(this.history?.kinds ?? []).map((k) => k.name).join(',')})`;
  }

  private checkBudget(kind: BackoffKind, err: unknown): void {
    const maxBackoffTimeExceeded = this.totalSleep - this.excludedSleep >= this.maxSleep;
    const excludedLimit = kind.excludedMaxMs;
    const maxExcludedTimeExceeded =
      excludedLimit !== undefined &&
      this.excludedSleep >= excludedLimit &&
      this.excludedSleep >= this.maxSleep;
    if (this.maxSleep <= 0 || !(maxBackoffTimeExceeded || maxExcludedTimeExceeded)) return;
    const recorded = this.history;
    const history: BackoffKindStats[] = [...(recorded?.timesByKind ?? [])].map(([name, attempts]) => ({
      kind: name,
      attempts,
      totalSleepMs: recorded?.sleepByKind.get(name) ?? 0,
    }));
    const longest = this.longestSleep();
    // As client-go does, blame the kind that slept longest: its latest error is the real cause
    // (an unreachable store, say), not whatever asked for the refused sleep (often the
    // region miss that store's failure led to).
    const blamed = longest === undefined || longest.kind === kind.name ? undefined : longest.kind;
    const cause =
      blamed !== undefined && recorded?.lastErrorByKind.has(blamed) === true
        ? recorded.lastErrorByKind.get(blamed)
        : err;
    const error = new BackoffBudgetExceededError(
      {
        kind: kind.name,
        maxBackoffMs: this.maxSleep,
        totalSleepMs: this.totalSleep,
        excludedSleepMs: this.excludedSleep,
        history,
        recentErrors: this.latestErrors(),
        longestSleepKind: longest?.kind,
        longestSleepMs: longest?.sleepMs ?? 0,
        maxBackoffTimeExceeded,
        maxExcludedTimeExceeded,
        causeKind: cause === err ? kind.name : (blamed ?? kind.name),
      },
      { cause },
    );
    this.logger.warn('backoff budget exceeded', {
      type: kind.name,
      totalSleepMs: this.totalSleep,
      excludedSleepMs: this.excludedSleep,
      maxBackoffMs: this.maxSleep,
      longestSleepType: longest?.kind,
    });
    throw error;
  }

  private recordError(history: BackoffHistory, kind: BackoffKind, error: unknown, atMs: number): void {
    history.errors.push({ kind: kind.name, error, atMs });
    history.lastErrorByKind.set(kind.name, error);
    if (history.errors.length > MAX_RECORDED_BACKOFF_ERRORS) history.errors.shift();
    history.errorCount++;
  }

  private recordSleep(history: BackoffHistory, kind: BackoffKind, sleepMs: number, error: unknown): void {
    this.totalSleep += sleepMs;
    if (history.excludedLimits.has(kind.name)) this.excludedSleep += sleepMs;
    history.sleepByKind.set(kind.name, (history.sleepByKind.get(kind.name) ?? 0) + sleepMs);
    const attempt = (history.timesByKind.get(kind.name) ?? 0) + 1;
    history.timesByKind.set(kind.name, attempt);
    this.detailsSink?.recordBackoff(kind.name, sleepMs);
    this.metrics.observeHistogram(METRIC_NAMES.backoffSeconds, sleepMs / 1000, { type: kind.name });
    this.logger.debug('backoff', { type: kind.name, sleepMs, attempt, totalSleepMs: this.totalSleep });
    backoffChannel ??= channel(BACKOFF_CHANNEL);
    if (backoffChannel.hasSubscribers) {
      const event: BackoffEvent = { kind: kind.name, sleepMs, attempt, totalSleepMs: this.totalSleep, error };
      backoffChannel.publish(event);
    }
  }

  private copy(keepSequences: boolean): Backoffer {
    const b = new Backoffer({
      clock: this.clock,
      random: this.random,
      logger: this.logger,
      metrics: this.metrics,
      backoffWeight: this.weight,
      lockFastBaseMs: this.lockFastBaseMs,
      ...(this.ownSignal === undefined ? {} : { signal: this.ownSignal }),
      ...(this.deadline === undefined ? {} : { deadlineAtMs: this.deadline }),
      ...(this.detailsSink === undefined ? {} : { execDetails: this.detailsSink }),
    });
    b.isNoop = this.isNoop;
    b.maxSleep = this.maxSleep;
    b.totalSleep = this.totalSleep;
    b.excludedSleep = this.excludedSleep;
    b.history = this.history?.copy(keepSequences);
    return b;
  }
}
