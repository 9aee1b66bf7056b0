import diagnostics from 'node:diagnostics_channel';
import { BACKOFF_CHANNEL, type BackoffEvent, toBytes as b } from '@tikv/common';
import type { CachedRegion } from '@tikv/region-cache';
import { calculateScore, ReplicaFlag, SelectionScore as S } from '../src/replica.js';
import { ReplicaSelector } from '../src/replica-selector.js';
import { type Fixture, okResponse, regionErrorResponse, setupFixture } from './sender-fixture.js';

describe('replica selector (client-go replica_selector_test / region_request3_test)', () => {
  let f: Fixture;
  let backoffs: BackoffEvent[];
  const onBackoff = (m: unknown): void => {
    backoffs.push(m as BackoffEvent);
  };
  beforeEach(() => {
    f = setupFixture();
    backoffs = [];
    diagnostics.subscribe(BACKOFF_CHANNEL, onBackoff);
  });
  afterEach(async () => {
    diagnostics.unsubscribe(BACKOFF_CHANNEL, onBackoff);
    await f.close();
  });
  const cached = async (): Promise<CachedRegion> => f.cache.getCachedRegion(await f.region()) as CachedRegion;
  const addrOf = (i: number) => f.addr(f.storeIds[i] as bigint);

  test('TestReplicaSelectorCalculateScore', async () => {
    const region = await cached();
    const selector = new ReplicaSelector(
      region,
      { replicaRead: 'mixed', staleRead: false, readOnly: true, busyThresholdMs: 0 },
      { locator: f.cache },
    );
    const leaderIdx = region.workAccessIndex;
    const labels = [{ key: 'zone', value: 'us-west-1' }];
    selector.replicas.forEach((r, i) => {
      const isLeader = i === leaderIdx;
      let score = calculateScore({ leaderIdx }, r, isLeader);
      expect(score).toBe(
        isLeader
          ? S.LABEL_MATCHES + S.NOT_SLOW + S.NOT_ATTEMPTED
          : S.LABEL_MATCHES + S.NORMAL_PEER + S.NOT_SLOW + S.NOT_ATTEMPTED,
      );
      r.store.health.markAlreadySlow();
      score = calculateScore({ leaderIdx }, r, isLeader);
      expect(score).toBe(
        isLeader ? S.LABEL_MATCHES + S.NOT_ATTEMPTED : S.LABEL_MATCHES + S.NORMAL_PEER + S.NOT_ATTEMPTED,
      );
      expect(calculateScore({ leaderIdx, tryLeader: true }, r, isLeader)).toBe(
        S.LABEL_MATCHES + S.NORMAL_PEER + S.NOT_ATTEMPTED,
      );
      expect(calculateScore({ leaderIdx, tryLeader: true, preferLeader: true }, r, isLeader)).toBe(
        S.LABEL_MATCHES + S.NORMAL_PEER + S.NOT_ATTEMPTED,
      );
      expect(calculateScore({ leaderIdx, learnerOnly: true }, r, isLeader)).toBe(
        S.LABEL_MATCHES + S.NOT_ATTEMPTED,
      );
      expect(calculateScore({ leaderIdx, learnerOnly: true, labels }, r, isLeader)).toBe(S.NOT_ATTEMPTED);
      expect(calculateScore({ leaderIdx, tryLeader: true, labels }, r, isLeader)).toBe(
        isLeader ? S.PREFER_LEADER + S.NOT_ATTEMPTED : S.NORMAL_PEER + S.NOT_ATTEMPTED,
      );
      expect(calculateScore({ leaderIdx, preferLeader: true, labels }, r, isLeader)).toBe(
        S.NORMAL_PEER + S.NOT_ATTEMPTED,
      );
      r.store.labels = labels;
      expect(calculateScore({ leaderIdx, preferLeader: true, labels }, r, isLeader)).toBe(
        S.LABEL_MATCHES + S.NORMAL_PEER + S.NOT_ATTEMPTED,
      );
      r.store.labels = [];
    });
  });

  test('a leader read tries the leader up to MAX_REPLICA_ATTEMPT, then the followers, then invalidates the region', async () => {
    const selector = new ReplicaSelector(
      await cached(),
      { replicaRead: 'leader', staleRead: false, readOnly: false, busyThresholdMs: 0 },
      { locator: f.cache },
    );
    const addrs: string[] = [];
    for (let i = 0; i < 12; i++) addrs.push(selector.next()?.addr ?? '');
    expect(addrs.slice(0, 10).every((a) => a === addrOf(0))).toBe(true);
    expect(new Set(addrs.slice(10))).toEqual(new Set([addrOf(1), addrOf(2)]));
    expect(selector.next()).toBeUndefined();
    expect(selector.region.invalidReason).not.toBe('ok');
  });

  test('TestForwarding (ReplicaSelectLeaderWithProxyStrategy): an unreachable leader is reached through each follower once, then its store is invalidated', async () => {
    const region = await cached();
    const leaderStore = f.cache.getStore(f.storeIds[0] as bigint)!;
    const selector = new ReplicaSelector(
      region,
      { replicaRead: 'leader', staleRead: false, readOnly: false, busyThresholdMs: 0 },
      { locator: f.cache, enableForwarding: true },
    );
    // Reachable: the leader itself, no proxy.
    const direct = selector.next();
    expect(direct?.addr).toBe(addrOf(0));
    expect(direct?.proxyAddr).toBeUndefined();
    // A failed send with the leader unreachable keeps its store: the next attempt uses a proxy.
    leaderStore.liveness = 'unreachable';
    selector.onSendFailure(true);
    expect(leaderStore.epoch).toBe(0);
    const viaFirst = selector.next();
    expect(viaFirst?.addr).toBe(addrOf(0));
    expect(viaFirst?.proxyAddr).toBe(addrOf(1));
    expect(viaFirst?.proxyStore?.id).toBe(f.storeIds[1]);
    const viaSecond = selector.next();
    expect(viaSecond?.proxyAddr).toBe(addrOf(2));
    // A proxy that answered is remembered by the region for the next request.
    selector.onSendSuccess();
    expect(region.rs.proxyTiKVIdx).toBe(2);
    const next = new ReplicaSelector(
      region,
      { replicaRead: 'leader', staleRead: false, readOnly: false, busyThresholdMs: 0 },
      { locator: f.cache, enableForwarding: true },
    );
    expect(next.next()?.proxyAddr).toBe(addrOf(2));
    // Every follower tried as a proxy: give up on the leader's store and reload the region.
    expect(selector.next()).toBeUndefined();
    expect(leaderStore.epoch).toBe(1);
    // Without forwarding an unreachable leader is simply not a candidate.
    const plain = new ReplicaSelector(
      await cached(),
      { replicaRead: 'leader', staleRead: false, readOnly: false, busyThresholdMs: 0 },
      { locator: f.cache },
    );
    expect(plain.next()?.proxyAddr).toBeUndefined();
  });

  test('TestReplicaReadAccessPathByFollowerCase: a follower read goes to followers, then the leader', async () => {
    f.transport.handler = (s, i) =>
      i < 2
        ? regionErrorResponse(s.request, { serverIsBusy: { reason: 'x', estimatedWaitMs: 0 } })
        : okResponse(s.request);
    const res = await f.sender.sendRequest(f.backoffer(), f.get(), await f.region(), {
      replicaRead: 'follower',
    });
    expect(res.value.regionError).toBeUndefined();
    const addrs = f.transport.sent.map((s) => s.addr);
    expect(addrs.slice(0, 2).sort()).toEqual([addrOf(1), addrOf(2)].sort());
    expect(addrs[2]).toBe(addrOf(0));
    expect(f.transport.sent[0]?.context.replicaRead).toBe(true);
    expect(f.transport.sent[2]?.context.replicaRead).toBe(false);
  });

  test('a mixed read retries ServerIsBusy on the next replica at once; all busy backs off once (pending backoff)', async () => {
    f.transport.handler = (s) => regionErrorResponse(s.request, { serverIsBusy: { reason: 'x' } });
    const res = await f.sender.sendRequest(f.backoffer(), f.get(), await f.region(), {
      replicaRead: 'mixed',
    });
    expect(res.value.regionError?.epochNotMatch).toBeDefined();
    expect(f.transport.sent).toHaveLength(3);
    expect(backoffs.map((e) => e.kind)).toEqual(['tikvServerBusy']);
  });

  test('TestLearnerReplicaSelector: a learner read picks the learner', async () => {
    const f2 = setupFixture(2);
    try {
      const learnerStore = f2.cluster.allocId();
      f2.cluster.addStore(learnerStore, `store${learnerStore}`);
      const learnerPeer = f2.cluster.allocId();
      f2.cluster.addPeer(f2.regionId, learnerStore, learnerPeer, 'learner');
      await f2.sender.sendRequest(f2.backoffer(), f2.get(), await f2.region(), { replicaRead: 'learner' });
      expect(f2.transport.sent[0]?.addr).toBe(`store${learnerStore}`);
      expect(f2.transport.sent[0]?.context.peer?.role).toBe(1);
      expect(f2.transport.sent[0]?.context.replicaRead).toBe(true);
    } finally {
      await f2.close();
    }
  });

  test('closest replicas: a mixed read prefers the store whose labels match', async () => {
    f.cluster.updateStoreLabels(f.storeIds[2] as bigint, [{ key: 'zone', value: 'z3' }]);
    const f2cache = f.cache;
    await f2cache.locateKey(b('a'));
    const store = f.cache.getStore(f.storeIds[2] as bigint);
    if (store !== undefined) store.labels = [{ key: 'zone', value: 'z3' }];
    await f.sender.sendRequest(f.backoffer(), f.get(), await f.region(), {
      replicaRead: 'mixed',
      matchStoreLabels: [{ key: 'zone', value: 'z3' }],
    });
    expect(f.transport.sent[0]?.addr).toBe(addrOf(2));
  });

  test('TestPreferLeader: the leader unless its store is slow', async () => {
    await f.sender.sendRequest(f.backoffer(), f.get(), await f.region(), { replicaRead: 'preferLeader' });
    expect(f.transport.sent[0]?.addr).toBe(addrOf(0));
    expect(f.transport.sent[0]?.context.replicaRead).toBe(false);
    f.cache.getStore(f.storeIds[0] as bigint)?.health.markAlreadySlow();
    await f.sender.sendRequest(f.backoffer(), f.get(), await f.region(), { replicaRead: 'preferLeader' });
    expect(f.transport.sent[1]?.addr).not.toBe(addrOf(0));
    expect(f.transport.sent[1]?.context.replicaRead).toBe(true);
  });

  test('TestRegionCacheStaleRead: DataIsNotReady falls back to a leader read', async () => {
    await f.region();
    const follower = f.cache.getStore(f.storeIds[1] as bigint);
    if (follower !== undefined) follower.labels = [{ key: 'zone', value: 'z2' }];
    f.transport.handler = (s, i) =>
      i === 0
        ? regionErrorResponse(s.request, { dataIsNotReady: { regionId: f.regionId } })
        : okResponse(s.request);
    const res = await f.sender.sendRequest(f.backoffer(), f.get(), await f.region(), {
      staleRead: true,
      matchStoreLabels: [{ key: 'zone', value: 'z2' }],
      requestSource: 'src',
    });
    expect(res.value.regionError).toBeUndefined();
    const [first, second] = f.transport.sent;
    expect(first?.addr).toBe(addrOf(1));
    expect(first?.context.staleRead).toBe(true);
    expect(first?.context.replicaRead).toBe(false);
    expect(first?.context.requestSource).toBe('stale_follower_src');
    expect(second?.addr).toBe(addrOf(0));
    expect(second?.context.staleRead).toBe(false);
    expect(second?.context.replicaRead).toBe(false);
    expect(second?.context.requestSource).toBe('retry_stale_follower_leader_src');
    expect(backoffs).toHaveLength(0);
  });

  test('TestReplicaReadFallbackToLeaderRegionError: RegionNotFound on a follower retries on the leader', async () => {
    f.transport.handler = (s, i) =>
      i === 0
        ? regionErrorResponse(s.request, { regionNotFound: { regionId: f.regionId } })
        : okResponse(s.request);
    const res = await f.sender.sendRequest(f.backoffer(), f.get(), await f.region(), {
      replicaRead: 'follower',
    });
    expect(res.value.regionError).toBeUndefined();
    expect(f.transport.sent[1]?.addr).toBe(addrOf(0));
    expect(f.transport.sent[1]?.context.replicaRead).toBe(false);
  });

  test('TestReplicaReadWithFlashbackInProgress: a replica read retries on the leader', async () => {
    f.transport.handler = (s, i) =>
      i === 0
        ? regionErrorResponse(s.request, { FlashbackInProgress: { regionId: f.regionId } })
        : okResponse(s.request);
    await f.sender.sendRequest(f.backoffer(), f.get(), await f.region(), { replicaRead: 'follower' });
    expect(f.transport.sent[1]?.addr).toBe(addrOf(0));
  });

  test('TestLoadBasedReplicaRead: a busy leader sends the read to an idle follower', async () => {
    await f.region();
    f.cache.getStore(f.storeIds[0] as bigint)?.updateServerLoad(500, f.clock.now());
    await f.sender.sendRequest(f.backoffer(), f.get(), await f.region(), { busyThresholdMs: 50 });
    expect(f.transport.sent[0]?.addr).not.toBe(addrOf(0));
    expect(f.transport.sent[0]?.context.replicaRead).toBe(true);
    expect(f.transport.sent[0]?.context.busyThresholdMs).toBe(50);
  });

  test('TestReplicaSelectorLeaderBusyProbe: a leader answering ServerIsBusy(0) twice gets a follower probe', async () => {
    f.transport.handler = (s, i) => {
      if (s.addr === addrOf(0)) return regionErrorResponse(s.request, { serverIsBusy: { reason: 'pool' } });
      return i < 10
        ? regionErrorResponse(s.request, {
            notLeader: {
              regionId: f.regionId,
              leader: { id: f.peerIds[1] ?? 0n, storeId: f.storeIds[1] ?? 0n },
            },
          })
        : okResponse(s.request);
    };
    f.transport.handler = (
      (inner) => (s: Parameters<typeof inner>[0], i: number) =>
        i >= 3 ? okResponse(s.request) : inner(s, i)
    )(f.transport.handler);
    await f.sender.sendRequest(f.backoffer(), f.rawGet(), await f.region());
    const addrs = f.transport.sent.map((s) => s.addr);
    expect(addrs.slice(0, 2)).toEqual([addrOf(0), addrOf(0)]);
    expect(addrs[2]).not.toBe(addrOf(0));
  });

  test('TestReplicaFlag and TestCanFastRetry', async () => {
    const selector = new ReplicaSelector(
      await cached(),
      { replicaRead: 'leader', staleRead: false, readOnly: true, busyThresholdMs: 0 },
      { locator: f.cache },
    );
    expect(selector.canFastRetry()).toBe(false);
    selector.next();
    const leader = selector.replicas[0];
    expect(leader?.attempts).toBe(1);
    if (leader !== undefined) leader.flags |= ReplicaFlag.SERVER_IS_BUSY;
    expect(selector.canFastRetry()).toBe(true);
    expect(leader?.has(ReplicaFlag.NOT_LEADER)).toBe(false);
    selector.onNotLeader(undefined);
    expect(leader?.has(ReplicaFlag.NOT_LEADER)).toBe(true);
    leader?.onUpdateLeader();
    expect(leader?.has(ReplicaFlag.NOT_LEADER)).toBe(false);
    expect(selector.replicaType()).toBe('leader');
    expect(selector.onReadReqConfigurableTimeout(true, 100)).toBe(true);
    expect(selector.onReadReqConfigurableTimeout(true, 30_000)).toBe(false);
    expect(selector.onReadReqConfigurableTimeout(false, 100)).toBe(false);
  });
});
