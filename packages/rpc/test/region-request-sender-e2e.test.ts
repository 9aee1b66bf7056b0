// The sender end to end against @tikv/mock-cluster (real gRPC on loopback): PdClient feeds the
// region cache, RpcClient carries the requests.
import diagnostics from 'node:diagnostics_channel';
import {
  BACKOFF_CHANNEL,
  Backoffer,
  isTiKVError,
  ManualClock,
  mayBackoffForRegionError,
  RegionError,
  regionErrorFromWire,
} from '@tikv/common';
import type { MockCluster } from '@tikv/mock-cluster';
import { kvrpcpb } from '@tikv/proto';
import { locateBucket, type RegionCache } from '@tikv/region-cache';
import {
  type RegionRequestOptions,
  RegionRequestSender,
  RPC_RETRY_CHANNEL,
  type RpcClient,
  type TikvRequest,
} from '../src/index.js';
import { type MockStack, startMockStack } from './mock-stack.js';

jest.setTimeout(30_000);

const b = (s: string): Uint8Array => new TextEncoder().encode(s);

let stack: MockStack;
let cluster: MockCluster;
let cache: RegionCache;
let rpc: RpcClient;
let sender: RegionRequestSender;

beforeEach(async () => {
  stack = await startMockStack();
  ({ cluster, cache, rpc, sender } = stack);
});

afterEach(async () => {
  await stack.close();
});

/** What @tikv/raw does: locate, send, and on a returned region error back off, re-locate, retry. */
async function rawGet(
  key: string,
  bo = new Backoffer(),
  options: RegionRequestOptions = {},
): Promise<Uint8Array | undefined> {
  for (;;) {
    const loc = await cache.locateKey(b(key));
    const res = await sender.sendRequest(
      bo,
      { $case: 'RawGet', value: kvrpcpb.RawGetRequest.fromPartial({ key: b(key) }) },
      loc.region,
      options,
    );
    if (res.value.regionError !== undefined) {
      await mayBackoffForRegionError(regionErrorFromWire(res.value.regionError), bo);
      continue;
    }
    return res.value.notFound ? undefined : res.value.value;
  }
}

async function rawPut(key: string, value: string, bo = new Backoffer()): Promise<void> {
  for (;;) {
    const loc = await cache.locateKey(b(key));
    const res = await sender.sendRequest(
      bo,
      { $case: 'RawPut', value: kvrpcpb.RawPutRequest.fromPartial({ key: b(key), value: b(value) }) },
      loc.region,
    );
    if (res.value.regionError !== undefined) {
      await mayBackoffForRegionError(regionErrorFromWire(res.value.regionError), bo);
      continue;
    }
    expect(res.value.error).toBe('');
    return;
  }
}

const regionOf = (key: string) => cluster.regionByKey(b(key));
const otherStore = (storeId: bigint): bigint => cluster.stores().find((s) => s.id !== storeId)?.id as bigint;

it('writes and reads through the leader', async () => {
  await rawPut('k1', 'v1');
  expect(await rawGet('k1')).toEqual(b('v1'));
  expect(await rawGet('nope')).toBeUndefined();
});

it('follows a split: the stale region answers EpochNotMatch and the caller re-locates', async () => {
  await rawPut('k1', 'v1');
  await rawPut('k5', 'v5');
  cluster.split(b('k3'));
  expect(await rawGet('k5')).toEqual(b('v5'));
  expect(await rawGet('k1')).toEqual(b('v1'));
  const loc = await cache.locateKey(b('k5'));
  expect(loc.startKey).toEqual(b('k3'));
});

it('follows a merge', async () => {
  cluster.split(b('k3'));
  await rawPut('k1', 'v1');
  await rawPut('k5', 'v5');
  cluster.merge(regionOf('k1').id, regionOf('k5').id);
  expect(await rawGet('k5')).toEqual(b('v5'));
  expect(await rawGet('k1')).toEqual(b('v1'));
});

it('follows a leader transfer under load (NotLeader with a hint)', async () => {
  await rawPut('k1', 'v1');
  const region = regionOf('k1');
  const next = otherStore(region.leader.storeId);
  const reads = Array.from({ length: 20 }, () => rawGet('k1'));
  cluster.transferLeader(region.id, next);
  for (const v of await Promise.all(reads)) expect(v).toEqual(b('v1'));
  expect(await rawGet('k1')).toEqual(b('v1'));
  const ctx = await cache.getRpcContext((await cache.locateKey(b('k1'))).region);
  expect(ctx?.store.id).toBe(next);
});

