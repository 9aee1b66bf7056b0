import diagnostics from 'node:diagnostics_channel';
import {
  Backoffer,
  BackoffKinds,
  isRetryableError,
  isTiKVError,
  ManualClock,
  type MetricsHook,
} from '@tikv/common';
import { MockCluster } from '@tikv/mock-cluster';
import { kvrpcpb } from '@tikv/proto';
import {
  MessageTooLargeError,
  RPC_BATCH_CHANNEL,
  RPC_CONNECTION_CHANNEL,
  RPC_STREAM_CHANNEL,
  RPC_TRACING_CHANNEL,
  type RpcBatchEvent,
  RpcClient,
  type RpcConnectionEvent,
  RpcError,
  type RpcRequestEvent,
  type RpcStreamEvent,
  rpcInterceptor,
  type TikvRequest,
  type TransportOptions,
} from '../src/index.js';

/** Collects the messages of a diagnostics channel while subscribed. */
function collect<T>(name: string): { events: T[]; stop(): void } {
  const events: T[] = [];
  const fn = (m: unknown): void => {
    events.push(m as T);
  };
  diagnostics.subscribe(name, fn);
  return { events, stop: () => diagnostics.unsubscribe(name, fn) };
}

/** Resolves with the first message on a channel that matches. */
function next<T>(name: string, match: (m: T) => boolean = () => true): Promise<T> {
  return new Promise((resolve) => {
    const fn = (m: unknown): void => {
      if (!match(m as T)) return;
      diagnostics.unsubscribe(name, fn);
      resolve(m as T);
    };
    diagnostics.subscribe(name, fn);
  });
}

const tcpSockets = (): number => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

/** Waits (by event-loop turns, not time) until at most `n` TCP sockets are open; grpc-js closes them asynchronously. */
async function socketsSettle(n: number): Promise<number> {
  for (let i = 0; i < 5000 && tcpSockets() > n; i++) await new Promise((r) => setImmediate(r));
  return tcpSockets();
}

