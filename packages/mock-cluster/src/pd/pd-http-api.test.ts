import { MockCluster } from '../index.js';

const MAX = '18446744073709551615';

describe("PD's HTTP API on the PD ports (server/api/min_resolved_ts.go)", () => {
  let cluster: MockCluster;
  let base: string;
  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 2 });
    base = `http://${cluster.pdEndpoints[0]}`;
  });
  afterAll(async () => {
    await cluster.close();
  });

  const get = async (path: string): Promise<{ status: number; text: string }> => {
    const r = await fetch(base + path);
    return { status: r.status, text: await r.text() };
  };

  it('answers the cluster min resolved ts, with u64 numbers written exactly', async () => {
    const r = await get('/pd/api/v1/min-resolved-ts');
    expect(r.status).toBe(200);
    expect(r.text).toMatch(
      /^\{"is_real_time":true,"min_resolved_ts":\d{15,},"persist_interval":"1s","stores_min_resolved_ts":null\}$/,
    );
  });

  it('answers each store of a scope and their minimum; an unknown store counts as 2^64 - 1', async () => {
    const r = await get('/pd/api/v1/min-resolved-ts?scope=1,9');
    const m = /"min_resolved_ts":(\d+).*"stores_min_resolved_ts":\{"1":(\d+),"9":(\d+)\}/.exec(r.text);
    expect(m?.[1]).toBe(m?.[2]);
    expect(m?.[3]).toBe(MAX);
    const all = await get('/pd/api/v1/min-resolved-ts?scope=cluster');
    expect(all.text).toMatch(/"stores_min_resolved_ts":\{"1":\d+,"2":\d+\}/);
    const one = await get('/pd/api/v1/min-resolved-ts/2');
    expect(one.text).toMatch(/^\{"is_real_time":true,"min_resolved_ts":\d+,"persist_interval":"1s"\}$/);
  });

  it('refuses bad store ids and unknown paths, and keeps serving gRPC on the same port', async () => {
    expect((await get('/pd/api/v1/min-resolved-ts?scope=a')).status).toBe(400);
    expect((await get('/pd/api/v1/min-resolved-ts/x')).status).toBe(400);
    expect((await get('/pd/api/v1/stores')).status).toBe(404);
    expect((await fetch(`${base}/pd/api/v1/min-resolved-ts`, { method: 'POST' })).status).toBe(405);
    const { createChannel, createClient } = await import('nice-grpc');
    const { pdpb } = await import('@tikv/proto');
    const channel = createChannel(cluster.pdEndpoints[0] as string);
    try {
      const members = await createClient(pdpb.PDDefinition, channel).getMembers({});
      expect(members.members).toHaveLength(1);
    } finally {
      channel.close();
    }
  });
});
