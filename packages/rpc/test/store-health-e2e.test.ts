// Store liveness and health feedback end to end against @tikv/mock-cluster: the sender probes a
// store a request failed on (client-go replicaSelector.onSendFailure → checkLiveness), the cache
// keeps the selector away from it until its health-check loop finds it back, and TiKV's health
// feedback on BatchCommands responses lands in the cache's slow scores.
import diagnostics from 'node:diagnostics_channel';
import { Backoffer } from '@tikv/common';
import type { MockCluster } from '@tikv/mock-cluster';
import { kvrpcpb } from '@tikv/proto';
import { REGION_CACHE_STORE_CHANNEL, type RegionCache, type StoreEvent } from '@tikv/region-cache';
import {
  type RegionRequestSender,
  RPC_RETRY_CHANNEL,
  type RpcClient,
  type RpcRetryEvent,
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
  stack = await startMockStack({ livenessProbe: true, healthFeedback: true });
  ({ cluster, cache, rpc, sender } = stack);
});

afterEach(async () => {
  await stack.close();
});

async function followerGet(key: string, storeId: bigint): Promise<string> {
  const loc = await cache.locateKey(b(key));
  const res = await sender.sendRequest(
    new Backoffer({ maxBackoffMs: 5_000 }),
    { $case: 'RawGet', value: kvrpcpb.RawGetRequest.fromPartial({ key: b(key) }) },
    loc.region,
    { replicaRead: 'follower', matchStoreIds: [storeId] },
  );
  expect(res.value.regionError).toBeUndefined();
  return new TextDecoder().decode(res.value.value);
}

function retriesDuring<T>(fn: () => Promise<T>): Promise<{ value: T; retries: RpcRetryEvent[] }> {
  const retries: RpcRetryEvent[] = [];
  const onRetry = (e: unknown): void => {
    retries.push(e as RpcRetryEvent);
  };
  diagnostics.subscribe(RPC_RETRY_CHANNEL, onRetry);
  return fn()
    .then((value) => ({ value, retries }))
    .finally(() => diagnostics.unsubscribe(RPC_RETRY_CHANNEL, onRetry));
}

it('probes liveness with the gRPC health check', async () => {
  const [s1] = cluster.stores();
  expect(await rpc.probeLiveness(s1!.address)).toBe('reachable');
  await cluster.stopStore(s1!.id);
  expect(await rpc.probeLiveness(s1!.address, { timeoutMs: 2_000 })).toBe('unreachable');
});

it('a store a request failed on is probed, skipped while unreachable, and used again once its health check answers', async () => {
  const region = cluster.regionByKey('k');
  cluster.transferLeader(region.id, cluster.stores()[0]!.id);
  const loc = await cache.locateKey(b('k'));
  await sender.sendRequest(
    new Backoffer(),
    { $case: 'RawPut', value: kvrpcpb.RawPutRequest.fromPartial({ key: b('k'), value: b('v') }) },
    loc.region,
  );
  const follower = cluster.stores()[2]!.id;
  await cluster.stopStore(follower);

  // The first read prefers the stopped follower, fails there, probes it and reads elsewhere.
  const first = await retriesDuring(() => followerGet('k', follower));
  expect(first.value).toBe('v');
  expect(first.retries.length).toBeGreaterThan(0);
  expect(cache.getStore(follower)!.liveness).toBe('unreachable');

  // The next read does not try it again: no failed attempt.
  const second = await retriesDuring(() => followerGet('k', follower));
  expect(second.value).toBe('v');
  expect(second.retries).toEqual([]);

  // Back up: the background health check marks it reachable, and reads go to it again.
  const back = new Promise<void>((resolve) => {
    const onStore = (e: unknown): void => {
      const ev = e as StoreEvent;
      if (ev.storeId === follower && ev.event === 'liveness' && ev.liveness === 'reachable') {
        diagnostics.unsubscribe(REGION_CACHE_STORE_CHANNEL, onStore);
        resolve();
      }
    };
    diagnostics.subscribe(REGION_CACHE_STORE_CHANNEL, onStore);
  });
  await cluster.startStore(follower);
  await back;
  // A leader read on it now: the selector takes a leader only while its store is reachable.
  // (The failure also bumped the store's epoch and marked it slow, so the cached region is
  // reloaded, as it would be after its TTL.)
  cluster.transferLeader(region.id, follower);
  cache.invalidateRegion((await cache.locateKey(b('k'))).region);
  const sentTo: string[] = [];
  const onStart = (ctx: unknown): void => {
    sentTo.push((ctx as { address: string }).address);
  };
  const tracing = diagnostics.tracingChannel('tikv:rpc');
  tracing.start.subscribe(onStart);
  try {
    const again = await cache.locateKey(b('k'));
    const res = await sender.sendRequest(
      new Backoffer(),
      { $case: 'RawGet', value: kvrpcpb.RawGetRequest.fromPartial({ key: b('k') }) },
      again.region,
    );
    expect(res.value.regionError).toBeUndefined();
  } finally {
    tracing.start.unsubscribe(onStart);
  }
  expect(sentTo).toEqual([cluster.stores()[2]!.address]);
});

it('TestGetHealthFeedback: GetHealthFeedback answers with the store, a sequence number and its slow score, which reaches the cache', async () => {
  const [store] = cluster.stores();
  await cache.locateKey(b('a'));
  // A score the store would not report on its own, so the cache's value must come from it.
  cluster.setStoreSlowScore(store!.id, 50);
  const seqNos: bigint[] = [];
  for (let i = 0; i < 3; i++) {
    const res = await rpc.send(
      store!.address,
      { $case: 'GetHealthFeedback', value: kvrpcpb.GetHealthFeedbackRequest.fromPartial({}) },
      { timeoutMs: 5_000 },
    );
    const feedback = res.value.healthFeedback;
    expect(feedback?.storeId).toBe(store!.id);
    expect(feedback?.slowScore).toBe(50);
    expect(feedback?.feedbackSeqNo).not.toBe(0n);
    seqNos.push(feedback!.feedbackSeqNo);
    expect(cache.getStore(store!.id)?.health.detail().tikvSideSlowScore).toBe(50);
  }
  expect(new Set(seqNos).size).toBe(3);
});

it("TiKV's health feedback on BatchCommands responses sets the store's slow score", async () => {
  const region = cluster.regionByKey('h');
  const leader = region.leader.storeId;
  cluster.setStoreSlowScore(leader, 95);
  const loc = await cache.locateKey(b('h'));
  await sender.sendRequest(
    new Backoffer(),
    { $case: 'RawGet', value: kvrpcpb.RawGetRequest.fromPartial({ key: b('h') }) },
    loc.region,
  );
  const health = cache.getStore(leader)!.health;
  expect(health.detail().tikvSideSlowScore).toBe(95);
  expect(health.isSlow).toBe(true);
});
