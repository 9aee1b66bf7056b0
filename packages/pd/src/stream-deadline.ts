import { type Clock, PendingRequest, RpcError } from '@tikv/common';

/** Where a request on a PD stream went and how long it may take, for {@link withStreamDeadline}. */
export interface StreamDeadlineOptions {
  /** Measures the deadline. */
  readonly clock: Clock;
  /** The deadline in milliseconds. */
  readonly timeoutMs: number;
  /** The PD URL the stream is open to. */
  readonly address: string;
  /** The request, for the message and the error's `command` (`Tso`, `QueryRegion`). */
  readonly command: string;
}

/** A request on a PD stream, failed with a retryable `RpcError` when it outlives its deadline. */
class StreamDeadline<T> extends PendingRequest<T> {
  readonly #options: StreamDeadlineOptions;

  constructor(options: StreamDeadlineOptions) {
    super(options.clock, undefined, options.timeoutMs);
    this.#options = options;
  }

  protected override timeoutError(timeoutMs: number): unknown {
    const { address, command } = this.#options;
    return new RpcError(`${command} request timed out after ${timeoutMs} ms on ${address}`, {
      address,
      command,
      requestSent: true,
      retryable: true,
    });
  }
}

/**
 * Waits for one request on a PD stream (TSO, `QueryRegion`) for at most `timeoutMs`, measured on
 * `clock`. Past it the returned promise rejects with a retryable `RpcError`, and the owner
 * breaks the stream (a stalled stream answers nothing after it either). The request itself is
 * not cancelled: its late outcome is ignored.
 *
 * @param request - the request's response
 * @param options - the clock, the deadline, the stream's PD URL and the request's name
 * @returns the response, or the timeout's error
 * @internal
 */
export function withStreamDeadline<T>(request: Promise<T>, options: StreamDeadlineOptions): Promise<T> {
  const deadline = new StreamDeadline<T>(options);
  request.then(
    (value) => deadline.resolve(value),
    (e: unknown) => deadline.reject(e),
  );
  return deadline.promise;
}
