import { type Clock, PendingRequest, TiKVError } from '@tikv/common';

/** A request on a PD stream, failed with a retryable `RPC_ERROR` when it outlives its deadline. */
class StreamDeadline<T> extends PendingRequest<T> {
  readonly #describe: (timeoutMs: number) => string;

  constructor(clock: Clock, timeoutMs: number, describe: (timeoutMs: number) => string) {
    super(clock, undefined, timeoutMs);
    this.#describe = describe;
  }

  protected override timeoutError(timeoutMs: number): unknown {
    return new TiKVError('RPC_ERROR', this.#describe(timeoutMs), { retryable: true });
  }
}

/**
 * Waits for one request on a PD stream (TSO, `QueryRegion`) for at most `timeoutMs`, measured on
 * `clock`. Past it the returned promise rejects with a retryable `RPC_ERROR`, and the owner
 * breaks the stream (a stalled stream answers nothing after it either). The request itself is
 * not cancelled: its late outcome is ignored.
 *
 * @param request - the request's response
 * @param clock - measures the deadline
 * @param timeoutMs - the deadline in milliseconds
 * @param describe - the timeout message, given the deadline
 * @returns the response, or the timeout's error
 * @internal
 */
export function withStreamDeadline<T>(
  request: Promise<T>,
  clock: Clock,
  timeoutMs: number,
  describe: (timeoutMs: number) => string,
): Promise<T> {
  const deadline = new StreamDeadline<T>(clock, timeoutMs, describe);
  request.then(
    (value) => deadline.resolve(value),
    (e: unknown) => deadline.reject(e),
  );
  return deadline.promise;
}
