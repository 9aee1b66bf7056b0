import { extractPhysical, InvalidArgumentError, raceSignal, TiKVError, tsFromMs } from '@tikv/common';
import { type AdaptiveIntervalState, AdaptiveUpdateInterval } from './adaptive-update-interval.js';
import type { CallOptions } from './call-options.js';
import { futureOf, MAX_INT64, MAX_TS, type Oracle, type TimestampFuture } from './oracle.js';
import type { OracleTimestampSource } from './timestamp-source.js';

/** Options of a {@link PdOracle}. */
export interface PdOracleOptions {
  /**
   * How often the low-resolution timestamp is refreshed, in ms (client-go
   * `PDOracleOptions.UpdateInterval`; TiDB's default). Stale reads may shrink it adaptively.
   * @defaultValue 2_000
   */
  readonly updateIntervalMs?: number | undefined;
  /**
   * Disables the background refresh of the low-resolution timestamp. For tests.
   * @defaultValue false
   */
  readonly noUpdateTs?: boolean | undefined;
  /**
   * Whether {@link PdOracle.validateReadTs} checks read timestamps (client-go
   * `EnableTSValidation`, which TiDB turns on).
   * @defaultValue true
   */
  readonly validateReadTs?: boolean | undefined;
  /** The clock, in Unix ms. @defaultValue `Date.now` */
  readonly now?: (() => number) | undefined;
}

/** Defaults of {@link PdOracleOptions}. */
export const DEFAULT_PD_ORACLE_OPTIONS = Object.freeze({
  updateIntervalMs: 2_000,
  noUpdateTs: false,
  validateReadTs: true,
});

interface LastTs {
  readonly ts: bigint;
  /** Local time (Unix ms) the timestamp arrived. */
  readonly arrivalMs: number;
}

/**
 * The timestamp oracle over PD (client-go `oracles.pdOracle`): fresh timestamps from the
 * batched TSO stream, a low-resolution timestamp refreshed in the background every update
 * interval (shrunk adaptively for stale reads), stale timestamps, lock expiry and read
 * timestamp validation.
 */
export class PdOracle implements Oracle {
  private last: LastTs | undefined;
  private readonly clock: () => number;
  private readonly validation: boolean;
  private readonly interval: AdaptiveUpdateInterval;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerIntervalMs: number;
  private running = false;
  private closed = false;
  private pendingShrinkMs: number | undefined;
  private validationFlight: Promise<bigint> | undefined;

  /**
   * Creates the oracle without fetching a first timestamp; {@link PdOracle.create} also
   * fetches one, as client-go's `NewPdOracle` does.
   */
  constructor(
    private readonly source: OracleTimestampSource,
    options: PdOracleOptions = {},
  ) {
    const intervalMs = options.updateIntervalMs ?? DEFAULT_PD_ORACLE_OPTIONS.updateIntervalMs;
    if (!(intervalMs > 0)) throw new InvalidArgumentError(`updateIntervalMs must be > 0, got ${intervalMs}`);
    this.clock = options.now ?? Date.now;
    this.validation = options.validateReadTs ?? DEFAULT_PD_ORACLE_OPTIONS.validateReadTs;
    this.interval = new AdaptiveUpdateInterval(intervalMs, this.clock());
    this.timerIntervalMs = intervalMs;
    if (!(options.noUpdateTs ?? DEFAULT_PD_ORACLE_OPTIONS.noUpdateTs)) {
      this.running = true;
      this.armTimer();
    }
  }

  /** Creates the oracle and fetches its first timestamp; closes it again if that fails. */
  static async create(
    source: OracleTimestampSource,
    options: PdOracleOptions = {},
    call?: CallOptions,
  ): Promise<PdOracle> {
    const o = new PdOracle(source, options);
    try {
      await o.getTimestamp(call);
    } catch (e) {
      o.close();
      throw e;
    }
    return o;
  }

  /** The adaptive interval's state. @internal */
  get adaptiveState(): AdaptiveIntervalState {
    return this.interval.state;
  }

  /** The adaptive interval machine, exposed for tests. @internal */
  get adaptiveInterval(): AdaptiveUpdateInterval {
    return this.interval;
  }

  /** Takes the shrink request not yet consumed by the refresh loop. For tests. @internal */
  takePendingShrink(): number | undefined {
    const v = this.pendingShrinkMs;
    this.pendingShrinkMs = undefined;
    return v;
  }

  async getTimestamp(options?: CallOptions): Promise<bigint> {
    const ts = await this.source.getTimestamp(options);
    this.setLastTs(ts);
    return ts;
  }

  getTimestampAsync(options?: CallOptions): TimestampFuture {
    return futureOf(this.getTimestamp(options));
  }

  getLowResolutionTimestamp(): Promise<bigint> {
    const last = this.last;
    if (last === undefined) {
      return Promise.reject(
        new TiKVError('INTERNAL', 'no low-resolution timestamp yet: no timestamp fetched'),
      );
    }
    return Promise.resolve(last.ts);
  }

  setLowResolutionTimestampUpdateInterval(intervalMs: number): void {
    if (!(intervalMs > 0)) throw new InvalidArgumentError(`updateIntervalMs must be > 0, got ${intervalMs}`);
    this.interval.setConfigured(intervalMs);
  }

  async getStaleTimestamp(prevSecond: number, options?: CallOptions): Promise<bigint> {
    if (this.last === undefined) await this.getTimestamp(options);
    return this.staleTimestampFrom(this.last as LastTs, prevSecond);
  }

