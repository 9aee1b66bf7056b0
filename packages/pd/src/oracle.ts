import type { CallOptions } from './call-options.js';
import type { TimestampSource } from './timestamp-source.js';

/** A timestamp request already started; `wait()` gives its result (client-go `oracle.Future`). */
export interface TimestampFuture {
  /** Resolves to the timestamp, or rejects with the request's error. */
  wait(): Promise<bigint>;
}

/**
 * Validates that a read timestamp does not exceed what the oracle has allocated
 * (client-go `oracle.ReadTSValidator`).
 */
export interface ReadTsValidator {
  /**
   * Rejects with a `FUTURE_TS_READ` error when `readTs` is ahead of every timestamp the
   * oracle can have allocated, and with `INVALID_ARGUMENT` for malformed values.
   */
  validateReadTs(readTs: bigint, isStaleRead: boolean, options?: CallOptions): Promise<void>;
}

/**
 * The timestamp oracle (client-go `oracle.Oracle`): strictly increasing timestamps, a cached
 * low-resolution timestamp, stale timestamps and lock-expiry arithmetic. An oracle is a
 * {@link TimestampSource}, so code that only needs fresh timestamps can take either.
 */
export interface Oracle extends ReadTsValidator, TimestampSource {
  /** A fresh timestamp, greater than every one handed out before. */
  getTimestamp(options?: CallOptions): Promise<bigint>;
  /** Starts a timestamp request now and returns a handle to wait for it. */
  getTimestampAsync(options?: CallOptions): TimestampFuture;
  /** The cached timestamp, refreshed every update interval; never newer than a fresh one. */
  getLowResolutionTimestamp(options?: CallOptions): Promise<bigint>;
  /** Sets the refresh interval of the low-resolution timestamp, in ms (> 0). */
  setLowResolutionTimestampUpdateInterval(intervalMs: number): void;
  /**
   * A timestamp about `prevSecond` seconds before now, estimated from the cached timestamp
   * and the local time elapsed since it arrived. Not validated: check it before reading.
   */
  getStaleTimestamp(prevSecond: number, options?: CallOptions): Promise<bigint>;
  /** Whether a lock at `lockTs` with a TTL of `ttlMs` has expired (may lag by the update interval). */
  isExpired(lockTs: bigint, ttlMs: number): boolean;
  /** Milliseconds until a lock at `lockTs` with a TTL of `ttlMs` expires (negative when past). */
  untilExpired(lockTs: bigint, ttlMs: number): number;
  /** The cluster's external timestamp. */
  getExternalTimestamp(options?: CallOptions): Promise<bigint>;
  /** Sets the cluster's external timestamp. */
  setExternalTimestamp(ts: bigint, options?: CallOptions): Promise<void>;
  /** Stops background work. */
  close(): void;
}

/** The largest unsigned 64-bit value: "read the latest" as a read timestamp. */
export const MAX_TS = (1n << 64n) - 1n;
/** The largest signed 64-bit value. */
export const MAX_INT64 = (1n << 63n) - 1n;

/** Wraps a promise as a {@link TimestampFuture} without leaving its rejection unhandled. */
export function futureOf(promise: Promise<bigint>): TimestampFuture {
  promise.catch(() => undefined);
  return { wait: () => promise };
}
