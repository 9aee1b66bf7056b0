import { composeTs, isTiKVError, ManualClock, RpcError } from '@tikv/common';
import { FakeTsoServer } from '../test/fake-tso.js';
import { TsoDispatcher } from './tso-dispatcher.js';
import type { TsoStream, TsoStreamProvider } from './tso-stream.js';

// Ports the cases of PD's client/clients/tso/dispatcher_test.go that apply to a
// single-threaded dispatcher (TestBasic, the batching of TestConcurrentRPC with concurrency 1)
// plus the batching, ordering and failure rules of the dispatcher loop.

describe('TsoDispatcher', () => {
  let server: FakeTsoServer;
  let d: TsoDispatcher;
  beforeEach(() => {
    server = new FakeTsoServer();
    d = new TsoDispatcher(server);
  });
  afterEach(() => d.close());

  test('basic: a request waits for the stream answer (TestBasic)', async () => {
    const p = d.getTimestamp();
    await server.untilStreams(1);
    await server.current.untilPending(1);
    server.current.answerNext();
    expect(await p).toBe(composeTs(1000n, 1n));
    // breaking the stream makes the next request open a new one
    server.current.close(new Error('closed by test'));
    const p2 = d.getTimestamp();
    await server.untilStreams(2);
    await server.current.untilPending(1);
    server.current.answerNext();
    expect(await p2).toBe(composeTs(1000n, 2n));
  });

  test('callers arriving while a request is in flight are merged into one request', async () => {
    const first = d.getTimestamp();
    await server.untilStreams(1);
    const stream = server.current;
    await stream.untilPending(1);
    const rest = Array.from({ length: 5 }, () => d.getTimestamp());
    expect(d.pendingCount).toBe(5);
    expect(stream.pending).toHaveLength(1); // one in flight at a time
    stream.answerNext();
    expect(await first).toBe(composeTs(1000n, 1n));
    await stream.untilPending(1);
    expect(stream.counts).toEqual([1, 5]);
    stream.answerNext();
    const got = await Promise.all(rest);
    expect(got).toEqual([2n, 3n, 4n, 5n, 6n].map((l) => composeTs(1000n, l)));
    expect(d.stats).toEqual({ rpcs: 2, timestamps: 6, streamsOpened: 1 });
  });

  test('synchronous burst goes out as one request, capped by maxBatchSize', async () => {
    d.close();
    d = new TsoDispatcher(server, { maxBatchSize: 4, maxInFlight: 2 });
    const all = Array.from({ length: 10 }, () => d.getTimestamp());
    await server.untilStreams(1);
    const stream = server.current;
    await stream.untilPending(2);
    expect(stream.counts).toEqual([4, 4]);
    stream.answerNext();
    stream.answerNext();
    await stream.untilPending(1);
    expect(stream.counts).toEqual([4, 4, 2]);
    stream.answerNext();
    const got = await Promise.all(all);
    for (let i = 1; i < got.length; i++) expect(got[i]! > got[i - 1]!).toBe(true);
    expect(new Set(got).size).toBe(10);
  });

  test('a broken stream fails in-flight callers with a retryable error and reconnects', async () => {
    const p = d.getTimestamp();
    await server.untilStreams(1);
    await server.current.untilPending(1);
    server.current.close(new Error('connection reset'));
    const err: unknown = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(err).toMatchObject({ retryable: true, address: 'http://pd-1', command: 'TSO', requestSent: true });
    expect(server.failures).toHaveLength(1);
    expect(server.failures[0]?.url).toBe('http://pd-1');
    const p2 = d.getTimestamp();
    await server.untilStreams(2);
    await server.current.untilPending(1);
    server.current.answerNext();
    expect(await p2).toBe(composeTs(1000n, 1n));
  });

  test('a count mismatch breaks the stream', async () => {
    const p = d.getTimestamp();
    await server.untilStreams(1);
    await server.current.untilPending(1);
    server.current.answerNext({ count: 3 });
    const err: unknown = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect(err).toMatchObject({ retryable: true, address: 'http://pd-1' });
    expect(server.streams[0]?.broken).toBe(true);
  });

  test('a timestamp fallback is refused with a non-retryable error', async () => {
    const p = d.getTimestamp();
    await server.untilStreams(1);
    await server.current.untilPending(1);
    server.current.answerNext();
    await p;
    server.logical = 0n; // the server goes back in time
    const p2 = d.getTimestamp();
    await server.current.untilPending(1);
    server.current.answerNext();
    const err: unknown = await p2.catch((e: unknown) => e);
    expect(isTiKVError(err, 'INTERNAL')).toBe(true);
  });

  test('a failed connect fails the batch with a retryable error and is reported', async () => {
    server.connectError = new Error('no route');
    const err: unknown = await d.getTimestamp().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    // No stream was open, so no PD member was chosen and nothing was sent.
    expect(err).toMatchObject({ retryable: true, address: '', requestSent: false });
    expect(server.failures).toHaveLength(1);
    server.connectError = undefined;
    const p = d.getTimestamp();
    await server.untilStreams(1);
    await server.current.untilPending(1);
    server.current.answerNext();
    await expect(p).resolves.toBe(composeTs(1000n, 1n));
  });

  test('an aborted caller is dropped without hurting the others', async () => {
    const first = d.getTimestamp();
    await server.untilStreams(1);
    await server.current.untilPending(1);
    const ac = new AbortController();
    const aborted = d.getTimestamp({ signal: ac.signal });
    const kept = d.getTimestamp();
    ac.abort(new Error('user gave up'));
    await expect(aborted).rejects.toThrow('user gave up');
    server.current.answerNext();
    await first;
    await server.current.untilPending(1);
    expect(server.current.counts).toEqual([1, 1]);
    server.current.answerNext();
    await expect(kept).resolves.toBe(composeTs(1000n, 2n));
    await expect(d.getTimestamp({ signal: ac.signal })).rejects.toThrow('user gave up');
  });

  test('a caller timeout rejects with DEADLINE_EXCEEDED', async () => {
    jest.useFakeTimers({ doNotFake: ['queueMicrotask', 'nextTick', 'setImmediate'] });
    try {
      const p = d.getTimestamp({ timeoutMs: 50 });
      const check = p.catch((e: unknown) => e);
      jest.advanceTimersByTime(60);
      expect(isTiKVError(await check, 'DEADLINE_EXCEEDED')).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });

  test('a request without an answer breaks the stream after rpcTimeoutMs', async () => {
    d.close();
    jest.useFakeTimers({ doNotFake: ['queueMicrotask', 'nextTick', 'setImmediate'] });
    try {
      d = new TsoDispatcher(server, { rpcTimeoutMs: 100 });
      const p = d.getTimestamp().catch((e: unknown) => e);
      await server.untilStreams(1);
      await server.current.untilPending(1);
      jest.advanceTimersByTime(150);
      const err = await p;
      expect(err).toBeInstanceOf(RpcError);
      expect(server.streams[0]?.broken).toBe(true);
    } finally {
      jest.useRealTimers();
    }
  });

  test('close rejects waiting and in-flight callers and later calls', async () => {
    const inflight = d.getTimestamp();
    await server.untilStreams(1);
    await server.current.untilPending(1);
    const waiting = d.getTimestamp();
    d.close();
    await expect(inflight).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    await expect(waiting).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    await expect(d.getTimestamp()).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    d.close();
  });

  test('many concurrent callers get strictly increasing, unique timestamps', async () => {
    d.close();
    server = new FakeTsoServer(true);
    d = new TsoDispatcher(server);
    const seen: bigint[][] = [];
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        const mine: bigint[] = [];
        for (let i = 0; i < 50; i++) mine.push(await d.getTimestamp());
        seen.push(mine);
      }),
    );
    const all = seen.flat();
    expect(new Set(all).size).toBe(64 * 50);
    for (const mine of seen) for (let i = 1; i < mine.length; i++) expect(mine[i]! > mine[i - 1]!).toBe(true);
    expect(d.stats.timestamps / d.stats.rpcs).toBeGreaterThan(10);
  });

  test('rejects invalid options', () => {
    expect(() => new TsoDispatcher(server, { maxBatchSize: 0 })).toThrow('maxBatchSize');
    expect(() => new TsoDispatcher(server, { rpcTimeoutMs: 0 })).toThrow('rpcTimeoutMs');
    expect(() => new TsoDispatcher(server, { maxInFlight: 0 })).toThrow('maxInFlight');
  });
});

