import { extractPhysical, InvalidArgumentError, tsFromMs } from '@tikv/common';
import type { CallOptions } from './call-options.js';
import { futureOf, type Oracle, type TimestampFuture } from './oracle.js';

/** Options of a {@link LocalOracle}. */
export interface LocalOracleOptions {
  /** The clock, in Unix ms. @defaultValue `Date.now` */
  readonly now?: (() => number) | undefined;
}

/**
 * An oracle backed by the local clock, for tests (client-go `oracles.NewLocalOracle`).
 * Timestamps within the same millisecond get increasing logical parts.
 */
export class LocalOracle implements Oracle {
  private lastPhysicalTs = 0n;
  private n = 0n;
  private externalTs = 0n;
  private hookNowMs: number | undefined;
  private readonly clock: () => number;

  constructor(options: LocalOracleOptions = {}) {
    this.clock = options.now ?? Date.now;
  }

  /** Pins the oracle's clock to `ms` (Unix ms); `undefined` unpins it. For tests. */
  setCurrentTime(ms: number | undefined): void {
    this.hookNowMs = ms;
  }

  private nowMs(): number {
    return this.hookNowMs ?? this.clock();
  }

  isExpired(lockTs: bigint, ttlMs: number): boolean {
    return this.nowMs() >= extractPhysical(lockTs) + ttlMs;
  }

  untilExpired(lockTs: bigint, ttlMs: number): number {
    return extractPhysical(lockTs) + ttlMs - Math.floor(this.nowMs());
  }

  getTimestamp(options?: CallOptions): Promise<bigint> {
    if (options?.signal?.aborted === true) return Promise.reject(options.signal.reason);
    const ts = tsFromMs(this.nowMs());
    if (ts === this.lastPhysicalTs) {
      this.n++;
      return Promise.resolve(ts + this.n);
    }
    this.lastPhysicalTs = ts;
    this.n = 0n;
    return Promise.resolve(ts);
  }

  getTimestampAsync(options?: CallOptions): TimestampFuture {
    return futureOf(this.getTimestamp(options));
  }

  getLowResolutionTimestamp(options?: CallOptions): Promise<bigint> {
    return this.getTimestamp(options);
  }

  setLowResolutionTimestampUpdateInterval(): void {}

  getStaleTimestamp(prevSecond: number): Promise<bigint> {
    return Promise.resolve(tsFromMs(this.nowMs() - prevSecond * 1000));
  }

  getExternalTimestamp(): Promise<bigint> {
    return Promise.resolve(this.externalTs);
  }

  /**
   * Sets the external timestamp; like PD, rejects a value that goes backwards or is ahead
   * of the current timestamp.
   */
  async setExternalTimestamp(ts: bigint, options?: CallOptions): Promise<void> {
    const current = await this.getTimestamp(options);
    if (ts > current)
      throw new InvalidArgumentError(`external timestamp ${ts} is greater than the global timestamp`);
    if (ts < this.externalTs)
      throw new InvalidArgumentError(`cannot decrease the external timestamp to ${ts}`);
    this.externalTs = ts;
  }

  validateReadTs(): Promise<void> {
    return Promise.resolve();
  }

  close(): void {}
}
