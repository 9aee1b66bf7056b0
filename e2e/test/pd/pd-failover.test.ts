// PD failover end to end: a RawClient and a PdClient keep working (TSO, region loads) across a
// PD leader change and a stopped PD leader, on an embedded cluster with three PD members.
// Skipped against an external cluster.
import { MockCluster } from '@tikv/mock-cluster';
import { PdClient } from '@tikv/pd';
import { RawClient } from '@tikv/raw';

const embedded =
  process.env.TIKV_PD_ENDPOINTS === undefined && process.env.TIKV_E2E_TESTCONTAINERS === undefined;
const maybe = embedded ? describe : describe.skip;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined) => (b === undefined ? undefined : new TextDecoder().decode(b));

maybe('PD failover (three PD members)', () => {
  let cluster: MockCluster;
  let pd: PdClient;
  let raw: RawClient;
  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 3, regions: 2, pdMembers: 3 });
    pd = await PdClient.connect({ endpoints: cluster.pdEndpoints });
    raw = await RawClient.connect({ pdEndpoints: cluster.pdEndpoints });
  });
  afterAll(async () => {
    await raw?.close();
    await pd?.close();
    await cluster?.close();
  });

  /** Splits at a fresh key, so the next read there has to load the new regions from PD. */
  const splitAt = (k: string) => cluster.split(k);

  /** Writes and reads keys on both sides of a fresh split, and takes timestamps. */
  async function works(round: string, lastTs: bigint): Promise<bigint> {
    const keys = [`a-${round}`, `m-${round}`, `z-${round}`];
    await raw.batchPut(keys.map((k) => ({ key: enc(k), value: enc(round) })));
    splitAt(`m-${round}`);
    expect((await raw.batchGet(keys.map(enc))).map(dec)).toEqual([round, round, round]);
    expect(dec(await raw.get(enc(`z-${round}`)))).toBe(round);
    const region = await pd.getRegion(enc(`m-${round}`));
    expect(region?.region.startKey).toEqual(enc(`m-${round}`));
    const t1 = await pd.getTimestamp();
    const t2 = await pd.getTimestamp();
    expect(t1).toBeGreaterThan(lastTs);
    expect(t2).toBeGreaterThan(t1);
    return t2;
  }

  test('across a leader transfer and a stopped leader', async () => {
    let ts = await works('r0', 0n);
    cluster.transferPdLeader(1);
    ts = await works('r1', ts);
    await cluster.stopPdMember(1);
    expect(cluster.pdMembers().find((m) => m.leader)?.index).toBe(2);
    ts = await works('r2', ts);
    await cluster.startPdMember(1);
    cluster.transferPdLeader(0);
    await works('r3', ts);
  });
});
