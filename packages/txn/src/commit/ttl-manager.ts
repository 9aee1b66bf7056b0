import {
  Backoffer,
  type Clock,
  extractPhysical,
  isKeyError,
  keyErrorFromWire,
  type Logger,
  MAX_WRITE_EXECUTION_MS,
} from '@tikv/common';
import type { RegionExecutor, RegionRequestOptions } from '@tikv/rpc';
import type { TxnOracle } from '../txn-deps.js';
import { publishHeartbeat } from './commit-diagnostics.js';

/** Consecutive failed heartbeats after which the TTL manager gives up (client-go `maxConsecutiveFailure`). */
const MAX_CONSECUTIVE_FAILURES = 10;

const HEARTBEAT_REQUEST: RegionRequestOptions = Object.freeze({
  maxExecutionDurationMs: MAX_WRITE_EXECUTION_MS,
});

/** The states of a {@link TtlManager} (client-go `ttlManagerState`). */
export const TtlManagerState = Object.freeze({
  UNINITIALIZED: 'uninitialized',
  RUNNING: 'running',
  CLOSED: 'closed',
} as const);
/** One of the {@link TtlManagerState} values. */
export type TtlManagerState = (typeof TtlManagerState)[keyof typeof TtlManagerState];

/** The loop of a manager that never ran: settled. */
const NEVER_RAN: Promise<void> = Promise.resolve();

/** What a {@link TtlManager} runs on. @internal */
export interface TtlManagerOptions {
  readonly exec: RegionExecutor;
  readonly oracle: TxnOracle;
  /** Ticks and the heartbeats' backoffs. */
  readonly clock: Clock;
  readonly logger: Logger;
  readonly startTs: bigint;
  /** The primary key, whose lock the heartbeats refresh. */
  readonly primaryKey: Uint8Array;
  /** The TTL each heartbeat asks for beyond the transaction's age (client-go `ManagedLockTTL`). */
  readonly managedLockTtlMs: number;
  /** Milliseconds between heartbeats. */
  readonly intervalMs: number;
  /** No heartbeat once the transaction is older than this (client-go `MaxTxnTTL`). */
  readonly maxTxnTtlMs: number;
  /** Backoff budget of one heartbeat. */
  readonly maxBackoffMs: number;
  /** The min commit ts a heartbeat carries (client-go `minCommitTSMgr.get()`). */
  readonly minCommitTs: () => bigint;
  /**
   * Told each heartbeat's timestamp before the heartbeat is sent: a pipelined transaction raises
   * its min commit ts to it (client-go `keepAlive`'s `tryUpdate(now, ttlAccess)`).
   */
  readonly beforeHeartbeat?: ((now: bigint) => void) | undefined;
  /** Told after each successful heartbeat: a pipelined transaction broadcasts its status. */
  readonly afterHeartbeat?: (() => void) | undefined;
  /** The client's lifetime: aborting it stops the manager. */
  readonly signal: AbortSignal | undefined;
}

/**
 * Keeps a long transaction's primary lock alive (client-go `ttlManager` and `keepAlive`): every
 * `intervalMs` (half the managed TTL by default, client-go's ticker) it reads a timestamp and sends
 * `KvTxnHeartBeat` asking for a TTL of the transaction's age plus `managedLockTtlMs`, until it is
 * closed, the transaction is older than `maxTxnTtlMs`, TiKV answers a key error (the lock is
 * gone), or ten heartbeats in a row failed. A pipelined transaction's heartbeats also push its
 * min commit ts (`beforeHeartbeat`) and broadcast its status after each success (`afterHeartbeat`).
 *
 * @internal
 */
export class TtlManager {
  readonly #options: TtlManagerOptions;
  // Made by run(): most transactions are small and never start the heartbeats.
  #stop: AbortController | undefined;
  #state: TtlManagerState = TtlManagerState.UNINITIALIZED;
  #loop: Promise<void> = NEVER_RAN;

  constructor(options: TtlManagerOptions) {
    this.#options = options;
  }

  /** Where the manager is. */
  get state(): TtlManagerState {
    return this.#state;
  }

