import { meta_storagepb, pdpb, tsopb } from '@tikv/proto';
import { createChannel, createClient } from 'nice-grpc';
import { MockCluster } from '../index.js';
import { GrpcStatus, RpcError } from '../server/rpc-error.js';
import { TsoAllocator } from '../tso-allocator.js';
import { KeyspaceGroups } from './keyspace-groups.js';
import type { TsoServerInfo } from './tso-servers.js';
import { type TsoRequestRecord, TsoService } from './tso-service.js';

const CLUSTER = 42n;

function setup(groups: KeyspaceGroups) {
  const records: TsoRequestRecord[] = [];
  const deps = {
    clusterId: CLUSTER,
    groups,
    tso: new TsoAllocator(() => 1000),
    address: (i: number) => `127.0.0.1:${4000 + i}`,
    record: (r: TsoRequestRecord) => records.push(r),
  };
  return { records, server: (i: number) => new TsoService(deps, i) };
}

function tsoReq(keyspaceId: number, keyspaceGroupId: number, extra: Partial<tsopb.RequestHeader> = {}) {
  return tsopb.TsoRequest.fromPartial({
    header: {
      clusterId: CLUSTER,
      keyspace: { $case: 'keyspaceId', value: keyspaceId },
      keyspaceGroupId,
      ...extra,
    },
    count: 1,
  });
}

function findReq(keyspaceId: number, modRevision = 0n, clusterId = CLUSTER) {
  return tsopb.FindGroupByKeyspaceIDRequest.fromPartial({
    header: { clusterId, keyspace: { $case: 'keyspaceId', value: keyspaceId } },
    keyspace: { $case: 'keyspaceId', value: keyspaceId },
    modRevision,
  });
}

describe('KeyspaceGroups', () => {
  it('adds the default group and validates groups, members and primaries', () => {
    const g = new KeyspaceGroups({
      servers: 3,
      keyspaceGroups: [{ id: 1, keyspaces: [5], members: [1, 2] }],
    });
    expect(g.list()).toEqual([
      { id: 0, keyspaces: [], members: [0, 1, 2], primary: 0 },
      { id: 1, keyspaces: [5], members: [1, 2], primary: 1 },
    ]);
    expect(() => g.create({ id: 1 })).toThrow('already exists');
    expect(() => g.create({ id: 2, members: [7] })).toThrow('does not exist');
    expect(() => g.create({ id: 2, members: [0], primary: 1 })).toThrow('not a member');
    expect(() => g.setPrimary(1, 0)).toThrow('not a member');
    expect(() => new KeyspaceGroups({ servers: 0 })).toThrow('servers');
  });

  it('moves keyspaces and bumps the mod revision; a stopped primary hands over', () => {
    const g = new KeyspaceGroups({ servers: 2, keyspaceGroups: [{ id: 1, keyspaces: [5] }] });
    const rev = g.modRevision;
    g.move(5, 0);
    expect(g.groupOf(5)).toBe(0);
    expect(g.group(1)?.keyspaces).toEqual([]);
    expect(g.modRevision).toBeGreaterThan(rev);
    g.setRunning(0, false);
    expect(g.group(0)?.primary).toBe(1);
    expect(() => g.setPrimary(0, 0)).toThrow('stopped');
    g.setRunning(1, false);
    expect(g.group(0)?.primary).toBeUndefined();
    g.setRunning(0, true);
    expect(g.group(0)?.primary).toBe(0);
  });
});

