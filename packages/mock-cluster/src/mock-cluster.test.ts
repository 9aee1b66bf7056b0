import { connect } from 'node:net';
import { InvalidArgumentError } from '@tikv/common';
import { b, ctxFor, TestClients, text } from '../test/test-helpers.js';
import { MockCluster, PeerRole, TopologyError } from './index.js';
import { resolveMockClusterOptions } from './mock-cluster-options.js';

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

/**
 * Listening sockets that keep the process alive. A closed server's handle leaves libuv's list in
 * the loop's close-callbacks phase, which a zero timeout (next timers phase) always follows.
 */
async function listeningHandles(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 0));
  return process.getActiveResourcesInfo().filter((r) => r === 'TCPServerWrap').length;
}

describe('MockCluster topology', () => {
  let cluster: MockCluster;
  let c: TestClients;
  beforeEach(async () => {
    cluster = await MockCluster.start({ stores: 4, regions: 4 });
    c = new TestClients(cluster);
  });
  afterEach(async () => {
    c.close();
    await cluster.close();
  });

  it('starts with the requested stores, regions and replicas', () => {
    expect(cluster.stores()).toHaveLength(4);
    expect(cluster.regions()).toHaveLength(4);
    for (const r of cluster.regions()) expect(r.peers).toHaveLength(3);
    expect(cluster.pdEndpoints[0]).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('merge bumps version to max + 1; peer changes bump conf_ver; leader moves keep epochs', async () => {
    const [r1, r2] = cluster.regions();
    if (r1 === undefined || r2 === undefined) throw new Error('regions');
    cluster.split(Uint8Array.of(0x10));
    const left = cluster.regionByKey(Uint8Array.of(0x00));
    const right = cluster.regionByKey(Uint8Array.of(0x20));
    const merged = cluster.merge(left.id, right.id);
    expect(merged.id).toBe(left.id);
    expect(merged.epoch.version).toBe(
      (left.epoch.version > right.epoch.version ? left.epoch.version : right.epoch.version) + 1n,
    );
    expect(cluster.region(right.id)).toBeUndefined();
    expect(() => cluster.merge(merged.id, cluster.regions()[2]?.id ?? 0n)).toThrow(TopologyError);
    const moved = cluster.transferLeader(merged.id, 2);
    expect(moved.leader.storeId).toBe(2n);
    expect(moved.epoch).toEqual(merged.epoch);
    const added = cluster.addPeer(merged.id, 4, PeerRole.Learner);
    expect(added.epoch.confVer).toBe(merged.epoch.confVer + 1n);
    expect(() => cluster.transferLeader(merged.id, 4)).toThrow(TopologyError);
    const removed = cluster.removePeer(merged.id, 1);
    expect(removed.epoch.confVer).toBe(merged.epoch.confVer + 2n);
    expect(() => cluster.removePeer(merged.id, 2)).toThrow(/leader/);
    expect(() => cluster.addPeer(merged.id, 2)).toThrow(TopologyError);
    // PD reports the new leader; the old leader answers NotLeader
    const pdView = await c.pd.getRegionByID({ header: c.header(), regionId: merged.id });
    expect(pdView.leader?.storeId).toBe(2n);
    const stale = await c.kv(1).rawGet({ context: ctxFor(merged), key: Uint8Array.of(0x01) });
    expect(stale.regionError?.regionNotFound).toBeDefined();
    const ok = await c
      .kv(2)
      .rawGet({ context: ctxFor(cluster.region(merged.id) ?? merged), key: Uint8Array.of(0x01) });
    expect(ok.regionError).toBeUndefined();
  });

  it('stopStore refuses connections; startStore serves again on the same port', async () => {
    const r = cluster.regionByKey('a');
    const addr = cluster.stores()[0]?.address ?? '';
    await c.kv(1).rawPut({ context: ctxFor(r), key: b('a'), value: b('1') });
    await cluster.stopStore(1);
    expect(cluster.stores()[0]?.running).toBe(false);
    expect(await refuses(addr)).toBe(true);
    await expect(
      c.kv(1).rawGet({ context: ctxFor(r), key: b('a') }, { signal: AbortSignal.timeout(2000) }),
    ).rejects.toBeDefined();
    await cluster.startStore(1);
    await cluster.startStore(1);
    expect(cluster.stores()[0]?.address).toBe(addr);
    const fresh = new TestClients(cluster);
    try {
      expect(text((await fresh.kv(1).rawGet({ context: ctxFor(r), key: b('a') })).value)).toBe('1');
    } finally {
      fresh.close();
    }
  });

  it('setStoreDelay makes a store slow', async () => {
    const r = cluster.regionByKey('a');
    cluster.setStoreDelay(1, 30);
    const t0 = Date.now();
    await c.kv(1).rawGet({ context: ctxFor(r), key: b('a') });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(25);
    expect(cluster.stores()[0]?.delayMs).toBe(30);
    expect(() => cluster.setStoreDelay(1, -1)).toThrow(InvalidArgumentError);
    expect(() => cluster.setStoreDelay(99, 1)).toThrow(InvalidArgumentError);
  });
});

describe('MockCluster lifecycle and options', () => {
  it('close() is idempotent and releases the ports', async () => {
    const cluster = await MockCluster.start({ stores: 1 });
    const addrs = [...cluster.pdEndpoints, ...cluster.stores().map((s) => s.address)];
    await cluster.close();
    await cluster.close();
    expect(cluster.closed).toBe(true);
    for (const a of addrs) expect(await refuses(a)).toBe(true);
  });

  it('a slow store does not delay close()', async () => {
    const cluster = await MockCluster.start({ stores: 1 });
    const c = new TestClients(cluster);
    cluster.setStoreDelay(1, 60_000);
    const pending = c
      .kv(1)
      .rawGet({ context: ctxFor(cluster.regionByKey('a')), key: b('a') })
      .catch((e: unknown) => e);
    await new Promise((r) => setImmediate(r));
    await cluster.close();
    await pending;
    c.close();
  });

  it('supports await using', async () => {
    let addr = '';
    {
      await using cluster = await MockCluster.start({ stores: 1 });
      addr = cluster.pdEndpoints[0] ?? '';
    }
    expect(await refuses(addr)).toBe(true);
  });

  it('validates options', () => {
    expect(() => resolveMockClusterOptions({ stores: 0 })).toThrow(InvalidArgumentError);
    // Unset, each server receives what the real one does (a store: any size, like TiKV).
    expect(resolveMockClusterOptions({}).maxReceiveMessageBytes).toBeUndefined();
    expect(resolveMockClusterOptions({ maxReceiveMessageBytes: 1024 }).maxReceiveMessageBytes).toBe(1024);
    expect(() => resolveMockClusterOptions({ maxReceiveMessageBytes: 0 })).toThrow(InvalidArgumentError);
    expect(() => resolveMockClusterOptions({ stores: 1, replicas: 2 })).toThrow(InvalidArgumentError);
    expect(() => resolveMockClusterOptions({ apiVersion: 'V9' as 'V1' })).toThrow(InvalidArgumentError);
    expect(resolveMockClusterOptions({ apiVersion: 'V2' }).regionKeyEncoding).toBe('memcomparable');
  });

  it('fails to start on a port in use and leaves nothing open', async () => {
    const a = await MockCluster.start({ stores: 1 });
    const port = Number(a.pdEndpoints[0]?.split(':')[1]);
    const before = await listeningHandles();
    try {
      // Two PD members and the first store start, then the second store's port is taken:
      // everything already listening must be closed again (unref: false makes it count).
      await expect(
        MockCluster.start({ stores: 2, pdMembers: 2, storePorts: [0, port], unref: false }),
      ).rejects.toMatchObject({ code: 'EADDRINUSE', message: expect.stringContaining(`:${port}`) });
      expect(await listeningHandles()).toBe(before);
      // The PD port in use fails before anything else opens.
      await expect(MockCluster.start({ stores: 1, pdPort: port, unref: false })).rejects.toMatchObject({
        code: 'EADDRINUSE',
        message: expect.stringContaining(`:${port}`),
      });
      expect(await listeningHandles()).toBe(before);
    } finally {
      await a.close();
    }
  });

  it('counts the listening sockets of a cluster that keeps the process alive (what the test above relies on)', async () => {
    const before = await listeningHandles();
    const c = await MockCluster.start({ stores: 2, pdMembers: 2, unref: false });
    expect(await listeningHandles()).toBe(before + 4);
    await c.close();
    expect(await listeningHandles()).toBe(before);
  });
});
