import { tracingChannel } from 'node:diagnostics_channel';
import { context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { InvalidArgumentError, RegionError, WriteConflictError } from '@tikv/common';
import { GrpcStatus, MockCluster } from '@tikv/mock-cluster';
import { RawClient } from '@tikv/raw';
import { RPC_TRACING_CHANNEL, type RpcRequestEvent } from '@tikv/rpc';
import { TransactionClient, TXN_COMMIT_CHANNEL } from '@tikv/txn';
import {
  TIKV_ATTRIBUTES as A,
  errorReason,
  instrumentTikv,
  TIKV_SPAN_NAMES,
  TXN_COMMIT_CHANNEL_NAME,
} from '../src/index.js';

const contextManager = new AsyncLocalStorageContextManager();
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });

let cluster: MockCluster;
let raw: RawClient;
let txn: TransactionClient;

beforeAll(async () => {
  context.setGlobalContextManager(contextManager.enable());
  cluster = await MockCluster.start({ stores: 1 });
  try {
    raw = await RawClient.connect({ pdEndpoints: cluster.pdEndpoints });
    txn = await TransactionClient.connect({ pdEndpoints: cluster.pdEndpoints });
  } catch (e) {
    await raw?.close();
    await cluster.close();
    throw e;
  }
});

afterAll(async () => {
  await raw?.close();
  await txn?.close();
  await cluster?.close();
  await provider.shutdown();
  context.disable();
});

afterEach(() => {
  cluster.clearFaults();
  exporter.reset();
});

const spansNamed = (name: string): ReadableSpan[] =>
  exporter.getFinishedSpans().filter((s) => s.name === name);
const parentId = (s: ReadableSpan): string | undefined => s.parentSpanContext?.spanId;

test('the channel names are the client packages’ own', () => {
  expect(TXN_COMMIT_CHANNEL_NAME).toBe(TXN_COMMIT_CHANNEL);
});

test('a raw request gets a CLIENT span named after its command, with the store, command and region', async () => {
  const handle = instrumentTikv({ tracerProvider: provider });
  try {
    await raw.put('span/a', 'v');
    expect(new TextDecoder().decode(await raw.get('span/a'))).toBe('v');
  } finally {
    handle.close();
  }
  const [put] = spansNamed('tikv.rpc.RawPut');
  const [get] = spansNamed('tikv.rpc.RawGet');
  expect(put).toBeDefined();
  expect(get).toBeDefined();
  const store = cluster.stores()[0]?.address as string;
  const region = cluster.regionByKey(new TextEncoder().encode('span/a'));
  expect(get?.kind).toBe(SpanKind.CLIENT);
  expect(get?.status.code).toBe(SpanStatusCode.UNSET);
  expect(get?.attributes).toMatchObject({
    [A.rpcSystem]: 'grpc',
    [A.command]: 'RawGet',
    [A.storeAddress]: store,
    [A.serverAddress]: store.slice(0, store.lastIndexOf(':')),
    [A.serverPort]: Number(store.slice(store.lastIndexOf(':') + 1)),
    [A.batched]: true,
    [A.regionId]: String(region?.id),
  });
  expect(get?.attributes[A.forwardedHost]).toBeUndefined();
  expect(get?.instrumentationScope.name).toBe('@tikv/tracing-otel');
});

test('a unary request (RawChecksum has no BatchCommands arm) is marked not batched', async () => {
  const handle = instrumentTikv({ tracerProvider: provider });
  try {
    await raw.put('scan/a', 'v');
    expect((await raw.checksum('scan/', 'scan0')).totalKvs).toBe(1n);
  } finally {
    handle.close();
  }
  const [scan] = spansNamed('tikv.rpc.RawChecksum');
  expect(scan?.attributes[A.batched]).toBe(false);
  expect(scan?.attributes[A.command]).toBe('RawChecksum');
});