describe('KeyspaceGroups membership as PD keeps it (seen on a real PD: a stopped server leaves a two-member group)', () => {
  it('a group with fewer than two running members drops the stopped ones and takes running servers', () => {
    const g = new KeyspaceGroups({ servers: 2, keyspaceGroups: [{ id: 1, keyspaces: [5], primary: 1 }] });
    const rev = g.modRevision;
    g.setRunning(1, false);
    expect(g.group(1)).toEqual({ id: 1, keyspaces: [5], members: [0], primary: 0 });
    expect(g.group(0)?.members).toEqual([0]);
    expect(g.modRevision).toBeGreaterThan(rev);
    g.setRunning(1, true);
    expect(g.group(1)?.members).toEqual([0, 1]);
    expect(g.group(1)?.primary).toBe(0);
  });

  it('a group that keeps two running members keeps its stopped one; nothing changes while no server runs', () => {
    const g = new KeyspaceGroups({ servers: 3 });
    g.setRunning(2, false);
    expect(g.group(0)?.members).toEqual([0, 1, 2]);
    const one = new KeyspaceGroups({ servers: 1 });
    one.setRunning(0, false);
    expect(one.group(0)).toEqual({ id: 0, keyspaces: [], members: [0], primary: undefined });
  });
});

describe('TsoService (PD TSO microservice handlers)', () => {
  it('serves a keyspace from its group on the primary and records the header fields', () => {
    const { records, server } = setup(
      new KeyspaceGroups({ servers: 2, keyspaceGroups: [{ id: 3, keyspaces: [7], primary: 1 }] }),
    );
    const resp = server(1).tso(tsoReq(7, 3, { calleeId: '127.0.0.1:4001' }));
    expect(resp.header?.keyspaceGroupId).toBe(3);
    expect(resp.count).toBe(1);
    expect(records).toEqual([
      expect.objectContaining({
        server: 1,
        keyspaceId: 7,
        keyspaceGroupId: 3,
        calleeId: '127.0.0.1:4001',
        servedGroupId: 3,
      }),
    ]);
  });

  // The codes and texts a real TSO server (PD a186e0cc61, `pd-server services tso`) answers:
  // tools/real-cluster/real-tso-cluster.mjs and packages/pd/test/real-tso.test.ts check them there.
  const refusal = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e instanceof RpcError ? { code: e.code, details: e.details } : e;
    }
    throw new Error('not refused');
  };

  it('refuses a non-member primary ("not leader"), a wrong callee, another cluster as a real server does', () => {
    const { server } = setup(
      new KeyspaceGroups({ servers: 2, keyspaceGroups: [{ id: 3, keyspaces: [7], primary: 1 }] }),
    );
    expect(refusal(() => server(0).tso(tsoReq(7, 3)))).toEqual({
      code: GrpcStatus.UNKNOWN,
      details:
        '[PD:tso:ErrGenerateTimestamp]generate timestamp failed, requested pd is not leader of cluster',
    });
    expect(refusal(() => server(1).tso(tsoReq(7, 3, { calleeId: '127.0.0.1:9' })))).toEqual({
      code: GrpcStatus.FAILED_PRECONDITION,
      details: 'mismatch callee id, need http://127.0.0.1:4001 but got 127.0.0.1:9',
    });
    expect(refusal(() => server(1).tso(tsoReq(7, 3, { clusterId: 1n })))).toEqual({
      code: GrpcStatus.FAILED_PRECONDITION,
      details: 'mismatch cluster id, need 42 but got 1',
    });
  });

  it('serves from the keyspace own group when asked through another, refuses groups it is no member of', () => {
    const { server } = setup(
      new KeyspaceGroups({
        servers: 2,
        keyspaceGroups: [
          { id: 1, keyspaces: [7], members: [0] },
          { id: 2, keyspaces: [8], members: [1] },
        ],
      }),
    );
    // Asked through the default group: served by group 1 (the response header says so).
    expect(server(0).tso(tsoReq(7, 0)).header?.keyspaceGroupId).toBe(1);
    expect(refusal(() => server(1).tso(tsoReq(7, 1)))).toEqual({
      code: GrpcStatus.UNKNOWN,
      details:
        '[PD:tso:ErrGetAllocator]get allocator failed, requested keyspace group with id 1 is not served by this host/pod',
    });
    expect(refusal(() => server(0).tso(tsoReq(99, 5)))).toEqual({
      code: GrpcStatus.UNKNOWN,
      details: "[PD:tso:ErrKeyspaceNotAssigned]the keyspace 99 isn't assigned to any keyspace group",
    });
    expect(refusal(() => server(0).tso(tsoReq(7, 4096)))).toEqual({
      code: GrpcStatus.UNKNOWN,
      details: "[PD:tso:ErrKeyspaceGroupIDInvalid]the keyspace group id is invalid, 4096 shouldn't >= 4096",
    });
    // Unassigned keyspaces are the default group's.
    expect(server(0).tso(tsoReq(99, 0)).header?.keyspaceGroupId).toBe(0);
  });

  it('FindGroupByKeyspaceID: members with the primary; no primary from a non-member; stale revision', () => {
    const groups = new KeyspaceGroups({
      servers: 2,
      keyspaceGroups: [{ id: 1, keyspaces: [7], members: [1] }],
    });
    const { server } = setup(groups);
    const fromMember = server(1).findGroupByKeyspaceId(findReq(7));
    expect(fromMember.keyspaceGroup).toEqual(
      expect.objectContaining({ id: 1, members: [{ address: 'http://127.0.0.1:4001', isPrimary: true }] }),
    );
    expect(fromMember.modRevision).toBe(groups.modRevision);
    const fromOther = server(0).findGroupByKeyspaceId(findReq(7));
    expect(fromOther.keyspaceGroup?.members).toEqual([
      { address: 'http://127.0.0.1:4001', isPrimary: false },
    ]);
    // Refusals are header errors, with the texts a real server sends.
    const stale = server(1).findGroupByKeyspaceId(findReq(7, groups.modRevision + 1n));
    expect(stale.header).toEqual({
      clusterId: CLUSTER,
      keyspaceGroupId: 0,
      error: {
        type: tsopb.ErrorType.INVALID_VALUE,
        message: '[PD:keyspace:ErrKeyspaceGroupModRevisionStale]keyspace group mod revision is stale',
      },
    });
    const wrongCluster = server(1).findGroupByKeyspaceId(
      tsopb.FindGroupByKeyspaceIDRequest.fromPartial({ header: { clusterId: 1n, keyspaceGroupId: 3 } }),
    );
    expect(wrongCluster.header).toEqual({
      clusterId: CLUSTER,
      keyspaceGroupId: 3,
      error: {
        type: tsopb.ErrorType.CLUSTER_MISMATCHED,
        message: 'rpc error: code = FailedPrecondition desc = mismatch cluster id, need 42 but got 1',
      },
    });
    const callee = server(1).findGroupByKeyspaceId(
      tsopb.FindGroupByKeyspaceIDRequest.fromPartial({ header: { clusterId: CLUSTER, calleeId: 'x:1' } }),
    );
    expect(callee.header?.error).toEqual({
      type: tsopb.ErrorType.INVALID_VALUE,
      message: 'mismatch callee id, need http://127.0.0.1:4001 but got x:1',
    });
  });

  it('FindGroupByKeyspaceID on a server that is no member of the default group: not assigned', () => {
    const { server } = setup(new KeyspaceGroups({ servers: 2, keyspaceGroups: [{ id: 0, members: [1] }] }));
    expect(server(0).findGroupByKeyspaceId(findReq(9)).header).toEqual({
      clusterId: CLUSTER,
      keyspaceGroupId: 0,
      error: {
        type: tsopb.ErrorType.UNKNOWN,
        message: "[PD:tso:ErrKeyspaceNotAssigned]the keyspace 9 isn't assigned to any keyspace group",
      },
    });
    expect(refusal(() => server(0).tso(tsoReq(9, 0)))).toEqual({
      code: GrpcStatus.UNKNOWN,
      details: "[PD:tso:ErrKeyspaceNotAssigned]the keyspace 9 isn't assigned to any keyspace group",
    });
  });

  it('a split: both groups report the split source until the target primary serves (as PD a186e0cc61 does)', () => {
    const groups = new KeyspaceGroups({
      servers: 2,
      keyspaceGroups: [{ id: 0, keyspaces: [1, 2], primary: 1 }],
    });
    const { server } = setup(groups);
    expect(() => groups.split(0, 5, [7])).not.toThrow(); // unassigned keyspaces are the default group's
    expect(() => groups.split(0, 6, [1])).toThrow('is in split state');
    expect(() => groups.split(9, 6, [1])).toThrow('does not exist');
    const rev = groups.modRevision;
    expect(server(0).findGroupByKeyspaceId(findReq(7)).keyspaceGroup).toEqual({
      id: 5,
      userKind: 'basic',
      splitState: { splitSource: 0 },
      members: [
        { address: 'http://127.0.0.1:4000', isPrimary: false },
        { address: 'http://127.0.0.1:4001', isPrimary: true },
      ],
    });
    expect(server(0).findGroupByKeyspaceId(findReq(1)).keyspaceGroup?.splitState).toEqual({ splitSource: 0 });
    expect(server(1).tso(tsoReq(7, 5)).header?.keyspaceGroupId).toBe(5);
    expect(groups.modRevision).toBeGreaterThan(rev);
    expect(server(0).findGroupByKeyspaceId(findReq(7)).keyspaceGroup?.splitState).toBeUndefined();
    expect(server(0).findGroupByKeyspaceId(findReq(1)).keyspaceGroup?.splitState).toBeUndefined();
    expect(() => groups.split(5, 6, [1])).toThrow('is not in keyspace group 5');
    groups.finishSplit(5); // no split under way: nothing
    expect(groups.group(5)?.splitSource).toBeUndefined();
  });

  it('GetMinTS counts the groups a server is primary of; a zero timestamp from a server that is none', () => {
    const { server } = setup(new KeyspaceGroups({ servers: 3, keyspaceGroups: [{ id: 1, primary: 1 }] }));
    const req = tsopb.GetMinTSRequest.fromPartial({ header: { clusterId: CLUSTER, keyspaceGroupId: 1 } });
    expect(server(1).getMinTs(req)).toEqual(
      expect.objectContaining({ keyspaceGroupsServing: 1, keyspaceGroupsTotal: 2 }),
    );
    expect(server(1).getMinTs(req).timestamp?.physical).toBeGreaterThan(0n);
    expect(server(2).getMinTs(req)).toEqual({
      header: { clusterId: CLUSTER, keyspaceGroupId: 1 },
      timestamp: { physical: 0n, logical: 0n, suffixBits: 0 },
      keyspaceGroupsServing: 0,
      keyspaceGroupsTotal: 2,
    });
  });

  it('a gRPC refusal carries the status code', () => {
    const { server } = setup(new KeyspaceGroups({ servers: 1 }));
    try {
      server(0).tso(tsoReq(1, 0, { calleeId: 'nope:1' }));
      throw new Error('not refused');
    } catch (e) {
      expect(e).toBeInstanceOf(RpcError);
    }
  });
});

