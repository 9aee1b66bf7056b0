import type { RequestOptions } from '@tikv/common';

/**
 * Per-call options every async method of this package accepts: `signal` cancels the call
 * (it rejects with the signal's reason) and `timeoutMs` bounds it, retries and backoff
 * included (it rejects with a `DeadlineExceededError`).
 */
export type CallOptions = RequestOptions;
