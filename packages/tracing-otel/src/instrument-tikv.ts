import { type Channel, channel, type TracingChannel, tracingChannel } from 'node:diagnostics_channel';
import {
  type Attributes,
  context,
  type Span,
  SpanKind,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { BACKOFF_CHANNEL, type BackoffEvent, regionErrorFromWire, type WireRegionError } from '@tikv/common';
import { RPC_RETRY_CHANNEL, RPC_TRACING_CHANNEL, type RpcRequestEvent, type RpcRetryEvent } from '@tikv/rpc';
import { errorReason, failSpan } from './error-reason.js';
import { TIKV_ATTRIBUTES as A, TIKV_SPAN_NAMES } from './span-names.js';

/**
 * Name of the channel `@tikv/txn` publishes each finished commit on (its `TXN_COMMIT_CHANNEL`).
 * Kept here so that this package does not depend on `@tikv/txn` (a test checks they agree).
 */
export const TXN_COMMIT_CHANNEL_NAME = 'tikv:txn:commit';

/** The fields of `@tikv/txn`'s `TxnCommitEvent` read here. */
interface CommitEvent {
  readonly startTs: bigint;
  readonly commitTs: bigint;
  readonly protocol: string;
  readonly keys: number;
  readonly error: unknown;
}

/** Options of {@link instrumentTikv}. */
export interface InstrumentTikvOptions {
  /** Where spans go; the globally registered provider when omitted (no spans if none is). */
  readonly tracerProvider?: TracerProvider | undefined;
  /** The tracer's (instrumentation scope's) name. */
  readonly tracerName?: string | undefined;
}

/** Defaults of {@link InstrumentTikvOptions}. */
export const DEFAULT_INSTRUMENT_TIKV_OPTIONS = Object.freeze({
  tracerName: '@tikv/tracing-otel',
});

/** The handle {@link instrumentTikv} returns. */
export interface TikvInstrumentation {
  /** Unsubscribes from every channel: nothing more is recorded, open request spans are dropped. Idempotent. */
  close(): void;
}

/** How many transactions' first prewrite times are remembered at most (commits never seen are dropped oldest first). */
const MAX_PENDING_COMMITS = 10_000;

/**
 * Records OpenTelemetry spans from the TiKV client's `node:diagnostics_channel` channels until
 * `close()`: one `tikv.rpc.<command>` span per request to a store (under the caller's active
 * context), a `tikv.backoff` span per backoff sleep, a `tikv.retry` span per request retry and a
 * `tikv.txn.commit` span per transaction commit. Costs nothing until it is called: the client
 * publishes only when a channel has subscribers.
 *
 * @param options - the tracer provider and name
 * @returns a handle whose `close()` stops recording
 */
export function instrumentTikv(options: InstrumentTikvOptions = {}): TikvInstrumentation {
  const provider = options.tracerProvider ?? trace.getTracerProvider();
  const tracer = provider.getTracer(options.tracerName ?? DEFAULT_INSTRUMENT_TIKV_OPTIONS.tracerName);
  const prewriteStarts = new Map<bigint, number>();
  const requests = subscribeRequests(tracer, prewriteStarts);
  const subscriptions: Array<[Channel, (message: unknown) => void]> = [
    [channel(BACKOFF_CHANNEL), (m) => recordBackoff(tracer, m as BackoffEvent)],
    [channel(RPC_RETRY_CHANNEL), (m) => recordRetry(tracer, m as RpcRetryEvent)],
    [
      channel(TXN_COMMIT_CHANNEL_NAME),
      (m) => {
        const e = m as CommitEvent;
        const startTime = prewriteStarts.get(e.startTs);
        prewriteStarts.delete(e.startTs);
        recordCommit(tracer, e, startTime);
      },
    ],
  ];
  for (const [ch, handler] of subscriptions) ch.subscribe(handler);
  let closed = false;
  return {
    close(): void {
      if (closed) return;
      closed = true;
      requests();
      for (const [ch, handler] of subscriptions) ch.unsubscribe(handler);
      prewriteStarts.clear();
    },
  };
}

/**
 * Remembers when a transaction's first `Prewrite` was sent, by start ts, so that its commit span
 * can start there (the commit channel publishes only the outcome).
 */
function notePrewrite(e: RpcRequestEvent, prewriteStarts: Map<bigint, number>): void {
  if (e.command !== 'Prewrite') return;
  const startTs = (e.request.value as { startVersion?: bigint }).startVersion;
  if (startTs === undefined || prewriteStarts.has(startTs)) return;
  if (prewriteStarts.size >= MAX_PENDING_COMMITS) {
    prewriteStarts.delete(prewriteStarts.keys().next().value as bigint);
  }
  prewriteStarts.set(startTs, Date.now());
}

/** Subscribes request spans to the tracing channel; returns the unsubscribe function. */
function subscribeRequests(tracer: Tracer, prewriteStarts: Map<bigint, number>): () => void {
  const tracing: TracingChannel<unknown, RpcRequestEvent> = tracingChannel(RPC_TRACING_CHANNEL);
  const spans = new WeakMap<RpcRequestEvent, Span>();
  const finish = (e: RpcRequestEvent): void => {
    const span = spans.get(e);
    if (span === undefined) return;
    spans.delete(e);
    if (e.error !== undefined) {
      failSpan(span, e.error);
    } else if (typeof e.result === 'object' && e.result !== null) {
      const wire = (e.result as { value?: { regionError?: WireRegionError } }).value?.regionError;
      if (wire !== undefined) span.setAttribute(A.regionError, regionErrorFromWire(wire).kind);
    }
    span.end();
  };
  const handlers = {
    start(message: RpcRequestEvent): void {
      // Runs synchronously in the caller's async context: context.active() is the caller's.
      const span = tracer.startSpan(
        `${TIKV_SPAN_NAMES.requestPrefix}${message.command}`,
        { kind: SpanKind.CLIENT, attributes: requestAttributes(message) },
        context.active(),
      );
      if (!span.isRecording()) return;
      spans.set(message, span);
      notePrewrite(message, prewriteStarts);
    },
    end(message: RpcRequestEvent): void {
      // `end` follows a synchronous throw (with `error` set) or the promise being returned.
      if (message.error !== undefined) finish(message);
    },
    asyncStart(): void {},
    asyncEnd(message: RpcRequestEvent): void {
      finish(message);
    },
    error(): void {},
  };
  tracing.subscribe(handlers);
  return () => tracing.unsubscribe(handlers);
}

function requestAttributes(e: RpcRequestEvent): Attributes {
  const attributes: Attributes = {
    [A.rpcSystem]: 'grpc',
    [A.storeAddress]: e.address,
    [A.command]: e.command,
    [A.batched]: e.batched,
  };
  const colon = e.address.lastIndexOf(':');
  if (colon > 0) {
    attributes[A.serverAddress] = e.address.slice(0, colon);
    const port = Number(e.address.slice(colon + 1));
    if (Number.isInteger(port)) attributes[A.serverPort] = port;
  }
  if (e.forwardedHost !== undefined && e.forwardedHost !== '') attributes[A.forwardedHost] = e.forwardedHost;
  const regionId = (e.request.value as { context?: { regionId?: bigint } | undefined }).context?.regionId;
  if (regionId !== undefined && regionId !== 0n) attributes[A.regionId] = regionId.toString();
  return attributes;
}

function recordBackoff(tracer: Tracer, e: BackoffEvent): void {
  // Published once the sleep is over: the span covers the sleep.
  const now = Date.now();
  const span = tracer.startSpan(
    TIKV_SPAN_NAMES.backoff,
    {
      startTime: now - e.sleepMs,
      attributes: {
        [A.backoffKind]: e.kind,
        [A.backoffSleepMs]: e.sleepMs,
        [A.backoffAttempt]: e.attempt,
        [A.backoffTotalSleepMs]: e.totalSleepMs,
        ...(e.error === undefined ? {} : { [A.reason]: errorReason(e.error) }),
      },
    },
    context.active(),
  );
  span.end(now);
}

function recordRetry(tracer: Tracer, e: RpcRetryEvent): void {
  const now = Date.now();
  const span = tracer.startSpan(
    TIKV_SPAN_NAMES.retry,
    {
      startTime: now,
      attributes: {
        [A.command]: e.command,
        [A.storeAddress]: e.address,
        [A.retryAttempt]: e.attempt,
        [A.reason]: errorReason(e.error),
        ...(e.regionId === undefined ? {} : { [A.regionId]: e.regionId.toString() }),
      },
    },
    context.active(),
  );
  span.end(now);
}

function recordCommit(tracer: Tracer, e: CommitEvent, startTime: number | undefined): void {
  const span = tracer.startSpan(
    TIKV_SPAN_NAMES.commit,
    {
      ...(startTime === undefined ? {} : { startTime }),
      attributes: {
        [A.txnStartTs]: e.startTs.toString(),
        [A.txnProtocol]: e.protocol,
        [A.txnKeys]: e.keys,
        ...(e.commitTs === 0n ? {} : { [A.txnCommitTs]: e.commitTs.toString() }),
      },
    },
    context.active(),
  );
  if (e.error !== undefined) failSpan(span, e.error);
  span.end();
}
