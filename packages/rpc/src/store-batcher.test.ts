import { isTiKVError, ManualClock, noopLogger, noopMetrics } from '@tikv/common';
import { kvrpcpb, tikvpb } from '@tikv/proto';
import type { BatchStreamHandlers, BatchStreamSink, OpenBatchStream } from './batch-commands-stream.js';
import { type BatchPolicyOptions, parseBatchPolicy } from './batch-policy.js';
import { commandBytesOf } from './batch-request-encoding.js';
import { RpcError } from './rpc-error.js';
import { StoreBatcher, type StoreBatcherOptions } from './store-batcher.js';
import type { BatchRequestCmd, BatchResponseCmd } from './tikv-commands.js';

/** A stream that records what it was sent and answers when the test says so. */
class FakeStream implements BatchStreamSink {
  readonly sent: tikvpb.BatchCommandsRequest[] = [];
  cancelled = false;
  #waiters: (() => void)[] = [];
  /** Resolves at the next write. */
  nextWrite(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
  constructor(
    readonly index: number,
    readonly forwardedHost: string,
    readonly handlers: BatchStreamHandlers,
  ) {}
  write(request: Buffer): void {
    if (this.cancelled) throw new Error('write after cancel');
    this.sent.push(tikvpb.BatchCommandsRequest.decode(request));
    for (const w of this.#waiters.splice(0)) w();
  }
  cancel(): void {
    this.cancelled = true;
  }
  /** Answers every request sent so far (or only `ids`) with an echo of its arm. */
  answer(ids?: readonly bigint[], extra: Partial<tikvpb.BatchCommandsResponse> = {}): void {
    const all = this.sent.flatMap((m) => m.requestIds.map((id, i) => [id, m.requests[i]?.cmd] as const));
    const chosen = all.filter(([id]) => ids === undefined || ids.includes(id));
    this.handlers.onResponse({
      requestIds: chosen.map(([id]) => id),
      responses: chosen.map(([, cmd]) => ({ cmd: echo(cmd) })),
      transportLayerLoad: 0n,
      healthFeedback: undefined,
      tikvSendTimeNs: 0n,
      ...extra,
    });
  }
}

function echo(cmd: BatchRequestCmd | undefined): tikvpb.BatchCommandsResponse_Response['cmd'] {
  if (cmd?.$case === 'RawGet') {
    return { $case: 'RawGet', value: kvrpcpb.RawGetResponse.fromPartial({ value: cmd.value.key }) };
  }
  return { $case: 'Empty', value: { testId: 0n } };
}

function rawGet(key: string): BatchRequestCmd {
  return { $case: 'RawGet', value: kvrpcpb.RawGetRequest.fromPartial({ key: Buffer.from(key) }) };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(overrides: Partial<StoreBatcherOptions> = {}) {
  const streams: FakeStream[] = [];
  const open: OpenBatchStream = (index, host, handlers) => {
    const s = new FakeStream(index, host, handlers);
    streams.push(s);
    return s;
  };
  const feedback: unknown[] = [];
  const batcher = new StoreBatcher(
    'store:1',
    {
      connections: 2,
      maxBatchSize: 4,
      maxBatchWaitMs: 0,
      batchWaitSize: 8,
      overloadThreshold: 200,
      maxBatchBytes: 10 * 1024 * 1024,
      sendAlone: () => Promise.reject(new Error('no unary path in this test')),
      logger: noopLogger,
      metrics: noopMetrics,
      onHealthFeedback: (f) => feedback.push(f),
      ...overrides,
    },
    open,
  );
  return { batcher, streams, feedback };
}

describe('StoreBatcher (client-go batchConn / batchCommandsClient)', () => {
  it('cuts the queue into batches of maxBatchSize, round-robin over connections', async () => {
    const { batcher, streams } = setup();
    const results = Array.from({ length: 10 }, (_, i) =>
      batcher.send(rawGet(`k${i}`), '', undefined, Number.NaN),
    );
    await turn();
    expect(streams.map((s) => s.index)).toEqual([0, 1]);
    const sizes = streams.flatMap((s) => s.sent.map((m) => m.requests.length));
    expect(sizes).toEqual([4, 2, 4]);
    // ids are unique and consecutive across the store
    const ids = streams.flatMap((s) => s.sent.flatMap((m) => m.requestIds)).sort((a, b) => Number(a - b));
    expect(ids).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i + 1)));
    for (const s of streams) s.answer();
    const values = await Promise.all(results);
    expect(values.map((v) => (v.$case === 'RawGet' ? Buffer.from(v.value.value).toString() : ''))).toEqual(
      Array.from({ length: 10 }, (_, i) => `k${i}`),
    );
    expect(batcher.outstanding).toBe(0);
  });

  it('matches responses that come back out of order and in several messages', async () => {
    const { batcher, streams } = setup({ connections: 1 });
    const a = batcher.send(rawGet('a'), '', undefined, Number.NaN);
    const b = batcher.send(rawGet('b'), '', undefined, Number.NaN);
    await turn();
    const s = streams[0] as FakeStream;
    s.answer([2n]);
    s.answer([1n]);
    await expect(b).resolves.toMatchObject({ $case: 'RawGet' });
    await expect(a).resolves.toMatchObject({ $case: 'RawGet' });
  });

  it('times a request out on its own and keeps the stream (the late answer is ignored)', async () => {
    // Fake timers make the timeout fire exactly after both requests are on the stream.
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    const { batcher, streams } = setup({ connections: 1 });
    const slow = batcher.send(rawGet('slow'), '', undefined, 1).catch((e: unknown) => e);
    const fast = batcher.send(rawGet('fast'), '', undefined, Number.NaN);
    await turn();
    const s = streams[0] as FakeStream;
    expect(s.sent[0]?.requestIds).toEqual([1n, 2n]);
    jest.advanceTimersByTime(1);
    jest.useRealTimers();
    const err: unknown = await slow;
    expect(isTiKVError(err, 'DEADLINE_EXCEEDED')).toBe(true);
    s.answer(); // answers both ids; id 1 is no longer tracked
    await expect(fast).resolves.toMatchObject({ $case: 'RawGet' });
    expect(s.cancelled).toBe(false);
    const again = batcher.send(rawGet('again'), '', undefined, Number.NaN);
    await turn();
    expect(streams).toHaveLength(1);
    s.answer([3n]);
    await expect(again).resolves.toMatchObject({ $case: 'RawGet' });
  });

  it('drops an aborted request id without touching the stream, before or after it is sent', async () => {
    const { batcher, streams } = setup({ connections: 1 });
    const queued = new AbortController();
    const inflight = new AbortController();
    const q = batcher.send(rawGet('q'), '', queued.signal, Number.NaN);
    queued.abort(new Error('changed my mind'));
    await expect(q).rejects.toThrow('changed my mind');
    const p = batcher.send(rawGet('p'), '', inflight.signal, Number.NaN);
    const other = batcher.send(rawGet('o'), '', undefined, Number.NaN);
    await turn();
    const s = streams[0] as FakeStream;
    expect(s.sent[0]?.requests).toHaveLength(2); // the aborted queued request was skipped
    const reason = new Error('user abort');
    inflight.abort(reason);
    await expect(p).rejects.toBe(reason);
    expect(batcher.outstanding).toBe(1);
    s.answer();
    await expect(other).resolves.toMatchObject({ $case: 'RawGet' });
    expect(s.cancelled).toBe(false);
    const pre = new AbortController();
    pre.abort('already');
    await expect(batcher.send(rawGet('x'), '', pre.signal, Number.NaN)).rejects.toBe('already');
  });

  it('fails in-flight requests with a retryable RpcError when the stream breaks, then opens a new one', async () => {
    const { batcher, streams } = setup({ connections: 1 });
    const inflight = [
      batcher.send(rawGet('a'), '', undefined, Number.NaN),
      batcher.send(rawGet('b'), '', undefined, Number.NaN),
    ];
    await turn();
    const first = streams[0] as FakeStream;
    first.handlers.onBroken({ code: 14, details: 'connection reset' });
    for (const p of inflight) {
      const e: unknown = await p.catch((x: unknown) => x);
      expect(e).toBeInstanceOf(RpcError);
      expect((e as RpcError).retryable).toBe(true);
      expect((e as RpcError).requestSent).toBe(true);
      expect((e as RpcError).grpcCode).toBe(14);
    }
    expect(first.cancelled).toBe(true);
    const next = batcher.send(rawGet('c'), '', undefined, Number.NaN);
    await turn();
    expect(streams).toHaveLength(2);
    (streams[1] as FakeStream).answer();
    await expect(next).resolves.toMatchObject({ $case: 'RawGet' });
  });

  it('TestRecvErrorInMultipleRecvLoops: a receive error on any of the streams of a connection (direct and forwarded) is recovered from; every host is served again', async () => {
    const { batcher, streams } = setup({ connections: 1 });
    const hosts = ['', 'h:6666', 'h:7777', 'h:8888'];
    const roundTrip = async (host: string): Promise<void> => {
      const p = batcher.send(rawGet(`k@${host}`), host, undefined, Number.NaN);
      await turn();
      for (const st of streams) if (!st.cancelled) st.answer();
      await expect(p).resolves.toMatchObject({ $case: 'RawGet' });
    };
    // One stream per host on the single connection.
    for (const host of hosts) await roundTrip(host);
    expect(streams.map((st) => st.forwardedHost)).toEqual(hosts);
    const before = [...streams];
    // Each stream in turn fails in its receive loop while a request is on it.
    for (const [i, host] of hosts.entries()) {
      const onIt = batcher.send(rawGet(`x@${host}`), host, undefined, Number.NaN).catch((e: unknown) => e);
      await turn();
      before[i]!.handlers.onBroken({ code: 14, details: 'recv failed' });
      expect(await onIt).toBeInstanceOf(RpcError);
      expect(before[i]!.cancelled).toBe(true);
    }
    // Requests afterwards succeed for every host, each on a new stream.
    for (const host of hosts) await roundTrip(host);
    const live = streams.filter((st) => !st.cancelled);
    expect(live.map((st) => st.forwardedHost).sort()).toEqual([...hosts].sort());
    expect(live.every((st) => !before.includes(st))).toBe(true);
    expect(batcher.outstanding).toBe(0);
  });

  it('treats a write that throws as a broken stream', async () => {
    const { batcher, streams } = setup({ connections: 1 });
    const a = batcher.send(rawGet('a'), '', undefined, Number.NaN);
    await turn();
    (streams[0] as FakeStream).answer();
    await a;
    (streams[0] as FakeStream).cancelled = true; // the next write throws
    const b = batcher.send(rawGet('b'), '', undefined, Number.NaN).catch((e: unknown) => e);
    await turn();
    expect(await b).toMatchObject({ code: 'RPC_ERROR', retryable: true });
  });

  it('fails a request whose response arm does not match', async () => {
    const { batcher, streams } = setup({ connections: 1 });
    const p = batcher.send(
      { $case: 'Empty', value: { testId: 7n, delayTime: 0n } },
      '',
      undefined,
      Number.NaN,
    );
    await turn();
    (streams[0] as FakeStream).handlers.onResponse({
      requestIds: [1n],
      responses: [{ cmd: { $case: 'RawGet', value: kvrpcpb.RawGetResponse.fromPartial({}) } }],
      transportLayerLoad: 0n,
      healthFeedback: undefined,
      tikvSendTimeNs: 0n,
    });
    await expect(p).rejects.toMatchObject({ code: 'INTERNAL' });
  });

  it('rejects a request that cannot be encoded without touching the stream', async () => {
    const { batcher, streams } = setup({ connections: 1 });
    const bad = {
      $case: 'RawGet',
      value: { ...kvrpcpb.RawGetRequest.fromPartial({}), context: { regionId: -1n } },
    };
    await expect(
      batcher.send(bad as unknown as BatchRequestCmd, '', undefined, Number.NaN),
    ).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
    });
    expect(streams).toHaveLength(0);
  });

  it('cuts batches at maxBatchBytes and sends a command larger than that alone, off the streams', async () => {
    const alone: { cmd: BatchRequestCmd; item: Uint8Array }[] = [];
    const { batcher, streams } = setup({
      connections: 1,
      maxBatchSize: 128,
      maxBatchBytes: 1000,
      sendAlone: async (cmd, item) => {
        alone.push({ cmd, item });
        return echo(cmd) as BatchResponseCmd;
      },
    });
    const key300 = 'k'.repeat(300);
    const results = Array.from({ length: 7 }, (_, i) =>
      batcher.send(rawGet(`${key300}${i}`), '', undefined, Number.NaN),
    );
    const big = batcher.send(rawGet('b'.repeat(2000)), '', undefined, Number.NaN);
    await turn();
    // ~320 bytes per command: three fit under 1000 bytes, the fourth starts the next message.
    const messages = streams.flatMap((s) => s.sent);
    expect(messages.map((m) => m.requests.length)).toEqual([3, 3, 1]);
    for (const m of messages)
      expect(tikvpb.BatchCommandsRequest.encode(m).finish().length).toBeLessThanOrEqual(1000);
    expect(alone).toHaveLength(1);
    // The command's own request message, as its unary method takes it.
    expect(
      Buffer.from(kvrpcpb.RawGetRequest.decode(commandBytesOf(alone[0]?.item as Uint8Array)).key).toString(),
    ).toBe('b'.repeat(2000));
    for (const s of streams) s.answer();
    await Promise.all(results);
    await expect(big).resolves.toMatchObject({ $case: 'RawGet' });
  });

  it('sends forwarded requests on a separate stream per forwarded host', async () => {
    const { batcher, streams } = setup({ connections: 1 });
    const direct = batcher.send(rawGet('d'), '', undefined, Number.NaN);
    const fwd = batcher.send(rawGet('f'), 'store:2', undefined, Number.NaN);
    await turn();
    expect(streams.map((s) => s.forwardedHost).sort()).toEqual(['', 'store:2']);
    for (const s of streams) s.answer();
    await expect(direct).resolves.toBeDefined();
    await expect(fwd).resolves.toBeDefined();
  });

  it('TestBatchCommandsBuilder: one message per forwarded host with its own requests, ids unique; aborted requests are left out; close fails the rest', async () => {
    const { batcher, streams } = setup({ connections: 1, maxBatchSize: 128 });
    // Direct requests only: one message with all of them, ids 1..10.
    const direct = Array.from({ length: 10 }, (_, i) =>
      batcher.send(rawGet(`d${i}`), '', undefined, Number.NaN),
    );
    await turn();
    expect(streams).toHaveLength(1);
    expect(streams[0]?.sent.map((m) => m.requests.length)).toEqual([10]);
    expect(streams[0]?.sent[0]?.requestIds).toEqual(Array.from({ length: 10 }, (_, i) => BigInt(i + 1)));
    streams[0]?.answer();
    await Promise.all(direct);

    // Interleaved forwarded hosts, host i with i + 1 requests: a message per host, with its own.
    const hosts = ['', 'h:6666', 'h:7777', 'h:8888'];
    const mixed: Promise<unknown>[] = [];
    for (let i = 0; i < hosts.length; i++) {
      for (let j = i; j < hosts.length; j++) {
        mixed.push(batcher.send(rawGet(`${hosts[j]}#${i}`), hosts[j]!, undefined, Number.NaN));
      }
    }
    await turn();
    const byHost = new Map(streams.map((st) => [st.forwardedHost, st]));
    expect([...byHost.keys()].sort()).toEqual([...hosts].sort());
    expect(
      byHost
        .get('')
        ?.sent.slice(1)
        .map((m) => m.requests.length),
    ).toEqual([1]);
    hosts.slice(1).forEach((host, i) => {
      const sent = byHost.get(host)!.sent;
      expect(sent.map((m) => m.requests.length)).toEqual([i + 2]);
      // Each request went to its own host's stream.
      for (const r of sent[0]!.requests) {
        const key = Buffer.from((r.cmd as { value: kvrpcpb.RawGetRequest }).value.key).toString();
        expect(key.startsWith(`${host}#`)).toBe(true);
      }
    });
    const allIds = streams.flatMap((st) => st.sent.flatMap((m) => m.requestIds));
    expect(new Set(allIds).size).toBe(allIds.length);
    for (const st of streams) st.answer();
    await Promise.all(mixed);

    // Requests aborted before the batch is cut are not sent.
    const sentBefore = byHost.get('')!.sent.length;
    const aborted = new AbortController();
    const keep = [0, 1, 0, 0, 1].map((k, i) => {
      const p = batcher.send(rawGet(`c${i}`), '', k === 0 ? aborted.signal : undefined, Number.NaN);
      return k === 0 ? p.catch((e: unknown) => e) : p;
    });
    aborted.abort(new Error('canceled'));
    await turn();
    const cut = byHost.get('')!.sent.slice(sentBefore);
    expect(cut.map((m) => m.requests.length)).toEqual([2]);
    byHost.get('')!.answer();
    const outcomes = await Promise.all(keep);
    expect(outcomes.filter((o) => o instanceof Error)).toHaveLength(3);

    // Closing fails every request still waiting with the error.
    const closed = new Error('closed');
    const waiting = Array.from({ length: 3 }, (_, i) =>
      batcher.send(rawGet(`w${i}`), '', undefined, Number.NaN).catch((e: unknown) => e),
    );
    batcher.close(closed);
    expect(await Promise.all(waiting)).toEqual([closed, closed, closed]);
  });

  it('waits for batchWaitSize requests when the store reports overload (client-go MaxBatchWaitTime)', async () => {
    const { batcher, streams, feedback } = setup({
      connections: 1,
      maxBatchWaitMs: 60_000,
      batchWaitSize: 3,
      maxBatchSize: 8,
    });
    const first = batcher.send(rawGet('a'), '', undefined, Number.NaN);
    await turn();
    const s = streams[0] as FakeStream;
    s.answer(undefined, {
      transportLayerLoad: 500n,
      healthFeedback: { storeId: 1n, feedbackSeqNo: 1n, slowScore: 1 },
    });
    await first;
    expect(batcher.load).toBe(500);
    expect(feedback).toHaveLength(1);
    const waiting = [
      batcher.send(rawGet('b'), '', undefined, Number.NaN),
      batcher.send(rawGet('c'), '', undefined, Number.NaN),
    ];
    await turn();
    expect(s.sent).toHaveLength(1); // held back: only 2 of the 3 wanted
    waiting.push(batcher.send(rawGet('d'), '', undefined, Number.NaN));
    await turn();
    expect(s.sent).toHaveLength(2);
    expect(s.sent[1]?.requests).toHaveLength(3);
    s.answer([2n, 3n, 4n]);
    await Promise.all(waiting);
  });

  it("sends a short batch once maxBatchWaitMs passes under overload, on the transport's clock", async () => {
    const clock = new ManualClock();
    const { batcher, streams } = setup({
      connections: 1,
      maxBatchWaitMs: 50,
      batchWaitSize: 100,
      maxBatchSize: 128,
      clock,
    });
    const first = batcher.send(rawGet('a'), '', undefined, Number.NaN);
    await turn();
    const s = streams[0] as FakeStream;
    s.answer(undefined, { transportLayerLoad: 1000n });
    await first;
    const p = batcher.send(rawGet('b'), '', undefined, Number.NaN);
    await turn();
    expect(s.sent).toHaveLength(1);
    expect(clock.pendingForegroundSleeps).toBe(1);
    clock.advance(49);
    await turn();
    expect(s.sent).toHaveLength(1);
    clock.advance(1); // the wait timer sends the short batch
    await turn();
    expect(s.sent[1]?.requests).toHaveLength(1);
    s.answer([2n]);
    await expect(p).resolves.toBeDefined();
  });

  it('close fails queued and in-flight requests and later sends', async () => {
    const { batcher, streams } = setup({ connections: 1 });
    const inflight = batcher.send(rawGet('a'), '', undefined, Number.NaN);
    await turn();
    const queued = batcher.send(rawGet('b'), '', undefined, Number.NaN);
    const closed = new Error('closed');
    batcher.close(closed);
    batcher.close(closed);
    await expect(inflight).rejects.toBe(closed);
    await expect(queued).rejects.toBe(closed);
    await expect(batcher.send(rawGet('c'), '', undefined, Number.NaN)).rejects.toBe(closed);
    expect((streams[0] as FakeStream).cancelled).toBe(true);
  });

  it('TestLimitConcurrency / TestPrioritySentLimit: past the limit requests wait, highest priority first; priority >= 10 is never held', async () => {
    const { batcher, streams } = setup({ connections: 1, maxConcurrentRequests: 2 });
    const withPriority = (key: string, p: number): BatchRequestCmd => ({
      $case: 'RawGet',
      value: kvrpcpb.RawGetRequest.fromPartial({
        key: Buffer.from(key),
        context: { resourceControlContext: { overridePriority: BigInt(p) } },
      }),
    });
    const send = (cmd: BatchRequestCmd) => batcher.send(cmd, '', undefined, Number.NaN);
    const first = [send(rawGet('a')), send(rawGet('b')), send(withPriority('low', 1))];
    await turn();
    const stream = streams[0] as FakeStream;
    const keysOf = (m: tikvpb.BatchCommandsRequest | undefined) =>
      (m?.requests ?? []).map((r) =>
        r.cmd?.$case === 'RawGet' ? Buffer.from(r.cmd.value.key).toString() : '?',
      );
    // Two in flight: 'low' (priority 1) is ahead of the unprioritized ones, so it went first.
    expect(stream.sent[0]?.requests).toHaveLength(2);
    expect(keysOf(stream.sent[0])).toContain('low');
    const urgent = send(withPriority('urgent', 10));
    const mid = send(withPriority('mid', 5));
    await turn();
    // The full connection still takes the high-priority request at once; 'mid' waits.
    expect(stream.sent.map(keysOf)).toEqual([keysOf(stream.sent[0]), ['urgent']]);
    expect(batcher.outstanding).toBe(5);
    // Two answers leave one slot (the urgent request counts too): 'mid' (priority 5) takes it
    // before the unprioritized request still queued.
    stream.answer([1n, 3n]);
    await turn();
    expect(keysOf(stream.sent[2])).toEqual(['mid']);
    stream.answer();
    await turn();
    stream.answer();
    await turn();
    expect(stream.sent.flatMap(keysOf).sort()).toEqual(['a', 'b', 'low', 'mid', 'urgent']);
    await Promise.all([...first, urgent, mid]);
  });

  it('sends a request to an idle store within the microtask checkpoint; with one in flight, the turn batches', async () => {
    const { batcher, streams } = setup({ connections: 1, maxBatchSize: 16 });
    const send = (k: string) => batcher.send(rawGet(k), '', undefined, Number.NaN);
    // Idle store: the request and what the same synchronous code adds go out before any turn.
    const first = [send('a'), send('b')];
    await Promise.resolve();
    const stream = streams[0] as FakeStream;
    expect(stream.sent.map((m) => m.requests.length)).toEqual([2]);
    // Two in flight: the next requests wait for the end of the turn and leave together.
    const later = [send('c')];
    await Promise.resolve();
    later.push(send('d'));
    await Promise.resolve();
    expect(stream.sent).toHaveLength(1);
    await turn();
    expect(stream.sent.map((m) => m.requests.length)).toEqual([2, 2]);
    stream.answer();
    await Promise.all([...first, ...later]);
    expect(batcher.outstanding).toBe(0);
  });

  it('a batch policy that waits collects requests arriving over the next turns into one message', async () => {
    const run = async (policy: BatchPolicyOptions | undefined): Promise<number[]> => {
      const { batcher, streams } = setup({
        connections: 1,
        maxBatchSize: 16,
        batchWaitSize: 3,
        ...(policy === undefined ? {} : { batchPolicy: policy }),
      });
      const send = (k: string) => batcher.send(rawGet(k), '', undefined, Number.NaN);
      const all = [send('warm-up')];
      await turn(); // the first batch never waits: no arrival interval yet
      all.push(send('x'));
      await turn();
      all.push(send('y'));
      await turn();
      all.push(send('z'));
      for (let i = 0; i < 5; i++) await turn();
      const stream = streams[0] as FakeStream;
      stream.answer();
      await Promise.all(all);
      return stream.sent.map((m) => m.requests.length);
    };
    expect(await run(undefined)).toEqual([1, 1, 1, 1]);
    // Always wait (up to 1 s here) for 3 requests.
    expect(await run(parseBatchPolicy('custom {"v":0,"t":1}'))).toEqual([1, 3]);
  });
});
