// Ports of client-go internal/locate/region_request_test.go (testRegionRequestToSingleStoreSuite
// and friends) on the scripted-transport fixture.
import diagnostics from 'node:diagnostics_channel';
import {
  BACKOFF_CHANNEL,
  type BackoffEvent,
  Backoffer,
  toBytes as b,
  DeadlineExceededError,
  RegionError,
  TiKVError,
} from '@tikv/common';
import { errorpb, kvrpcpb } from '@tikv/proto';
import { RpcError } from '../src/rpc-error.js';
import type { TikvResponse } from '../src/tikv-commands.js';
import { isFakeEpochNotMatch } from './access-path.js';
import { type Fixture, type SentRequest, setupFixture } from './sender-fixture.js';

const put = {
  $case: 'RawPut',
  value: kvrpcpb.RawPutRequest.fromPartial({ key: b('key'), value: b('value') }),
} as const;
const putResponse = (regionError?: errorpb.DeepPartial<errorpb.Error>): TikvResponse => ({
  $case: 'RawPut',
  value: kvrpcpb.RawPutResponse.fromPartial(
    regionError === undefined ? {} : { regionError: errorpb.Error.fromPartial(regionError) },
  ),
});

describe('region_request_test.go', () => {
  let f: Fixture;
  afterEach(async () => {
    await f.close();
  });

  test('TestOnSendFailByResourceGroupThrottled: an error the client raises itself comes back as is and leaves the store alone', async () => {
    f = setupFixture(1);
    const verId = await f.region();
    const store = f.cache.getStore(f.storeIds[0]!)!;
    const epoch = store.epoch;
    // The resource-group controller refuses the request before it is sent.
    const throttled = new TiKVError('RESOURCE_GROUP_THROTTLED', 'resource group throttled');
    f.transport.handler = () => {
      throw throttled;
    };
    const bo = new Backoffer({ clock: f.clock, maxBackoffMs: 5, random: () => 0.5 });
    await expect(f.sender.sendRequest(bo, put, verId, { rpcTimeoutMs: 1000 })).rejects.toBe(throttled);
    expect(f.cache.getStore(f.storeIds[0]!)).toBe(store);
    expect(store.epoch).toBe(epoch);
    expect(f.cache.getCachedRegion(verId)?.invalidReason).toBe('ok');
    expect(bo.totalBackoffTimes).toBe(0);
  });

  test('TestOnSendFailedWithCloseKnownStoreThenUseNewOne: the stopped leader fails over to the new one', async () => {
    f = setupFixture(1);
    const stopped = new Set<bigint>();
    f.transport.handler = (sent: SentRequest) => {
      const storeId = BigInt(sent.addr.replace('store', ''));
      if (stopped.has(storeId)) {
        throw new RpcError('connection refused', { address: sent.addr, grpcCode: 14, requestSent: false });
      }
      const region = f.cluster.region(f.regionId);
      const leader = region.peers.find((p) => p.id === region.leaderPeerId);
      return leader?.storeId === storeId
        ? putResponse()
        : putResponse({
            notLeader: {
              regionId: f.regionId,
              ...(leader === undefined ? {} : { leader: { id: leader.id, storeId: leader.storeId } }),
            },
          });
    };
    // A second store joins and takes the leadership.
    const store2 = f.cluster.allocId();
    const peer2 = f.cluster.allocId();
    f.cluster.addStore(store2, `store${store2}`);
    f.cluster.addPeer(f.regionId, store2, peer2);
    f.cluster.changeLeader(f.regionId, peer2);
    const verId = (await f.cache.locateRegionById(f.regionId)).region;
    let res = await f.sender.sendRequest(f.backoffer(), put, verId, { rpcTimeoutMs: 1000 });
    expect(res.value.regionError).toBeUndefined();
    expect(f.transport.sent.at(-1)?.addr).toBe(`store${store2}`);
    // It stops and the first store leads again: the request fails over to it.
    stopped.add(store2);
    f.cluster.changeLeader(f.regionId, f.peerIds[0]!);
    const bo = new Backoffer({ clock: f.clock, maxBackoffMs: 100, random: () => 0.5 });
    res = await f.sender.sendRequest(bo, put, verId, { rpcTimeoutMs: 1000 });
    expect(res.value.regionError).toBeUndefined();
    expect(f.transport.sent.at(-1)?.addr).toBe(f.addr(f.storeIds[0]!));
  });

  test('TestNoReloadRegionWhenCtxCanceled: a request aborted before it starts keeps the region cached', async () => {
    f = setupFixture(1);
    const verId = await f.region();
    const ac = new AbortController();
    const reason = new Error('canceled');
    ac.abort(reason);
    await expect(f.sender.sendRequest(f.backoffer(), put, verId, { signal: ac.signal })).rejects.toBe(reason);
    expect(f.cache.getCachedRegion(verId)?.invalidReason).toBe('ok');
    // And one aborted while in flight.
    const inFlight = new AbortController();
    f.transport.handler = (sent) =>
      new Promise((_, reject) => {
        sent.options?.signal?.addEventListener('abort', () => reject(sent.options?.signal?.reason));
        inFlight.abort(reason);
      });
    await expect(f.sender.sendRequest(f.backoffer(), put, verId, { signal: inFlight.signal })).rejects.toBe(
      reason,
    );
    expect(f.cache.getCachedRegion(verId)?.invalidReason).toBe('ok');
    expect(f.cache.getStore(f.storeIds[0]!)?.epoch).toBe(0);
  });

  test('TestKVReadTimeoutWithDisableBatchClient: a read whose short execution limit runs out on every replica ends in the pseudo error without backoff', async () => {
    f = setupFixture(1);
    const verId = await f.region();
    f.transport.handler = () => {
      throw new DeadlineExceededError('context deadline exceeded');
    };
    const bo = new Backoffer({ clock: f.clock, maxBackoffMs: 2000, random: () => 0.5 });
    const res = await f.sender.sendRequest(bo, f.get('a'), verId, {
      rpcTimeoutMs: 10,
      maxExecutionDurationMs: 10,
    });
    expect(isFakeEpochNotMatch(res.value.regionError)).toBe(true);
    expect(bo.totalBackoffTimes).toBe(0);
    expect(f.transport.sent[0]?.context.maxExecutionDurationMs).toBe(10n);
  });

  test('TestBackoffErrWithRPCContext: the error a backoff records names the region and the store', async () => {
    f = setupFixture(1);
    const verId = await f.region();
    const events: BackoffEvent[] = [];
    const onBackoff = (m: unknown): void => {
      events.push(m as BackoffEvent);
    };
    diagnostics.subscribe(BACKOFF_CHANNEL, onBackoff);
    try {
      f.transport.handler = (_sent, i) =>
        i === 0 ? putResponse({ notLeader: { regionId: f.regionId } }) : putResponse();
      await f.sender.sendRequest(f.backoffer(), put, verId);
    } finally {
      diagnostics.unsubscribe(BACKOFF_CHANNEL, onBackoff);
    }
    expect(events.map((e) => e.kind)).toEqual(['regionScheduling']);
    const err = events[0]?.error;
    expect(err).toBeInstanceOf(RegionError);
    expect((err as RegionError).regionId).toBe(f.regionId);
    expect((err as RegionError).storeId).toBe(f.storeIds[0]);
    expect((err as RegionError).message).toContain(`region ${f.regionId}`);
  });
});