  /**
   * A timestamp `stalenessMs` before now, from the last timestamp fetched and the local time
   * since it arrived, without a round trip (client-go `GetStaleTimestamp` in milliseconds, for
   * bounded-staleness reads); `undefined` before any timestamp was fetched.
   *
   * @param stalenessMs - how far back, >= 0
   */
  staleTimestampSync(stalenessMs: number): bigint | undefined {
    if (!(Number.isFinite(stalenessMs) && stalenessMs >= 0)) {
      throw new InvalidArgumentError(`stalenessMs must be a number >= 0, got ${String(stalenessMs)}`);
    }
    const last = this.last;
    if (last === undefined) return undefined;
    return tsFromMs(extractPhysical(last.ts) + (this.clock() - stalenessMs - last.arrivalMs));
  }

  private staleTimestampFrom(last: LastTs, prevSecond: number): bigint {
    const physicalMs = extractPhysical(last.ts);
    if (!(prevSecond >= 0) || Math.floor(physicalMs / 1000) <= prevSecond) {
      throw new InvalidArgumentError(`invalid prevSecond ${prevSecond}`);
    }
    return tsFromMs(physicalMs + (this.clock() - prevSecond * 1000 - last.arrivalMs));
  }

  isExpired(lockTs: bigint, ttlMs: number): boolean {
    const last = this.last;
    if (last === undefined) return true;
    return extractPhysical(last.ts) >= extractPhysical(lockTs) + ttlMs;
  }

  untilExpired(lockTs: bigint, ttlMs: number): number {
    const last = this.last;
    if (last === undefined) return 0;
    return extractPhysical(lockTs) + ttlMs - extractPhysical(last.ts);
  }

  getExternalTimestamp(options?: CallOptions): Promise<bigint> {
    return this.source.getExternalTimestamp(options);
  }

  setExternalTimestamp(ts: bigint, options?: CallOptions): Promise<void> {
    return this.source.setExternalTimestamp(ts, options);
  }

  async validateReadTs(readTs: bigint, isStaleRead: boolean, options?: CallOptions): Promise<void> {
    if (!this.validation) return;
    if (readTs >= MAX_INT64 && readTs < MAX_TS) {
      throw new InvalidArgumentError(`MaxInt64 <= readTs < MaxUint64, readTs=${readTs}`);
    }
    if (readTs === MAX_TS) {
      if (isStaleRead) throw new InvalidArgumentError('cannot set read ts to max uint64 for stale read');
      return;
    }
    let retrying = false;
    for (;;) {
      const last = this.last;
      if (last === undefined || readTs > last.ts) {
        let currentTs: bigint;
        try {
          currentTs = await raceSignal(this.tsForValidation(), options?.signal);
        } catch (e) {
          if (options?.signal?.aborted === true) throw e;
          throw new TiKVError('INTERNAL', 'fail to validate read timestamp', { cause: e });
        }
        if (isStaleRead && !retrying) this.observeStaleRead(readTs, currentTs);
        if (readTs > currentTs) {
          // The shared fetch may have started before this call; one more round settles it.
          if (!retrying) {
            retrying = true;
            continue;
          }
          throw new TiKVError(
            'FUTURE_TS_READ',
            `cannot set read timestamp to a future time, readTS: ${readTs}, currentTS: ${currentTs}`,
          );
        }
      } else if (isStaleRead && !retrying) {
        let estimated: bigint | undefined;
        try {
          estimated = this.staleTimestampFrom(last, 0);
        } catch {
          // Cannot estimate the current ts (a timestamp near the epoch): skip the adjustment.
        }
        if (estimated !== undefined) this.observeStaleRead(readTs, estimated);
      }
      return;
    }
  }

  close(): void {
    this.closed = true;
    this.running = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Records a fetched timestamp as the low-resolution one when it is newer. @internal
   */
  setLastTs(ts: bigint, arrivalMs = this.clock()): void {
    const last = this.last;
    if (last !== undefined && ts <= last.ts) return;
    this.last = {
      ts,
      arrivalMs: last !== undefined && last.arrivalMs > arrivalMs ? last.arrivalMs : arrivalMs,
    };
  }

  /** Records a stale read's staleness; asks the refresh loop to shrink when needed. @internal */
  observeStaleRead(readTs: bigint, currentTs: bigint, nowMs = this.clock()): void {
    const shrink = this.interval.observeStaleRead(readTs, currentTs, nowMs);
    if (shrink === undefined || this.pendingShrinkMs !== undefined) return;
    this.pendingShrinkMs = shrink;
    if (this.running) queueMicrotask(() => this.onShrink());
  }

  private tsForValidation(): Promise<bigint> {
    if (this.validationFlight !== undefined) return this.validationFlight;
    const p = this.getTimestamp().finally(() => {
      if (this.validationFlight === p) this.validationFlight = undefined;
    });
    this.validationFlight = p;
    return p;
  }

  private armTimer(): void {
    if (!this.running) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.onTick(), this.timerIntervalMs);
    this.timer.unref?.();
  }

  private async onTick(): Promise<void> {
    this.timer = undefined;
    const now = this.clock();
    const next = this.interval.next(now, 0);
    this.timerIntervalMs = next;
    this.armTimer();
    await this.refresh(now);
  }

  private onShrink(): void {
    const required = this.takePendingShrink();
    if (required === undefined || !this.running) return;
    const now = this.clock();
    const next = this.interval.next(now, required);
    if (next === this.timerIntervalMs) return;
    this.timerIntervalMs = next;
    if (now - this.interval.lastTickMs >= next) void this.refresh(now);
    this.armTimer();
  }

  private async refresh(now: number): Promise<void> {
    this.interval.lastTickMs = now;
    if (this.closed) return;
    try {
      await this.getTimestamp();
    } catch {
      // The next tick tries again; callers needing a fresh timestamp fetch their own.
    }
  }
}