  /** Starts the heartbeats; only the first call does anything (client-go `run`). */
  run(): void {
    if (this.#state !== TtlManagerState.UNINITIALIZED) return;
    this.#state = TtlManagerState.RUNNING;
    const signal = this.#options.signal;
    this.#stop = new AbortController();
    const stopSignal = this.#stop.signal;
    const signals = signal === undefined ? stopSignal : AbortSignal.any([signal, stopSignal]);
    this.#loop = this.#keepAlive(signals).finally(() => {
      if (this.#state === TtlManagerState.RUNNING) this.#state = TtlManagerState.CLOSED;
    });
  }

  /** Stops the heartbeats (client-go `close`); a manager that never ran is left as it is. */
  close(): void {
    if (this.#state !== TtlManagerState.RUNNING) return;
    this.#state = TtlManagerState.CLOSED;
    this.#stop?.abort();
  }

  /** Settles once the heartbeat loop has ended (at once when it never ran). */
  whenStopped(): Promise<void> {
    return this.#loop;
  }

  /**
   * The loop stops itself: closed before the event says so, so that a listener woken by it (a
   * flush that must now fail) sees the state it announces.
   */
  #closeFromLoop(): void {
    if (this.#state === TtlManagerState.RUNNING) this.#state = TtlManagerState.CLOSED;
  }

  async #keepAlive(signal: AbortSignal): Promise<void> {
    const o = this.#options;
    let failures = 0;
    for (;;) {
      try {
        await o.clock.sleep(o.intervalMs, signal, { background: true });
      } catch {
        return;
      }
      let now: bigint;
      try {
        now = await o.oracle.getTimestamp({ signal });
      } catch (error) {
        if (!signal.aborted)
          o.logger.warn('ttl manager: getting a timestamp failed', { startTs: o.startTs, error });
        return;
      }
      const uptimeMs = extractPhysical(now) - extractPhysical(o.startTs);
      const adviseLockTtlMs = uptimeMs + o.managedLockTtlMs;
      if (uptimeMs > o.maxTxnTtlMs) {
        // Past its lifetime: stop, so a lost transaction never holds its locks forever.
        o.logger.info('ttl manager: transaction lived past maxTxnTtlMs', { startTs: o.startTs, uptimeMs });
        this.#closeFromLoop();
        publishHeartbeat({
          startTs: o.startTs,
          adviseLockTtlMs,
          lockTtlMs: undefined,
          error: undefined,
          stopped: true,
          maxTtlExceeded: true,
        });
        return;
      }
      o.beforeHeartbeat?.(now);
      try {
        const lockTtlMs = await this.#heartbeat(signal, adviseLockTtlMs);
        failures = 0;
        publishHeartbeat({
          startTs: o.startTs,
          adviseLockTtlMs,
          lockTtlMs,
          error: undefined,
          stopped: false,
          maxTtlExceeded: false,
        });
      } catch (error) {
        if (signal.aborted) return;
        failures++;
        const stop = isKeyError(error) || failures > MAX_CONSECUTIVE_FAILURES;
        if (stop) this.#closeFromLoop();
        publishHeartbeat({
          startTs: o.startTs,
          adviseLockTtlMs,
          lockTtlMs: undefined,
          error,
          stopped: stop,
          maxTtlExceeded: false,
        });
        if (stop) {
          o.logger.warn('ttl manager: heartbeats stopped', { startTs: o.startTs, failures, error });
          return;
        }
        o.logger.debug('ttl manager: heartbeat failed', { startTs: o.startTs, failures, error });
        continue;
      }
      // Only after a success: the primary lock stays the one source of truth of the status.
      o.afterHeartbeat?.();
    }
  }

  /** One `KvTxnHeartBeat` (client-go `sendTxnHeartBeat`); resolves with the lock's new TTL. */
  async #heartbeat(signal: AbortSignal, adviseLockTtlMs: number): Promise<number> {
    const o = this.#options;
    const bo = new Backoffer({ maxBackoffMs: o.maxBackoffMs, signal, clock: o.clock, logger: o.logger });
    const { response } = await o.exec.sendToKey(
      bo,
      o.primaryKey,
      () => ({
        $case: 'TxnHeartBeat' as const,
        value: {
          context: undefined,
          primaryLock: o.primaryKey,
          startVersion: o.startTs,
          adviseLockTtl: BigInt(adviseLockTtlMs),
          minCommitTs: o.minCommitTs(),
          isTxnFile: false,
        },
      }),
      { request: HEARTBEAT_REQUEST },
    );
    const keyError = response.value.error;
    if (keyError !== undefined && keyError !== null) throw keyErrorFromWire(keyError);
    return Number(response.value.lockTtl);
  }
}
