import {
  ClientClosedError,
  type Clock,
  InvalidArgumentError,
  isTiKVError,
  PendingRequest,
  RpcError,
  systemClock,
  withOperationScope,
} from '@tikv/common';
import { pdpb } from '@tikv/proto';
import type { CallOptions } from './call-options.js';
import { isUnimplemented } from './pd-errors.js';
import { withStreamDeadline } from './stream-deadline.js';

/** One region lookup: by key, by the key's previous region, or by id. */
export type RegionQuery =
  | { readonly kind: 'key'; readonly key: Uint8Array; readonly needBuckets: boolean }
  | { readonly kind: 'prevKey'; readonly key: Uint8Array; readonly needBuckets: boolean }
  | { readonly kind: 'id'; readonly id: bigint; readonly needBuckets: boolean };

/** The `QueryRegion` stream as the batcher sees it. @internal */
export interface QueryRegionStream {
  /** The PD URL the stream is open to. */
  readonly url: string;
  readonly broken: boolean;
  request(req: pdpb.QueryRegionRequest): Promise<pdpb.QueryRegionResponse>;
  close(reason?: unknown): void;
}

/** Opens `QueryRegion` streams to the leader. @internal */
export interface QueryRegionStreamProvider {
  connect(signal: AbortSignal): Promise<QueryRegionStream>;
  onStreamFailure?(error: unknown): void;
  /** The header to put on each request. */
  header(): pdpb.RequestHeader;
}

/** Options of a {@link QueryRegionBatcher}. */
export interface QueryRegionBatcherOptions {
  /** Most lookups in one `QueryRegion` request (PD's router client default). @defaultValue 10_000 */
  readonly maxBatchSize?: number;
  /** Deadline of one request on the stream and of opening a stream, in ms. @defaultValue 3_000 */
  readonly rpcTimeoutMs?: number;
  /** Measures the request deadline. @defaultValue the system clock */
  readonly clock?: Clock;
}

/** One lookup waiting for its batch's answer. */
class PendingQuery extends PendingRequest<pdpb.RegionResponse | undefined> {
  readonly query: RegionQuery;

  constructor(query: RegionQuery, clock: Clock, signal: AbortSignal | undefined) {
    super(clock, signal, undefined);
    this.query = query;
  }
}

/**
 * Batches region lookups over PD's `QueryRegion` stream as PD's router client does: lookups
 * that arrive while a request is in flight are merged into the next request (keys, previous
 * keys and ids together). When the server lacks `QueryRegion`, {@link unsupported} becomes
 * true and the owner falls back to unary calls.
 */
export class QueryRegionBatcher {
  readonly #provider: QueryRegionStreamProvider;
  readonly #maxBatchSize: number;
  readonly #rpcTimeoutMs: number;
  readonly #clock: Clock;
  #queue: PendingQuery[] = [];
  #inFlight = false;
  #scheduled = false;
  #stream: QueryRegionStream | undefined;
  #closed = false;
  #notSupported = false;
  readonly #closeController = new AbortController();
  #batches = 0;