describe('TsoDispatcher on a ManualClock', () => {
  let server: FakeTsoServer;
  let clock: ManualClock;
  let d: TsoDispatcher;
  beforeEach(() => {
    server = new FakeTsoServer();
    clock = new ManualClock();
    d = new TsoDispatcher(server, { clock, rpcTimeoutMs: 1_000 });
  });
  afterEach(() => d.close());

  test("a caller's timeout is measured on the clock; the batch still serves the others", async () => {
    const timed = d.getTimestamp({ timeoutMs: 50 });
    const other = d.getTimestamp();
    const timedOutcome = timed.catch((e: unknown) => e);
    await server.untilStreams(1);
    await server.current.untilPending(1);
    clock.advance(49);
    expect(d.stats.rpcs).toBe(1);
    clock.advance(1);
    const err = await timedOutcome;
    expect(isTiKVError(err, 'DEADLINE_EXCEEDED')).toBe(true);
    expect((err as Error).message).toBe('get timestamp timed out after 50 ms');
    server.current.answerNext();
    await expect(other).resolves.toBe(composeTs(1000n, 2n));
    // Both timers (the caller's, the request's) are gone once everything settled.
    expect(clock.pendingSleeps).toBe(0);
  });

  test('a request without an answer by rpcTimeoutMs (on the clock) breaks the stream', async () => {
    const p = d.getTimestamp().catch((e: unknown) => e);
    await server.untilStreams(1);
    await server.current.untilPending(1);
    clock.advance(999);
    expect(server.streams[0]?.broken).toBe(false);
    clock.advance(1);
    const err = await p;
    expect(err).toBeInstanceOf(RpcError);
    expect(err).toMatchObject({ retryable: true, address: 'http://pd-1', command: 'TSO' });
    expect((err as Error).message).toBe('TSO request timed out after 1000 ms on http://pd-1');
    expect(server.streams[0]?.broken).toBe(true);
    expect(server.failures).toHaveLength(1);
    const next = d.getTimestamp();
    await server.untilStreams(2);
    await server.current.untilPending(1);
    server.current.answerNext();
    await expect(next).resolves.toBe(composeTs(1000n, 1n)); // nothing was granted by the first
    expect(clock.pendingSleeps).toBe(0);
  });

  test('opening a stream is bounded by rpcTimeoutMs on the clock', async () => {
    d.close();
    const failures: unknown[] = [];
    const hanging: TsoStreamProvider = {
      connect: (signal) =>
        new Promise<TsoStream>((_, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        }),
      onStreamFailure: (e) => failures.push(e),
    };
    d = new TsoDispatcher(hanging, { clock, rpcTimeoutMs: 200 });
    const p = d.getTimestamp().catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    expect(clock.pendingSleeps).toBe(1);
    clock.advance(200);
    const err = await p;
    expect(isTiKVError(err, 'DEADLINE_EXCEEDED')).toBe(true);
    expect(failures).toEqual([err]);
    expect(clock.pendingSleeps).toBe(0);
  });

  test('an aborted caller leaves no timer and no listener behind', async () => {
    const ac = new AbortController();
    const p = d.getTimestamp({ signal: ac.signal, timeoutMs: 500 });
    expect(d.pendingCount).toBe(1);
    ac.abort('gone');
    await expect(p).rejects.toBe('gone');
    await expect(d.getTimestamp({ signal: ac.signal, timeoutMs: 500 })).rejects.toBe('gone');
    await new Promise((r) => setImmediate(r));
    // The settled waiter was skipped when the batch was built: no request, no stream.
    expect(d.pendingCount).toBe(0);
    expect(server.streams).toHaveLength(0);
    expect(clock.pendingSleeps).toBe(0);
  });
});