describe('MockCluster tsoService', () => {
  it('PD reports the API service mode and the TSO servers; the servers answer over gRPC', async () => {
    const cluster = await MockCluster.start({
      stores: 1,
      tsoService: { servers: 2, keyspaceGroups: [{ id: 1, keyspaces: [5], primary: 1 }] },
    });
    const channels: ReturnType<typeof createChannel>[] = [];
    try {
      const pdChannel = createChannel(cluster.pdEndpoints[0] as string);
      channels.push(pdChannel);
      const pd = createClient(pdpb.PDDefinition, pdChannel);
      const info = await pd.getClusterInfo({});
      expect(info.serviceModes).toEqual([pdpb.ServiceMode.API_SVC_MODE]);
      expect(info.tsoUrls).toEqual(
        cluster
          .tsoServers()
          .map((s) => s.url)
          .sort(),
      );

      const server1 = cluster.tsoServers()[1]!;
      const ch = createChannel(server1.address);
      channels.push(ch);
      const tso = createClient(tsopb.TSODefinition, ch);
      const found = await tso.findGroupByKeyspaceID(findReq(5, 0n, cluster.clusterId));
      expect(found.keyspaceGroup?.id).toBe(1);
      async function* one() {
        yield tsopb.TsoRequest.fromPartial({
          header: {
            clusterId: cluster.clusterId,
            keyspace: { $case: 'keyspaceId', value: 5 },
            keyspaceGroupId: 1,
            calleeId: server1.address,
          },
          count: 3,
        });
      }
      for await (const r of tso.tso(one())) {
        expect(r.count).toBe(3);
        expect(r.header?.keyspaceGroupId).toBe(1);
      }
      expect(cluster.tsoRequests().at(-1)).toEqual(
        expect.objectContaining({ server: 1, keyspaceId: 5, keyspaceGroupId: 1 }),
      );

      cluster.setTsoServiceEnabled(false);
      expect((await pd.getClusterInfo({})).serviceModes).toEqual([pdpb.ServiceMode.PD_SVC_MODE]);
      cluster.setTsoServiceEnabled(true);
      await cluster.stopTsoServer(1);
      expect(cluster.keyspaceGroups().find((g) => g.id === 1)?.primary).toBe(0);
      expect((await pd.getClusterInfo({})).tsoUrls).toEqual([cluster.tsoServers()[0]?.url]);
      await cluster.startTsoServer(1);
      cluster.setTsoPrimary(1, 1);
      cluster.createKeyspaceGroup({ id: 2 });
      cluster.moveKeyspaceToGroup(5, 2);
      expect(cluster.keyspaceGroups().map((g) => [g.id, g.keyspaces])).toEqual([
        [0, []],
        [1, []],
        [2, [5]],
      ]);
    } finally {
      for (const c of channels) c.close();
      await cluster.close();
    }
  });

  it('without tsoService PD serves TSO itself and the handle refuses TSO calls', async () => {
    const cluster = await MockCluster.start({ stores: 1 });
    try {
      expect(cluster.tsoServers()).toEqual([]);
      expect(cluster.tsoRequests()).toEqual([]);
      expect(() => cluster.keyspaceGroups()).toThrow('no TSO microservice');
    } finally {
      await cluster.close();
    }
  });

  it('advertiseUrls false: PD names no TSO server, the default group primary is in etcd and follows changes', async () => {
    const cluster = await MockCluster.start({ stores: 1, tsoService: { servers: 2, advertiseUrls: false } });
    const channel = createChannel(cluster.pdEndpoints[0] as string);
    try {
      const pd = createClient(pdpb.PDDefinition, channel);
      const info = await pd.getClusterInfo({});
      expect(info.serviceModes).toEqual([pdpb.ServiceMode.API_SVC_MODE]);
      expect(info.tsoUrls).toEqual([]);
      const meta = createClient(meta_storagepb.MetaStorageDefinition, channel);
      const key = new TextEncoder().encode(`/ms/${cluster.clusterId}/tso/00000/primary`);
      const primaryUrl = async () => {
        const resp = await meta.get({ header: { clusterId: cluster.clusterId }, key });
        const v = resp.kvs[0]?.value;
        return v === undefined ? undefined : tsopb.Participant.decode(v).listenUrls;
      };
      expect(await primaryUrl()).toEqual([cluster.tsoServers()[0]?.url]);
      cluster.setTsoPrimary(0, 1);
      expect(await primaryUrl()).toEqual([cluster.tsoServers()[1]?.url]);
      await cluster.stopTsoServer(0);
      await cluster.stopTsoServer(1);
      expect(await primaryUrl()).toBeUndefined();
      await cluster.startTsoServer(0);
      expect(await primaryUrl()).toEqual([cluster.tsoServers()[0]?.url]);
    } finally {
      channel.close();
      await cluster.close();
    }
  });
});