  /**
   * @param provider - opens streams to the leader and hears about failures
   * @param options - batch size, deadline and clock
   */
  constructor(provider: QueryRegionStreamProvider, options: QueryRegionBatcherOptions = {}) {
    this.#provider = provider;
    this.#maxBatchSize = options.maxBatchSize ?? 10_000;
    this.#rpcTimeoutMs = options.rpcTimeoutMs ?? 3_000;
    this.#clock = options.clock ?? systemClock;
    if (!(this.#maxBatchSize >= 1))
      throw new InvalidArgumentError(`maxBatchSize must be >= 1, got ${this.#maxBatchSize}`);
  }

  /** True once the server answered `QueryRegion` with UNIMPLEMENTED. */
  get unsupported(): boolean {
    return this.#notSupported;
  }

  /** `QueryRegion` requests sent so far. */
  get requestCount(): number {
    return this.#batches;
  }

  /** Looks up one region; resolves undefined when PD has none for the query. */
  query(query: RegionQuery, options?: CallOptions): Promise<pdpb.RegionResponse | undefined> {
    if (this.#closed) return Promise.reject(new ClientClosedError('region query batcher is closed'));
    const p = new PendingQuery(query, this.#clock, options?.signal);
    // An already-aborted signal settles the lookup at once: nothing to queue.
    if (!p.settled) {
      this.#queue.push(p);
      this.#schedule();
    }
    return p.promise;
  }

  /** Fails every pending lookup with `CLIENT_CLOSED` and closes the stream. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const err = new ClientClosedError('region query batcher is closed');
    this.#closeController.abort(err);
    this.#stream?.close(err);
    for (const p of this.#queue.splice(0)) p.reject(err);
  }

  #schedule(): void {
    if (this.#scheduled || this.#inFlight || this.#closed || this.#queue.length === 0) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      if (this.#inFlight || this.#closed) return;
      const batch = this.#queue.splice(0, this.#maxBatchSize).filter((p) => !p.settled);
      if (batch.length === 0) return;
      this.#inFlight = true;
      void this.#run(batch).finally(() => {
        this.#inFlight = false;
        this.#schedule();
      });
    });
  }

  async #run(batch: PendingQuery[]): Promise<void> {
    const req = pdpb.QueryRegionRequest.fromPartial({ header: this.#provider.header() });
    for (const { query: q } of batch) {
      if (q.needBuckets) req.needBuckets = true;
      if (q.kind === 'key') req.keys.push(q.key);
      else if (q.kind === 'prevKey') req.prevKeys.push(q.key);
      else req.ids.push(q.id);
    }
    let stream: QueryRegionStream | undefined;
    try {
      stream = this.#stream !== undefined && !this.#stream.broken ? this.#stream : await this.#connect();
      this.#batches++;
      const resp = await withStreamDeadline(stream.request(req), {
        clock: this.#clock,
        timeoutMs: this.#rpcTimeoutMs,
        address: stream.url,
        command: 'QueryRegion',
      });
      this.#finish(batch, resp);
    } catch (e) {
      if (isUnimplemented(e)) this.#notSupported = true;
      const err = this.#closed
        ? new ClientClosedError('region query batcher is closed', { cause: e })
        : isTiKVError(e) || isUnimplemented(e)
          ? e
          : new RpcError(`QueryRegion failed: ${e instanceof Error ? e.message : String(e)}`, {
              // No stream: opening one failed before a PD member was chosen.
              address: stream?.url ?? '',
              command: 'QueryRegion',
              requestSent: stream !== undefined,
              retryable: true,
              cause: e,
            });
      if (stream !== undefined) {
        stream.close(err);
        if (this.#stream === stream) this.#stream = undefined;
      }
      if (!this.#closed && !this.#notSupported) this.#provider.onStreamFailure?.(err);
      for (const p of batch) p.reject(err);
    }
  }

  #finish(batch: PendingQuery[], resp: pdpb.QueryRegionResponse): void {
    let k = 0;
    let pk = 0;
    for (const p of batch) {
      const q = p.query;
      const id =
        q.kind === 'key' ? resp.keyIdMap[k++] : q.kind === 'prevKey' ? resp.prevKeyIdMap[pk++] : q.id;
      const region = id === undefined || id === 0n ? undefined : resp.regionsById.get(id);
      p.resolve(region);
    }
  }

  async #connect(): Promise<QueryRegionStream> {
    // The attempt's deadline is cleared once the stream is open (or failed to open).
    const s = await withOperationScope(
      { timeoutMs: this.#rpcTimeoutMs },
      { clock: this.#clock, follow: [this.#closeController.signal] },
      (scope) => this.#provider.connect(scope.signal as AbortSignal),
    );
    this.#stream = s;
    return s;
  }
}
