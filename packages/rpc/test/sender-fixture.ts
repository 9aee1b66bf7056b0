import { Backoffer, toBytes as b, ManualClock } from '@tikv/common';
import { errorpb, kvrpcpb } from '@tikv/proto';
import { RegionCache, type RegionCacheOptions, type RegionVerId } from '@tikv/region-cache';
import { FakeCluster } from '@tikv/testing';
import type { SendOptions } from '../src/interceptor.js';
import type { KvTransport } from '../src/kv-transport.js';
import { RegionRequestSender, type RegionRequestSenderOptions } from '../src/region-request-sender.js';
import type { ResponseFor, TikvRequest, TikvResponse } from '../src/tikv-commands.js';

/** One request the fake transport saw. */
export interface SentRequest {
  readonly addr: string;
  readonly request: TikvRequest;
  readonly context: kvrpcpb.Context;
  readonly options: SendOptions | undefined;
}

/** Answers a request: a response value, a region error, or a thrown error. */
export type Handler = (sent: SentRequest, index: number) => Promise<TikvResponse> | TikvResponse;

/** A transport whose answers the test scripts. */
export class FakeTransport implements KvTransport {
  readonly sent: SentRequest[] = [];
  readonly closedAddresses: string[] = [];
  handler: Handler = (s) => okResponse(s.request);

  async send<R extends TikvRequest>(
    addr: string,
    request: R,
    options?: SendOptions,
  ): Promise<ResponseFor<R>> {
    const context = (request.value as { context: kvrpcpb.Context }).context;
    const sent = { addr, request, context, options };
    this.sent.push(sent);
    return (await this.handler(sent, this.sent.length - 1)) as ResponseFor<R>;
  }
  async closeAddress(address: string): Promise<void> {
    this.closedAddresses.push(address);
  }
  async close(): Promise<void> {}
}

/** A successful response of the request's type. */
export function okResponse(request: TikvRequest): TikvResponse {
  if (request.$case === 'Get')
    return { $case: 'Get', value: kvrpcpb.GetResponse.fromPartial({ value: b('v') }) };
  return { $case: 'RawGet', value: kvrpcpb.RawGetResponse.fromPartial({ value: b('v') }) };
}

/** A response carrying a region error. */
export function regionErrorResponse(
  request: TikvRequest,
  error: errorpb.DeepPartial<errorpb.Error>,
): TikvResponse {
  const regionError = errorpb.Error.fromPartial(error);
  if (request.$case === 'Get')
    return { $case: 'Get', value: kvrpcpb.GetResponse.fromPartial({ regionError }) };
  return { $case: 'RawGet', value: kvrpcpb.RawGetResponse.fromPartial({ regionError }) };
}

/** client-go's three-store suite: one region, peers on stores 1..3, the first leads. */
export interface Fixture {
  cluster: FakeCluster;
  cache: RegionCache;
  clock: ManualClock;
  transport: FakeTransport;
  sender: RegionRequestSender;
  storeIds: bigint[];
  peerIds: bigint[];
  regionId: bigint;
  region(): Promise<RegionVerId>;
  backoffer(maxBackoffMs?: number): Backoffer;
  addr(storeId: bigint): string;
  rawGet(key?: string): { $case: 'RawGet'; value: kvrpcpb.RawGetRequest };
  get(key?: string): { $case: 'Get'; value: kvrpcpb.GetRequest };
  close(): Promise<void>;
}

/** Builds the fixture; time is a ManualClock that jumps on every sleep. */
export function setupFixture(
  stores = 3,
  options: Partial<RegionRequestSenderOptions> = {},
  cacheOptions: Partial<RegionCacheOptions> = {},
): Fixture {
  const cluster = new FakeCluster();
  const { storeIds, peerIds, regionId } = cluster.bootstrap(stores);
  const clock = new ManualClock({ startMs: 1_000_000, autoAdvance: true });
  const cache = new RegionCache(cluster, {
    clock,
    backgroundTasks: false,
    regionCacheTtlJitterMs: 0,
    ...cacheOptions,
  });
  const transport = new FakeTransport();
  const sender = new RegionRequestSender({ locator: cache, transport, clock, random: () => 0, ...options });
  return {
    cluster,
    cache,
    clock,
    transport,
    sender,
    storeIds,
    peerIds,
    regionId,
    async region() {
      return (await cache.locateKey(b('a'))).region;
    },
    backoffer: (maxBackoffMs = 20_000) => new Backoffer({ clock, maxBackoffMs, random: () => 0.5 }),
    addr: (id) => `store${id}`,
    rawGet: (key = 'a') => ({ $case: 'RawGet', value: kvrpcpb.RawGetRequest.fromPartial({ key: b(key) }) }),
    get: (key = 'a') => ({
      $case: 'Get',
      value: kvrpcpb.GetRequest.fromPartial({ key: b(key), version: 10n }),
    }),
    close: () => cache.close(),
  };
}