describe('MockCluster tsoService: keyspace configs as PD in API service mode writes them', () => {
  it('a new keyspace names its keyspace group, user kind and region bound type; given entries win', async () => {
    const cluster = await MockCluster.start({
      stores: 1,
      apiVersion: 'V2',
      keyspaces: [
        { name: 'ks1', id: 1 },
        { name: 'ks9', id: 9, config: { tso_keyspace_group_id: '3' } },
      ],
      tsoService: { servers: 2, keyspaceGroups: [{ id: 2, keyspaces: [1] }] },
    });
    const plain = await MockCluster.start({
      stores: 1,
      apiVersion: 'V2',
      keyspaces: [{ name: 'ks1', id: 1 }],
    });
    try {
      const config = (c: MockCluster, name: string) => c.keyspaces().find((k) => k.name === name)?.config;
      expect(config(cluster, 'DEFAULT')).toEqual({
        region_bound_type: 'txn',
        tso_keyspace_group_id: '0',
        user_kind: 'basic',
      });
      expect(config(cluster, 'ks1')).toEqual(expect.objectContaining({ tso_keyspace_group_id: '2' }));
      expect(config(cluster, 'ks9')).toEqual(expect.objectContaining({ tso_keyspace_group_id: '3' }));
      expect(config(plain, 'ks1')).toEqual({});
    } finally {
      await cluster.close();
      await plain.close();
    }
  });
});

