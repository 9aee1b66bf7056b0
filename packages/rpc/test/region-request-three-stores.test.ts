// Ports of client-go internal/locate/region_request3_test.go cases that run requests through the
// sender over the three-store fixture: followers that time out, a stale read whose leader times
// out, an unreachable leader, a stuck leader, and a peer that comes back from down.
import { Backoffer, DeadlineExceededError } from '@tikv/common';
import { errorpb, kvrpcpb } from '@tikv/proto';
import { MAX_REPLICA_ATTEMPT_TIME_MS } from '../src/replica.js';
import type { TikvResponse } from '../src/tikv-commands.js';
import { labelStoresById } from './access-path.js';
import { type Fixture, type SentRequest, setupFixture } from './sender-fixture.js';

const getResponse = (value: string): TikvResponse => ({
  $case: 'Get',
  value: kvrpcpb.GetResponse.fromPartial({ value: new TextEncoder().encode(value) }),
});
const valueText = (res: TikvResponse): string =>
  new TextDecoder().decode((res.value as kvrpcpb.GetResponse).value);
const storeOf = (sent: SentRequest): bigint => BigInt(sent.addr.replace('store', ''));

describe('region_request3_test.go', () => {
  let f: Fixture;
  afterEach(async () => {
    await f?.close();
  });

  test('TestAccessFollowerAfter1TiKVDown: followers that time out are marked unreachable; mixed reads then go to the leader without retries', async () => {
    // Every store but the leader's fails its health check (client-go's suite has no health server).
    let leaderStore = 0n;
    // client-go picks among equal replicas at random; cycle through them so each is tried.
    let turn = 0;
    const random = (): number => ((turn++ % 3) + 0.5) / 3;
    f = setupFixture(
      3,
      { random },
      { livenessProbe: async (s) => (s.id === leaderStore ? 'reachable' : 'unreachable') },
    );
    let verId = await f.region();
    let region = f.cache.getCachedRegion(verId)!;
    leaderStore = region.rs.stores[region.workAccessIndex]!.id;
    const leaderAddr = f.addr(leaderStore);
    f.transport.handler = (sent) => {
      if (sent.addr !== leaderAddr) throw new DeadlineExceededError('context deadline exceeded');
      return getResponse('value');
    };
    const followersStale = (): boolean =>
      region.rs.stores.every((s, i) => i === region.workAccessIndex || s.epoch !== region.rs.storeEpochs[i]);
    for (let i = 0; i < 30 && !followersStale(); i++) {
      const bo = new Backoffer({ clock: f.clock, maxBackoffMs: 100, random: () => 0.5 });
      const res = await f.sender.sendRequest(bo, f.get('key'), verId, { replicaRead: 'mixed' });
      expect(res.value.regionError).toBeUndefined();
      for (const [j, s] of region.rs.stores.entries()) {
        if (j !== region.workAccessIndex && s.epoch !== region.rs.storeEpochs[j])
          expect(s.liveness).toBe('unreachable');
      }
    }
    expect(followersStale()).toBe(true);

    // A reload of every region (client-go: the GC leader's BatchLoadRegionsWithKeyRange) takes the
    // new store epochs, but the followers stay unreachable.
    await f.cache.batchLoadRegions(new Uint8Array(0), new Uint8Array(0), 1);
    verId = await f.region();
    region = f.cache.getCachedRegion(verId)!;
    for (const [i, s] of region.rs.stores.entries()) {
      if (i === region.workAccessIndex) continue;
      expect(s.epoch).toBe(region.rs.storeEpochs[i]);
      expect(s.liveness).toBe('unreachable');
    }
    // So mixed reads go straight to the leader: no backoff, no retry.
    for (let i = 0; i < 100; i++) {
      const bo = new Backoffer({ clock: f.clock, maxBackoffMs: 1, random: () => 0.5 });
      const sentBefore = f.transport.sent.length;
      const res = await f.sender.sendRequest(bo, f.get('key'), verId, { replicaRead: 'mixed' });
      expect(res.value.regionError).toBeUndefined();
      expect(bo.totalBackoffTimes).toBe(0);
      expect(f.transport.sent.length - sentBefore).toBe(1);
    }
  });

  test('TestStaleReadTryFollowerAfterTimeout: a stale read whose labelled leader times out is served by a follower, without backoff', async () => {
    f = setupFixture(3);
    labelStoresById(f);
    const verId = await f.region();
    const region = f.cache.getCachedRegion(verId)!;
    const leader = region.rs.stores[region.workAccessIndex]!;
    f.transport.handler = (sent) => {
      if (sent.addr === leader.address) throw new DeadlineExceededError('context deadline exceeded');
      return getResponse('value');
    };
    const bo = new Backoffer({ clock: f.clock, maxBackoffMs: 10_000, random: () => 0.5 });
    const res = await f.sender.sendRequest(bo, f.get('a'), verId, {
      staleRead: true,
      rpcTimeoutMs: 1000,
      matchStoreLabels: [{ key: 'id', value: String(leader.id) }],
    });
    expect(res.value.regionError).toBeUndefined();
    expect(valueText(res)).toBe('value');
    expect(f.transport.sent).toHaveLength(2);
    expect(f.transport.sent[0]?.addr).toBe(leader.address);
    expect(f.transport.sent[1]?.addr).not.toBe(leader.address);
    expect(bo.totalBackoffTimes).toBe(0);
  });

  test('TestDoNotTryUnreachableLeader: a stale read skips the unreachable leader for the labelled follower', async () => {
    f = setupFixture(3);
    labelStoresById(f);
    const verId = await f.region();
    const region = f.cache.getCachedRegion(verId)!;
    const leader = region.rs.stores[region.workAccessIndex]!;
    const follower = region.rs.stores.find((s) => s !== leader)!;
    f.transport.handler = (sent) => getResponse(sent.addr);
    leader.liveness = 'unreachable';
    const res = await f.sender.sendRequest(f.backoffer(), f.get('key'), verId, {
      staleRead: true,
      rpcTimeoutMs: 1000,
      matchStoreLabels: follower.labels.map((l) => ({ key: l.key, value: l.value })),
    });
    expect(valueText(res)).toBe(follower.address);
  });

  test('TestLeaderStuck: a leader stuck past the attempt-time budget is left for the new leader', async () => {
    // Every store answers its health check: the stuck leader is not unreachable, only slow.
    f = setupFixture(3, {}, { livenessProbe: async () => 'reachable' });
    const verId = await f.region();
    const region = f.cache.getCachedRegion(verId)!;
    const oldLeader = region.rs.stores[region.workAccessIndex]!;
    const followerPeer = region.meta.peers.find((p) => p.storeId !== oldLeader.id)!;
    let leaderPeer = region.meta.peers[region.workAccessIndex]!;
    let handled = false;
    f.transport.handler = async (sent) => {
      if (storeOf(sent) === oldLeader.id) {
        // Stuck: the attempt runs for its whole timeout. Meanwhile the leader moves.
        await f.clock.sleep(sent.options?.timeoutMs ?? 0);
        f.cluster.changeLeader(f.regionId, followerPeer.id);
        leaderPeer = followerPeer;
        throw new DeadlineExceededError('context deadline exceeded');
      }
      if (storeOf(sent) !== leaderPeer.storeId) {
        return {
          $case: 'Prewrite',
          value: kvrpcpb.PrewriteResponse.fromPartial({
            regionError: errorpb.Error.fromPartial({
              notLeader: { regionId: f.regionId, leader: { id: leaderPeer.id, storeId: leaderPeer.storeId } },
            }),
          }),
        };
      }
      handled = true;
      return { $case: 'Prewrite', value: kvrpcpb.PrewriteResponse.fromPartial({}) };
    };
    const prewrite = {
      $case: 'Prewrite',
      value: kvrpcpb.PrewriteRequest.fromPartial({
        mutations: [
          {
            op: kvrpcpb.Op.Put,
            key: new TextEncoder().encode('key'),
            value: new TextEncoder().encode('value1'),
          },
        ],
        startVersion: 100n,
      }),
    } as const;
    const started = f.clock.now();
    // client-go starts the selector near its attempt-time budget with a failpoint; here the one
    // stuck attempt takes the whole budget.
    const res = await f.sender.sendRequest(f.backoffer(), prewrite, verId, {
      rpcTimeoutMs: MAX_REPLICA_ATTEMPT_TIME_MS,
    });
    expect(res.value.regionError).toBeUndefined();
    expect(res.$case).toBe('Prewrite');
    expect(handled).toBe(true);
    // The stuck leader was tried once, not again.
    expect(f.transport.sent.filter((s) => storeOf(s) === oldLeader.id)).toHaveLength(1);
    expect(f.clock.now() - started).toBeLessThan(MAX_REPLICA_ATTEMPT_TIME_MS + 5_000);
  });

  test('TestTiKVRecoveredFromDown: a down peer is not read from, and is again once it recovers and the region reloads', async () => {
    f = setupFixture(3, {}, { regionCacheTtlMs: 2000 });
    labelStoresById(f);
    const downStore = f.storeIds[2]!;
    f.cluster.markPeerDown(f.peerIds[2]!);
    f.transport.handler = (sent) => {
      expect(storeOf(sent)).not.toBe(downStore);
      return getResponse(sent.addr);
    };
    const read = async () => {
      await f.clock.sleep(200);
      const verId = await f.region();
      const sentBefore = f.transport.sent.length;
      const res = await f.sender.sendRequest(f.backoffer(), f.get('key'), verId, {
        replicaRead: 'mixed',
        rpcTimeoutMs: 1000,
        matchStoreLabels: [{ key: 'id', value: String(downStore) }],
      });
      return { res, sent: f.transport.sent.slice(sentBefore) };
    };
    for (let i = 0; i < 15; i++) {
      const { res, sent } = await read();
      expect(valueText(res)).toBe(sent.at(-1)?.addr);
    }
    f.cluster.removeDownPeer(f.peerIds[2]!);
    f.transport.handler = (sent) => getResponse(sent.addr);
    let recovered = false;
    for (let i = 0; i < 15 && !recovered; i++) {
      const { sent } = await read();
      recovered = sent.at(-1)?.addr === f.addr(downStore);
    }
    expect(recovered).toBe(true);
  });
});
