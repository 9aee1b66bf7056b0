import {
  ClientClosedError,
  type Clock,
  type ClockTimer,
  composeTs,
  DeadlineExceededError,
  InvalidArgumentError,
  isTiKVError,
  openOperationScope,
  PendingRequest,
  type Resolved,
  RpcError,
  systemClock,
  TiKVError,
} from '@tikv/common';
import type { CallOptions } from './call-options.js';
import { withStreamDeadline } from './stream-deadline.js';
import type { TsoResult, TsoStream, TsoStreamProvider } from './tso-stream.js';

/** Options of a {@link TsoDispatcher}. */
export interface TsoDispatcherOptions {
  /**
   * Most timestamps asked for in one TSO request (PD's client default).
   * @defaultValue 10_000
   */
  readonly maxBatchSize?: number | undefined;
  /**
   * Deadline of one TSO request on the stream, and of opening a stream, in milliseconds.
   * A request that misses it breaks the stream.
   * @defaultValue 3_000
   */
  readonly rpcTimeoutMs?: number | undefined;
  /**
   * TSO requests allowed in flight at once on the stream. With 1 (PD's default), callers
   * that arrive while a request is in flight are merged into the next request.
   * @defaultValue 1
   */
  readonly maxInFlight?: number | undefined;
  /**
   * How long a batch waits for more callers after its first one arrives before it is sent, in
   * ms (PD's `MaxTSOBatchWaitInterval`, 0 to 10); 0 sends at once.
   * @defaultValue 0
   */
  readonly maxBatchWaitMs?: number | undefined;
  /** Measures callers' timeouts and the request deadline. @defaultValue the system clock */
  readonly clock?: Clock | undefined;
}

/** Defaults of {@link TsoDispatcherOptions}. */
export const DEFAULT_TSO_DISPATCHER_OPTIONS = Object.freeze({
  maxBatchSize: 10_000,
  rpcTimeoutMs: 3_000,
  maxInFlight: 1,
  maxBatchWaitMs: 0,
});

/** The longest batch wait PD's client accepts (`WithMaxTSOBatchWaitInterval`), in ms. */
export const MAX_TSO_BATCH_WAIT_MS = 10;

/** The options a dispatcher takes while it runs ({@link TsoDispatcher.update}). */
export type TsoDispatcherDynamicOptions = Pick<TsoDispatcherOptions, 'maxInFlight' | 'maxBatchWaitMs'>;

function checkDynamic(o: { maxInFlight: number; maxBatchWaitMs: number }): void {
  if (!(Number.isInteger(o.maxInFlight) && o.maxInFlight >= 1))
    throw new InvalidArgumentError(`maxInFlight must be an integer >= 1, got ${o.maxInFlight}`);
  if (!(o.maxBatchWaitMs >= 0 && o.maxBatchWaitMs <= MAX_TSO_BATCH_WAIT_MS))
    throw new InvalidArgumentError(
      `maxBatchWaitMs must be in [0, ${MAX_TSO_BATCH_WAIT_MS}], got ${o.maxBatchWaitMs}`,
    );
}

function dispatchLater(d: TsoDispatcher): void {
  d.onBatchWaitEnd();
}

/** Counters a dispatcher keeps; `timestamps / rpcs` is the batching ratio. */
export interface TsoDispatcherStats {
  /** TSO requests sent on streams. */
  readonly rpcs: number;
  /** Timestamps granted by PD (handed out or dropped because their caller gave up). */
  readonly timestamps: number;
  /** Streams opened. */
  readonly streamsOpened: number;
}

/** One caller waiting for a timestamp. */
class TsoWaiter extends PendingRequest<bigint> {
  protected override timeoutError(timeoutMs: number): unknown {
    return new DeadlineExceededError(`get timestamp timed out after ${timeoutMs} ms`, { timeoutMs });
  }
}

/**
 * Merges concurrent timestamp requests into batched requests on one long-lived TSO stream,
 * as PD's Go client does: callers arriving while a request is in flight are collected and
 * sent as one request with `count = n`, and the granted range is handed out in arrival
 * order. Every caller gets a timestamp strictly greater than any handed out before.
 *
 * A failed stream rejects its in-flight callers with a retryable `RPC_ERROR` and is replaced
 * by a new stream (to the current leader) on the next batch.
 */
export class TsoDispatcher {
  readonly #provider: TsoStreamProvider;
  #opts: Resolved<Omit<TsoDispatcherOptions, 'clock'>>;
  #batchTimer: ClockTimer | undefined;
  readonly #clock: Clock;
  #queue: TsoWaiter[] = [];
  #head = 0;
  #inFlight = 0;
  #scheduled = false;
  #stream: TsoStream | undefined;
  #connecting: Promise<TsoStream> | undefined;
  #closed = false;
  readonly #closeController = new AbortController();
  #lastTs = -1n;
  #rpcs = 0;
  #granted = 0;
  #streamsOpened = 0;
  readonly #dispatchFn = (): void => this.#dispatch();