test('request spans are children of the caller’s active span', async () => {
  const handle = instrumentTikv({ tracerProvider: provider, tracerName: 'my-app' });
  const tracer = provider.getTracer('test');
  let parent: Span | undefined;
  try {
    await tracer.startActiveSpan('handler', async (span) => {
      parent = span;
      await raw.put('span/b', 'v');
      await raw.get('span/b');
      span.end();
    });
    // Outside any span: a root span.
    await raw.get('span/b');
  } finally {
    handle.close();
  }
  const [first, second] = spansNamed('tikv.rpc.RawGet');
  const [put] = spansNamed('tikv.rpc.RawPut');
  const handlerId = parent?.spanContext().spanId;
  expect(parentId(put as ReadableSpan)).toBe(handlerId);
  expect(parentId(first as ReadableSpan)).toBe(handlerId);
  expect(first?.spanContext().traceId).toBe(parent?.spanContext().traceId);
  expect(parentId(second as ReadableSpan)).toBeUndefined();
  expect(first?.instrumentationScope.name).toBe('my-app');
});

test('a failed request ends its span with status ERROR; the retry and backoff are spans under the caller', async () => {
  const handle = instrumentTikv({ tracerProvider: provider });
  const tracer = provider.getTracer('test');
  const fault = cluster.inject({ method: 'RawGet', times: 1, error: { grpcStatus: GrpcStatus.UNAVAILABLE } });
  let handlerId: string | undefined;
  try {
    await tracer.startActiveSpan('handler', async (span) => {
      handlerId = span.spanContext().spanId;
      await raw.get('span/c');
      span.end();
    });
  } finally {
    handle.close();
  }
  expect(fault.hits).toBe(1);
  const gets = spansNamed('tikv.rpc.RawGet');
  expect(gets).toHaveLength(2);
  const failed = gets.filter((s) => s.status.code === SpanStatusCode.ERROR);
  expect(failed).toHaveLength(1);
  expect(failed[0]?.events.map((e) => e.name)).toContain('exception');
  expect(gets.every((s) => parentId(s) === handlerId)).toBe(true);

  const [retry] = spansNamed(TIKV_SPAN_NAMES.retry);
  expect(retry?.attributes).toMatchObject({ [A.command]: 'RawGet', [A.retryAttempt]: 1 });
  expect(typeof retry?.attributes[A.reason]).toBe('string');
  expect(retry?.attributes[A.regionId]).toBeDefined();
  expect(parentId(retry as ReadableSpan)).toBe(handlerId);

  const [backoff] = spansNamed(TIKV_SPAN_NAMES.backoff);
  expect(backoff?.attributes[A.backoffKind]).toEqual(expect.any(String));
  expect(backoff?.attributes[A.backoffAttempt]).toBe(1);
  expect(backoff?.attributes[A.backoffSleepMs]).toEqual(expect.any(Number));
  expect(backoff?.attributes[A.backoffTotalSleepMs]).toEqual(expect.any(Number));
  expect(parentId(backoff as ReadableSpan)).toBe(handlerId);
});

test('a region error answered by the store is an attribute of the request span', async () => {
  const handle = instrumentTikv({ tracerProvider: provider });
  const fault = cluster.inject({ method: 'RawGet', times: 1, error: 'NotLeader' });
  try {
    await raw.get('span/d');
  } finally {
    handle.close();
  }
  expect(fault.hits).toBe(1);
  const gets = spansNamed('tikv.rpc.RawGet');
  expect(gets.map((s) => s.attributes[A.regionError])).toContain('NotLeader');
  expect(spansNamed(TIKV_SPAN_NAMES.retry)[0]?.attributes[A.reason]).toBe('NotLeader');
});

test('a transaction commit gets a span with its timestamps, protocol and keys, from its prewrite', async () => {
  const handle = instrumentTikv({ tracerProvider: provider });
  try {
    const t = await txn.begin();
    t.put('txn/a', '1');
    t.put('txn/b', '2');
    const commitTs = await t.commit();
    const startTs = t.startTs;
    const [commit] = spansNamed(TIKV_SPAN_NAMES.commit);
    expect(commit?.attributes).toMatchObject({
      [A.txnStartTs]: startTs.toString(),
      [A.txnCommitTs]: commitTs.toString(),
      [A.txnKeys]: 2,
      [A.txnProtocol]: expect.any(String),
    });
    expect(commit?.status.code).toBe(SpanStatusCode.UNSET);
    expect(spansNamed('tikv.rpc.Prewrite').length).toBeGreaterThan(0);
  } finally {
    handle.close();
  }
});

