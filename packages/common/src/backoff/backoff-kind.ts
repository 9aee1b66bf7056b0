import { InvalidArgumentError } from '../errors/client-errors.js';
import type { RandomSource } from '../time/clock.js';

/**
 * Jitter policies of exponential backoff (client-go's `NoJitter`,
 * `FullJitter`, `EqualJitter`, `DecorrJitter`; see the AWS architecture blog
 * post "Exponential Backoff And Jitter").
 */
export const Jitter = Object.freeze({
  /** Strict exponential: base·2^n, capped. */
  NoJitter: 'NoJitter',
  /** Uniform in [0, base·2^n). */
  FullJitter: 'FullJitter',
  /** Half the exponential value plus a uniform part of the other half: never very short. */
  EqualJitter: 'EqualJitter',
  /** base plus a uniform part of (3·previous − base), capped. */
  DecorrJitter: 'DecorrJitter',
} as const);

/** One of the {@link Jitter} policies. */
export type Jitter = (typeof Jitter)[keyof typeof Jitter];

/** A backoff kind: what one kind of failure waits before retrying, and how that grows. */
export interface BackoffKind {
  /** The kind's name; attempt counts and sleeps are recorded per name. */
  readonly name: string;
  /** The first sleep's base, in milliseconds (raised to 2 when lower). */
  readonly baseMs: number;
  /** The largest sleep, in milliseconds. */
  readonly capMs: number;
  /** The jitter policy. */
  readonly jitter: Jitter;
  /**
   * When set, sleeps of this kind do not count against the backoffer's budget;
   * they are refused once their own total reaches this limit (and the budget),
   * in milliseconds. client-go sets it for TiKV ServerIsBusy (10 minutes).
   */
  readonly excludedMaxMs?: number;
  /** What running out of budget on this kind means (client-go's per-config error). */
  readonly description: string;
}

const JITTERS: ReadonlySet<string> = new Set<string>(Object.values(Jitter));

/**
 * Validates and freezes a custom backoff kind.
 *
 * @param kind - the kind's fields
 * @returns the frozen kind
 * @throws InvalidArgumentError when a field is out of range
 */
export function defineBackoffKind(kind: BackoffKind): BackoffKind {
  if (kind.name === '') throw new InvalidArgumentError('backoff kind name must not be empty');
  if (!(Number.isFinite(kind.baseMs) && kind.baseMs >= 0)) {
    throw new InvalidArgumentError(`backoff kind ${kind.name}: baseMs must be >= 0, got ${kind.baseMs}`);
  }
  if (!(Number.isFinite(kind.capMs) && kind.capMs >= 0)) {
    throw new InvalidArgumentError(`backoff kind ${kind.name}: capMs must be >= 0, got ${kind.capMs}`);
  }
  if (!JITTERS.has(kind.jitter)) {
    throw new InvalidArgumentError(`backoff kind ${kind.name}: unknown jitter ${String(kind.jitter)}`);
  }
  if (kind.excludedMaxMs !== undefined && !(kind.excludedMaxMs >= 0)) {
    throw new InvalidArgumentError(
      `backoff kind ${kind.name}: excludedMaxMs must be >= 0, got ${kind.excludedMaxMs}`,
    );
  }
  return Object.freeze({ ...kind });
}

function kind(
  name: string,
  baseMs: number,
  capMs: number,
  jitter: Jitter,
  description: string,
  excludedMaxMs?: number,
): BackoffKind {
  return Object.freeze({
    name,
    baseMs,
    capMs,
    jitter,
    description,
    ...(excludedMaxMs === undefined ? {} : { excludedMaxMs }),
  });
}

/**
 * The name of the fast lock-resolving kind, whose base comes from the
 * backoffer's `lockFastBaseMs` instead of the kind's `baseMs`.
 */
export const TXN_LOCK_FAST_KIND_NAME = 'txnLockFast';

/**
 * Every backoff kind client-go defines (config/retry/config.go), with the same
 * base, cap and jitter. Keys are the kinds' names.
 */