  /**
   * @param provider - opens streams to the current leader and hears about failures
   * @param options - batching, timeout and clock options
   */
  constructor(provider: TsoStreamProvider, options: TsoDispatcherOptions = {}) {
    this.#provider = provider;
    const o = {
      maxBatchSize: options.maxBatchSize ?? DEFAULT_TSO_DISPATCHER_OPTIONS.maxBatchSize,
      rpcTimeoutMs: options.rpcTimeoutMs ?? DEFAULT_TSO_DISPATCHER_OPTIONS.rpcTimeoutMs,
      maxInFlight: options.maxInFlight ?? DEFAULT_TSO_DISPATCHER_OPTIONS.maxInFlight,
      maxBatchWaitMs: options.maxBatchWaitMs ?? DEFAULT_TSO_DISPATCHER_OPTIONS.maxBatchWaitMs,
    };
    if (!(o.maxBatchSize >= 1))
      throw new InvalidArgumentError(`maxBatchSize must be >= 1, got ${o.maxBatchSize}`);
    if (!(o.rpcTimeoutMs > 0))
      throw new InvalidArgumentError(`rpcTimeoutMs must be > 0, got ${o.rpcTimeoutMs}`);
    checkDynamic(o);
    this.#opts = Object.freeze(o);
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Changes the concurrency and the batch wait while the dispatcher runs (PD's `UpdateOption`
   * for `TSOClientRPCConcurrency` and `MaxTSOBatchWaitInterval`); waiting callers are dispatched
   * under the new values.
   *
   * @throws InvalidArgumentError for a concurrency below 1 or a wait outside [0, 10] ms
   */
  update(options: TsoDispatcherDynamicOptions): void {
    const next = {
      ...this.#opts,
      ...(options.maxInFlight === undefined ? {} : { maxInFlight: options.maxInFlight }),
      ...(options.maxBatchWaitMs === undefined ? {} : { maxBatchWaitMs: options.maxBatchWaitMs }),
    };
    checkDynamic(next);
    this.#opts = Object.freeze(next);
    this.#schedule();
  }

  /** The concurrency and batch wait in force. */
  get dynamicOptions(): Readonly<{ maxInFlight: number; maxBatchWaitMs: number }> {
    return { maxInFlight: this.#opts.maxInFlight, maxBatchWaitMs: this.#opts.maxBatchWaitMs };
  }

  /**
   * Drops the current stream so that the next batch opens a new one (the route changed: a
   * follower proxy turned on or off); requests in flight on it fail with a retryable error.
   */
  resetStream(): void {
    const s = this.#stream;
    if (s === undefined) return;
    this.#stream = undefined;
    s.close(
      new RpcError('TSO stream reset: the route to PD changed', {
        address: s.url,
        requestSent: true,
        retryable: true,
      }),
    );
  }

  /** The batch wait ended. @internal */
  onBatchWaitEnd(): void {
    this.#batchTimer = undefined;
    this.#scheduled = true;
    this.#dispatch();
  }

  /** Counters since creation. */
  get stats(): TsoDispatcherStats {
    return { rpcs: this.#rpcs, timestamps: this.#granted, streamsOpened: this.#streamsOpened };
  }

  /** Callers waiting for a batch to be sent. */
  get pendingCount(): number {
    return this.#queue.length - this.#head;
  }

  /** TSO requests currently in flight. */
  get inFlightCount(): number {
    return this.#inFlight;
  }

  /** The largest timestamp handed out so far, or -1n. */
  get lastTimestamp(): bigint {
    return this.#lastTs;
  }

  /**
   * Gets one timestamp. One attempt: a stream failure rejects with a retryable error.
   *
   * @param options - `signal` and `timeoutMs` of this call (the timeout on the dispatcher's clock)
   */
  getTimestamp(options?: CallOptions): Promise<bigint> {
    if (this.#closed) return Promise.reject(new ClientClosedError('TSO dispatcher is closed'));
    const w = new TsoWaiter(this.#clock, options?.signal, options?.timeoutMs);
    // An already-aborted signal settles the waiter at once: nothing to queue.
    if (!w.settled) {
      this.#queue.push(w);
      this.#schedule();
    }
    return w.promise;
  }

  /** Closes the dispatcher: every waiting and in-flight caller rejects with `CLIENT_CLOSED`. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const err = new ClientClosedError('TSO dispatcher is closed');
    this.#closeController.abort(err);
    if (this.#batchTimer !== undefined) this.#clock.clearTimer(this.#batchTimer);
    this.#batchTimer = undefined;
    this.#stream?.close(err);
    this.#stream = undefined;
    const pending = this.#takeBatch(Number.POSITIVE_INFINITY);
    for (const w of pending) w.reject(err);
  }

  #schedule(): void {
    if (this.#scheduled || this.#closed || this.#batchTimer !== undefined) return;
    if (this.#inFlight >= this.#opts.maxInFlight || this.pendingCount === 0) return;
    const waitMs = this.#opts.maxBatchWaitMs;
    // With a batch wait, a batch that is not full yet waits for more callers (on the clock).
    if (waitMs > 0 && this.pendingCount < this.#opts.maxBatchSize) {
      this.#batchTimer = this.#clock.setTimer(waitMs, dispatchLater, this);
      return;
    }
    this.#scheduled = true;
    queueMicrotask(this.#dispatchFn);
  }

  #takeBatch(max: number): TsoWaiter[] {
    const batch: TsoWaiter[] = [];
    while (this.#head < this.#queue.length && batch.length < max) {
      const w = this.#queue[this.#head++] as TsoWaiter;
      if (!w.settled) batch.push(w);
    }
    if (this.#head === this.#queue.length) {
      this.#queue = [];
      this.#head = 0;
    } else if (this.#head > 4096 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return batch;
  }

  #dispatch(): void {
    this.#scheduled = false;
    while (!this.#closed && this.#inFlight < this.#opts.maxInFlight && this.pendingCount > 0) {
      const batch = this.#takeBatch(this.#opts.maxBatchSize);
      if (batch.length === 0) break;
      this.#inFlight++;
      void this.#runBatch(batch).finally(() => {
        this.#inFlight--;
        this.#schedule();
      });
    }
  }

  async #runBatch(batch: TsoWaiter[]): Promise<void> {
    let stream: TsoStream | undefined;
    try {
      stream = this.#stream !== undefined && !this.#stream.broken ? this.#stream : await this.#ensureStream();
      this.#rpcs++;
      // A request without an answer by the deadline fails, and the catch below breaks the stream.
      const result = await withStreamDeadline(stream.request(batch.length), {
        clock: this.#clock,
        timeoutMs: this.#opts.rpcTimeoutMs,
        address: stream.url,
        command: 'TSO',
      });
      this.#granted += result.count;
      this.#handOut(batch, result, stream.url);
    } catch (e) {
      const err = this.#classify(e, stream?.url);
      if (stream !== undefined && (err.retryable || !isTiKVError(e))) this.#dropStream(stream, err);
      for (const w of batch) w.reject(err);
    }
  }

  #handOut(batch: TsoWaiter[], result: TsoResult, url: string): void {
    if (result.count !== batch.length) {
      throw new RpcError(`TSO response count ${result.count} does not match the requested ${batch.length}`, {
        address: url,
        command: 'TSO',
        requestSent: true,
        retryable: true,
      });
    }
    const first = composeTs(result.physical, result.logical - BigInt(result.count) + 1n);
    if (first <= this.#lastTs) {
      throw new TiKVError('INTERNAL', `timestamp fallback: got ${first} after handing out ${this.#lastTs}`);
    }
    this.#lastTs = first + BigInt(result.count - 1);
    for (let i = 0; i < batch.length; i++) (batch[i] as TsoWaiter).resolve(first + BigInt(i));
  }

  #ensureStream(): Promise<TsoStream> {
    if (this.#connecting !== undefined) return this.#connecting;
    // The attempt's deadline is cleared once the stream is open (or failed to open).
    const scope = openOperationScope(
      { timeoutMs: this.#opts.rpcTimeoutMs },
      { clock: this.#clock, follow: [this.#closeController.signal] },
    );
    const p = this.#provider
      .connect(scope.signal as AbortSignal)
      .finally(() => scope.dispose())
      .then(
        (s) => {
          this.#connecting = undefined;
          if (this.#closed) {
            s.close(new ClientClosedError('TSO dispatcher is closed'));
            throw new ClientClosedError('TSO dispatcher is closed');
          }
          this.#streamsOpened++;
          this.#stream = s;
          return s;
        },
        (e: unknown) => {
          this.#connecting = undefined;
          if (!this.#closed) this.#provider.onStreamFailure?.(e, undefined);
          throw e;
        },
      );
    this.#connecting = p;
    return p;
  }

  #dropStream(stream: TsoStream, err: unknown): void {
    stream.close(err);
    if (this.#stream === stream) this.#stream = undefined;
    if (!this.#closed) this.#provider.onStreamFailure?.(err, stream.url);
  }

  /**
   * @param e - what the batch failed with
   * @param url - the stream's PD URL; undefined when no stream was open, and then the failure
   *   was the provider's own (a `TiKVError`, passed as it is)
   */
  #classify(e: unknown, url: string | undefined): TiKVError {
    if (this.#closed) return new ClientClosedError('TSO dispatcher is closed', { cause: e });
    if (isTiKVError(e)) return e;
    const msg = e instanceof Error ? e.message : String(e);
    return new RpcError(`TSO stream failed: ${msg}`, {
      address: url ?? '',
      command: 'TSO',
      requestSent: url !== undefined,
      retryable: true,
      cause: e,
    });
  }
}
