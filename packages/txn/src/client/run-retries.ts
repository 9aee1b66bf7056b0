import {
  Backoffer,
  type Clock,
  defineBackoffKind,
  isTiKVError,
  type RequestOptions,
  UndeterminedError,
} from '@tikv/common';
import type { TxnParts } from '../txn-deps.js';
import type { Transaction } from './transaction.js';
import type { BeginOptions, RunOptions } from './transaction-options.js';

/**
 * The sleep between two attempts of {@link TransactionClient.run}: full jitter, 2 ms doubling up
 * to 100 ms (TiDB's `kv.BackOff` between transaction retries).
 */
const RUN_RETRY = defineBackoffKind({
  name: 'txnRetry',
  baseMs: 2,
  capMs: 100,
  jitter: 'FullJitter',
  description: 'transaction retry',
});

/** Whether {@link TransactionClient.run} tries again after this error. */
export function isRetryableTxnError(e: unknown): boolean {
  return isTiKVError(e) && e.retryable && !(e instanceof UndeterminedError);
}

/** What {@link runWithRetries} begins its transactions on: the client. @internal */
export interface TxnBeginner {
  begin(options?: BeginOptions): Promise<Transaction>;
}

/**
 * `TransactionClient.run` past its checks: begins a transaction, runs `fn` in it and commits it
 * (unless `fn` ended it), and starts over after a retryable error, up to `attempts` attempts with
 * a `txnRetry` backoff between them; the run's signal and deadline bound every begin and commit.
 *
 * @param client - begins the transactions
 * @param fn - the transaction's work
 * @param options - the run's options: `maxAttempts` aside, how each transaction begins
 * @param attempts - the most attempts
 * @param parts - the client's parts: the backoff's clock, and the logger of the retries
 * @param clock - reads the time left before the deadline
 * @returns what `fn` returned in the attempt that committed
 * @internal
 */
export async function runWithRetries<T>(
  client: TxnBeginner,
  fn: (txn: Transaction) => Promise<T>,
  options: RunOptions | undefined,
  attempts: number,
  parts: TxnParts,
  clock: Clock,
): Promise<T> {
  const { maxAttempts: _, ...begin } = options ?? {};
  const bo = new Backoffer({
    maxBackoffMs: 0,
    signal: options?.signal,
    timeoutMs: options?.timeoutMs,
    clock: parts.clock,
  });
  for (let attempt = 1; ; attempt++) {
    const txn = await client.begin({ ...begin, ...callOf(bo, clock) });
    try {
      const result = await fn(txn);
      if (txn.valid) await txn.commit(callOf(bo, clock));
      return result;
    } catch (e) {
      if (txn.valid) await txn.rollback().catch(() => {});
      if (attempt >= attempts || !isRetryableTxnError(e)) throw e;
      parts.logger?.debug('txn: run retries', { attempt, startTs: txn.startTs, error: String(e) });
      await bo.backoff(RUN_RETRY, e);
    }
  }
}

/** The remaining deadline and the signal of a run, as call options. */
function callOf(bo: Backoffer, clock: Clock): RequestOptions {
  const deadline = bo.deadlineAtMs;
  return {
    ...(bo.signal === undefined ? {} : { signal: bo.signal }),
    ...(deadline === undefined ? {} : { timeoutMs: Math.max(1, deadline - clock.now()) }),
  };
}