describe('MockCluster tsoService: PD etcd keys as a real TSO microservice keeps them', () => {
  it('registry entries, the default and non-default groups primaries (a tsopb.Participant named <url>-<group>)', async () => {
    const cluster = await MockCluster.start({
      stores: 1,
      tsoService: { servers: 2, keyspaceGroups: [{ id: 1, keyspaces: [5], primary: 1 }] },
    });
    const channel = createChannel(cluster.pdEndpoints[0] as string);
    try {
      const meta = createClient(meta_storagepb.MetaStorageDefinition, channel);
      const enc = new TextEncoder();
      const prefix = `/ms/${cluster.clusterId}/tso/`;
      const list = async () => {
        const resp = await meta.get({
          header: { clusterId: cluster.clusterId },
          key: enc.encode(prefix),
          rangeEnd: enc.encode(`${prefix.slice(0, -1)}0`),
        });
        return new Map(resp.kvs.map((kv) => [new TextDecoder().decode(kv.key), kv.value]));
      };
      const [s0, s1] = cluster.tsoServers() as [TsoServerInfo, TsoServerInfo];
      let kvs = await list();
      expect([...kvs.keys()].sort()).toEqual(
        [
          `${prefix}00000/primary`,
          `${prefix}keyspace_groups/election/00001/primary`,
          `${prefix}registry/${s0.url}`,
          `${prefix}registry/${s1.url}`,
        ].sort(),
      );
      const participant = (key: string) => tsopb.Participant.decode(kvs.get(`${prefix}${key}`) as Uint8Array);
      expect(participant('00000/primary')).toMatchObject({ name: `${s0.url}-00000`, listenUrls: [s0.url] });
      expect(participant('keyspace_groups/election/00001/primary')).toMatchObject({
        name: `${s1.url}-00001`,
        listenUrls: [s1.url],
      });
      const registration = JSON.parse(new TextDecoder().decode(kvs.get(`${prefix}registry/${s1.url}`)));
      expect(registration).toMatchObject({ 'service-addr': s1.url });

      await cluster.stopTsoServer(1);
      kvs = await list();
      expect(kvs.has(`${prefix}registry/${s1.url}`)).toBe(false);
      expect(participant('keyspace_groups/election/00001/primary').listenUrls).toEqual([s0.url]);
    } finally {
      channel.close();
      await cluster.close();
    }
  });
});
