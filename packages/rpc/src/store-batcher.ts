import { type Clock, type ClockTimer, type Logger, type MetricsHook, systemClock } from '@tikv/common';
import type { kvrpcpb, tikvpb } from '@tikv/proto';
import { BatchCommandsStream, type BatchStreamOwner, type OpenBatchStream } from './batch-commands-stream.js';
import { BatchEntry } from './batch-entry.js';
import { type BatchPolicyOptions, BatchTrigger } from './batch-policy.js';
import { encodeBatchItem } from './batch-request-encoding.js';
import { PriorityQueue } from './priority-queue.js';
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
  /** When a short batch waits a moment for more requests (client-go batch policy). @defaultValue never */
  readonly batchPolicy?: BatchPolicyOptions | undefined;
  /**
   * Most requests in flight per connection (client-go `MaxConcurrencyRequestLimit`); the rest
   * wait in the priority queue, highest priority first. Priority 10 and above is never held.
   * 0: no limit. @defaultValue 0
   */
  readonly maxConcurrentRequests?: number | undefined;
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

/** Requests of this priority or higher are sent even past the concurrency limit (client-go `highTaskPriority`). */
export const HIGH_TASK_PRIORITY = 10;

/** A request's `resourceControlContext.overridePriority` (client-go batch entry priority). */
function overridePriorityOf(cmd: BatchRequestCmd): number {
  const ctx = (cmd.value as { context?: kvrpcpb.Context | undefined }).context;
  const p = ctx?.resourceControlContext?.overridePriority;
  return p === undefined || p === 0n ? 0 : Number(p);
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
  readonly #pending = new PriorityQueue<BatchEntry>();
  #forwardedPending = 0;
  readonly #trigger: BatchTrigger | undefined;
  /** Arrival of the first request queued since the last batch left. */
  #headArrivedMs = 0;
  /** Arrival of the last request queued. */
  #lastArrivedMs = 0;
  /** Arrival of the last request of the previous batch (client-go `latestReqArriveTime`). */
  #prevBatchLastArrivedMs = 0;
  /** Moving average of batch sizes (client-go `avgBatchWaitSize`). */
  #avgBatchSize: number;
  /** A policy wait in progress: until when, and how many requests end it early. */
  #fetchMoreUntilMs = 0;
  #fetchMoreSize = 0;
  #fetchingMore = false;
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
  readonly #fetchMoreTick = (): void => {
    if (this.#pending.length < this.#fetchMoreSize && performance.now() < this.#fetchMoreUntilMs) {
      setImmediate(this.#fetchMoreTick);
      return;
    }
    this.#fetchingMore = false;
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
    const policy = options.batchPolicy;
    this.#trigger = policy !== undefined && policy.t > 0 ? new BatchTrigger(policy) : undefined;
    this.#avgBatchSize = options.batchWaitSize;
  }

  /** Requests in flight on the streams. */
  #inflight(): number {
    let n = 0;
    for (const lane of this.#lanes) {
      n += lane.direct?.inflight ?? 0;
      for (const s of lane.forwarded.values()) n += s.inflight;
    }
    return n;
  }

  /** Requests queued or in flight. */
  get outstanding(): number {
    return this.#pending.length + this.#inflight();
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
    const priority = overridePriorityOf(cmd);
    if (priority !== 0) entry.priority = priority;
    if (this.#trigger !== undefined) {
      const now = performance.now();
      entry.arrivedMs = now;
      if (this.#pending.length === 0) this.#headArrivedMs = now;
      this.#lastArrivedMs = now;
    }
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
    // A request to an idle store (nothing else queued or in flight) has nothing to wait for: it
    // leaves at the microtask checkpoint, with whatever the same synchronous code queued beside
    // it, one event-loop turn sooner. Otherwise the batch collects until the turn ends.
    if (this.#pending.length === 1 && this.#inflight() === 0) queueMicrotask(this.#flush);
    else setImmediate(this.#flush);
  }

  #run(waited: boolean): void {
    this.#scheduled = false;
    if (this.#closed || this.#pending.length === 0 || this.#fetchingMore) return;
    const o = this.#o;
    if (!waited && this.#pending.length < o.maxBatchSize) {
      if (
        o.maxBatchWaitMs > 0 &&
        this.#load > o.overloadThreshold &&
        this.#pending.length < o.batchWaitSize
      ) {
        // The store is overloaded: give the batch a moment to fill (client-go fetchMorePendingRequests).
        // On the transport's clock; callers await these requests, so the timer is a foreground one.
        this.#waitTimer = this.#clock.setTimer(o.maxBatchWaitMs, this.#flushAfterWait, undefined);
        return;
      }
      if (this.#trigger !== undefined && this.#policyWantsMore(this.#trigger)) return;
    }
    const entries = this.#takeSendable();
    if (entries.length === 0) return;
    if (this.#trigger !== undefined) {
      this.#avgBatchSize = 0.2 * entries.length + 0.8 * this.#avgBatchSize;
      this.#prevBatchLastArrivedMs = this.#lastArrivedMs;
      if (this.#pending.length > 0) this.#headArrivedMs = this.#lastArrivedMs;
    }
    if (this.#forwardedPending === 0) {
      this.#sendAll(entries, '');
      return;
    }
    const byHost = new Map<string, BatchEntry[]>();
    for (const e of entries) {
      if (e.forwardedHost !== '') this.#forwardedPending--;
      const list = byHost.get(e.forwardedHost);
      if (list === undefined) byHost.set(e.forwardedHost, [e]);
      else list.push(e);
    }
    for (const [host, list] of byHost) this.#sendAll(list, host);
  }

  /**
   * The batch policy's wait (client-go turbo batching): when requests have been arriving close
   * together, a short batch waits up to the policy's `t` (a fraction of a millisecond, so it
   * yields event-loop turns rather than a timer) for more requests, up to the preferred size.
   */
  #policyWantsMore(trigger: BatchTrigger): boolean {
    const head = this.#headArrivedMs;
    const prev = this.#prevBatchLastArrivedMs;
    if (prev === 0 || head <= prev || !trigger.needFetchMore(head - prev)) return false;
    this.#fetchMoreSize = trigger.preferredWaitSize(this.#avgBatchSize, this.#o.batchWaitSize);
    if (this.#pending.length >= this.#fetchMoreSize) return false;
    this.#fetchMoreUntilMs = performance.now() + trigger.waitMs;
    this.#fetchingMore = true;
    setImmediate(this.#fetchMoreTick);
    return true;
  }

  /**
   * The requests that may leave now: all of them without a concurrency limit; otherwise as many
   * as the connections have room for, highest priority first, plus every high-priority one
   * (client-go `buildWithLimit`). The rest stay queued until responses free room.
   */
  #takeSendable(): BatchEntry[] {
    const limit = this.#o.maxConcurrentRequests ?? 0;
    if (limit === 0) return this.#pending.drain();
    const room = limit * this.#lanes.length - this.#inflight();
    const out = this.#pending.take(room);
    while (this.#pending.highestPriority() >= HIGH_TASK_PRIORITY) out.push(this.#pending.pop() as BatchEntry);
    return out;
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

  /** Responses freed room on a stream: send what the concurrency limit held back. */
  onSlotsFreed(): void {
    if (this.#pending.length > 0 && (this.#o.maxConcurrentRequests ?? 0) > 0 && !this.#closed)
      this.#schedule();
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
    for (const e of this.#pending.drain()) e.fail(error);
    for (const lane of this.#lanes) {
      lane.direct?.close(error);
      lane.direct = undefined;
      for (const s of lane.forwarded.values()) s.close(error);
      lane.forwarded.clear();
    }
  }
}