describe('RpcClient against the mock cluster', () => {
  let cluster: MockCluster;
  let store: { id: bigint; address: string };
  let context: kvrpcpb.Context;
  const clients: RpcClient[] = [];

  function client(options?: TransportOptions): RpcClient {
    const c = new RpcClient(options);
    clients.push(c);
    return c;
  }

  const rawGet = (key: string) =>
    ({
      $case: 'RawGet',
      value: kvrpcpb.RawGetRequest.fromPartial({ context, key: Buffer.from(key) }),
    }) as const;
  const rawPut = (key: string, value: string) =>
    ({
      $case: 'RawPut',
      value: kvrpcpb.RawPutRequest.fromPartial({ context, key: Buffer.from(key), value: Buffer.from(value) }),
    }) as const;

  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 1 });
    const s = cluster.stores()[0];
    const region = cluster.regions()[0];
    if (s === undefined || region === undefined) throw new Error('no store');
    store = s;
    context = kvrpcpb.Context.fromPartial({
      regionId: region.id,
      regionEpoch: region.epoch,
      peer: { id: region.leader.id, storeId: s.id },
    });
  });

  afterEach(async () => {
    cluster.setStoreDelay(store.id, 0);
    cluster.clearFaults();
    await cluster.startStore(store.id);
    for (const c of clients.splice(0)) await c.close();
  });

  afterAll(async () => {
    await cluster.close();
  });

  it('sends batchable commands on BatchCommands and unary-only commands as unary calls', async () => {
    const rpc = client();
    const tracing = collect<RpcRequestEvent>(`tracing:${RPC_TRACING_CHANNEL}:start`);
    try {
      const put = await rpc.send(store.address, rawPut('k1', 'v1'));
      expect(put.$case).toBe('RawPut');
      expect(put.value.regionError).toBeUndefined();
      const got = await rpc.send(store.address, rawGet('k1'));
      expect(Buffer.from(got.value.value).toString()).toBe('v1');
      const ttl = await rpc.send(store.address, {
        $case: 'RawGetKeyTTL',
        value: kvrpcpb.RawGetKeyTTLRequest.fromPartial({ context, key: Buffer.from('k1') }),
      });
      expect(ttl.$case).toBe('RawGetKeyTTL');
      const scan = await rpc.send(store.address, {
        $case: 'RawBatchScan',
        value: kvrpcpb.RawBatchScanRequest.fromPartial({
          context,
          ranges: [{ startKey: Buffer.from('k') }],
          eachLimit: 10,
        }),
      });
      expect(scan.$case).toBe('RawBatchScan');
    } finally {
      tracing.stop();
    }
    expect(tracing.events.map((e) => [e.command, e.batched])).toEqual([
      ['RawPut', true],
      ['RawGet', true],
      ['RawGetKeyTTL', false],
      ['RawBatchScan', false],
    ]);
  });

  it('carries 1,000 concurrent requests over one stream in a few batches', async () => {
    const rpc = client({ connectionsPerStore: 1 });
    await rpc.send(store.address, rawPut('many', 'x'));
    const batches = collect<RpcBatchEvent>(RPC_BATCH_CHANNEL);
    const streams = collect<RpcStreamEvent>(RPC_STREAM_CHANNEL);
    try {
      const results = await Promise.all(
        Array.from({ length: 1000 }, () => rpc.send(store.address, rawGet('many'))),
      );
      expect(results.every((r) => Buffer.from(r.value.value).toString() === 'x')).toBe(true);
    } finally {
      batches.stop();
      streams.stop();
    }
    expect(streams.events).toHaveLength(0); // the stream opened by the first request carried them all
    expect(batches.events.reduce((n, b) => n + b.size, 0)).toBe(1000);
    expect(batches.events.every((b) => b.size <= 128 && b.connectionIndex === 0)).toBe(true);
    expect(batches.events.length).toBeLessThanOrEqual(16);
  });

  it('opens connectionsPerStore distinct connections and uses them round-robin', async () => {
    expect(await socketsSettle(0)).toBe(0);
    const rpc = client({ connectionsPerStore: 4, maxBatchSize: 1 });
    const batches = collect<RpcBatchEvent>(RPC_BATCH_CHANNEL);
    try {
      await Promise.all(Array.from({ length: 8 }, () => rpc.send(store.address, rawGet('rr'))));
    } finally {
      batches.stop();
    }
    expect(new Set(batches.events.map((b) => b.connectionIndex))).toEqual(new Set([0, 1, 2, 3]));
    // four client sockets (the in-process mock's server sockets are unref'd and not listed)
    expect(tcpSockets()).toBe(4);
  });

  it('fails in-flight requests with a retryable error when the store stops, and re-establishes after it restarts', async () => {
    const rpc = client({ connectionsPerStore: 1 });
    await rpc.send(store.address, rawPut('down', 'v'));
    cluster.setStoreDelay(store.id, 60_000);
    const sent = next<RpcBatchEvent>(RPC_BATCH_CHANNEL);
    const broken = next<RpcStreamEvent>(RPC_STREAM_CHANNEL, (e) => e.event === 'broken');
    const inflight = Array.from({ length: 5 }, () =>
      rpc.send(store.address, rawGet('down')).catch((e: unknown) => e),
    );
    await sent;
    await cluster.stopStore(store.id);
    const errors = await Promise.all(inflight);
    for (const e of errors) {
      expect(e).toBeInstanceOf(RpcError);
      expect(isRetryableError(e)).toBe(true);
      expect((e as RpcError).requestSent).toBe(true);
    }
    expect((await broken).failedRequests).toBe(5);
    cluster.setStoreDelay(store.id, 0);
    await cluster.startStore(store.id);
    // The first request after the restart may still meet the old connection's failure; retry as
    // the region request sender does, under a backoff budget.
    const bo = new Backoffer({ maxBackoffMs: 10_000 });
    const opened = collect<RpcStreamEvent>(RPC_STREAM_CHANNEL);
    try {
      for (;;) {
        try {
          const r = await rpc.send(store.address, rawGet('down'));
          expect(Buffer.from(r.value.value).toString()).toBe('v');
          break;
        } catch (e) {
          if (!isRetryableError(e)) throw e;
          await bo.backoff(BackoffKinds.tikvRPC, e as Error);
        }
      }
    } finally {
      opened.stop();
    }
    expect(opened.events.some((e) => e.event === 'open')).toBe(true);
  });

  it('times out one request without breaking the stream it shares', async () => {
    const rpc = client({ connectionsPerStore: 1 });
    await rpc.send(store.address, rawPut('slow', 'v'));
    const streams = collect<RpcStreamEvent>(RPC_STREAM_CHANNEL);
    try {
      cluster.setStoreDelay(store.id, 30_000);
      const err: unknown = await rpc
        .send(store.address, rawGet('slow'), { timeoutMs: 20 })
        .catch((e: unknown) => e);
      expect(isTiKVError(err, 'DEADLINE_EXCEEDED')).toBe(true);
      cluster.setStoreDelay(store.id, 0);
      const r = await rpc.send(store.address, rawGet('slow'), { timeoutMs: 30_000 });
      expect(Buffer.from(r.value.value).toString()).toBe('v');
    } finally {
      streams.stop();
    }
    expect(streams.events).toHaveLength(0);
  });

  it('aborts one request with the signal reason while the others on the stream complete', async () => {
    const rpc = client({ connectionsPerStore: 1 });
    await rpc.send(store.address, rawPut('ab', 'v'));
    cluster.setStoreDelay(store.id, 50);
    const ac = new AbortController();
    const reason = new Error('caller gave up');
    const sent = next<RpcBatchEvent>(RPC_BATCH_CHANNEL);
    const victim = rpc.send(store.address, rawGet('ab'), { signal: ac.signal }).catch((e: unknown) => e);
    const others = Array.from({ length: 3 }, () => rpc.send(store.address, rawGet('ab')));
    await sent;
    ac.abort(reason);
    expect(await victim).toBe(reason);
    const rs = await Promise.all(others);
    expect(rs.every((r) => Buffer.from(r.value.value).toString() === 'v')).toBe(true);
  });

  it("times out unary calls on the transport's clock, and aborts them", async () => {
    const clock = new ManualClock();
    const rpc = client({ clock });
    cluster.setStoreDelay(store.id, 30_000);
    const req = {
      $case: 'RawGetKeyTTL',
      value: kvrpcpb.RawGetKeyTTLRequest.fromPartial({ context, key: Buffer.from('t') }),
    } as const;
    const pending = rpc.send(store.address, req, { timeoutMs: 5_000 }).catch((e: unknown) => e);
    expect(clock.pendingForegroundSleeps).toBe(1);
    clock.advance(5_000);
    const timedOut: unknown = await pending;
    expect(isTiKVError(timedOut, 'DEADLINE_EXCEEDED')).toBe(true);
    expect(timedOut).toMatchObject({ timeoutMs: 5_000 });
    const ac = new AbortController();
    const p = rpc.send(store.address, req, { signal: ac.signal }).catch((e: unknown) => e);
    ac.abort('stop');
    expect(await p).toBe('stop');
  });

  it('reports a gRPC failure of a unary call as an RpcError with its status', async () => {
    const rpc = client();
    cluster.inject({ method: 'RawChecksum', times: 1, error: { grpcStatus: 14, message: 'injected' } });
    const err: unknown = await rpc
      .send(store.address, {
        $case: 'RawChecksum',
        value: kvrpcpb.RawChecksumRequest.fromPartial({ context }),
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RpcError);
    expect((err as RpcError).grpcCode).toBe(14);
    expect((err as RpcError).retryable).toBe(true);
  });

  it('fails a request that cannot be encoded alone, not retryable, before anything is sent (unary and batched)', async () => {
    const rpc = client();
    const tracing = collect<RpcRequestEvent>(`tracing:${RPC_TRACING_CHANNEL}:start`);
    const streams = collect<RpcStreamEvent>(RPC_STREAM_CHANNEL);
    try {
      // compareAndSwap(key, 5, ...): a number where protobuf wants bytes.
      const cas = {
        $case: 'RawCompareAndSwap',
        value: {
          ...kvrpcpb.RawCASRequest.fromPartial({ context, key: Buffer.from('e') }),
          previousValue: 5,
        },
      } as unknown as TikvRequest;
      const unary: unknown = await rpc.send(store.address, cas).catch((e: unknown) => e);
      expect(unary).toMatchObject({ code: 'INVALID_ARGUMENT', retryable: false });
      expect(unary).not.toBeInstanceOf(RpcError);
      const put = {
        $case: 'RawPut',
        value: { ...kvrpcpb.RawPutRequest.fromPartial({ context, key: Buffer.from('e') }), value: 5 },
      } as unknown as TikvRequest;
      const batched: unknown = await rpc.send(store.address, put).catch((e: unknown) => e);
      expect(batched).toMatchObject({ code: 'INVALID_ARGUMENT', retryable: false });
      // The store and its connections are untouched.
      const ok = await rpc.send(store.address, rawPut('e', 'fine'));
      expect(ok.value.error).toBe('');
    } finally {
      tracing.stop();
      streams.stop();
    }
    expect(streams.events.filter((e) => e.event === 'broken')).toEqual([]);
  });

  it('sends everything unary when batching is disabled (maxBatchSize 0)', async () => {
    const rpc = client({ maxBatchSize: 0 });
    const batches = collect<RpcBatchEvent>(RPC_BATCH_CHANNEL);
    try {
      await rpc.send(store.address, rawPut('u', '1'));
      const r = await rpc.send(store.address, rawGet('u'));
      expect(Buffer.from(r.value.value).toString()).toBe('1');
      await expect(
        rpc.send(store.address, { $case: 'Empty', value: { testId: 1n, delayTime: 0n } }),
      ).rejects.toMatchObject({
        code: 'NOT_SUPPORTED',
      });
    } finally {
      batches.stop();
    }
    expect(batches.events).toHaveLength(0);
  });

  it('runs interceptors around every request, outermost first, plus a per-request one', async () => {
    const log: string[] = [];
    const named = (name: string) =>
      rpcInterceptor(name, (nextCall) => async (address, request, options) => {
        log.push(`${name}>`);
        try {
          return await nextCall(address, request, options);
        } finally {
          log.push(`<${name}`);
        }
      });
    const rpc = client({ interceptors: [named('a'), named('b')] });
    await rpc.send(store.address, rawGet('i'), { interceptor: named('req') });
    expect(log).toEqual(['a>', 'b>', 'req>', '<req', '<b', '<a']);
    // an interceptor may answer without calling next
    const short = rpcInterceptor('short', () => async () => ({
      $case: 'RawGet',
      value: kvrpcpb.RawGetResponse.fromPartial({ notFound: true }),
    }));
    const r = await rpc.send('unreachable:1', rawGet('i'), { interceptor: short });
    expect(r.value.notFound).toBe(true);
  });

  it('publishes request tracing and reports latency metrics', async () => {
    const observed: string[] = [];
    const metrics: MetricsHook = {
      incCounter: () => {},
      setGauge: () => {},
      observeHistogram: (name) => {
        observed.push(name);
      },
    };
    const rpc = client({ metrics });
    const ends = collect<RpcRequestEvent>(`tracing:${RPC_TRACING_CHANNEL}:asyncEnd`);
    try {
      await rpc.send(store.address, rawGet('m'));
    } finally {
      ends.stop();
    }
    expect(ends.events[0]?.result).toMatchObject({ $case: 'RawGet' });
    expect(observed).toContain('tikv_client_request_seconds');
    expect(observed).toContain('tikv_client_batch_requests');
  });

  it('closeAddress fails outstanding requests retryably and reconnects on the next request', async () => {
    const rpc = client();
    await rpc.send(store.address, rawPut('ca', 'v'));
    cluster.setStoreDelay(store.id, 30_000);
    const sent = next<RpcBatchEvent>(RPC_BATCH_CHANNEL);
    const pending = rpc.send(store.address, rawGet('ca')).catch((e: unknown) => e);
    await sent;
    const closedEvent = next<RpcConnectionEvent>(RPC_CONNECTION_CHANNEL, (e) => e.event === 'close');
    await rpc.closeAddress(store.address);
    expect(await closedEvent).toMatchObject({ reason: 'close-address', connections: 4 });
    const err = await pending;
    expect(isRetryableError(err)).toBe(true);
    expect(rpc.addresses()).toEqual([]);
    cluster.setStoreDelay(store.id, 0);
    const r = await rpc.send(store.address, rawGet('ca'));
    expect(Buffer.from(r.value.value).toString()).toBe('v');
    expect(rpc.addresses()).toEqual([store.address]);
  });

  it("closes idle connections after idleTimeoutMs, swept on the transport's clock", async () => {
    const clock = new ManualClock();
    const rpc = client({ idleTimeoutMs: 120_000, clock });
    const closed = collect<RpcConnectionEvent>(RPC_CONNECTION_CHANNEL);
    try {
      await rpc.send(store.address, rawGet('idle'));
      // The sweep runs every min(idleTimeoutMs, 60 s) in the background (nobody awaits it).
      expect(clock.pendingSleeps).toBe(1);
      expect(clock.pendingForegroundSleeps).toBe(0);
      clock.advance(60_000);
      expect(rpc.addresses()).toEqual([store.address]);
      clock.advance(60_000);
      expect(rpc.addresses()).toEqual([]);
      expect(closed.events.filter((e) => e.event === 'close')).toMatchObject([
        { address: store.address, reason: 'idle' },
      ]);
      // With no pool left, no sweep is pending.
      expect(clock.pendingSleeps).toBe(0);
    } finally {
      closed.stop();
    }
  });

  it('close fails outstanding requests with ClientClosedError and leaves no open handles', async () => {
    expect(await socketsSettle(0)).toBe(0);
    const rpc = new RpcClient();
    await rpc.send(store.address, rawPut('c', 'v'));
    cluster.setStoreDelay(store.id, 30_000);
    const sent = next<RpcBatchEvent>(RPC_BATCH_CHANNEL);
    const pending = rpc.send(store.address, rawGet('c')).catch((e: unknown) => e);
    const unary = rpc
      .send(store.address, {
        $case: 'RawGetKeyTTL',
        value: kvrpcpb.RawGetKeyTTLRequest.fromPartial({ context }),
      })
      .catch((e: unknown) => e);
    await sent;
    await rpc.close();
    await rpc.close();
    expect(rpc.closed).toBe(true);
    expect(isTiKVError(await pending, 'CLIENT_CLOSED')).toBe(true);
    expect(isTiKVError(await unary, 'CLIENT_CLOSED')).toBe(true);
    await expect(rpc.send(store.address, rawGet('c'))).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(await socketsSettle(0)).toBe(0);
  });
});

