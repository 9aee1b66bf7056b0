import { kvrpcpb } from '@tikv/proto';
import { b, ctxFor, TestClients } from '../../test/test-helpers.js';
import { ApiVersion, MockCluster } from '../index.js';

// TiKV stores `expire_ts = now_secs + ttl` and treats a value as gone once `expire_ts <= now_secs`
// (RawEncodeSnapshot::map_value and get_key_ttl_cf in src/storage/raw/encoded.rs): a key put at
// second t with TTL n is still there at t + n - epsilon and gone at exactly t + n.
describe('raw TTL expiry at the exact second (TiKV encoded.rs)', () => {
  const t0Ms = 1_800_000_000_000;
  let nowMs = t0Ms;
  let cluster: MockCluster;
  let c: TestClients;
  const rk = (s: string) => new Uint8Array([0x72, 0, 0, 0, ...b(s)]);
  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 1, apiVersion: ApiVersion.V2, nowMs: () => nowMs });
    c = new TestClients(cluster);
  });
  afterAll(async () => {
    c.close();
    await cluster.close();
  });
  const ctx = () => ctxFor(cluster.regionByKey(rk('a')), kvrpcpb.APIVersion.V2);

  it('is visible with 1 s left at t + n - 1 ms and gone at t + n', async () => {
    const kv = c.kv(1);
    nowMs = t0Ms + 400; // within second t0
    await kv.rawPut({ context: ctx(), key: rk('e'), value: b('v'), ttl: 3n });
    nowMs = t0Ms + 3_000 - 1;
    expect((await kv.rawGet({ context: ctx(), key: rk('e') })).value).toEqual(b('v'));
    expect((await kv.rawGetKeyTTL({ context: ctx(), key: rk('e') })).ttl).toBe(1n);
    expect(
      (await kv.rawScan({ context: ctx(), startKey: rk('e'), endKey: rk('f'), limit: 10 })).kvs,
    ).toHaveLength(1);
    nowMs = t0Ms + 3_000;
    expect((await kv.rawGet({ context: ctx(), key: rk('e') })).notFound).toBe(true);
    expect((await kv.rawGetKeyTTL({ context: ctx(), key: rk('e') })).notFound).toBe(true);
    expect((await kv.rawScan({ context: ctx(), startKey: rk('e'), endKey: rk('f'), limit: 10 })).kvs).toEqual(
      [],
    );
    const sum = await kv.rawChecksum({ context: ctx(), ranges: [{ startKey: rk('e'), endKey: rk('f') }] });
    expect(sum.totalKvs).toBe(0n);
  });
});