it('fails over from a stopped store', async () => {
  await rawPut('k1', 'v1');
  const region = regionOf('k1');
  const old = region.leader.storeId;
  await rawGet('k1');
  await cluster.stopStore(old);
  cluster.transferLeader(region.id, otherStore(old));
  expect(await rawGet('k1')).toEqual(b('v1'));
  await cluster.startStore(old);
});

it('retries injected ServerIsBusy and StaleCommand, and stops on RaftEntryTooLarge', async () => {
  await rawPut('k1', 'v1');
  cluster.inject({ method: 'RawGet', times: 2, error: 'ServerIsBusy' });
  cluster.inject({ method: 'RawGet', times: 1, error: 'StaleCommand' });
  expect(await rawGet('k1')).toEqual(b('v1'));
  cluster.inject({ method: 'RawGet', times: 1, error: 'RaftEntryTooLarge' });
  await expect(rawGet('k1')).rejects.toBeInstanceOf(RegionError);
});

it.each([
  'NotLeader',
  'RegionNotFound',
  'KeyNotInRegion',
  'EpochNotMatch',
  'MaxTimestampNotSynced',
  'ReadIndexNotReady',
  'ProposalInMergingMode',
  'RegionNotInitialized',
  'DiskFull',
  'StoreNotMatch',
  'MismatchPeerId',
] as const)('recovers from an injected %s', async (kind) => {
  await rawPut('k1', 'v1');
  cluster.inject({ method: 'RawGet', times: 1, error: kind });
  expect(await rawGet('k1')).toEqual(b('v1'));
});

it('gives up when the budget runs out', async () => {
  cluster.inject({ method: 'RawGet', times: Number.POSITIVE_INFINITY, error: 'MaxTimestampNotSynced' });
  const e = await rawGet('k1', new Backoffer({ maxBackoffMs: 20 })).catch((x: unknown) => x);
  expect(isTiKVError(e, 'BACKOFF_EXCEEDED')).toBe(true);
});

it('serves follower reads', async () => {
  await rawPut('k1', 'v1');
  expect(await rawGet('k1', new Backoffer(), { replicaRead: 'follower' })).toEqual(b('v1'));
});

it('a slow leader with a short read timeout fails over to a follower', async () => {
  await rawPut('k1', 'v1');
  cluster.setStoreDelay(regionOf('k1').leader.storeId, 2_000);
  const started = Date.now();
  expect(await rawGet('k1', new Backoffer(), { rpcTimeoutMs: 200, maxExecutionDurationMs: 200 })).toEqual(
    b('v1'),
  );
  expect(Date.now() - started).toBeLessThan(2_000);
  cluster.setStoreDelay(regionOf('k1').leader.storeId, 0);
});

it('survives BatchCommands streams broken mid-flight', async () => {
  await rawPut('k1', 'v1');
  const leader = regionOf('k1').leader.storeId;
  const reads = Array.from({ length: 10 }, () => rawGet('k1'));
  await cluster.stopStore(leader);
  cluster.transferLeader(regionOf('k1').id, otherStore(leader));
  for (const v of await Promise.all(reads)) expect(v).toEqual(b('v1'));
  await cluster.startStore(leader);
});

it('rejects with the abort reason', async () => {
  const ac = new AbortController();
  const reason = new Error('stop');
  ac.abort(reason);
  await expect(rawGet('k1', new Backoffer(), { signal: ac.signal })).rejects.toBe(reason);
});