describe('RpcClient: stores that restart, addresses nobody listens on (client-go client_test.go)', () => {
  let cluster: MockCluster;
  afterEach(async () => {
    await cluster?.close();
  });

  it('TestRandomRestartStoreAndForwarding: direct and forwarded requests through stores that keep restarting fail only retryably, and leave no slot taken', async () => {
    cluster = await MockCluster.start({ stores: 2 });
    const [s1, s2] = cluster.stores().map((x) => ({ id: x.id, address: x.address })) as [
      { id: bigint; address: string },
      { id: bigint; address: string },
    ];
    const region = cluster.regions()[0]!;
    const leaderOn = region.leader.storeId;
    const ctxFor = kvrpcpb.Context.fromPartial({
      regionId: region.id,
      regionEpoch: region.epoch,
      peer: { id: region.leader.id, storeId: leaderOn },
    });
    const get = {
      $case: 'RawGet',
      value: kvrpcpb.RawGetRequest.fromPartial({ context: ctxFor, key: Buffer.from('k') }),
    } as const;
    const leaderAddr = leaderOn === s1.id ? s1.address : s2.address;
    const proxyAddr = leaderOn === s1.id ? s2.address : s1.address;
    // A small concurrency limit: a slot that a failure leaked would stall the requests after.
    const rpc = new RpcClient({ connectionsPerStore: 1, maxConcurrentRequests: 16 });
    try {
      let running = true;
      const unexpected: unknown[] = [];
      const worker = async (w: number): Promise<void> => {
        for (let i = 0; running || i < 10; i++) {
          // Odd requests go through the other store, forwarded to the leader's.
          const forwarded = (w + i) % 2 === 1;
          try {
            await rpc.send(forwarded ? proxyAddr : leaderAddr, get, {
              timeoutMs: 5_000,
              ...(forwarded ? { forwardedHost: leaderAddr } : {}),
            });
          } catch (e) {
            if (!(isRetryableError(e) || isTiKVError(e, 'DEADLINE_EXCEEDED'))) unexpected.push(e);
          }
          if (i >= 40) break;
        }
      };
      const workers = Array.from({ length: 50 }, (_, w) => worker(w));
      // Restart the stores while the requests run, mostly the one the requests go to.
      for (const id of [s1.id, s1.id, s2.id, s1.id, s2.id, s1.id]) {
        await new Promise((r) => setImmediate(r));
        await cluster.stopStore(id);
        await new Promise((r) => setImmediate(r));
        await cluster.startStore(id);
      }
      running = false;
      await Promise.all(workers);
      expect(unexpected).toEqual([]);
      // Both paths work again, and 16 requests at once are not held back by leaked slots.
      const bo = new Backoffer({ maxBackoffMs: 10_000 });
      for (const forwarded of [false, true]) {
        for (;;) {
          try {
            const all = await Promise.all(
              Array.from({ length: 16 }, () =>
                rpc.send(forwarded ? proxyAddr : leaderAddr, get, {
                  timeoutMs: 5_000,
                  ...(forwarded ? { forwardedHost: leaderAddr } : {}),
                }),
              ),
            );
            expect(all.every((r) => r.value.regionError === undefined)).toBe(true);
            break;
          } catch (e) {
            if (!isRetryableError(e)) throw e;
            await bo.backoff(BackoffKinds.tikvRPC, e as Error);
          }
        }
      }
    } finally {
      await rpc.close();
    }
  });

  it('TestFastFailRequest: a request to an address nobody listens on fails at once with a connection error, not at its timeout', async () => {
    // A loopback port that was just free: bind, read it, release.
    const { createServer } = await import('node:net');
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => resolve(p));
      });
    });
    const rpc = new RpcClient({ connectionsPerStore: 1 });
    try {
      for (const maxBatchSize of [undefined, 0]) {
        const c = maxBatchSize === undefined ? rpc : new RpcClient({ maxBatchSize });
        try {
          const e = await c
            .send(
              `127.0.0.1:${port}`,
              { $case: 'RawGet', value: kvrpcpb.RawGetRequest.fromPartial({ key: Buffer.from('k') }) },
              { timeoutMs: 20_000 },
            )
            .catch((x: unknown) => x);
          expect(e).toBeInstanceOf(RpcError);
          expect(isTiKVError(e, 'DEADLINE_EXCEEDED')).toBe(false);
          expect(isRetryableError(e)).toBe(true);
          expect((e as RpcError).grpcCode).toBe(14);
        } finally {
          if (c !== rpc) await c.close();
        }
      }
    } finally {
      await rpc.close();
    }
  });

  it('TestErrConn: a transport error names the address and keeps the gRPC status as its cause', async () => {
    const { rpcErrorFrom } = await import('../src/rpc-error.js');
    const status = Object.assign(new Error('14 UNAVAILABLE: conn error'), {
      code: 14,
      details: 'conn error',
    });
    const e = rpcErrorFrom(status, '127.0.0.1:20160', 'RawGet', false);
    expect(e).toBeInstanceOf(RpcError);
    expect(isTiKVError(e, 'RPC_ERROR')).toBe(true);
    expect(e.address).toBe('127.0.0.1:20160');
    expect(e.grpcCode).toBe(14);
    expect(e.requestSent).toBe(false);
    expect(e.cause).toBe(status);
    expect(e.message).toContain('127.0.0.1:20160');
    expect(e.message).toContain('conn error');
    // Two errors for the same address are still two errors; a wrapper keeps it as its cause.
    const again = rpcErrorFrom(status, '127.0.0.1:20160', 'RawGet', false);
    expect(again).not.toBe(e);
    const wrapped = new Error('outer', { cause: e });
    expect(wrapped.cause).toBeInstanceOf(RpcError);
    expect(isTiKVError(new Error('not a conn error'), 'RPC_ERROR')).toBe(false);
  });
});