export const BackoffKinds = Object.freeze({
  /** A TiKV RPC failed (transport error or timeout). */
  tikvRPC: kind('tikvRPC', 100, 2000, 'EqualJitter', 'tikv server timeout'),
  /** A TiFlash RPC failed. */
  tiflashRPC: kind('tiflashRPC', 100, 2000, 'EqualJitter', 'tiflash server timeout'),
  /** Waiting for a lock to be resolved or to expire. */
  txnLock: kind('txnLock', 100, 3000, 'EqualJitter', 'resolve lock timeout'),
  /** A PD RPC failed. */
  pdRPC: kind('pdRPC', 500, 3000, 'EqualJitter', 'pd server timeout'),
  /** The region was not found or its leader is unknown; it may recover soon. */
  regionMiss: kind('regionMiss', 2, 500, 'NoJitter', 'region unavailable'),
  /** The region is being scheduled (read index not ready, merging). */
  regionScheduling: kind('regionScheduling', 2, 500, 'NoJitter', 'region unavailable'),
  /** TiKV said ServerIsBusy; not counted against the budget, up to 10 minutes. */
  tikvServerBusy: kind('tikvServerBusy', 2000, 10000, 'EqualJitter', 'tikv server busy', 600000),
  /** TiKV's disk is full. */
  tikvDiskFull: kind('tikvDiskFull', 500, 5000, 'NoJitter', 'tikv disk full'),
  /** The region is being recovered online (unsafe recovery). */
  regionRecoveryInProgress: kind(
    'regionRecoveryInProgress',
    100,
    10000,
    'EqualJitter',
    'region is being online unsafe recovered',
  ),
  /** TiFlash said ServerIsBusy. */
  tiflashServerBusy: kind('tiflashServerBusy', 2000, 10000, 'EqualJitter', 'tiflash server busy'),
  /** The transaction's status was not found yet while resolving a lock. */
  txnNotFound: kind('txnNotFound', 2, 500, 'NoJitter', 'resolve lock timeout'),
  /** TiKV said StaleCommand. */
  staleCommand: kind('staleCommand', 2, 1000, 'NoJitter', 'tikv stale command'),
  /** TiKV's max timestamp is not synced yet. */
  maxTsNotSynced: kind('maxTsNotSynced', 2, 500, 'NoJitter', 'tikv max timestamp not synced'),
  /** The commit ts fetched from PD lags behind the expected value. */
  commitTSLag: kind('commitTSLag', 2, 500, 'NoJitter', 'commit timestamp lags behind expected'),
  /** The region is not initialized yet on the store. */
  regionNotInitialized: kind('regionNotInitialized', 2, 1000, 'NoJitter', 'region not initialized'),
  /** The request reached a witness peer. */
  isWitness: kind('isWitness', 1000, 10000, 'EqualJitter', 'peer is witness'),
  /** Fast lock resolving; its base is the backoffer's `lockFastBaseMs` (default 10). */
  txnLockFast: kind(TXN_LOCK_FAST_KIND_NAME, 2, 3000, 'EqualJitter', 'resolve lock timeout'),
} as const);

/** The name of one of the built-in {@link BackoffKinds}. */
export type BackoffKindName = keyof typeof BackoffKinds;

function randomInt(random: RandomSource, n: number): number {
  return n <= 0 ? 0 : Math.floor(random() * n);
}

function expo(baseMs: number, capMs: number, attempts: number): number {
  return Math.floor(Math.min(capMs, baseMs * 2 ** attempts));
}

/**
 * The sleep of one attempt, by client-go's formula for each jitter policy.
 *
 * @param jitter - the policy
 * @param baseMs - the base (already raised to at least 2)
 * @param capMs - the cap
 * @param attempts - how many sleeps of this kind completed before
 * @param lastSleepMs - the previous computed sleep (the base before the first)
 * @param random - the random source
 * @returns the sleep in whole milliseconds
 */
export function backoffSleepMs(
  jitter: Jitter,
  baseMs: number,
  capMs: number,
  attempts: number,
  lastSleepMs: number,
  random: RandomSource,
): number {
  switch (jitter) {
    case 'NoJitter':
      return expo(baseMs, capMs, attempts);
    case 'FullJitter':
      return randomInt(random, expo(baseMs, capMs, attempts));
    case 'EqualJitter': {
      const v = expo(baseMs, capMs, attempts);
      const half = Math.floor(v / 2);
      return half + randomInt(random, half);
    }
    case 'DecorrJitter':
      return Math.min(capMs, baseMs + randomInt(random, lastSleepMs * 3 - baseMs));
  }
}

/**
 * The exponential sequence of one kind within one backoffer (client-go's
 * `backoffFn`): attempts and the last sleep advance only when a sleep
 * completes.
 */
export class BackoffSequence {
  private readonly baseMs: number;
  private attempts = 0;
  private lastSleepMs: number;

  /**
   * @param baseMs - the base, raised to 2 when lower
   * @param capMs - the cap
   * @param jitter - the jitter policy
   * @param random - the random source
   */
  constructor(
    baseMs: number,
    private readonly capMs: number,
    private readonly jitter: Jitter,
    private readonly random: RandomSource,
  ) {
    this.baseMs = Math.max(2, baseMs);
    this.lastSleepMs = this.baseMs;
  }

  /** @returns the next sleep in milliseconds, without advancing the sequence */
  peek(): number {
    return backoffSleepMs(this.jitter, this.baseMs, this.capMs, this.attempts, this.lastSleepMs, this.random);
  }

  /** @param sleptMs - the computed sleep that completed; advances the sequence */
  advance(sleptMs: number): void {
    this.attempts++;
    this.lastSleepMs = sleptMs;
  }

  /** How many sleeps the sequence has advanced past. */
  get attemptCount(): number {
    return this.attempts;
  }

  /** @returns an independent sequence at the same point */
  copy(): BackoffSequence {
    const c = new BackoffSequence(this.baseMs, this.capMs, this.jitter, this.random);
    c.attempts = this.attempts;
    c.lastSleepMs = this.lastSleepMs;
    return c;
  }
}
