import { Backoffer, type Clock, MAX_BACKOFF_MS, type RequestOptions } from '@tikv/common';
import type { RegionRequestOptions } from '@tikv/rpc';
import { KeyFlags } from '../membuffer/key-flags.js';
import type { MemBuffer } from '../membuffer/mem-buffer.js';
import type { TxnParts } from '../txn-deps.js';
import { pessimisticRollback } from './pessimistic-lock.js';

/**
 * The release of a pessimistic transaction's locks with `PessimisticRollback`: all of them when
 * the transaction rolls back (client-go `rollbackPessimisticLocks`), or those of a failed
 * `lockKeys` call and of an aggressive locking stage in the background (client-go
 * `asyncPessimisticRollback`), whose end can be waited for.
 *
 * @internal
 */
export class PessimisticRollbacks {
  readonly #parts: TxnParts;
  readonly #startTs: bigint;
  readonly #request: RegionRequestOptions;
  readonly #clock: Clock;
  /** Rollbacks still running in the background. */
  readonly #running = new Set<Promise<void>>();

  /**
   * @param parts - the executor, logger and lifetime signal
   * @param startTs - the transaction's start ts
   * @param request - the request options of the rollback requests
   * @param clock - the background rollbacks' backoff clock
   */
  constructor(parts: TxnParts, startTs: bigint, request: RegionRequestOptions, clock: Clock) {
    this.#parts = parts;
    this.#startTs = startTs;
    this.#request = request;
    this.#clock = clock;
  }

  /** Releases the locks of `keys` taken at `forUpdateTs` or before, within the call's signal and timeout. */
  async rollback(
    keys: readonly Uint8Array[],
    forUpdateTs: bigint,
    options: RequestOptions | undefined,
  ): Promise<void> {
    const exec = this.#parts.executor;
    const { bo, scope } = exec.begin(options, { maxBackoffMs: MAX_BACKOFF_MS.cleanup });
    try {
      await pessimisticRollback(exec, bo, keys, this.#startTs, forUpdateTs, this.#request);
    } finally {
      scope.dispose();
    }
  }

  /** Releases the locks of `keys` in the background; a failure is logged. */
  inBackground(keys: readonly Uint8Array[], forUpdateTs: bigint): void {
    const copies = keys.map((k) => k.slice());
    const bo = new Backoffer({
      maxBackoffMs: MAX_BACKOFF_MS.cleanup,
      signal: this.#parts.lifetimeSignal,
      clock: this.#clock,
    });
    const done: Promise<void> = pessimisticRollback(
      this.#parts.executor,
      bo,
      copies,
      this.#startTs,
      forUpdateTs,
      this.#request,
    )
      .catch((e: unknown) => {
        this.#parts.logger?.info('pessimistic rollback failed', { startTs: this.#startTs, error: String(e) });
      })
      .finally(() => {
        this.#running.delete(done);
      });
    this.#running.add(done);
  }

  /** Settles when the rollbacks running in the background are done (those started meanwhile included). */
  async whenSettled(): Promise<void> {
    while (this.#running.size > 0) await Promise.all([...this.#running]);
  }
}

/**
 * The keys the buffer marks locked: the locks a rollback releases.
 *
 * @internal
 */
export function lockedKeysIn(buffer: MemBuffer): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const it = buffer.iter(undefined, undefined, { includeFlagsOnly: true }); it.valid; it.next()) {
    if (KeyFlags.hasLocked(it.flags())) out.push(it.key().slice());
  }
  return out;
}
