// Ports of client-go region_cache_test.go: leader updates, send failures,
// follower/mixed reads, label selection, epoch-not-match and no-leader handling.

import { toBytes as b } from '@tikv/common';
import { InvalidReason } from '../src/invalid-reason.js';
import type { RpcContext } from '../src/rpc-context.js';
import { Liveness } from '../src/store.js';
import { type Suite, setupSuite } from './helpers.js';

let s: Suite;
beforeEach(() => {
  s = setupSuite();
});
afterEach(async () => {
  await s.cache.close();
});

const SEEDS = [0, 1, 2, 3, 0x7fffffff, 0xfffffffe];

async function ctxFor(
  key: string,
  replicaRead: 'leader' | 'follower' | 'mixed' = 'leader',
  seed = 0,
): Promise<RpcContext> {
  const loc = await s.cache.locateKey(b(key));
  const ctx = await s.cache.getRpcContext(loc.region, { replicaRead, seed });
  if (ctx === undefined) throw new Error('no rpc context');
  return ctx;
}

/** Adds store3 with peer3 to region1, peer1 stays leader. */
function addThirdPeer(): { store3: bigint; peer3: bigint } {
  const store3 = s.cluster.allocId();
  const peer3 = s.cluster.allocId();
  s.cluster.addStore(store3, s.storeAddr(store3));
  s.cluster.addPeer(s.region1, store3, peer3);
  s.cluster.changeLeader(s.region1, s.peer1);
  return { store3, peer3 };
}

describe('leader updates (client-go TestUpdateLeader*)', () => {
  it('TestUpdateLeader: a NotLeader hint moves the work peer', async () => {
    const loc = await s.cache.locateKey(b('a'));
    s.cache.updateLeader(loc.region, { id: s.peer2, storeId: s.store2, role: 'voter', isWitness: false }, 0);
    for (const seed of SEEDS) {
      expect(await s.getAddr('a', 'leader')).toBe(s.storeAddr(s.store2));
      expect(await s.getAddr('a', 'follower', seed)).toBe(s.storeAddr(s.store1));
    }
    const end = await s.cache.locateEndKey(b('z'));
    expect(end.region.id).toBe(s.region1);
    expect(await s.getAddr('z', 'leader')).toBe(s.storeAddr(s.store2));
  });

  it('TestUpdateLeader2: a leader on an unknown peer reloads the region', async () => {
    const loc = await s.cache.locateKey(b('a'));
    const store3 = s.cluster.allocId();
    const peer3 = s.cluster.allocId();
    s.cluster.addStore(store3, s.storeAddr(store3));
    s.cluster.addPeer(s.region1, store3, peer3);
    s.cache.updateLeader(loc.region, { id: peer3, storeId: store3, role: 'voter', isWitness: false }, 0);
    expect(s.cache.getCachedRegion(loc.region)?.invalidReason).toBe(InvalidReason.STORE_NOT_FOUND);

    expect(await s.getAddr('a', 'leader')).toBe(s.storeAddr(s.store1));
    for (const seed of SEEDS) {
      const f1 = await s.getAddr('a', 'follower', seed);
      const f2 = await s.getAddr('a', 'follower', seed + 1);
      expect(f1).toBe(seed % 2 === 0 ? s.storeAddr(s.store2) : s.storeAddr(store3));
      expect(f1).not.toBe(f2);
    }
    s.cluster.changeLeader(s.region1, peer3);
    const loc2 = await s.cache.locateKey(b('a'));
    s.cache.updateLeader(loc2.region, { id: peer3, storeId: store3, role: 'voter', isWitness: false }, 0);
    expect(await s.getAddr('a', 'leader')).toBe(s.storeAddr(store3));
    for (const seed of SEEDS) {
      const f1 = await s.getAddr('a', 'follower', seed);
      expect(f1).toBe(seed % 2 === 0 ? s.storeAddr(s.store1) : s.storeAddr(s.store2));
      expect(f1).not.toBe(await s.getAddr('a', 'follower', seed + 1));
    }
  });

  it('TestUpdateLeader3: a removed leader store is found by the send failure and re-resolve', async () => {
    const loc = await s.cache.locateKey(b('a'));
    s.cluster.changeLeader(s.region1, s.peer2);
    s.cluster.removeStore(s.store2);
    const store3 = s.cluster.allocId();
    const peer3 = s.cluster.allocId();
    s.cluster.addStore(store3, s.storeAddr(store3));
    s.cluster.addPeer(s.region1, store3, peer3);
    s.cluster.changeLeader(s.region1, peer3);
    s.cache.updateLeader(loc.region, { id: s.peer2, storeId: s.store2, role: 'voter', isWitness: false }, 0);

    const ctx = await s.cache.getRpcContext(loc.region);
    expect(ctx?.addr).toBe(`store${s.store2}`);
    s.cache.onSendFail(ctx!, new Error('send fail'));
    await s.cache.storeCache.checkAndResolve(() => true);
    s.cache.updateLeader(loc.region, { id: s.peer2, storeId: s.store2, role: 'voter', isWitness: false }, 0);
    expect(await s.cache.getRpcContext(loc.region)).toBeUndefined();
    expect(await s.getAddr('a', 'leader')).toBe(s.storeAddr(store3));
    for (const seed of SEEDS) {
      expect(await s.getAddr('a', 'follower', seed)).not.toBe(s.storeAddr(store3));
    }
  });

  it('TestPeersLenChange / TestPeersLenChangedByWitness: a send failure on a changed region is ignored', async () => {
    const loc = await s.cache.locateKey(b('a'));
    s.cache.updateLeader(loc.region, { id: s.peer2, storeId: s.store2, role: 'voter', isWitness: false }, 0);
    const ctx = await ctxFor('a');
    expect(ctx.peer.storeId).toBe(s.store2);
    const src = (await s.cluster.getRegion(b('a')))!;
    await s.cache.insertRegion({ ...src, downPeers: [src.region.peers[0]!] });
    s.cache.onSendFail(ctx, new Error('send fail'));
    expect(s.cache.getStore(s.store2)?.epoch).toBe(0);

    s.cluster.setWitness(s.region1, s.peer1);
    const witness = (await s.cluster.getRegion(b('a')))!;
    expect(await s.cache.insertRegion({ ...witness, leader: witness.region.peers[1] })).toBe(true);
    s.cache.onSendFail(ctx, new Error('send fail'));
  });
});

