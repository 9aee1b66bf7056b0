import { U64_MAX } from '../codec/number.js';
import { InvalidArgumentError } from '../errors/client-errors.js';

/** How many low bits of a TSO timestamp hold the logical counter. */
export const PHYSICAL_SHIFT_BITS = 18;
/** The mask of the logical part. */
export const LOGICAL_MASK = (1n << BigInt(PHYSICAL_SHIFT_BITS)) - 1n;
/** The largest logical value. */
export const MAX_LOGICAL = Number(LOGICAL_MASK);
/** The name of the global transaction scope (client-go `oracle.GlobalTxnScope`). */
export const GLOBAL_TXN_SCOPE = 'global';

const SHIFT = BigInt(PHYSICAL_SHIFT_BITS);

function integer(v: number | bigint, name: string): bigint {
  if (typeof v === 'bigint') return v;
  if (!Number.isSafeInteger(v)) throw new InvalidArgumentError(`${name} must be a safe integer, got ${v}`);
  return BigInt(v);
}

/**
 * Builds a TSO timestamp from its physical part (Unix milliseconds) and its
 * logical counter (client-go `oracle.ComposeTS`).
 *
 * @param physicalMs - milliseconds since the Unix epoch, >= 0
 * @param logical - the logical counter, 0 to 2^18−1
 * @returns the 64-bit timestamp
 * @throws InvalidArgumentError when a part is out of range
 */
export function composeTs(physicalMs: number | bigint, logical: number | bigint = 0): bigint {
  const p = integer(physicalMs, 'physicalMs');
  const l = integer(logical, 'logical');
  if (p < 0n || p > U64_MAX >> SHIFT) throw new InvalidArgumentError(`physicalMs ${p} is out of range`);
  if (l < 0n || l > LOGICAL_MASK)
    throw new InvalidArgumentError(`logical ${l} must be within [0, ${LOGICAL_MASK}]`);
  return (p << SHIFT) | l;
}

/**
 * The physical part of a timestamp: Unix milliseconds (client-go `oracle.ExtractPhysical`).
 *
 * @param ts - a TSO timestamp
 * @returns milliseconds since the Unix epoch
 */
export function extractPhysical(ts: bigint): number {
  return Number(BigInt.asUintN(64, ts) >> SHIFT);
}

/**
 * The logical part of a timestamp (client-go `oracle.ExtractLogical`).
 *
 * @param ts - a TSO timestamp
 * @returns the logical counter, 0 to 2^18−1
 */
export function extractLogical(ts: bigint): number {
  return Number(ts & LOGICAL_MASK);
}

/**
 * The physical part a timestamp taken at `date` would have (client-go `oracle.GetPhysical`).
 *
 * @param date - a date
 * @returns its Unix milliseconds
 */
export function physicalFromDate(date: Date): number {
  return date.getTime();
}

/**
 * The timestamp with the physical time of `date` and logical 0 (client-go `oracle.GoTimeToTS`).
 *
 * @param date - a date at or after the Unix epoch
 * @returns the timestamp
 */
export function tsFromDate(date: Date): bigint {
  return composeTs(date.getTime(), 0);
}

/**
 * The timestamp with physical time `ms` (Unix milliseconds) and logical 0.
 *
 * @param ms - milliseconds since the Unix epoch
 * @returns the timestamp
 */
export function tsFromMs(ms: number): bigint {
  return composeTs(Math.floor(ms), 0);
}

/**
 * The date of a timestamp's physical part (client-go `oracle.GetTimeFromTS`).
 *
 * @param ts - a TSO timestamp
 * @returns the date (millisecond precision)
 */
export function dateFromTs(ts: bigint): Date {
  return new Date(extractPhysical(ts));
}

/**
 * The smallest start ts an uncommitted transaction may still have, given the
 * longest time a transaction may take from begin to commit (client-go
 * `oracle.GoTimeToLowerLimitStartTS`).
 *
 * @param now - the current time (a Date or Unix milliseconds)
 * @param maxTxnTimeUseMs - the longest transaction duration, in milliseconds
 * @returns the timestamp `maxTxnTimeUseMs` before `now`
 */
export function lowerLimitStartTs(now: Date | number, maxTxnTimeUseMs: number): bigint {
  const ms = typeof now === 'number' ? now : now.getTime();
  return tsFromMs(ms - maxTxnTimeUseMs);
}

/**
 * Milliseconds until a lock expires, judged by a current timestamp (client-go
 * `pdOracle.UntilExpired`): the lock's physical time plus its TTL minus the
 * current physical time. Negative once expired.
 *
 * @param lockTs - the lock's start ts
 * @param ttlMs - the lock's TTL in milliseconds
 * @param currentTs - the latest timestamp known
 * @returns the milliseconds left (negative when expired)
 */
export function msUntilExpired(lockTs: bigint, ttlMs: number | bigint, currentTs: bigint): number {
  return extractPhysical(lockTs) + Number(ttlMs) - extractPhysical(currentTs);
}

/**
 * Tells whether a lock has expired, judged by a current timestamp (client-go
 * `pdOracle.IsExpired`).
 *
 * @param lockTs - the lock's start ts
 * @param ttlMs - the lock's TTL in milliseconds
 * @param currentTs - the latest timestamp known
 * @returns true when the current physical time is at or past the lock's expiry
 */
export function isLockExpired(lockTs: bigint, ttlMs: number | bigint, currentTs: bigint): boolean {
  return msUntilExpired(lockTs, ttlMs, currentTs) <= 0;
}

/**
 * A timestamp about `prevSeconds` before now, derived from the last timestamp
 * fetched and when it arrived (client-go `pdOracle.getStaleTimestampWithLastTS`).
 * Not guaranteed to be safe to read at; validate before use.
 *
 * @param lastTs - the last timestamp fetched from PD
 * @param arrivalMs - when it arrived, in Unix milliseconds
 * @param nowMs - the current time, in Unix milliseconds
 * @param prevSeconds - how far back, in seconds
 * @returns the stale timestamp (logical 0)
 * @throws InvalidArgumentError when `prevSeconds` reaches back past the epoch of `lastTs`
 */
export function staleTsFromLast(
  lastTs: bigint,
  arrivalMs: number,
  nowMs: number,
  prevSeconds: number,
): bigint {
  const physical = extractPhysical(lastTs);
  if (!(prevSeconds >= 0) || Math.floor(physical / 1000) <= prevSeconds) {
    throw new InvalidArgumentError(`invalid prevSecond ${prevSeconds}`);
  }
  return tsFromMs(physical + (nowMs - prevSeconds * 1000 - arrivalMs));
}
