import { InvalidArgumentError } from '@tikv/common';
import { keyspacepb, meta_storagepb, pdpb } from '@tikv/proto';
import { type Channel, createChannel, createClient, Metadata } from 'nice-grpc';
import { b } from '../../test/test-helpers.js';
import { MockCluster } from '../index.js';

/** gRPC clients of one PD member. */
class MemberClients {
  readonly #channel: Channel;
  readonly pd: pdpb.PDClient;
  readonly keyspace: keyspacepb.KeyspaceClient;
  readonly meta: meta_storagepb.MetaStorageClient;

  constructor(address: string) {
    this.#channel = createChannel(address);
    this.pd = createClient(pdpb.PDDefinition, this.#channel);
    this.keyspace = createClient(keyspacepb.KeyspaceDefinition, this.#channel);
    this.meta = createClient(meta_storagepb.MetaStorageDefinition, this.#channel);
  }

  close(): void {
    this.#channel.close();
  }
}

async function tsoOnce(c: pdpb.PDClient, clusterId: bigint, metadata?: Metadata): Promise<pdpb.TsoResponse> {
  async function* one(): AsyncIterable<pdpb.TsoRequest> {
    yield pdpb.TsoRequest.fromPartial({ header: { clusterId }, count: 1 });
  }
  for await (const r of c.tso(one(), metadata === undefined ? {} : { metadata })) return r;
  throw new Error('the TSO stream ended without an answer');
}

describe('PD request checks per method (grpc_service.go)', () => {
  let cluster: MockCluster;
  let c: MemberClients;
  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 1 });
    c = new MemberClients(cluster.pdEndpoints[0] as string);
  });
  afterAll(async () => {
    c.close();
    await cluster.close();
  });

  it('GetMembers and GetClusterInfo answer without a header (client-go sends none)', async () => {
    const members = await c.pd.getMembers({});
    expect(members.header?.clusterId).toBe(cluster.clusterId);
    const info = await c.pd.getClusterInfo({});
    expect(info.serviceModes).toEqual([pdpb.ServiceMode.PD_SVC_MODE]);
    expect(info.header?.clusterId).toBe(cluster.clusterId);
  });

  it('checks the cluster id on unary calls, the TSO stream, QueryRegion and the keyspace service', async () => {
    const wrong = { clusterId: 1n };
    const mismatch = { code: 9, details: `mismatch cluster id, need ${cluster.clusterId} but got 1` };
    await expect(c.pd.getAllStores({ header: wrong })).rejects.toMatchObject(mismatch);
    await expect(c.pd.getRegion({ regionKey: b('a') })).rejects.toMatchObject({ code: 9 });
    await expect(c.pd.getGCState({ header: wrong })).rejects.toMatchObject(mismatch);
    await expect(tsoOnce(c.pd, 1n)).rejects.toMatchObject(mismatch);
    async function* query(): AsyncIterable<pdpb.QueryRegionRequest> {
      yield pdpb.QueryRegionRequest.fromPartial({ header: wrong, keys: [b('a')] });
    }
    const drain = async (): Promise<void> => {
      for await (const _ of c.pd.queryRegion(query())) {
        // nothing arrives
      }
    };
    await expect(drain()).rejects.toMatchObject(mismatch);
    await expect(c.keyspace.loadKeyspace({ header: wrong, name: 'DEFAULT' })).rejects.toMatchObject(mismatch);
  });

  it('meta storage checks no header', async () => {
    const put = await c.meta.put({ key: b('k'), value: b('v') });
    expect(put.header?.error).toBeUndefined();
    expect(put.header?.clusterId).toBe(cluster.clusterId);
  });
});

