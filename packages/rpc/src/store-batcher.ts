import { type Clock, type ClockTimer, type Logger, type MetricsHook, systemClock } from '@tikv/common';
import type { kvrpcpb, tikvpb } from '@tikv/proto';
import { BatchCommandsStream, type BatchStreamOwner, type OpenBatchStream } from './batch-commands-stream.js';
import { BatchEntry } from './batch-entry.js';
import { encodeBatchItem } from './batch-request-encoding.js';
import { rpcChannels } from './rpc-diagnostics.js';
import { requestEncodingError } from './rpc-error.js';
import type { BatchRequestCmd, BatchResponseCmd } from './tikv-commands.js';

/** Batching settings of a {@link StoreBatcher} (see `TransportOptions`). */
export interface StoreBatcherOptions {
  readonly connections: number;
  readonly maxBatchSize: number;
  readonly maxBatchWaitMs: number;
  readonly batchWaitSize: number;
  readonly overloadThreshold: number;
  /** Most bytes of encoded commands in one message; a larger command goes alone, through `sendAlone`. */
  readonly maxBatchBytes: number;
  readonly logger: Logger;
  readonly metrics: MetricsHook;
  /** Measures each request's own timeout. @defaultValue the system clock */
  readonly clock?: Clock;
  readonly onHealthFeedback: ((feedback: kvrpcpb.HealthFeedback) => void) | undefined;
  /**
   * Sends a command too large to share a message, alone and outside the streams (a unary
   * call), so a store that refuses it fails that request only, never a stream and the
   * requests sharing it.
   */
  readonly sendAlone: (
    cmd: BatchRequestCmd,
    item: Uint8Array,
    forwardedHost: string,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ) => Promise<BatchResponseCmd>;
}

/**
 * Bytes a command adds to a message besides its own encoding: its field tag and length, and its
 * request id in the packed id list (at most 1 + 5 + 10).
 */
const ITEM_FRAMING_BYTES = 16;

/** Streams of one connection: the direct one and one per forwarded host. */
interface Lane {
  direct: BatchCommandsStream | undefined;
  readonly forwarded: Map<string, BatchCommandsStream>;
}

/** The metric name of the batch-size histogram. */
export const BATCH_SIZE_METRIC = 'tikv_client_batch_requests';

/**
 * The `BatchCommands` multiplexer of one store (client-go `batchConn`): callers' requests queue
 * here; once per event-loop turn the queue is cut into batches of at most `maxBatchSize`
 * requests and `maxBatchBytes` bytes, each sent on the next connection's stream, round-robin. A
 * command larger than `maxBatchBytes` by itself never joins a batch: it is sent alone as a
 * unary call (as TiKV's own raft client sends an oversized message in a batch of its own). When the store reports a transport-layer load
 * above `overloadThreshold` and `maxBatchWaitMs` is set, a short batch waits up to
 * `maxBatchWaitMs` for `batchWaitSize` requests first. Streams are opened on first use and
 * re-opened by the next batch after one breaks.
 */