describe('send failures (client-go TestSendFailed*)', () => {
  it('TestSendFailedButLeaderNotChange: failures move to the next peer, followers follow', async () => {
    const { peer3 } = addThirdPeer();
    let ctx = await ctxFor('a');
    expect(ctx.peer.id).toBe(s.peer1);
    expect(ctx.meta.peers).toHaveLength(3);
    for (const seed of SEEDS) {
      const f1 = await ctxFor('a', 'follower', seed);
      expect(f1.peer.id).toBe(seed % 2 === 0 ? s.peer2 : peer3);
      expect((await ctxFor('a', 'follower', seed)).peer.id).toBe(f1.peer.id);
    }
    s.cache.onSendFail(ctx, undefined);
    ctx = await ctxFor('a');
    expect(ctx.peer.id).toBe(s.peer2);
    for (const seed of SEEDS) {
      const f1 = await ctxFor('a', 'follower', seed);
      const f2 = await ctxFor('a', 'follower', seed + 1);
      expect(f1.peer.id).toBe(seed % 2 === 0 ? s.peer1 : peer3);
      expect(f1.peer.id).not.toBe(f2.peer.id);
    }
    s.cache.updateLeader(
      ctx.region,
      { id: s.peer2, storeId: s.store2, role: 'voter', isWitness: false },
      ctx.accessIdx,
    );
    ctx = await ctxFor('a');
    expect(ctx.peer.id).toBe(s.peer2);
  });

  it('TestSendFailedInHibernateRegion: NotLeader without a hint walks the peers', async () => {
    const { peer3 } = addThirdPeer();
    let ctx = await ctxFor('a');
    s.cache.onSendFail(ctx, undefined);
    ctx = await ctxFor('a');
    expect(ctx.peer.id).toBe(s.peer2);
    s.cache.updateLeader(ctx.region, undefined, ctx.accessIdx);
    ctx = await ctxFor('a');
    expect(ctx.peer.id).toBe(peer3);
    for (const seed of SEEDS) {
      const f1 = await ctxFor('a', 'follower', seed);
      expect(f1.peer.id).toBe(seed % 2 === 0 ? s.peer1 : s.peer2);
    }
    s.cache.updateLeader(ctx.region, undefined, ctx.accessIdx);
    ctx = await ctxFor('a');
    expect(ctx.peer.id).toBe(s.peer1);
    // A stale index does not move the work peer again.
    s.cache.updateLeader(ctx.region, undefined, 2);
    expect((await ctxFor('a')).peer.id).toBe(s.peer1);
  });

  it('TestSendFailInvalidateRegionsInSameStore: a store failure invalidates its other regions', async () => {
    const region2 = s.cluster.allocId();
    const newPeers = s.cluster.allocIds(2);
    s.cluster.split(s.region1, region2, 'm', newPeers, newPeers[0]!);
    const loc1 = await s.cache.locateKey(b('a'));
    expect(loc1.region.id).toBe(s.region1);
    const loc2 = await s.cache.locateKey(b('x'));
    expect(loc2.region.id).toBe(region2);
    const ctx = (await s.cache.getRpcContext(loc1.region))!;
    s.checkCache(2);
    s.cache.onSendFail(ctx, new Error('test error'));
    expect(await s.cache.getRpcContext(loc2.region)).toBeUndefined();
    expect(s.cache.getCachedRegion(loc2.region)?.invalidReason).toBe(InvalidReason.OTHER);
    await s.cache.storeCache.whenIdle();
  });

  it('TestSendFailedInMultipleNode', async () => {
    const { peer3 } = addThirdPeer();
    let ctx = await ctxFor('a');
    s.cache.onSendFail(ctx, undefined);
    ctx = await ctxFor('a');
    expect(ctx.peer.id).toBe(s.peer2);
    s.cache.onSendFail(ctx, undefined);
    ctx = await ctxFor('a');
    expect(ctx.peer.id).toBe(peer3);
    for (const seed of SEEDS) {
      const f = await ctxFor('a', 'follower', seed);
      expect(f.peer.id).toBe(seed % 2 === 0 ? s.peer1 : s.peer2);
    }
    s.cache.updateLeader(
      ctx.region,
      { id: s.peer1, storeId: s.store1, role: 'voter', isWitness: false },
      ctx.accessIdx,
    );
    ctx = await ctxFor('a');
    expect(ctx.peer.id).toBe(s.peer1);
    s.cache.onSendFail(ctx, undefined, { scheduleReload: true });
    const before = s.cluster.calls.getRegion;
    await s.cache.locateKey(b('a'));
    expect(s.cluster.calls.getRegion).toBe(before + 1);
  });

  it('TestFollowerReadFallback: a failed follower is skipped', async () => {
    const { peer3 } = addThirdPeer();
    expect((await ctxFor('a')).peer.id).toBe(s.peer1);
    const f1 = await ctxFor('a', 'follower', 0);
    expect(f1.peer.id).toBe(s.peer2);
    expect((await ctxFor('a', 'follower', 1)).peer.id).toBe(peer3);
    s.cache.onSendFail(f1, new Error('test error'));
    const loc = await s.cache.locateKey(b('a'));
    const ctx = await s.cache.getRpcContext(loc.region, { replicaRead: 'follower', seed: 0 });
    expect(ctx?.peer.id).toBe(peer3);
  });

  it('TestMixedReadFallback', async () => {
    const { peer3 } = addThirdPeer();
    const m0 = await ctxFor('a', 'mixed', 0);
    expect(m0.peer.id).toBe(s.peer1);
    expect((await ctxFor('a', 'mixed', 1)).peer.id).toBe(s.peer2);
    expect((await ctxFor('a', 'mixed', 2)).peer.id).toBe(peer3);
    s.cache.onSendFail(m0, new Error('test error'));
    const loc = await s.cache.locateKey(b('a'));
    const ctx = await s.cache.getRpcContext(loc.region, { replicaRead: 'mixed', seed: 0 });
    expect(ctx?.peer.id).toBe(s.peer2);
  });

  it('TestLabelSelectorTiKVPeer', async () => {
    const dc1 = [{ key: 'zone', value: 'dc-1' }];
    const dc2 = [{ key: 'zone', value: 'dc-2' }];
    const dc3 = [{ key: 'zone', value: 'dc-3' }];
    s.cluster.updateStoreLabels(s.store1, dc1);
    s.cluster.updateStoreLabels(s.store2, dc2);
    const { store3 } = addThirdPeer();
    s.cluster.updateStoreLabels(store3, dc1);
    const loc = await s.cache.locateKey(b('a'));
    const cases: [string, 'mixed' | 'follower' | 'leader', typeof dc1, bigint[]][] = [
      ['any peer in dc-1', 'mixed', dc1, [s.store1, store3]],
      ['any peer in dc-2', 'mixed', dc2, [s.store2]],
      ['follower in dc-1', 'follower', dc1, [store3]],
      ['leader ignores labels', 'leader', dc2, [s.store1]],
      ['no match falls back to the leader', 'mixed', dc3, [s.store1]],
    ];
    for (const seed of SEEDS) {
      for (const [name, replicaRead, labels, expected] of cases) {
        const ctx = await s.cache.getRpcContext(loc.region, { replicaRead, seed, labels });
        expect([name, expected.includes(ctx!.store.id)]).toEqual([name, true]);
      }
    }
    const only2 = await s.cache.getRpcContext(loc.region, {
      replicaRead: 'mixed',
      seed: 0,
      storeIds: [s.store2],
    });
    expect(only2?.store.id).toBe(s.store2);
  });

  it('preferLeader uses the leader unless its store is slow', async () => {
    addThirdPeer();
    const loc = await s.cache.locateKey(b('a'));
    for (const seed of SEEDS) {
      expect((await s.cache.getRpcContext(loc.region, { replicaRead: 'preferLeader', seed }))?.peer.id).toBe(
        s.peer1,
      );
    }
    s.cache.getStore(s.store1)!.health.markAlreadySlow();
    const picked = await s.cache.getRpcContext(loc.region, { replicaRead: 'preferLeader', seed: 0 });
    expect(picked?.peer.id).toBe(s.peer1); // no candidate: falls back to the work peer
  });

  it('TestSwitchPeerWhenNoLeader: a NoLeader invalidation starts the reload from the next peer', async () => {
    let prev: RpcContext | undefined;
    for (let i = 0; i <= 2; i++) {
      const ctx = await ctxFor('a');
      if (prev !== undefined) {
        expect(ctx.accessIdx).not.toBe(prev.accessIdx);
        expect(ctx.peer.id).not.toBe(prev.peer.id);
      }
      s.cache.invalidateRegion(ctx.region, InvalidReason.NO_LEADER);
      expect(s.cache.getCachedRegion(ctx.region)?.invalidReason).toBe(InvalidReason.NO_LEADER);
      prev = ctx;
    }
  });
});

