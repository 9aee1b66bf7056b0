import { TiKVError } from '@tikv/common';
import type { tikvpb } from '@tikv/proto';
import type { BatchEntry, EntryHolder } from './batch-entry.js';
import { encodeBatchRequest } from './batch-request-encoding.js';
import { RpcError, rpcErrorFrom } from './rpc-error.js';

/** What a stream implementation calls back with. */
export interface BatchStreamHandlers {
  /** A response message arrived. */
  onResponse(response: tikvpb.BatchCommandsResponse): void;
  /** The stream failed or ended; called at most once. */
  onBroken(error: unknown): void;
}

/** The sending half of one open `BatchCommands` stream. */
export interface BatchStreamSink {
  /** Writes one encoded `BatchCommandsRequest`. May throw when the stream is already gone. */
  write(request: Buffer): void;
  /** Cancels the stream; no handler is called afterwards. */
  cancel(): void;
}

/**
 * Opens a `BatchCommands` stream on one of a store's connections.
 *
 * @param connectionIndex - which connection (0-based)
 * @param forwardedHost - the forwarded host, '' for a direct stream
 * @param handlers - where responses and the failure go
 */
export type OpenBatchStream = (
  connectionIndex: number,
  forwardedHost: string,
  handlers: BatchStreamHandlers,
) => BatchStreamSink;

/** What a stream reports to its owner. */
export interface BatchStreamOwner {
  /** A response carried transport-layer load and health feedback. */
  onResponseMeta(response: tikvpb.BatchCommandsResponse): void;
  /** Responses completed requests: room for queued ones. */
  onSlotsFreed(): void;
  /** The stream broke after failing `failed` in-flight requests. */
  onStreamBroken(stream: BatchCommandsStream, error: unknown, failed: number): void;
}

/**
 * One `BatchCommands` stream and the requests in flight on it (the per-stream half of client-go's
 * `batchCommandsClient`): sends batches, matches responses back by request id, drops ids whose
 * callers gave up, and fails every request still in flight, with a retryable {@link RpcError},
 * when the stream breaks.
 */
export class BatchCommandsStream implements EntryHolder, BatchStreamHandlers {
  readonly address: string;
  readonly connectionIndex: number;
  readonly forwardedHost: string;
  readonly #inflight = new Map<number, BatchEntry>();
  readonly #owner: BatchStreamOwner;
  #sink: BatchStreamSink | undefined;
  #broken = false;

  /**
   * @param address - the store address
   * @param connectionIndex - the connection it runs on
   * @param forwardedHost - the forwarded host, '' when direct
   * @param owner - receives response metadata and the failure
   * @param open - opens the underlying stream
   */
  constructor(
    address: string,
    connectionIndex: number,
    forwardedHost: string,
    owner: BatchStreamOwner,
    open: OpenBatchStream,
  ) {
    this.address = address;
    this.connectionIndex = connectionIndex;
    this.forwardedHost = forwardedHost;
    this.#owner = owner;
    this.#sink = open(connectionIndex, forwardedHost, this);
  }

  /** Whether the stream has failed (a new one must be opened). */
  get broken(): boolean {
    return this.#broken;
  }

  /** Requests sent and not yet answered. */
  get inflight(): number {
    return this.#inflight.size;
  }

  /** Forgets a request id: its caller timed out or aborted. The stream stays up. */
  drop(id: number): void {
    this.#inflight.delete(id);
  }

  /**
   * Sends a batch. Ids are assigned by the caller and unique on this stream.
   *
   * @param entries - the requests (none settled)
   * @param firstId - the id of the first; the others follow consecutively
   */
  send(entries: readonly BatchEntry[], firstId: number): void {
    const n = entries.length;
    const items: Uint8Array[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const e = entries[i] as BatchEntry;
      const id = firstId + i;
      e.id = id;
      e.holder = this;
      e.sent = true;
      this.#inflight.set(id, e);
      items[i] = e.bytes;
    }
    try {
      if (this.#sink === undefined) throw new Error('stream is closed');
      this.#sink.write(encodeBatchRequest(items, firstId));
    } catch (e) {
      this.onBroken(e);
    }
  }

  /** Matches each response to its request. */
  onResponse(response: tikvpb.BatchCommandsResponse): void {
    const ids = response.requestIds;
    const responses = response.responses;
    for (let i = 0; i < ids.length; i++) {
      const id = Number(ids[i]);
      const entry = this.#inflight.get(id);
      // Unknown ids are answers to requests whose callers already gave up.
      if (entry === undefined) continue;
      this.#inflight.delete(id);
      const cmd = responses[i]?.cmd;
      if (cmd === undefined || cmd.$case !== entry.cmd.$case) {
        entry.fail(
          new TiKVError(
            'INTERNAL',
            `${entry.cmd.$case} request ${id} got a ${cmd?.$case ?? 'missing'} response from ${this.address}`,
          ),
        );
      } else {
        entry.complete(cmd);
      }
    }
    if (response.transportLayerLoad > 0n || response.healthFeedback !== undefined)
      this.#owner.onResponseMeta(response);
    if (ids.length > 0) this.#owner.onSlotsFreed();
  }

  /** Fails every in-flight request with a retryable error and reports the failure (once). */
  onBroken(error: unknown): void {
    if (this.#broken) return;
    this.#broken = true;
    const sink = this.#sink;
    this.#sink = undefined;
    sink?.cancel();
    const failed = this.#inflight.size;
    const err = rpcErrorFrom(error, this.address, undefined, true);
    const entries = [...this.#inflight.values()];
    this.#inflight.clear();
    for (const e of entries) {
      e.fail(
        new RpcError(
          `BatchCommands stream to ${this.address} broke with ${e.cmd.$case} in flight: ${err.message}`,
          {
            address: this.address,
            command: e.cmd.$case,
            grpcCode: err.grpcCode,
            requestSent: true,
            retryable: true,
            cause: error,
          },
        ),
      );
    }
    this.#owner.onStreamBroken(this, error, failed);
  }

  /** Cancels the stream and fails every in-flight request with `error` (on close). */
  close(error: unknown): void {
    this.#broken = true;
    const sink = this.#sink;
    this.#sink = undefined;
    const entries = [...this.#inflight.values()];
    this.#inflight.clear();
    for (const e of entries) e.fail(error);
    sink?.cancel();
  }
}
