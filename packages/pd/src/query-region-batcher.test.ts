import { ManualClock, RpcError } from '@tikv/common';
import { pdpb } from '@tikv/proto';
import { ClientError, Status } from 'nice-grpc';
import {
  QueryRegionBatcher,
  type QueryRegionStream,
  type QueryRegionStreamProvider,
  type RegionQuery,
} from './query-region-batcher.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A `QueryRegion` stream whose requests wait until the test answers them. */
class FakeStream implements QueryRegionStream {
  readonly url = 'http://pd-1';
  broken = false;
  closedWith: unknown;
  readonly requests: pdpb.QueryRegionRequest[] = [];
  readonly #waiting: {
    resolve(r: pdpb.QueryRegionResponse): void;
    reject(e: unknown): void;
  }[] = [];

  request(req: pdpb.QueryRegionRequest): Promise<pdpb.QueryRegionResponse> {
    this.requests.push(req);
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  answer(resp: Partial<pdpb.QueryRegionResponse>): void {
    this.#waiting.shift()?.resolve(pdpb.QueryRegionResponse.fromPartial({ ...resp }));
  }

  failNext(e: unknown): void {
    this.#waiting.shift()?.reject(e);
  }

  close(reason?: unknown): void {
    this.broken = true;
    this.closedWith = reason;
    for (const w of this.#waiting.splice(0)) w.reject(reason);
  }
}

function region(id: bigint): pdpb.RegionResponse {
  return pdpb.RegionResponse.fromPartial({
    region: { id, startKey: new Uint8Array(), endKey: new Uint8Array() },
  });
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup() {
  const streams: FakeStream[] = [];
  const failures: unknown[] = [];
  const provider: QueryRegionStreamProvider = {
    connect: () => {
      const s = new FakeStream();
      streams.push(s);
      return Promise.resolve(s);
    },
    onStreamFailure: (e) => failures.push(e),
    header: () => pdpb.RequestHeader.fromPartial({ clusterId: 7n }),
  };
  const clock = new ManualClock();
  const batcher = new QueryRegionBatcher(provider, { clock, rpcTimeoutMs: 300 });
  return { streams, failures, clock, batcher };
}

const byKey = (k: string): RegionQuery => ({ kind: 'key', key: enc(k), needBuckets: false });
const byPrev = (k: string): RegionQuery => ({ kind: 'prevKey', key: enc(k), needBuckets: false });
const byId = (id: bigint): RegionQuery => ({ kind: 'id', id, needBuckets: true });

describe('QueryRegionBatcher (PD router client batching)', () => {
  test('lookups of one turn go out as one request and each gets its region', async () => {
    const { streams, batcher, clock } = setup();
    const a = batcher.query(byKey('a'));
    const p = batcher.query(byPrev('m'));
    const i = batcher.query(byId(9n));
    const none = batcher.query(byKey('zz'));
    await turn();
    const s = streams[0] as FakeStream;
    expect(s.requests).toHaveLength(1);
    const req = s.requests[0] as pdpb.QueryRegionRequest;
    expect(req.header?.clusterId).toBe(7n);
    expect(req.keys).toEqual([enc('a'), enc('zz')]);
    expect(req.prevKeys).toEqual([enc('m')]);
    expect(req.ids).toEqual([9n]);
    expect(req.needBuckets).toBe(true);
    s.answer({
      keyIdMap: [2n, 0n],
      prevKeyIdMap: [3n],
      regionsById: new Map([
        [2n, region(2n)],
        [3n, region(3n)],
        [9n, region(9n)],
      ]),
    });
    expect((await a)?.region?.id).toBe(2n);
    expect((await p)?.region?.id).toBe(3n);
    expect((await i)?.region?.id).toBe(9n);
    expect(await none).toBeUndefined();
    expect(batcher.requestCount).toBe(1);
    expect(clock.pendingSleeps).toBe(0);
    batcher.close();
  });

  test('lookups arriving while a request is in flight are merged into the next one', async () => {
    const { streams, batcher } = setup();
    const first = batcher.query(byId(1n));
    await turn();
    const later = [batcher.query(byId(2n)), batcher.query(byId(3n))];
    await turn();
    const s = streams[0] as FakeStream;
    expect(s.requests).toHaveLength(1);
    s.answer({ regionsById: new Map([[1n, region(1n)]]) });
    await first;
    await turn();
    expect(s.requests).toHaveLength(2);
    expect(s.requests[1]?.ids).toEqual([2n, 3n]);
    s.answer({ regionsById: new Map([[2n, region(2n)]]) });
    expect((await later[0])?.region?.id).toBe(2n);
    expect(await later[1]).toBeUndefined();
    batcher.close();
  });

  test('an aborted lookup rejects with its reason and is left out of the batch', async () => {
    const { streams, batcher } = setup();
    const ac = new AbortController();
    const gone = batcher.query(byId(1n), { signal: ac.signal });
    const kept = batcher.query(byId(2n));
    ac.abort('not needed');
    await expect(gone).rejects.toBe('not needed');
    await expect(batcher.query(byId(3n), { signal: ac.signal })).rejects.toBe('not needed');
    await turn();
    expect(streams[0]?.requests[0]?.ids).toEqual([2n]);
    streams[0]?.answer({ regionsById: new Map([[2n, region(2n)]]) });
    expect((await kept)?.region?.id).toBe(2n);
    batcher.close();
  });

  test('a request without an answer by rpcTimeoutMs (on the clock) fails retryably and breaks the stream', async () => {
    const { streams, failures, batcher, clock } = setup();
    const p = batcher.query(byId(1n)).catch((e: unknown) => e);
    await turn();
    clock.advance(299);
    expect(streams[0]?.broken).toBe(false);
    clock.advance(1);
    const err = await p;
    expect(err).toBeInstanceOf(RpcError);
    expect(err).toMatchObject({ retryable: true, address: 'http://pd-1', command: 'QueryRegion' });
    expect((err as Error).message).toBe('QueryRegion request timed out after 300 ms on http://pd-1');
    expect(streams[0]?.broken).toBe(true);
    expect(failures).toEqual([err]);
    const next = batcher.query(byId(2n));
    await turn();
    expect(streams).toHaveLength(2);
    streams[1]?.answer({ regionsById: new Map([[2n, region(2n)]]) });
    expect((await next)?.region?.id).toBe(2n);
    expect(clock.pendingSleeps).toBe(0);
    batcher.close();
  });

  test('UNIMPLEMENTED marks the batcher unsupported without reporting a stream failure', async () => {
    const { streams, failures, batcher } = setup();
    const p = batcher.query(byId(1n)).catch((e: unknown) => e);
    await turn();
    streams[0]?.failNext(new ClientError('/pdpb.PD/QueryRegion', Status.UNIMPLEMENTED, 'unknown method'));
    const err = await p;
    expect(err).toBeInstanceOf(ClientError);
    expect(batcher.unsupported).toBe(true);
    expect(failures).toEqual([]);
    batcher.close();
  });

  test('a transport failure is wrapped as a retryable RPC_ERROR and reported', async () => {
    const { streams, failures, batcher } = setup();
    const p = batcher.query(byId(1n)).catch((e: unknown) => e);
    await turn();
    streams[0]?.failNext(new Error('connection reset'));
    const err = await p;
    expect(err).toBeInstanceOf(RpcError);
    expect(err).toMatchObject({ retryable: true, address: 'http://pd-1', requestSent: true });
    expect((err as Error).message).toBe('QueryRegion failed: connection reset');
    expect(failures).toEqual([err]);
    expect(batcher.unsupported).toBe(false);
    batcher.close();
  });

  test('close rejects queued and in-flight lookups and later ones with CLIENT_CLOSED', async () => {
    const { batcher, streams } = setup();
    const inflight = batcher.query(byId(1n));
    await turn();
    const queued = batcher.query(byId(2n));
    batcher.close();
    batcher.close();
    await expect(inflight).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    await expect(queued).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    await expect(batcher.query(byId(3n))).rejects.toMatchObject({ code: 'CLIENT_CLOSED' });
    expect(streams[0]?.broken).toBe(true);
  });

  test('rejects a batch size below 1', () => {
    const { streams } = setup();
    const provider: QueryRegionStreamProvider = {
      connect: () => Promise.reject(new Error('unused')),
      header: () => pdpb.RequestHeader.fromPartial({}),
    };
    expect(() => new QueryRegionBatcher(provider, { maxBatchSize: 0 })).toThrow('maxBatchSize must be >= 1');
    expect(streams).toHaveLength(0);
  });
});
