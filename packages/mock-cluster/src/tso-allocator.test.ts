import { TestClients } from '../test/test-helpers.js';
import { MockCluster } from './index.js';
import { MAX_LOGICAL, TsoAllocator, TsoError } from './tso-allocator.js';

function compose(t: { physical: bigint; logical: bigint }): bigint {
  return (t.physical << 18n) + t.logical;
}

describe('TsoAllocator', () => {
  it('returns the last timestamp of a batch and never goes back', () => {
    let now = 1000;
    const a = new TsoAllocator(() => now);
    expect(a.allocate(1)).toEqual({ physical: 1000n, logical: 1n });
    expect(a.allocate(10)).toEqual({ physical: 1000n, logical: 11n });
    now = 900; // the wall clock stepped back
    expect(a.allocate(1)).toEqual({ physical: 1000n, logical: 12n });
    now = 2000;
    expect(a.allocate(3)).toEqual({ physical: 2000n, logical: 3n });
  });

  it('peek answers the newest timestamp allocated without allocating one', () => {
    let now = 1000;
    const a = new TsoAllocator(() => now);
    expect(a.peek()).toEqual({ physical: 0n, logical: 0n });
    a.allocate(3);
    now = 2000; // peek does not follow the clock: nothing was issued at 2000 yet
    expect(a.peek()).toEqual({ physical: 1000n, logical: 3n });
    expect(a.peek()).toEqual({ physical: 1000n, logical: 3n });
    expect(a.allocate(1)).toEqual({ physical: 2000n, logical: 1n });
  });

  it('moves the physical part on when the logical part would overflow', () => {
    const a = new TsoAllocator(() => 5);
    a.allocate(MAX_LOGICAL - 10);
    const next = a.allocate(20);
    expect(next).toEqual({ physical: 6n, logical: 20n });
  });

  it('rejects a zero or oversized count like PD', () => {
    const a = new TsoAllocator(() => 5);
    expect(() => a.allocate(0)).toThrow(new TsoError('tso count should be positive'));
    expect(() => a.allocate(MAX_LOGICAL)).toThrow(TsoError);
  });
});

describe('Tso stream', () => {
  let cluster: MockCluster;
  let c: TestClients;
  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 1 });
    c = new TestClients(cluster);
  });
  afterAll(async () => {
    c.close();
    await cluster.close();
  });

  it('is strictly monotonic across concurrent streams', async () => {
    const perStream = async (): Promise<bigint[]> => {
      const header = c.header();
      async function* reqs() {
        for (let i = 0; i < 200; i++) yield { header, count: 1 + (i % 5) };
      }
      const out: bigint[] = [];
      for await (const r of c.pd.tso(reqs())) {
        expect(r.count).toBeGreaterThan(0);
        out.push(compose(r.timestamp ?? { physical: 0n, logical: 0n }));
      }
      return out;
    };
    const streams = await Promise.all([perStream(), perStream(), perStream(), perStream()]);
    for (const s of streams) {
      expect(s).toHaveLength(200);
      for (let i = 1; i < s.length; i++) expect(s[i] as bigint).toBeGreaterThan(s[i - 1] as bigint);
    }
    const all = streams.flat();
    expect(new Set(all).size).toBe(all.length);
  });

  it('fails the stream on a zero count or a foreign cluster id', async () => {
    async function* zero() {
      yield { header: c.header(), count: 0 };
    }
    const drain = async (it: AsyncIterable<unknown>) => {
      for await (const _ of it) {
        /* drain */
      }
    };
    await expect(drain(c.pd.tso(zero()))).rejects.toMatchObject({ code: 2 });
    async function* foreign() {
      yield { header: { clusterId: 5n }, count: 1 };
    }
    await expect(drain(c.pd.tso(foreign()))).rejects.toMatchObject({ code: 9 });
  });
});
