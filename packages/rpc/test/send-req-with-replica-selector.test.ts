// Port of client-go internal/locate/region_request3_test.go's TestSendReqWithReplicaSelector: a
// write through the sender against a three-store region whose stores stop and start and whose
// leader moves, as mocktikv serves it (here a scripted transport that follows the fake cluster),
// counting the backoffs each step takes.
import { Backoffer, toBytes as b } from '@tikv/common';
import { errorpb, kvrpcpb } from '@tikv/proto';
import type { Liveness } from '@tikv/region-cache';
import { MAX_REPLICA_ATTEMPT } from '../src/replica.js';
import { RpcError } from '../src/rpc-error.js';
import type { TikvResponse } from '../src/tikv-commands.js';
import { isFakeEpochNotMatch } from './access-path.js';
import { type Fixture, type SentRequest, setupFixture } from './sender-fixture.js';

const putResponse = (regionError?: errorpb.DeepPartial<errorpb.Error>): TikvResponse => ({
  $case: 'RawPut',
  value: kvrpcpb.RawPutResponse.fromPartial(
    regionError === undefined ? {} : { regionError: errorpb.Error.fromPartial(regionError) },
  ),
});

describe('region_request3_test.go', () => {
  let f: Fixture;
  const stopped = new Set<bigint>();
  /** What every store's health check answers when set (client-go injectConstantLiveness). */
  let injected: Liveness | undefined;
  beforeEach(() => {
    stopped.clear();
    injected = undefined;
    // A stopped store fails its health check.
    f = setupFixture(
      3,
      {},
      {
        livenessProbe: async (store) => injected ?? (stopped.has(store.id) ? 'unreachable' : 'reachable'),
      },
    );
  });
  afterEach(async () => {
    await f.close();
  });

  const storeOf = (sent: SentRequest): bigint => BigInt(sent.addr.replace('store', ''));
  /** mocktikv: a stopped store cannot be reached; a peer that is not the leader says so. */
  const mockTikv = (sent: SentRequest): TikvResponse => {
    const store = storeOf(sent);
    if (stopped.has(store)) {
      throw new RpcError('connection refused', { address: sent.addr, grpcCode: 14, requestSent: false });
    }
    const region = f.cluster.region(f.regionId);
    const leader = region.peers.find((p) => p.id === region.leaderPeerId);
    if (leader?.storeId === store) return putResponse();
    return putResponse({
      notLeader: {
        regionId: f.regionId,
        ...(leader === undefined ? {} : { leader: { id: leader.id, storeId: leader.storeId } }),
      },
    });
  };

  test('TestSendReqWithReplicaSelector', async () => {
    const put = {
      $case: 'RawPut',
      value: kvrpcpb.RawPutRequest.fromPartial({ key: b('key'), value: b('value') }),
    } as const;
    f.transport.handler = mockTikv;
    let verId = await f.region();
    const reload = async (): Promise<void> => {
      f.cache.invalidateRegion(verId);
      verId = await f.region();
    };
    const send = async (timeoutMs = 30_000) => {
      const bo = new Backoffer({ clock: f.clock, maxBackoffMs: 10_000_000, random: () => 0.5 });
      const sentBefore = f.transport.sent.length;
      const res = await f.sender.sendRequest(bo, put, verId, { rpcTimeoutMs: timeoutMs });
      const last = f.transport.sent.at(-1);
      return {
        res,
        backoffs: bo.totalBackoffTimes,
        detail: [...bo.backoffTimes].map(([k, n]) => `${k}+${n}`).sort(),
        lastStore: f.transport.sent.length > sentBefore && last !== undefined ? storeOf(last) : undefined,
        regionValid: f.cache.getCachedRegion(verId)?.invalidReason === 'ok',
      };
    };
    const [s1, s2, s3] = f.storeIds as [bigint, bigint, bigint];
    const [p1, p2] = f.peerIds as [bigint, bigint, bigint];

    // Normal.
    let r = await send();
    expect(r.res.value.regionError).toBeUndefined();
    expect(r.backoffs).toBe(0);

    // The cached leader's store stopped and the leader moved to the next peer: one backoff.
    f.cluster.changeLeader(f.regionId, p2);
    stopped.add(s1);
    r = await send();
    expect(r.res.value.regionError).toBeUndefined();
    expect(r.lastStore).toBe(s2);
    expect(r.backoffs).toBe(1);
    stopped.delete(s1);
    f.cache.setStoreLiveness(s1, 'reachable');

    // The leader was learned from the success: no backoff.
    await reload();
    r = await send();
    expect(r.lastStore).toBe(s2);
    expect(r.backoffs).toBe(0);

    // The leader's store stops and no new leader is elected: the followers name the unreachable
    // leader, and the region is given up.
    await reload();
    stopped.add(s2);
    r = await send(1000);
    expect(isFakeEpochNotMatch(r.res.value.regionError)).toBe(true);
    // client-go backs off once; the sender backs off once more before its pseudo error when only
    // unreachable stores are left (RegionRequestSender.unreachableBackoff).
    expect(r.detail).toEqual(['tikvRPC+2']);
    stopped.delete(s2);
    f.cache.setStoreLiveness(s2, 'reachable');

    // The leader moved back: NotLeader names it, retried at once.
    await reload();
    f.cluster.changeLeader(f.regionId, p1);
    r = await send(1000);
    expect(r.res.value.regionError).toBeUndefined();
    expect(r.backoffs).toBe(0);

    // No leader: a backoff per replica, then every replica is spent.
    f.cluster.clearLeader(f.regionId);
    r = await send(1000);
    expect(isFakeEpochNotMatch(r.res.value.regionError)).toBe(true);
    expect(r.backoffs).toBe(3);
    expect(r.regionValid).toBe(false);
    f.cluster.changeLeader(f.regionId, p1);

    // The leader's store answers its health check but not requests: the leader is retried until
    // spent, then the followers, and the region is given up.
    injected = 'reachable';
    for (const id of f.storeIds) f.cache.setStoreLiveness(id, 'reachable');
    await reload();
    stopped.add(s1);
    r = await send(1000);
    expect(isFakeEpochNotMatch(r.res.value.regionError)).toBe(true);
    expect(r.regionValid).toBe(false);
    expect(r.backoffs).toBe(MAX_REPLICA_ATTEMPT + 2);
    stopped.delete(s1);

    // MaxTimestampNotSynced, ReadIndexNotReady, ProposalInMergingMode retry the same replica.
    for (const regionError of [
      { maxTimestampNotSynced: {} },
      { readIndexNotReady: {} },
      { proposalInMergingMode: {} },
    ]) {
      f.transport.handler = (sent) =>
        storeOf(sent) === s1
          ? putResponse(regionError)
          : putResponse({ notLeader: { regionId: f.regionId, leader: { id: p1, storeId: s1 } } });
      await reload();
      r = await send(1000);
      expect(isFakeEpochNotMatch(r.res.value.regionError)).toBe(true);
      expect(r.regionValid).toBe(false);
      expect(r.backoffs).toBe(MAX_REPLICA_ATTEMPT + 2);
    }

    // StaleCommand: the next peer at once.
    f.transport.handler = () => putResponse({ staleCommand: {} });
    await reload();
    r = await send(1000);
    expect(isFakeEpochNotMatch(r.res.value.regionError)).toBe(true);
    expect(r.regionValid).toBe(false);
    expect(r.backoffs).toBe(0);

    // A region error the client does not know: the next peer at once.
    f.transport.handler = () => putResponse({ message: '' });
    await reload();
    r = await send(1000);
    expect(isFakeEpochNotMatch(r.res.value.regionError)).toBe(true);
    expect(r.regionValid).toBe(false);
    expect(r.backoffs).toBe(0);

    // StoreNotMatch, RegionNotFound, EpochNotMatch invalidate the region and come back at once.
    for (const regionError of [{ storeNotMatch: {} }, { regionNotFound: {} }, { epochNotMatch: {} }]) {
      f.transport.handler = () => putResponse(regionError);
      await reload();
      r = await send(1000);
      // The store's own error (the pseudo one carries a message).
      expect(r.res.value.regionError).toMatchObject({ ...regionError, message: '' });
      expect(r.regionValid).toBe(false);
      expect(r.backoffs).toBe(0);
    }
    // A NotLeader naming a peer the region does not have invalidates the region at once.
    f.transport.handler = () =>
      putResponse({ notLeader: { regionId: f.regionId, leader: { id: 99n, storeId: 99n } } });
    await reload();
    r = await send(1000);
    expect(isFakeEpochNotMatch(r.res.value.regionError)).toBe(true);
    expect(r.regionValid).toBe(false);
    expect(r.backoffs).toBe(0);
    // client-go also sends an empty leader peer (id 0) that way; here a peer id 0 reads as "no
    // leader named" (TiKV leaves the field out when it knows no leader): a regionScheduling
    // backoff per replica, then the pseudo error.
    f.transport.handler = () => putResponse({ notLeader: { regionId: f.regionId, leader: {} } });
    await reload();
    r = await send(1000);
    expect(isFakeEpochNotMatch(r.res.value.regionError)).toBe(true);
    expect(r.regionValid).toBe(false);
    expect(r.detail).toEqual(['regionScheduling+3']);

    // Every store stopped and unreachable: a backoff per replica, then the pseudo error.
    injected = 'unreachable';
    f.transport.handler = mockTikv;
    await reload();
    for (const id of [s1, s2, s3]) stopped.add(id);
    r = await send(1000);
    expect(isFakeEpochNotMatch(r.res.value.regionError)).toBe(true);
    // client-go: 3; plus the sender's backoff when only unreachable stores are left.
    expect(r.detail).toEqual(['tikvRPC+4']);
    expect(r.regionValid).toBe(false);
  });
});
