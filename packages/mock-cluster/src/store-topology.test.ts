// The store hooks of the handle: a store restarted on a new port, a store added (on an old
// address), a store's PD state, a store removed. client-go's rawkv tests drive the same changes
// through mocktikv (UpdateStoreAddr, AddStore, MarkTombstone, RemoveStore).

import { connect } from 'node:net';
import { InvalidArgumentError } from '@tikv/common';
import { metapb, pdpb } from '@tikv/proto';
import { b, ctxFor, TestClients, text } from '../test/test-helpers.js';
import { MockCluster, StoreState } from './index.js';

function refuses(address: string): Promise<boolean> {
  const [host, port] = address.split(':');
  return new Promise((resolve) => {
    const s = connect({ host, port: Number(port) });
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

const portOf = (address: string): number => Number(address.split(':')[1]);

describe('MockCluster store hooks', () => {
  let cluster: MockCluster;
  const clients: TestClients[] = [];
  /** Fresh clients: TestClients keeps the address a store had when first used. */
  const fresh = (): TestClients => {
    const c = new TestClients(cluster);
    clients.push(c);
    return c;
  };
  beforeEach(async () => {
    cluster = await MockCluster.start({ stores: 2 });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close();
    await cluster.close();
  });
  const address = (id: bigint): string => cluster.stores().find((s) => s.id === id)?.address ?? '';

  it('startStore on another port keeps the store id; PD reports the new address', async () => {
    const r = cluster.regionByKey('a');
    await fresh()
      .kv(1)
      .rawPut({ context: ctxFor(r), key: b('a'), value: b('1') });
    const old = address(1n);
    await cluster.stopStore(1);
    await cluster.startStore(1, { port: 0 });
    const moved = address(1n);
    expect(moved).not.toBe(old);
    expect(cluster.stores()[0]).toMatchObject({ id: 1n, running: true });
    expect(await refuses(old)).toBe(true);
    const c = fresh();
    const pdView = await c.pd.getStore({ header: c.header(), storeId: 1n });
    expect(pdView.store?.address).toBe(moved);
    expect(text((await c.kv(1).rawGet({ context: ctxFor(r), key: b('a') })).value)).toBe('1');
  });

  it('two stores swapping addresses: a request for one store reaching the other answers StoreNotMatch', async () => {
    const r = cluster.regionByKey('a');
    const [a1, a2] = [address(1n), address(2n)];
    await cluster.stopStore(1);
    await cluster.stopStore(2);
    await cluster.startStore(1, { port: portOf(a2) });
    await cluster.startStore(2, { port: portOf(a1) });
    expect([address(1n), address(2n)]).toEqual([a2, a1]);
    const c = fresh();
    // What a client with the old addresses does: store 1's request to store 1's old address.
    const atOldAddress = c.kv(2);
    const res = await atOldAddress.rawGet({ context: ctxFor(r), key: b('a') });
    expect(res.regionError?.storeNotMatch).toEqual({ requestStoreId: 1n, actualStoreId: 2n });
    expect((await c.kv(1).rawGet({ context: ctxFor(r), key: b('a') })).regionError).toBeUndefined();
  });

  it('addStore serves a new store id, on a given port (the address of a stopped store)', async () => {
    const freed = address(1n);
    await cluster.stopStore(1);
    const added = await cluster.addStore({ port: portOf(freed), labels: { zone: 'z9' } });
    expect(added).toMatchObject({
      address: freed,
      state: StoreState.Up,
      running: true,
      labels: { zone: 'z9' },
    });
    expect(added.id).toBeGreaterThan(
      cluster.regions().reduce((m, r) => r.peers.reduce((n, p) => (p.id > n ? p.id : n), m), 0n),
    );
    const c = fresh();
    const all = await c.pd.getAllStores({ header: c.header() });
    expect(all.stores.map((s) => s.id)).toEqual([1n, 2n, added.id]);
    // It serves a region once a peer is placed on it and leads it.
    const r0 = cluster.regionByKey('a');
    cluster.addPeer(r0.id, added.id);
    const r = cluster.transferLeader(r0.id, added.id);
    expect(
      (await c.kv(added.id).rawPut({ context: ctxFor(r), key: b('k'), value: b('v') })).regionError,
    ).toBeUndefined();
    // A request still routed to the stopped store's peer reaches the new store: StoreNotMatch.
    const oldPeer = r.peers.find((p) => p.storeId === 1n) ?? r.leader;
    const wrong = await c.kv(added.id).rawGet({ context: ctxFor({ ...r, leader: oldPeer }), key: b('k') });
    expect(wrong.regionError?.storeNotMatch?.actualStoreId).toBe(added.id);
  });

  it('addStore on a port in use rejects and leaves no store behind', async () => {
    const before = cluster.stores();
    await expect(cluster.addStore({ port: portOf(address(2n)) })).rejects.toMatchObject({
      code: 'EADDRINUSE',
    });
    expect(cluster.stores()).toEqual(before);
  });

  it('setStoreState changes what PD reports, not what the store serves', async () => {
    const c = fresh();
    expect(cluster.setStoreState(1, StoreState.Offline).state).toBe(StoreState.Offline);
    expect((await c.pd.getStore({ header: c.header(), storeId: 1n })).store?.state).toBe(
      metapb.StoreState.Offline,
    );
    cluster.setStoreState(1, StoreState.Tombstone);
    expect((await c.pd.getStore({ header: c.header(), storeId: 1n })).store?.state).toBe(
      metapb.StoreState.Tombstone,
    );
    const live = await c.pd.getAllStores({ header: c.header(), excludeTombstoneStores: true });
    expect(live.stores.map((s) => s.id)).toEqual([2n]);
    const r = cluster.regionByKey('a');
    expect((await c.kv(1).rawGet({ context: ctxFor(r), key: b('a') })).regionError).toBeUndefined();
    expect(() => cluster.setStoreState(9, StoreState.Up)).toThrow(InvalidArgumentError);
  });

  it('removeStore stops the store for good and PD forgets it; its peers stay until removed', async () => {
    const gone = address(1n);
    const r = cluster.regionByKey('a');
    cluster.transferLeader(r.id, 2);
    await cluster.removeStore(1);
    expect(await refuses(gone)).toBe(true);
    expect(cluster.stores().map((s) => s.id)).toEqual([2n]);
    const c = fresh();
    const answer = await c.pd.getStore({ header: c.header(), storeId: 1n });
    expect(answer.header?.error?.type).toBe(pdpb.ErrorType.UNKNOWN);
    expect(answer.header?.error?.message).toBe('invalid store ID 1, not found');
    expect(answer.store).toBeUndefined();
    expect((await c.pd.getAllStores({ header: c.header() })).stores.map((s) => s.id)).toEqual([2n]);
    expect(cluster.region(r.id)?.peers.map((p) => p.storeId)).toEqual([1n, 2n]);
    expect(cluster.removePeer(r.id, 1).peers.map((p) => p.storeId)).toEqual([2n]);
    await expect(cluster.startStore(1)).rejects.toThrow(InvalidArgumentError);
    await expect(cluster.removeStore(1)).rejects.toThrow(InvalidArgumentError);
  });
});