describe('epoch not match (client-go TestRegionEpochAheadOfTiKV, OnRegionEpochNotMatch)', () => {
  it('TestRegionEpochAheadOfTiKV: an epoch ahead of TiKV asks the caller to back off', async () => {
    const loc = await s.cache.locateKey(b('a'));
    const ahead = [
      {
        id: loc.region.id,
        startKey: b(''),
        endKey: b(''),
        epoch: { version: loc.region.version - 1n, confVer: loc.region.confVer },
        peers: [],
      },
    ];
    expect(await s.cache.onRegionEpochNotMatch(loc.region, ahead)).toBe(true);
    const ahead2 = [
      {
        id: loc.region.id,
        startKey: b(''),
        endKey: b(''),
        epoch: { version: loc.region.version, confVer: loc.region.confVer - 1n },
        peers: [],
      },
    ];
    expect(await s.cache.onRegionEpochNotMatch(loc.region, ahead2)).toBe(true);
    expect(s.cache.getCachedRegion(loc.region)?.invalidReason).toBe(InvalidReason.OK);
  });

  it('replaces the region with the regions in the error, led by the answering store', async () => {
    const loc = await s.cache.locateKey(b('a'));
    const region2 = s.cluster.allocId();
    const newPeers = s.cluster.allocIds(2);
    s.cluster.split(s.region1, region2, 'm', newPeers, newPeers[0]!);
    const current = [
      (await s.cluster.getRegion(b('a')))!.region,
      (await s.cluster.getRegion(b('x')))!.region,
    ];
    const before = s.cluster.calls.getRegion;
    const old = s.cache.getCachedRegion(loc.region)!;
    expect(await s.cache.onRegionEpochNotMatch(loc.region, current, { storeId: s.store2 })).toBe(false);
    expect(old.invalidReason).toBe(InvalidReason.EPOCH_NOT_MATCH);
    expect(s.cache.getCachedRegion(loc.region)).toBeUndefined();
    const left = await s.cache.locateKey(b('a'));
    const right = await s.cache.locateKey(b('x'));
    expect(s.cluster.calls.getRegion).toBe(before);
    expect(left.region.id).toBe(s.region1);
    expect(right.region.id).toBe(region2);
    expect((await s.cache.getRpcContext(left.region))?.store.id).toBe(s.store2);
    expect((await s.cache.getRpcContext(right.region))?.store.id).toBe(s.store2);
  });

  it('TestRegionEpochOnTiFlash analogue: from TiFlash the first electable peer leads', async () => {
    const loc = await s.cache.locateKey(b('a'));
    s.cluster.addPeer(s.region1, s.store2, s.cluster.allocId(), 'learner');
    const current = [(await s.cluster.getRegion(b('a')))!.region];
    expect(await s.cache.onRegionEpochNotMatch(loc.region, current, { fromTiFlash: true })).toBe(false);
    const fresh = await s.cache.locateKey(b('a'));
    expect((await s.cache.getRpcContext(fresh.region))?.store.id).toBe(s.store1);
  });

  it('with no current regions only invalidates', async () => {
    const loc = await s.cache.locateKey(b('a'));
    expect(await s.cache.onRegionEpochNotMatch(loc.region, [])).toBe(false);
    expect(s.cache.getCachedRegion(loc.region)?.invalidReason).toBe(InvalidReason.EPOCH_NOT_MATCH);
    expect(await s.cache.getRpcContext(loc.region)).toBeUndefined();
  });
});

describe('forwarding', () => {
  it('routes leader requests through a proxy when the leader store is unreachable', async () => {
    await s.cache.close();
    s = setupSuite({ enableForwarding: true, random: () => 0 });
    addThirdPeer();
    const loc = await s.cache.locateKey(b('a'));
    expect((await s.cache.getRpcContext(loc.region))?.proxyStore).toBeUndefined();
    s.cache.markStoreUnreachable(s.store1);
    const ctx = await s.cache.getRpcContext(loc.region);
    expect(ctx?.store.id).toBe(s.store1);
    expect(ctx?.proxyStore?.id).toBe(s.store2);
    expect(ctx?.proxyAddr).toBe(s.storeAddr(s.store2));
    expect((await s.cache.getRpcContext(loc.region))?.proxyStore?.id).toBe(s.store2);
    s.cache.setStoreLiveness(s.store1, Liveness.REACHABLE);
    expect((await s.cache.getRpcContext(loc.region))?.proxyStore).toBeUndefined();
  });
});
