import { MockCluster } from '@tikv/mock-cluster';
import { PdClient } from '../src/pd-client.js';
import { PdOracle } from '../src/pd-oracle.js';

// Keyspace-group TSO on PD's TSO microservice (PD's API service mode), against the mock's
// `tsoService` mode: routing to the keyspace group's primary, the request headers, primary
// changes, keyspace moves and service mode switches. Ports of PD's integration tests
// (tests/integrations/tso/client_test.go, tests/integrations/mcs/tso/*_test.go).

async function collect(client: PdClient, n: number): Promise<bigint[]> {
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) out.push(await client.getTimestamp());
  return out;
}

function increasing(ts: readonly bigint[]): boolean {
  return ts.every((t, i) => i === 0 || t > (ts[i - 1] as bigint));
}

describe('PdClient on the TSO microservice (keyspace groups)', () => {
  let cluster: MockCluster;
  const clients: PdClient[] = [];
  const connect = async (keyspaceId?: number): Promise<PdClient> => {
    const c = await PdClient.connect({
      endpoints: cluster.pdEndpoints,
      keyspaceId,
      serviceModeUpdateIntervalMs: 50,
      tsoServiceDiscovery: { updateRetryIntervalMs: 20 },
      tsoRetryIntervalMs: 10,
    });
    clients.push(c);
    return c;
  };
  beforeEach(async () => {
    cluster = await MockCluster.start({
      stores: 1,
      tsoService: {
        servers: 3,
        keyspaceGroups: [
          { id: 1, keyspaces: [1, 2], primary: 0 },
          { id: 2, keyspaces: [3, 4], primary: 1 },
        ],
      },
    });
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    await cluster.close();
  });

  test('TestKeyspacesServedByNonDefaultKeyspaceGroups: each keyspace is served by its group primary, with its ids in the header', async () => {
    const servers = cluster.tsoServers();
    const expected: Record<number, { group: number; server: number }> = {
      1: { group: 1, server: 0 },
      2: { group: 1, server: 0 },
      3: { group: 2, server: 1 },
      4: { group: 2, server: 1 },
    };
    for (const [ks, want] of Object.entries(expected)) {
      const keyspaceId = Number(ks);
      const client = await connect(keyspaceId);
      expect(client.serviceMode).toBe('API');
      expect(increasing(await collect(client, 5))).toBe(true);
      const route = client.timestamps.tsoRoute;
      expect(route).toEqual({
        serviceMode: 'API',
        keyspaceId,
        keyspaceGroupId: want.group,
        url: servers[want.server]?.url,
      });
      const records = cluster.tsoRequests().filter((r) => r.keyspaceId === keyspaceId);
      expect(records.length).toBeGreaterThan(0);
      for (const r of records) {
        expect(r).toEqual(
          expect.objectContaining({
            server: want.server,
            clusterId: cluster.clusterId,
            keyspaceGroupId: want.group,
            calleeId: servers[want.server]?.address,
            servedGroupId: want.group,
            error: undefined,
          }),
        );
      }
    }
  });

  test('TestGetTS: a client without a keyspace is served by the default group', async () => {
    const client = await connect();
    const ts = await Promise.all(Array.from({ length: 50 }, () => client.getTimestamp()));
    expect(new Set(ts).size).toBe(50);
    expect(client.timestamps.tsoRoute.keyspaceGroupId).toBe(0);
    const last = cluster.tsoRequests().at(-1);
    expect(last).toEqual(
      expect.objectContaining({ keyspaceId: 0xffffffff, keyspaceGroupId: 0, servedGroupId: 0, server: 0 }),
    );
  });

  test('TestRandomResignLeader: timestamps stay increasing across a primary change, and follow the new primary', async () => {
    const client = await connect(3);
    const before = await collect(client, 5);
    expect(client.timestamps.tsoRoute.url).toBe(cluster.tsoServers()[1]?.url);
    cluster.setTsoPrimary(2, 2);
    // Concurrent callers while the old primary refuses ("is not leader"): none fails.
    const during = await Promise.all(Array.from({ length: 20 }, () => client.getTimestamp()));
    const after = await collect(client, 5);
    expect(increasing([...before, ...after])).toBe(true);
    expect(Math.min(...during.map(Number))).toBeGreaterThan(Number(before.at(-1)));
    expect(client.timestamps.tsoRoute.url).toBe(cluster.tsoServers()[2]?.url);
    const refused = cluster.tsoRequests().filter((r) => r.server === 1 && r.error !== undefined);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused[0]?.error).toContain('is not leader');
    expect(cluster.tsoRequests().at(-1)).toEqual(expect.objectContaining({ server: 2, keyspaceGroupId: 2 }));
  });

  test('TestRandomShutdown: the primary stops, the group elects another member and the client follows it', async () => {
    const client = await connect(1);
    const before = await collect(client, 3);
    await cluster.stopTsoServer(0);
    const after = await collect(client, 3);
    expect(increasing([...before, ...after])).toBe(true);
    const primary = cluster.keyspaceGroups().find((g) => g.id === 1)?.primary as number;
    expect(client.timestamps.tsoRoute.url).toBe(cluster.tsoServers()[primary]?.url);
  });

  test('TestTSOKeyspaceGroupSplitClient: a keyspace moved to another group is followed there, timestamps increasing', async () => {
    const client = await connect(2);
    const before = await collect(client, 5);
    expect(client.timestamps.tsoRoute.keyspaceGroupId).toBe(1);
    cluster.moveKeyspaceToGroup(2, 2);
    const after = await collect(client, 5);
    expect(increasing([...before, ...after])).toBe(true);
    expect(client.timestamps.tsoRoute).toEqual(
      expect.objectContaining({ keyspaceGroupId: 2, url: cluster.tsoServers()[1]?.url }),
    );
    expect(cluster.tsoRequests().at(-1)).toEqual(
      expect.objectContaining({ keyspaceId: 2, keyspaceGroupId: 2, servedGroupId: 2, server: 1 }),
    );
  });

  test("TestTSOKeyspaceGroupSplitClient (PD's split API): the split target serves at once and its first timestamps end the split", async () => {
    const client = await connect(2);
    const before = await collect(client, 3);
    const target = cluster.splitKeyspaceGroup(1, 7, [2]);
    expect(target).toEqual(expect.objectContaining({ id: 7, keyspaces: [2], primary: 0, splitSource: 1 }));
    expect(cluster.keyspaceGroups().find((g) => g.id === 1)?.splitSource).toBe(1);
    const after = await collect(client, 3);
    expect(increasing([...before, ...after])).toBe(true);
    // The same primary serves the keyspace from the new group (the header says so), as a real
    // TSO server does; the client looks the group up and names it from then on.
    expect(cluster.tsoRequests().find((r) => r.keyspaceId === 2 && r.servedGroupId === 7)).toEqual(
      expect.objectContaining({ keyspaceGroupId: 1, server: 0 }),
    );
    for (let i = 0; i < 200 && client.timestamps.tsoRoute.keyspaceGroupId !== 7; i++)
      after.push(await client.getTimestamp());
    expect(client.timestamps.tsoRoute.keyspaceGroupId).toBe(7);
    await collect(client, 2);
    expect(cluster.tsoRequests().at(-1)).toEqual(
      expect.objectContaining({ keyspaceId: 2, keyspaceGroupId: 7, servedGroupId: 7, server: 0 }),
    );
    expect(increasing([...before, ...after])).toBe(true);
    expect(cluster.keyspaceGroups().map((g) => g.splitSource)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  test('the oracle and batching work on top: concurrent callers are batched on the group primary stream', async () => {
    const client = await connect(4);
    const oracle = await PdOracle.create(client, { updateIntervalMs: 60_000 });
    try {
      const rpcsBefore = client.tsoStats.rpcs;
      const ts = await Promise.all(Array.from({ length: 200 }, () => oracle.getTimestamp()));
      expect(new Set(ts).size).toBe(200);
      expect(client.tsoStats.rpcs - rpcsBefore).toBeLessThan(200);
      const low = await oracle.getLowResolutionTimestamp();
      expect(low).toBeGreaterThan(0n);
      const batched = cluster.tsoRequests().filter((r) => r.keyspaceId === 4 && r.count > 1);
      expect(batched.length).toBeGreaterThan(0);
      expect(batched.every((r) => r.keyspaceGroupId === 2 && r.server === 1)).toBe(true);
    } finally {
      oracle.close();
    }
  });

  test('TestTSOServiceSwitch: PD switching out of and back into the API service mode moves the stream, timestamps increasing', async () => {
    const client = await connect(3);
    const all = await collect(client, 3);
    cluster.setTsoServiceEnabled(false);
    // Wait for the mode check (every 50 ms here) by asking for timestamps until it switched.
    for (let i = 0; i < 10_000 && client.serviceMode !== 'PD'; i++) all.push(await client.getTimestamp());
    expect(client.serviceMode).toBe('PD');
    all.push(...(await collect(client, 3)));
    expect(client.timestamps.tsoRoute).toEqual(
      expect.objectContaining({ serviceMode: 'PD', keyspaceGroupId: 0 }),
    );
    expect(client.timestamps.tsoStreamUrl).toBe(client.leaderUrl);
    cluster.setTsoServiceEnabled(true);
    for (let i = 0; i < 10_000 && client.serviceMode !== 'API'; i++) all.push(await client.getTimestamp());
    all.push(...(await collect(client, 3)));
    expect(client.timestamps.tsoRoute).toEqual(
      expect.objectContaining({ serviceMode: 'API', keyspaceGroupId: 2 }),
    );
    expect(increasing(all)).toBe(true);
  });
});

describe('PdClient on a PD serving TSO itself', () => {
  test('the service mode is PD and timestamps come from the leader', async () => {
    const cluster = await MockCluster.start({ stores: 1 });
    try {
      const client = await PdClient.connect({ endpoints: cluster.pdEndpoints, keyspaceId: 5 });
      try {
        await client.getTimestamp();
        expect(client.serviceMode).toBe('PD');
        expect(client.timestamps.tsoRoute).toEqual({
          serviceMode: 'PD',
          keyspaceId: 5,
          keyspaceGroupId: 0,
          url: client.leaderUrl,
        });
      } finally {
        await client.close();
      }
    } finally {
      await cluster.close();
    }
  });

  test('keyspaceId is checked', async () => {
    await expect(PdClient.connect({ endpoints: ['127.0.0.1:1'], keyspaceId: 1 << 24 })).rejects.toThrow(
      'keyspaceId must be',
    );
    await expect(
      PdClient.connect({ endpoints: ['127.0.0.1:1'], serviceModeUpdateIntervalMs: 0 }),
    ).rejects.toThrow('serviceModeUpdateIntervalMs');
  });
});

describe('PdClient with a PD that names no TSO server', () => {
  test('TestDiscoverTSOServiceWithLegacyPath: the default group primary is read from etcd, and followed', async () => {
    const cluster = await MockCluster.start({ stores: 1, tsoService: { servers: 2, advertiseUrls: false } });
    try {
      const client = await PdClient.connect({ endpoints: cluster.pdEndpoints, keyspaceId: 1_000_000 });
      try {
        const before: bigint[] = [];
        for (let i = 0; i < 5; i++) before.push(await client.getTimestamp());
        expect(client.serviceMode).toBe('API');
        expect(client.timestamps.tsoRoute).toEqual(
          expect.objectContaining({ keyspaceGroupId: 0, url: cluster.tsoServers()[0]?.url }),
        );
        expect(cluster.tsoRequests().at(-1)).toEqual(
          expect.objectContaining({ keyspaceId: 1_000_000, keyspaceGroupId: 0, server: 0 }),
        );
        cluster.setTsoPrimary(0, 1);
        const after: bigint[] = [];
        for (let i = 0; i < 5; i++) after.push(await client.getTimestamp());
        expect(increasing([...before, ...after])).toBe(true);
        expect(client.timestamps.tsoRoute.url).toBe(cluster.tsoServers()[1]?.url);
      } finally {
        await client.close();
      }
    } finally {
      await cluster.close();
    }
  });

  test('TestClientDoesNotFallbackToDefaultGroupOnUninitializedTSONode: a keyspace assigned to another group does not fall back', async () => {
    const cluster = await MockCluster.start({
      stores: 1,
      apiVersion: 'V2',
      keyspaces: [{ name: 'ks', id: 7, config: { tso_keyspace_group_id: '1' } }],
      tsoService: { servers: 1, advertiseUrls: false, keyspaceGroups: [{ id: 1, keyspaces: [7] }] },
    });
    try {
      const client = await PdClient.connect({
        endpoints: cluster.pdEndpoints,
        keyspaceId: 7,
        maxTsoRetries: 2,
        tsoServiceDiscovery: { maxUpdateRetries: 1 },
      });
      try {
        await expect(client.getTimestamp()).rejects.toThrow('belongs to keyspace group 1');
        expect(cluster.tsoRequests()).toEqual([]);
      } finally {
        await client.close();
      }
    } finally {
      await cluster.close();
    }
  });
});
