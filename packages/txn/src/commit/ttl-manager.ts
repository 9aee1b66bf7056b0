import {
  Backoffer,
  type Clock,
  type ClockTimer,
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

/** The loop of a manager that never ran, or that ended: settled. */
const NEVER_RAN: Promise<void> = Promise.resolve();

/**
 * The running managers of each client lifetime, stopped together when it ends: one abort
 * listener per client, not one per transaction.
 */
const RUNNING_BY_LIFETIME = new WeakMap<AbortSignal, Set<TtlManager>>();

function watchLifetime(signal: AbortSignal, manager: TtlManager): void {
  let running = RUNNING_BY_LIFETIME.get(signal);
  if (running === undefined) {
    const set = new Set<TtlManager>();
    running = set;
    RUNNING_BY_LIFETIME.set(signal, set);
    signal.addEventListener(
      'abort',
      () => {
        RUNNING_BY_LIFETIME.delete(signal);
        for (const m of set) m.close();
      },
      { once: true },
    );
  }
  running.add(manager);
}

function unwatchLifetime(signal: AbortSignal, manager: TtlManager): void {
  RUNNING_BY_LIFETIME.get(signal)?.delete(manager);
}

/** The timer callback: one shared function, the manager as its argument. */
function tick(manager: TtlManager): void {
  void manager.beat();
}

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
  #state: TtlManagerState = TtlManagerState.UNINITIALIZED;
  /** The wait for the next heartbeat, while there is one. */
  #timer: ClockTimer | undefined;
  /** Aborts the heartbeat in flight, while there is one (made per heartbeat, not per transaction). */
  #inFlight: AbortController | undefined;
  /** Whether the loop has ended (closed, failed, or the client went away). */
  #ended = false;
  /** Settles {@link whenStopped}; made only when someone waits. */
  #stopped: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(options: TtlManagerOptions) {
    this.#options = options;
  }

  /** Where the manager is. */
  get state(): TtlManagerState {
    return this.#state;
  }

  /**
   * Starts the heartbeats; only the first call does anything (client-go `run`). Starting and
   * closing a manager costs one timer: most managers are closed by the commit long before their
   * first heartbeat.
   */
  run(): void {
    if (this.#state !== TtlManagerState.UNINITIALIZED) return;
    this.#state = TtlManagerState.RUNNING;
    const lifetime = this.#options.signal;
    if (lifetime?.aborted === true) {
      this.#end();
      return;
    }
    if (lifetime !== undefined) watchLifetime(lifetime, this);
    this.#arm();
  }

  /** Stops the heartbeats (client-go `close`); a manager that never ran is left as it is. */
  close(): void {
    if (this.#state !== TtlManagerState.RUNNING) return;
    this.#stop();
  }

  /** Settles once the heartbeat loop has ended (at once when it never ran). */
  whenStopped(): Promise<void> {
    if (this.#state === TtlManagerState.UNINITIALIZED || this.#ended) return NEVER_RAN;
    if (this.#stopped === undefined) {
      let resolve: () => void = () => {};
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.#stopped = { promise, resolve };
    }
    return this.#stopped.promise;
  }

  #arm(): void {
    this.#timer = this.#options.clock.setTimer(this.#options.intervalMs, tick, this, { background: true });
  }

  /** Closes the manager: no further heartbeat; the one in flight is aborted. */
  #stop(): void {
    if (this.#state === TtlManagerState.RUNNING) this.#state = TtlManagerState.CLOSED;
    if (this.#timer !== undefined) {
      this.#options.clock.clearTimer(this.#timer);
      this.#timer = undefined;
    }
    if (this.#inFlight !== undefined) this.#inFlight.abort();
    else this.#end();
  }

  /** The loop is over: the state is final and waiters are told. */
  #end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#state === TtlManagerState.RUNNING) this.#state = TtlManagerState.CLOSED;
    const lifetime = this.#options.signal;
    if (lifetime !== undefined) unwatchLifetime(lifetime, this);
    this.#stopped?.resolve();
  }

  /** One heartbeat; arms the next unless the loop must end. @internal */
  async beat(): Promise<void> {
    this.#timer = undefined;
    if (this.#state !== TtlManagerState.RUNNING) {
      this.#end();
      return;
    }
    const controller = new AbortController();
    this.#inFlight = controller;
    let again = false;
    try {
      again = await this.#beat(controller.signal);
    } catch (error) {
      this.#options.logger.warn('ttl manager: heartbeat loop failed', {
        startTs: this.#options.startTs,
        error,
      });
    } finally {
      this.#inFlight = undefined;
    }
    // A heartbeat that goes on armed the next one already.
    if (!again || this.#state !== TtlManagerState.RUNNING) this.#end();
  }

  /**
   * The loop stops itself: closed before the event says so, so that a listener woken by it (a
   * flush that must now fail) sees the state it announces.
   */
  #closeFromLoop(): void {
    if (this.#state === TtlManagerState.RUNNING) this.#state = TtlManagerState.CLOSED;
  }

  /** Arms the next heartbeat: before the outcome is published, so a listener sees it armed. */
  #armNext(): void {
    if (this.#state === TtlManagerState.RUNNING) this.#arm();
  }

  /** Sends one heartbeat; whether the loop goes on (the next heartbeat is then armed). */
  async #beat(signal: AbortSignal): Promise<boolean> {
    const o = this.#options;
    let now: bigint;
    try {
      now = await o.oracle.getTimestamp({ signal });
    } catch (error) {
      if (!signal.aborted)
        o.logger.warn('ttl manager: getting a timestamp failed', { startTs: o.startTs, error });
      return false;
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
      return false;
    }
    o.beforeHeartbeat?.(now);
    try {
      const lockTtlMs = await this.#heartbeat(signal, adviseLockTtlMs);
      this.#failures = 0;
      this.#armNext();
      publishHeartbeat({
        startTs: o.startTs,
        adviseLockTtlMs,
        lockTtlMs,
        error: undefined,
        stopped: false,
        maxTtlExceeded: false,
      });
      // Only after a success: the primary lock stays the one source of truth of the status.
      o.afterHeartbeat?.();
      return true;
    } catch (error) {
      if (signal.aborted) return false;
      this.#failures++;
      const failures = this.#failures;
      const stop = isKeyError(error) || failures > MAX_CONSECUTIVE_FAILURES;
      if (!stop) this.#armNext();
      else this.#closeFromLoop();
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
        return false;
      }
      o.logger.debug('ttl manager: heartbeat failed', { startTs: o.startTs, failures, error });
      return true;
    }
  }

  /** Heartbeats failed in a row. */
  #failures = 0;

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