test('a failed commit ends its span with status ERROR and no commit ts', async () => {
  const handle = instrumentTikv({ tracerProvider: provider });
  try {
    const t1 = await txn.begin();
    t1.put('txn/conflict', '1');
    const t2 = await txn.begin();
    t2.put('txn/conflict', '2');
    await t2.commit();
    await expect(t1.commit()).rejects.toBeInstanceOf(WriteConflictError);
    const failed = spansNamed(TIKV_SPAN_NAMES.commit).filter((s) => s.status.code === SpanStatusCode.ERROR);
    expect(failed).toHaveLength(1);
    expect(failed[0]?.attributes[A.txnStartTs]).toBe(t1.startTs.toString());
    expect(failed[0]?.attributes[A.txnCommitTs]).toBeUndefined();
    expect(failed[0]?.events.map((e) => e.name)).toContain('exception');
  } finally {
    handle.close();
  }
});

test('close() stops recording and is idempotent', async () => {
  const handle = instrumentTikv({ tracerProvider: provider });
  await raw.get('span/e');
  const before = exporter.getFinishedSpans().length;
  expect(before).toBeGreaterThan(0);
  handle.close();
  handle.close();
  await raw.put('span/e', 'v');
  await raw.get('span/e');
  const t = await txn.begin();
  t.put('txn/closed', 'v');
  await t.commit();
  expect(exporter.getFinishedSpans()).toHaveLength(before);
});

test('with no tracer provider registered, nothing is recorded', async () => {
  // The global provider is the API's no-op one: spans are non-recording.
  const handle = instrumentTikv();
  const seen: boolean[] = [];
  try {
    await trace.getTracer('test').startActiveSpan('outer', async (span) => {
      seen.push(span.isRecording());
      await raw.get('span/f');
      span.end();
    });
  } finally {
    handle.close();
  }
  expect(seen).toEqual([false]);
  expect(exporter.getFinishedSpans()).toHaveLength(0);
});

test('a request that throws synchronously (no promise) still ends its span, failed', () => {
  const handle = instrumentTikv({ tracerProvider: provider });
  const event: RpcRequestEvent = {
    address: 'store-a:20160',
    command: 'RawGet',
    request: { $case: 'RawGet', value: {} } as RpcRequestEvent['request'],
    batched: false,
    forwardedHost: 'store-b:20160',
  };
  try {
    expect(() =>
      tracingChannel<unknown, RpcRequestEvent>(RPC_TRACING_CHANNEL).traceSync(() => {
        throw new TypeError('encode failed');
      }, event),
    ).toThrow('encode failed');
  } finally {
    handle.close();
  }
  const [span] = spansNamed('tikv.rpc.RawGet');
  expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'encode failed' });
  expect(span?.attributes).toMatchObject({
    [A.forwardedHost]: 'store-b:20160',
    [A.serverAddress]: 'store-a',
    [A.serverPort]: 20160,
  });
  expect(span?.attributes[A.regionId]).toBeUndefined();
});

test('two handles record independently; closing one leaves the other', async () => {
  const otherExporter = new InMemorySpanExporter();
  const other = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(otherExporter)] });
  const first = instrumentTikv({ tracerProvider: provider });
  const second = instrumentTikv({ tracerProvider: other });
  try {
    await raw.get('span/g');
    first.close();
    await raw.get('span/g');
    // (read before shutdown: shutting the provider down empties its exporter)
    expect(otherExporter.getFinishedSpans().filter((s) => s.name === 'tikv.rpc.RawGet')).toHaveLength(2);
  } finally {
    first.close();
    second.close();
    await other.shutdown();
  }
  expect(spansNamed('tikv.rpc.RawGet')).toHaveLength(1);
});

test('errorReason names an error briefly', () => {
  expect(errorReason(new InvalidArgumentError('bad'))).toBe(new InvalidArgumentError('bad').code);
  expect(errorReason(new RegionError('ServerIsBusy', 'busy'))).toBe('ServerIsBusy');
  expect(errorReason(new TypeError('x'))).toBe('TypeError');
  expect(errorReason({ notLeader: { regionId: 1n } })).toBe('NotLeader');
  expect(errorReason('boom')).toBe('boom');
});
