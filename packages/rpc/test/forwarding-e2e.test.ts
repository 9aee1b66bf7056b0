// Request forwarding end to end against @tikv/mock-cluster (client-go EnableForwarding,
// ReplicaSelectLeaderWithProxyStrategy; TiKV forward_unary! / forward_duplex!): when the client
// cannot reach the leader's store, leader requests go to a follower's store with the
// `tikv-forwarded-host` metadata, and that store passes them on.
import diagnostics from 'node:diagnostics_channel';
import { Backoffer } from '@tikv/common';
import type { MockCluster } from '@tikv/mock-cluster';
import { kvrpcpb } from '@tikv/proto';
import { REGION_CACHE_STORE_CHANNEL, type RegionCache, type StoreEvent } from '@tikv/region-cache';
import {
  type RegionRequestSender,
  type ResponseFor,
  RpcClient,
  type RpcRequestEvent,
  type TikvRequest,
} from '../src/index.js';
import { type MockStack, startMockStack } from './mock-stack.js';

jest.setTimeout(30_000);

const b = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (u: Uint8Array): string => new TextDecoder().decode(u);

let stack: MockStack | undefined;
let cluster: MockCluster;
let cache: RegionCache;
let rpc: RpcClient;
let sender: RegionRequestSender;

async function setup(enableForwarding: boolean): Promise<void> {
  stack = await startMockStack({ livenessProbe: true, cache: { enableForwarding } });
  ({ cluster, cache, rpc, sender } = stack);
}

afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

async function send<R extends { $case: 'RawGet' | 'RawPut'; value: { key: Uint8Array } } & TikvRequest>(
  req: R,
  maxBackoffMs = 5_000,
): Promise<ResponseFor<R>> {
  const loc = await cache.locateKey(req.value.key);
  return sender.sendRequest(new Backoffer({ maxBackoffMs }), req, loc.region);
}
const get = (k: string) => ({
  $case: 'RawGet' as const,
  value: kvrpcpb.RawGetRequest.fromPartial({ key: b(k) }),
});
const put = (k: string, v: string) => ({
  $case: 'RawPut' as const,
  value: kvrpcpb.RawPutRequest.fromPartial({ key: b(k), value: b(v) }),
});

/** The attempts the transport made during `fn`: address and forwarded host. */
async function attempts<T>(
  fn: () => Promise<T>,
): Promise<{ value: T; sent: { address: string; forwardedHost: string }[] }> {
  const sent: { address: string; forwardedHost: string }[] = [];
  const onStart = (ctx: unknown): void => {
    const e = ctx as RpcRequestEvent;
    sent.push({ address: e.address, forwardedHost: e.forwardedHost ?? '' });
  };
  const tracing = diagnostics.tracingChannel('tikv:rpc');
  tracing.start.subscribe(onStart);
  try {
    return { value: await fn(), sent };
  } finally {
    tracing.start.unsubscribe(onStart);
  }
}

it('forwards leader reads and writes through a follower while the leader cannot be reached, and goes direct once it can', async () => {
  await setup(true);
  const region = cluster.regionByKey('k');
  const leader = cluster.stores().find((s) => s.id === region.leader.storeId)!;
  await send(put('k', 'v1'));
  await cluster.isolateStore(leader.id);

  const first = await attempts(() => send(get('k')));
  expect(first.value.value.regionError).toBeUndefined();
  expect(text(first.value.value.value)).toBe('v1');
  expect(first.sent[0]).toEqual({ address: leader.address, forwardedHost: '' });
  const forwarded = first.sent.at(-1)!;
  expect(forwarded.forwardedHost).toBe(leader.address);
  expect(forwarded.address).not.toBe(leader.address);
  expect(cache.getStore(leader.id)!.liveness).toBe('unreachable');

  // The next requests go through the same proxy at once, writes too.
  const second = await attempts(() => send(put('k', 'v2')));
  expect(second.value.value.regionError).toBeUndefined();
  expect(second.sent).toEqual([forwarded]);
  expect(text((await send(get('k'))).value.value)).toBe('v2');

  // Reconnected: the health check marks the leader reachable; requests go to it directly.
  const back = new Promise<void>((resolve) => {
    const onStore = (e: unknown): void => {
      const ev = e as StoreEvent;
      if (ev.storeId === leader.id && ev.event === 'liveness' && ev.liveness === 'reachable') {
        diagnostics.unsubscribe(REGION_CACHE_STORE_CHANNEL, onStore);
        resolve();
      }
    };
    diagnostics.subscribe(REGION_CACHE_STORE_CHANNEL, onStore);
  });
  await cluster.startStore(leader.id);
  await back;
  const direct = await attempts(() => send(get('k')));
  expect(text(direct.value.value.value)).toBe('v2');
  expect(direct.sent).toEqual([{ address: leader.address, forwardedHost: '' }]);
});