describe('several PD members', () => {
  let cluster: MockCluster;
  let members: MemberClients[];
  beforeEach(async () => {
    cluster = await MockCluster.start({ stores: 1, pdMembers: 3 });
    members = cluster.pdEndpoints.map((a) => new MemberClients(a));
  });
  afterEach(async () => {
    for (const m of members) m.close();
    await cluster.close();
  });
  const member = (i: number): MemberClients => members[i] as MemberClients;
  const header = (): { clusterId: bigint } => ({ clusterId: cluster.clusterId });

  it('lists every member, the first leading, from any member', async () => {
    expect(cluster.pdEndpoints).toHaveLength(3);
    expect(new Set(cluster.pdEndpoints).size).toBe(3);
    for (const m of members) {
      const r = await m.pd.getMembers({});
      expect(r.members.map((x) => x.clientUrls[0])).toEqual(cluster.pdEndpoints.map((a) => `http://${a}`));
      expect(r.leader?.clientUrls).toEqual([`http://${cluster.pdEndpoints[0]}`]);
      expect(r.etcdLeader?.memberId).toBe(r.leader?.memberId);
      expect(new Set(r.members.map((x) => x.memberId)).size).toBe(3);
    }
    expect(cluster.pdMembers().map((m) => [m.index, m.leader, m.running])).toEqual([
      [0, true, true],
      [1, false, true],
      [2, false, true],
    ]);
  });

  it('followers answer as PD followers do', async () => {
    const f = member(1);
    await expect(f.pd.getAllStores({ header: header() })).rejects.toMatchObject({
      code: 14,
      details: 'not leader',
    });
    await expect(f.pd.getRegion({ header: header(), regionKey: b('a') })).rejects.toMatchObject({
      code: 14,
      details: 'not leader and follower handling not allowed',
    });
    // Region reads are served by a follower that is allowed to.
    const allow = Metadata({ 'pd-allow-follower-handle': 'true' });
    const r = await f.pd.getRegion({ header: header(), regionKey: b('a') }, { metadata: allow });
    expect(r.region?.id).toBeDefined();
    // A follower's QueryRegion answers from its synced regions; its TSO refuses.
    async function* query(): AsyncIterable<pdpb.QueryRegionRequest> {
      yield pdpb.QueryRegionRequest.fromPartial({ header: header(), keys: [b('a')] });
    }
    for await (const q of f.pd.queryRegion(query())) {
      expect(q.keyIdMap).toEqual([r.region?.id]);
      break;
    }
    await expect(tsoOnce(f.pd, cluster.clusterId)).rejects.toMatchObject({
      code: 2,
      details: expect.stringContaining('not leader'),
    });
    await expect(f.keyspace.loadKeyspace({ header: header(), name: 'DEFAULT' })).rejects.toMatchObject({
      code: 14,
    });
    await expect(f.meta.get({ key: b('k') })).rejects.toMatchObject({ code: 14, details: 'not leader' });
    // GetMembers and GetClusterInfo work anywhere.
    await expect(f.pd.getClusterInfo({})).resolves.toBeDefined();
  });

  it('a follower serves a request forwarded to the leader and refuses one forwarded elsewhere', async () => {
    const f = member(2);
    const toLeader = Metadata({ 'pd-forwarded-host': `http://${cluster.pdEndpoints[0]}` });
    const stores = await f.pd.getAllStores({ header: header() }, { metadata: toLeader });
    expect(stores.stores).toHaveLength(1);
    const ts = await tsoOnce(f.pd, cluster.clusterId, toLeader);
    expect(ts.count).toBe(1);
    const toFollower = Metadata({ 'pd-forwarded-host': `http://${cluster.pdEndpoints[1]}` });
    await expect(f.pd.getAllStores({ header: header() }, { metadata: toFollower })).rejects.toMatchObject({
      code: 3,
    });
  });

  it('moves leadership; a stopped leader hands over; a restarted member follows', async () => {
    cluster.transferPdLeader(1);
    expect((await member(0).pd.getMembers({})).leader?.clientUrls).toEqual([
      `http://${cluster.pdEndpoints[1]}`,
    ]);
    await expect(member(0).pd.getAllStores({ header: header() })).rejects.toMatchObject({ code: 14 });
    const t1 = await tsoOnce(member(1).pd, cluster.clusterId);
    await cluster.stopPdMember(1);
    expect(cluster.pdMembers().map((m) => [m.leader, m.running])).toEqual([
      [false, true],
      [false, false],
      [true, true],
    ]);
    await expect(member(1).pd.getMembers({}, { signal: AbortSignal.timeout(2000) })).rejects.toBeDefined();
    const t2 = await tsoOnce(member(2).pd, cluster.clusterId);
    const ts = (t: pdpb.TsoResponse): bigint =>
      ((t.timestamp?.physical ?? 0n) << 18n) + (t.timestamp?.logical ?? 0n);
    expect(ts(t2)).toBeGreaterThan(ts(t1));
    await cluster.startPdMember(1);
    await cluster.startPdMember(1);
    expect(cluster.pdMembers()[1]).toMatchObject({ running: true, leader: false });
    const fresh = new MemberClients(cluster.pdEndpoints[1] as string);
    try {
      expect((await fresh.pd.getMembers({})).leader?.clientUrls).toEqual([
        `http://${cluster.pdEndpoints[2]}`,
      ]);
    } finally {
      fresh.close();
    }
    expect(() => cluster.transferPdLeader(5)).toThrow(InvalidArgumentError);
    await cluster.stopPdMember(0);
    expect(() => cluster.transferPdLeader(0)).toThrow(InvalidArgumentError);
  });
});