describe('TsoDispatcher dynamic options (PD client UpdateOption: TSOClientRPCConcurrency, MaxTSOBatchWaitInterval)', () => {
  test('a batch wait collects the callers that arrive within it into one request, on the clock', async () => {
    const clock = new ManualClock();
    const server = new FakeTsoServer();
    const d = new TsoDispatcher(server, { clock, maxBatchWaitMs: 5 });
    try {
      const first = d.getTimestamp();
      await Promise.resolve();
      expect(server.streams).toHaveLength(0);
      const more = [d.getTimestamp(), d.getTimestamp()];
      clock.advance(5);
      await server.untilStreams(1);
      await server.current.untilPending(1);
      expect(server.current.counts).toEqual([3]);
      server.current.answerNext();
      expect(await Promise.all([first, ...more])).toEqual([1n, 2n, 3n].map((l) => composeTs(1000n, l)));
      // No wait: the next caller is sent at once.
      d.update({ maxBatchWaitMs: 0 });
      const next = d.getTimestamp();
      await server.current.untilPending(1);
      server.current.answerNext();
      expect(await next).toBe(composeTs(1000n, 4n));
      expect(d.dynamicOptions).toEqual({ maxInFlight: 1, maxBatchWaitMs: 0 });
    } finally {
      d.close();
    }
  });

  test('raising the concurrency lets waiting callers go out at once; bad values are refused', async () => {
    const server = new FakeTsoServer();
    const d = new TsoDispatcher(server, { maxBatchSize: 1 });
    try {
      const a = d.getTimestamp();
      const b = d.getTimestamp();
      await server.untilStreams(1);
      await server.current.untilPending(1);
      expect(server.current.pending).toHaveLength(1);
      d.update({ maxInFlight: 2 });
      await server.current.untilPending(2);
      server.current.answerNext();
      server.current.answerNext();
      await Promise.all([a, b]);
      expect(() => d.update({ maxInFlight: 0 })).toThrow('maxInFlight');
      expect(() => d.update({ maxBatchWaitMs: 11 })).toThrow('maxBatchWaitMs');
      // Resetting the stream makes the next caller open a new one.
      d.resetStream();
      const c = d.getTimestamp();
      await server.untilStreams(2);
      await server.current.untilPending(1);
      server.current.answerNext();
      await c;
    } finally {
      d.close();
    }
  });
});