describe('RpcClient against a store with a receive limit (oversized batches, issue 10)', () => {
  const LIMIT = 1024 * 1024;
  let cluster: MockCluster;
  let address: string;
  let context: kvrpcpb.Context;
  const rpcs: RpcClient[] = [];

  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 1, maxReceiveMessageBytes: LIMIT });
    const s = cluster.stores()[0];
    const region = cluster.regions()[0];
    if (s === undefined || region === undefined) throw new Error('no store');
    address = s.address;
    context = kvrpcpb.Context.fromPartial({
      regionId: region.id,
      regionEpoch: region.epoch,
      peer: { id: region.leader.id, storeId: s.id },
    });
  });
  afterEach(async () => {
    for (const c of rpcs.splice(0)) await c.close();
  });
  afterAll(async () => {
    await cluster.close();
  });

  const put = (key: string, bytes: number) =>
    ({
      $case: 'RawPut',
      value: kvrpcpb.RawPutRequest.fromPartial({
        context,
        key: Buffer.from(key),
        value: Buffer.alloc(bytes, 7),
      }),
    }) as const;

  async function putAll(options: TransportOptions, n: number, bytes: number) {
    const rpc = new RpcClient(options);
    rpcs.push(rpc);
    const streams = collect<RpcStreamEvent>(RPC_STREAM_CHANNEL);
    const batches = collect<RpcBatchEvent>(RPC_BATCH_CHANNEL);
    try {
      const results = await Promise.allSettled(
        Array.from({ length: n }, (_, i) => rpc.send(address, put(`big${i}`, bytes))),
      );
      return { results, broken: streams.events.filter((e) => e.event === 'broken'), batches: batches.events };
    } finally {
      streams.stop();
      batches.stop();
    }
  }

  it('the limit is real: eight 200 KiB puts packed in one message break the stream', async () => {
    const { results, broken } = await putAll({ maxBatchBytes: 64 * 1024 * 1024 }, 8, 200 * 1024);
    expect(broken).toHaveLength(1);
    expect(results.every((r) => r.status === 'rejected')).toBe(true);
  });

  it('maxBatchBytes keeps every message under the limit, so the same puts all succeed', async () => {
    const { results, broken, batches } = await putAll({ maxBatchBytes: 256 * 1024 }, 8, 200 * 1024);
    expect(results.map((r) => r.status)).toEqual(Array(8).fill('fulfilled'));
    expect(broken).toEqual([]);
    expect(batches.map((b) => b.size)).toEqual(Array(8).fill(1));
  });

  it('a request too large by itself fails alone with a MessageTooLargeError, not retryable; the stream is untouched', async () => {
    const rpc = new RpcClient({ maxBatchBytes: 256 * 1024 });
    rpcs.push(rpc);
    const streams = collect<RpcStreamEvent>(RPC_STREAM_CHANNEL);
    try {
      const small = Array.from({ length: 20 }, (_, i) => rpc.send(address, put(`s${i}`, 10)));
      const big: unknown = await rpc.send(address, put('huge', 2 * LIMIT)).catch((e: unknown) => e);
      expect(big).toBeInstanceOf(MessageTooLargeError);
      expect(big).toMatchObject({ code: 'RPC_ERROR', retryable: false, grpcCode: 8, command: 'RawPut' });
      expect((big as MessageTooLargeError).requestBytes).toBeGreaterThan(2 * LIMIT);
      expect(isRetryableError(big)).toBe(false);
      for (const r of await Promise.all(small)) expect(r.value.error).toBe('');
    } finally {
      streams.stop();
    }
    expect(streams.events.filter((e) => e.event === 'broken')).toEqual([]);
  });
});