it('without forwarding, an unreachable leader is not reached through anyone', async () => {
  await setup(false);
  const region = cluster.regionByKey('k');
  const leader = cluster.stores().find((s) => s.id === region.leader.storeId)!;
  await send(put('k', 'v1'));
  await cluster.isolateStore(leader.id);
  const r = await attempts(() => send(get('k'), 300).catch((e: unknown) => e));
  expect(r.sent.every((s) => s.forwardedHost === '')).toBe(true);
  const ok = r.value as { value?: { regionError?: unknown } } | Error;
  // Either the budget ran out or the region error came back: never a forwarded answer.
  expect(ok instanceof Error || ok.value?.regionError !== undefined).toBe(true);
});

it('a store forwards to a store that is down with UNAVAILABLE', async () => {
  await setup(true);
  const [a, down] = cluster.stores();
  await cluster.stopStore(down!.id);
  const err = await rpc
    .send(a!.address, get('k'), { forwardedHost: down!.address, timeoutMs: 5_000 })
    .catch((e: unknown) => e);
  expect(err).toMatchObject({ code: 'RPC_ERROR', grpcCode: 14 });
});

it.each([
  ['TestForwardMetadataByUnaryCall', 0],
  ['TestForwardMetadataByBatchCommands', 128],
])(
  '%s: a request carries the forwarded host to the proxy store, which serves it from that store; without it the store answers itself',
  async (_name, maxBatchSize) => {
    await setup(true);
    const client = new RpcClient({ maxBatchSize, connectionsPerStore: 1 });
    try {
      const region = cluster.regionByKey('k');
      const leader = cluster.stores().find((s) => s.id === region.leader.storeId)!;
      const followers = cluster.stores().filter((s) => s.id !== leader.id);
      await send(put('k', 'v1'));
      const ctx = (await cache.getRpcContext((await cache.locateKey(b('k'))).region))!;
      const withContext = (k: string, storeId = ctx.peer.storeId) => ({
        $case: 'RawGet' as const,
        value: kvrpcpb.RawGetRequest.fromPartial({
          key: b(k),
          context: {
            regionId: ctx.region.id,
            regionEpoch: { confVer: ctx.region.confVer, version: ctx.region.version },
            peer: { id: ctx.meta.peers.find((p) => p.storeId === storeId)!.id, storeId },
          },
        }),
      });
      // Without the metadata a follower answers for itself: not the leader.
      const direct = await client.send(followers[0]!.address, withContext('k', followers[0]!.id), {
        timeoutMs: 5_000,
      });
      expect(direct.value.regionError?.notLeader).toBeDefined();
      // With it, through each follower (one stream per forwarded host when batched), the leader answers.
      for (const proxy of followers) {
        for (let i = 0; i < 3; i++) {
          const res = await client.send(proxy.address, withContext('k'), {
            forwardedHost: leader.address,
            timeoutMs: 5_000,
          });
          expect(res.value.regionError).toBeUndefined();
          expect(text(res.value.value)).toBe('v1');
        }
      }
    } finally {
      await client.close();
    }
  },
);
