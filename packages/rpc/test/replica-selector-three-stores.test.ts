// Port of client-go internal/locate/region_request3_test.go's TestReplicaSelector: the replica
// selector on its own (no sender), driven attempt by attempt over a three-store region whose leader
// is its last peer, with a TiFlash peer that must never be picked.
import type { CachedRegion } from '@tikv/region-cache';
import { MAX_REPLICA_ATTEMPT, ReplicaFlag } from '../src/replica.js';
import { ReplicaSelector, type ReplicaSelectorRequest } from '../src/replica-selector.js';
import { changeRegionLeader } from './access-path.js';
import { type Fixture, setupFixture } from './sender-fixture.js';

const leaderRead: ReplicaSelectorRequest = {
  replicaRead: 'leader',
  staleRead: false,
  readOnly: true,
  busyThresholdMs: 0,
};
const followerRead: ReplicaSelectorRequest = { ...leaderRead, replicaRead: 'follower' };

describe('region_request3_test.go', () => {
  let f: Fixture;
  let tiflashStore: bigint;
  beforeEach(async () => {
    f = setupFixture(3);
    tiflashStore = f.cluster.allocId();
    f.cluster.addStore(tiflashStore, `store${tiflashStore}`, [{ key: 'engine', value: 'tiflash' }]);
    f.cluster.addPeer(f.regionId, tiflashStore, f.cluster.allocId(), 'learner');
    changeRegionLeader(f, f.storeIds[2]!);
  });
  afterEach(async () => {
    await f.close();
  });
  /** The cached region, reloaded when the cache dropped it (client-go refreshRegionTTL/refreshEpochs). */
  const region = async (): Promise<CachedRegion> => f.cache.getCachedRegion(await f.region()) as CachedRegion;
  /** Drops the cached region so the next lookup reloads it with the stores' current epochs (client-go refreshEpochs). */
  const refresh = async (): Promise<void> => {
    f.cache.invalidateRegion(await f.region());
  };
  const selectorFor = async (
    request: ReplicaSelectorRequest,
    enableForwarding = false,
  ): Promise<ReplicaSelector> =>
    new ReplicaSelector(await region(), request, { locator: f.cache, enableForwarding, random: () => 0 });

  test('TestReplicaSelector', async () => {
    let selector = await selectorFor(leaderRead);
    const r = selector.region;
    // Only the TiKV peers are replicas, each with its own store and that store's epoch.
    expect(selector.replicas.map((x) => x.store.id).sort()).toEqual([...f.storeIds].sort());
    expect(selector.replicas.some((x) => x.store.id === tiflashStore)).toBe(false);
    for (const replica of selector.replicas) {
      expect(replica.peer.storeId).toBe(replica.store.id);
      expect(r.meta.peers.find((p) => p.storeId === replica.store.id)).toEqual(replica.peer);
      expect(replica.epoch).toBe(replica.store.epoch);
      expect(replica.attempts).toBe(0);
    }
    const leaderIdx = r.workAccessIndex;
    const leader = selector.replicas[leaderIdx]!;
    expect(leader.store.id).toBe(f.storeIds[2]);

    // The leader up to MAX_REPLICA_ATTEMPT times, then each follower once, then nothing.
    for (let i = 1; i <= MAX_REPLICA_ATTEMPT; i++) {
      const ctx = selector.next();
      expect(ctx?.peer).toEqual(leader.peer);
      expect(ctx?.proxyAddr).toBeUndefined();
      expect(leader.attempts).toBe(i);
    }
    for (let i = 0; i < selector.replicas.length - 1; i++) {
      const ctx = selector.next();
      expect(ctx?.peer).toEqual(selector.target?.peer);
      expect(selector.target?.attempts).toBe(1);
      expect(ctx?.peer.id).not.toBe(leader.peer.id);
    }
    expect(selector.next()).toBeUndefined();
    expect(r.invalidReason).not.toBe('ok');

    // A leader whose store cannot be reached: the next attempt goes to a follower.
    selector = await selectorFor(leaderRead);
    selector.next();
    // client-go injects unreachable liveness; only the store that failed gets checked.
    leader.store.liveness = 'unreachable';
    selector.onSendFailure(true);
    let ctx = selector.next();
    expect(ctx).toBeDefined();
    expect(selector.target?.peer.id).not.toBe(selector.region.meta.peers[leaderIdx]?.id);
    expect(selector.target?.attempts).toBe(1);
    // A NotLeader naming the unreachable leader does not switch back to it.
    const followerTarget = selector.target;
    selector.onNotLeader(leader.peer);
    expect(selector.region.workAccessIndex).toBe(leaderIdx);
    expect(selector.next()?.peer.id).not.toBe(leader.peer.id);
    // The follower that answered is flagged not-leader.
    expect(followerTarget?.has(ReplicaFlag.NOT_LEADER)).toBe(true);

    // Unreachable leader, no forwarding: a new request skips it.
    selector = await selectorFor(leaderRead);
    const leaderStore = f.cache.getStore(f.storeIds[2]!)!;
    expect(leaderStore.liveness).toBe('unreachable');
    ctx = selector.next();
    expect(ctx).toBeDefined();
    expect(ctx?.store.id).not.toBe(f.storeIds[2]);

    await refresh();
    // Liveness unknown, forwarding on: the request still gets somewhere to go.
    for (const s of f.cache.getAllStores()) s.liveness = 'reachable';
    leaderStore.liveness = 'unknown';
    selector = await selectorFor(leaderRead, true);
    expect(selector.next()).toBeDefined();

    await refresh();
    // Unreachable leader, forwarding on: the leader through a proxy, a new proxy after a failure.
    leaderStore.liveness = 'unreachable';
    selector = await selectorFor(leaderRead, true);
    ctx = selector.next();
    expect(selector.target).toBeDefined();
    expect(selector.proxy).toBeDefined();
    expect(selector.proxy?.peer.id).not.toBe(selector.target?.peer.id);
    expect(ctx?.peer).toEqual(selector.target?.peer);
    expect(ctx?.proxyStore).toBe(selector.proxy?.store);
    expect(selector.target?.attempts).toBe(1);
    expect(selector.proxy?.attempts).toBe(1);
    const firstProxy = selector.proxy;
    selector.onSendFailure(true);
    ctx = selector.next();
    expect(ctx).toBeDefined();
    expect(selector.proxy).not.toBe(firstProxy);
    expect(selector.target?.attempts).toBe(2);
    expect(selector.proxy?.attempts).toBe(1);
    // The proxy that answered is kept for the region, and the next request starts with it.
    selector.onSendSuccess();
    const savedProxy = selector.proxy!;
    expect(selector.replicas[selector.region.rs.proxyTiKVIdx]?.peer.id).toBe(savedProxy.peer.id);
    selector = await selectorFor(leaderRead, true);
    ctx = selector.next();
    expect(ctx?.proxyStore?.id).toBe(savedProxy.store.id);

    await refresh();
    // Follower read: every follower once, then the leader once, then nothing.
    for (const s of f.cache.getAllStores()) s.liveness = 'reachable';
    selector = await selectorFor(followerRead);
    const followerLeader = selector.replicas[selector.region.workAccessIndex]!;
    for (let i = 0; i < selector.replicas.length - 1; i++) {
      ctx = selector.next();
      expect(ctx?.peer).toEqual(selector.target?.peer);
      expect(ctx?.peer.id).not.toBe(followerLeader.peer.id);
    }
    expect(selector.next()?.peer).toEqual(followerLeader.peer);
    expect(selector.next()).toBeUndefined();

    await refresh();
    // Followers whose store epoch moved on are skipped: the leader at once.
    selector = await selectorFor(followerRead);
    for (const replica of selector.replicas) {
      if (replica !== selector.replicas[selector.region.workAccessIndex]) replica.store.epoch++;
    }
    expect(selector.next()?.peer).toEqual(selector.replicas[selector.region.workAccessIndex]?.peer);

    await refresh();
    // A follower read with labels goes to the replica whose store matches, every time.
    const labels = [{ key: 'a', value: 'b' }];
    for (let i = 0; i < 5; i++) {
      selector = await selectorFor({ ...followerRead, labels });
      const matching = selector.replicas.find((x) => x.store.id === f.storeIds[1])!;
      matching.store.labels = labels;
      expect(selector.next()?.peer).toEqual(matching.peer);
    }
    await refresh();
    // leaderOnly: the leader, every time.
    for (let i = 0; i < 5; i++) {
      selector = await selectorFor({ ...followerRead, leaderOnly: true });
      expect(selector.next()?.peer).toEqual(selector.replicas[selector.region.workAccessIndex]?.peer);
    }

    await refresh();
    // A leader that is not a peer of the region invalidates it, and nothing is tried after.
    selector = await selectorFor({ ...followerRead, replicaRead: 'mixed' });
    selector.updateLeader({
      id: f.cluster.allocId(),
      storeId: f.cluster.allocId(),
      role: 'voter',
      isWitness: false,
    });
    expect(selector.region.invalidReason).not.toBe('ok');
    expect(selector.next()).toBeUndefined();
  });
});