it('TestNoReloadRegionForGrpcWhenCtxCanceled: a gRPC request aborted before or while in flight keeps the region and the store', async () => {
  await rawPut('k1', 'v1');
  const loc = await cache.locateKey(b('k1'));
  const store = (await cache.getRpcContext(loc.region))!.store;
  const epoch = store.epoch;
  const put = {
    $case: 'RawPut',
    value: kvrpcpb.RawPutRequest.fromPartial({ key: b('k1'), value: b('v2') }),
  } as const;
  const reason = new Error('canceled');
  const before = new AbortController();
  before.abort(reason);
  await expect(sender.sendRequest(new Backoffer(), put, loc.region, { signal: before.signal })).rejects.toBe(
    reason,
  );
  // In flight: the store holds the request until the abort.
  cluster.setStoreDelay(store.id, 5_000);
  const during = new AbortController();
  const pending = sender.sendRequest(new Backoffer(), put, loc.region, { signal: during.signal });
  during.abort(reason);
  await expect(pending).rejects.toBe(reason);
  cluster.setStoreDelay(store.id, 0);
  expect(cache.getCachedRegion(loc.region)?.invalidReason).toBe('ok');
  expect(store.epoch).toBe(epoch);
  expect(store.liveness).toBe('reachable');
});

it('does not retry a request that cannot be encoded, and leaves the store healthy (issue 10)', async () => {
  await rawPut('k1', 'v1');
  const events: unknown[] = [];
  const record = (m: unknown): void => {
    events.push(m);
  };
  diagnostics.subscribe(BACKOFF_CHANNEL, record);
  diagnostics.subscribe(RPC_RETRY_CHANNEL, record);
  try {
    const loc = await cache.locateKey(b('k1'));
    const bo = new Backoffer({ maxBackoffMs: 2_000 });
    // compareAndSwap(key, 5, ...): a number where protobuf wants bytes.
    const cas = {
      $case: 'RawCompareAndSwap',
      value: { ...kvrpcpb.RawCASRequest.fromPartial({ key: b('k1'), value: b('v2') }), previousValue: 5 },
    } as unknown as TikvRequest;
    const e = await sender.sendRequest(bo, cas, loc.region).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'INVALID_ARGUMENT', retryable: false });
    expect(bo.totalBackoffTimes).toBe(0);
    expect(await rawGet('k1')).toEqual(b('v1'));
  } finally {
    diagnostics.unsubscribe(BACKOFF_CHANNEL, record);
    diagnostics.unsubscribe(RPC_RETRY_CHANNEL, record);
  }
  expect(events).toEqual([]);
});

it("a call's own timeoutMs leaves no timer pending once it settles (issue 10)", async () => {
  await rawPut('k1', 'v1');
  const clock = new ManualClock();
  const timed = new RegionRequestSender({ locator: cache, transport: rpc, clock });
  const loc = await cache.locateKey(b('k1'));
  for (let i = 0; i < 20; i++) {
    const res = await timed.sendRequest(
      new Backoffer({ clock }),
      { $case: 'RawGet', value: kvrpcpb.RawGetRequest.fromPartial({ key: b('k1') }) },
      loc.region,
      { timeoutMs: 60_000 },
    );
    expect(res.value.value).toEqual(b('v1'));
  }
  expect(clock.pendingSleeps).toBe(0);
});

it('keeps the buckets PD reports and takes newer ones from BucketVersionNotMatch without asking PD', async () => {
  const region = cluster.regionByKey('k1');
  cluster.setRegionBuckets(region.id, [b('g'), b('p')]);
  const loc = await cache.locateKey(b('k1'));
  expect(loc.buckets?.version).toBe(1n);
  expect(locateBucket(loc, b('k1'))).toEqual({ startKey: b('g'), endKey: b('p') });
  // TiKV's buckets moved on: its answer carries them, and the cache takes them as they are.
  cluster.setRegionBuckets(region.id, [b('c'), b('k'), b('t')]);
  cluster.inject({ method: 'RawGet', times: 1, error: 'BucketVersionNotMatch' });
  const res = await sender.sendRequest(
    new Backoffer(),
    { $case: 'RawGet', value: kvrpcpb.RawGetRequest.fromPartial({ key: b('k1') }) },
    loc.region,
  );
  expect(res.value.regionError?.bucketVersionNotMatch?.version).toBe(2n);
  const again = cache.tryLocateKey(b('k1'));
  expect(again?.region).toEqual(loc.region);
  expect(again?.buckets?.version).toBe(2n);
  expect(locateBucket(again!, b('k1'))).toEqual({ startKey: b('k'), endKey: b('t') });
  // A BucketVersionNotMatch answer is handed back: the caller re-splits by the new buckets.
  expect(await rawGet('k1')).toBeUndefined();
});
