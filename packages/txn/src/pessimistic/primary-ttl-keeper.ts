import { type Clock, noopLogger } from '@tikv/common';
import type { ResolvedCommitOptions } from '../commit/commit-options.js';
import { TtlManager, TtlManagerState } from '../commit/ttl-manager.js';
import type { TxnParts } from '../txn-deps.js';

/**
 * Keeps a pessimistic transaction's primary lock alive from the moment it is written (client-go
 * starts the committer's TTL manager on the first pessimistic lock of the primary): one
 * {@link TtlManager} at a time, started once per primary.
 *
 * @internal
 */
export class PrimaryTtlKeeper {
  readonly #parts: TxnParts;
  readonly #options: ResolvedCommitOptions;
  readonly #startTs: bigint;
  readonly #clock: Clock;
  #ttl: TtlManager | undefined;

  constructor(parts: TxnParts, options: ResolvedCommitOptions, startTs: bigint, clock: Clock) {
    this.#parts = parts;
    this.#options = options;
    this.#startTs = startTs;
    this.#clock = clock;
  }

  /** Whether the heartbeats run (client-go `IsTTLRunning`). */
  get running(): boolean {
    return this.#ttl !== undefined && this.#ttl.state === TtlManagerState.RUNNING;
  }

  /** Starts the heartbeats of `primaryKey`'s lock; nothing when a manager exists (even closed) or there is no primary. */
  start(primaryKey: Uint8Array | undefined): void {
    if (this.#ttl !== undefined || primaryKey === undefined) return;
    const o = this.#options;
    this.#ttl = new TtlManager({
      exec: this.#parts.executor,
      oracle: this.#parts.oracle,
      clock: this.#clock,
      logger: this.#parts.logger ?? noopLogger,
      startTs: this.#startTs,
      primaryKey,
      managedLockTtlMs: o.managedLockTtlMs,
      intervalMs: o.heartbeatIntervalMs,
      maxTxnTtlMs: o.maxTxnTtlMs,
      maxBackoffMs: o.keepAliveMaxBackoffMs,
      minCommitTs: () => 0n,
      signal: this.#parts.lifetimeSignal,
    });
    this.#ttl.run();
  }

  /** Stops the heartbeats and forgets the manager: the next primary gets a new one. */
  stop(): void {
    this.#ttl?.close();
    this.#ttl = undefined;
  }

  /** Stops the heartbeats for good (after commit or rollback): no manager starts again. */
  close(): void {
    this.#ttl?.close();
  }
}