export class StoreBatcher implements BatchStreamOwner {
  readonly address: string;
  readonly #o: StoreBatcherOptions;
  readonly #open: OpenBatchStream;
  readonly #clock: Clock;
  readonly #lanes: Lane[];
  #pending: BatchEntry[] = [];
  #forwardedPending = 0;
  #scheduled = false;
  #waitTimer: ClockTimer | undefined;
  #nextLane = 0;
  #nextId = 1;
  #load = 0;
  #closed = false;
  #closeError: unknown;
  readonly #flush = (): void => this.#run(false);
  readonly #flushAfterWait = (): void => {
    this.#waitTimer = undefined;
    this.#run(true);
  };

  /**
   * @param address - the store address
   * @param options - batching settings
   * @param open - opens a stream on a connection
   */
  constructor(address: string, options: StoreBatcherOptions, open: OpenBatchStream) {
    this.address = address;
    this.#o = options;
    this.#open = open;
    this.#clock = options.clock ?? systemClock;
    this.#lanes = Array.from({ length: options.connections }, () => ({
      direct: undefined,
      forwarded: new Map(),
    }));
  }

  /** Requests queued or in flight. */
  get outstanding(): number {
    let n = this.#pending.length;
    for (const lane of this.#lanes) {
      n += lane.direct?.inflight ?? 0;
      for (const s of lane.forwarded.values()) n += s.inflight;
    }
    return n;
  }

  /** The last transport-layer load the store reported. */
  get load(): number {
    return this.#load;
  }

  /**
   * Queues a command; the promise settles with its response arm, its own deadline, the caller's
   * abort, or the failure of the stream it was sent on.
   *
   * @param cmd - the command
   * @param forwardedHost - '' for a direct request
   * @param signal - the caller's abort signal
   * @param timeoutMs - the request's timeout in milliseconds (NaN or negative: none)
   */
  send(
    cmd: BatchRequestCmd,
    forwardedHost: string,
    signal: AbortSignal | undefined,
    timeoutMs: number,
  ): Promise<BatchResponseCmd> {
    if (this.#closed) return Promise.reject(this.#closeError);
    if (signal?.aborted) return Promise.reject(signal.reason);
    let bytes: Uint8Array;
    try {
      bytes = encodeBatchItem(cmd);
    } catch (e) {
      // Encoded per request, before it joins a batch: a bad request fails alone and the stream
      // (and the store's health) never sees it.
      return Promise.reject(requestEncodingError(cmd.$case, e));
    }
    if (bytes.length + ITEM_FRAMING_BYTES > this.#o.maxBatchBytes) {
      return this.#o.sendAlone(cmd, bytes, forwardedHost, signal, timeoutMs);
    }
    const entry = new BatchEntry(cmd, bytes, forwardedHost, this.#clock, signal, timeoutMs);
    this.#pending.push(entry);
    if (forwardedHost !== '') this.#forwardedPending++;
    if (this.#waitTimer !== undefined) {
      if (this.#pending.length >= this.#o.batchWaitSize) {
        this.#clock.clearTimer(this.#waitTimer);
        this.#waitTimer = undefined;
        this.#schedule();
      }
    } else {
      this.#schedule();
    }
    return entry.promise;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.#flush);
  }

  #run(waited: boolean): void {
    this.#scheduled = false;
    if (this.#closed || this.#pending.length === 0) return;
    const o = this.#o;
    if (
      !waited &&
      o.maxBatchWaitMs > 0 &&
      this.#load > o.overloadThreshold &&
      this.#pending.length < Math.min(o.batchWaitSize, o.maxBatchSize)
    ) {
      // The store is overloaded: give the batch a moment to fill (client-go fetchMorePendingRequests).
      // On the transport's clock; callers await these requests, so the timer is a foreground one.
      this.#waitTimer = this.#clock.setTimer(o.maxBatchWaitMs, this.#flushAfterWait, undefined);
      return;
    }
    const pending = this.#pending;
    this.#pending = [];
    if (this.#forwardedPending === 0) {
      this.#sendAll(pending, '');
      return;
    }
    this.#forwardedPending = 0;
    const byHost = new Map<string, BatchEntry[]>();
    for (const e of pending) {
      const list = byHost.get(e.forwardedHost);
      if (list === undefined) byHost.set(e.forwardedHost, [e]);
      else list.push(e);
    }
    for (const [host, list] of byHost) this.#sendAll(list, host);
  }

  /** Cuts `entries` into batches of at most `maxBatchSize` live entries and `maxBatchBytes`, and sends each. */
  #sendAll(entries: readonly BatchEntry[], forwardedHost: string): void {
    const max = this.#o.maxBatchSize;
    const maxBytes = this.#o.maxBatchBytes;
    let batch: BatchEntry[] = [];
    let bytes = 0;
    for (const e of entries) {
      if (e.settled) continue;
      const size = e.bytes.length + ITEM_FRAMING_BYTES;
      if (batch.length > 0 && bytes + size > maxBytes) {
        this.#sendBatch(batch, forwardedHost);
        batch = [];
        bytes = 0;
      }
      batch.push(e);
      bytes += size;
      if (batch.length === max) {
        this.#sendBatch(batch, forwardedHost);
        batch = [];
        bytes = 0;
      }
    }
    if (batch.length > 0) this.#sendBatch(batch, forwardedHost);
  }

  #sendBatch(batch: BatchEntry[], forwardedHost: string): void {
    const index = this.#nextLane;
    this.#nextLane = (index + 1) % this.#lanes.length;
    const stream = this.#streamFor(index, forwardedHost);
    const firstId = this.#nextId;
    this.#nextId += batch.length;
    const ch = rpcChannels().batch;
    if (ch.hasSubscribers)
      ch.publish({ address: this.address, connectionIndex: index, size: batch.length, forwardedHost });
    this.#o.metrics.observeHistogram(BATCH_SIZE_METRIC, batch.length);
    stream.send(batch, firstId);
  }

  #streamFor(index: number, forwardedHost: string): BatchCommandsStream {
    const lane = this.#lanes[index] as Lane;
    const current = forwardedHost === '' ? lane.direct : lane.forwarded.get(forwardedHost);
    if (current !== undefined && !current.broken) return current;
    const stream = new BatchCommandsStream(this.address, index, forwardedHost, this, this.#open);
    if (forwardedHost === '') lane.direct = stream;
    else lane.forwarded.set(forwardedHost, stream);
    const ch = rpcChannels().stream;
    if (ch.hasSubscribers) {
      ch.publish({
        address: this.address,
        connectionIndex: index,
        forwardedHost,
        event: 'open',
        failedRequests: 0,
      });
    }
    this.#o.logger.debug('BatchCommands stream opened', {
      address: this.address,
      connectionIndex: index,
      forwardedHost,
    });
    return stream;
  }

  /** Records the store's load and passes health feedback on. */
  onResponseMeta(response: tikvpb.BatchCommandsResponse): void {
    if (response.transportLayerLoad > 0n && this.#o.maxBatchWaitMs > 0)
      this.#load = Number(response.transportLayerLoad);
    if (response.healthFeedback !== undefined) this.#o.onHealthFeedback?.(response.healthFeedback);
  }

  /** Forgets a broken stream so the next batch on its connection opens a new one. */
  onStreamBroken(stream: BatchCommandsStream, error: unknown, failed: number): void {
    const lane = this.#lanes[stream.connectionIndex] as Lane;
    if (stream.forwardedHost === '') {
      if (lane.direct === stream) lane.direct = undefined;
    } else if (lane.forwarded.get(stream.forwardedHost) === stream) {
      lane.forwarded.delete(stream.forwardedHost);
    }
    if (this.#closed) return;
    this.#o.logger.info('BatchCommands stream broke; in-flight requests failed', {
      address: this.address,
      connectionIndex: stream.connectionIndex,
      forwardedHost: stream.forwardedHost,
      failedRequests: failed,
      error,
    });
    const ch = rpcChannels().stream;
    if (ch.hasSubscribers) {
      ch.publish({
        address: this.address,
        connectionIndex: stream.connectionIndex,
        forwardedHost: stream.forwardedHost,
        event: 'broken',
        failedRequests: failed,
        error,
      });
    }
  }

  /**
   * Fails every queued and in-flight request with `error` and cancels the streams. Requests sent
   * afterwards reject with `error` too.
   *
   * @param error - what the callers see (a `ClientClosedError`)
   */
  close(error: unknown): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = error;
    if (this.#waitTimer !== undefined) this.#clock.clearTimer(this.#waitTimer);
    this.#waitTimer = undefined;
    const pending = this.#pending;
    this.#pending = [];
    for (const e of pending) e.fail(error);
    for (const lane of this.#lanes) {
      lane.direct?.close(error);
      lane.direct = undefined;
      for (const s of lane.forwarded.values()) s.close(error);
      lane.forwarded.clear();
    }
  }
}
