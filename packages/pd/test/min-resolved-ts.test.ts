import type { MockCluster } from '@tikv/mock-cluster';
import { minResolvedTsFromJson, minResolvedTsPath } from '../src/min-resolved-ts.js';
import type { PdClient } from '../src/pd-client.js';
import { parseU64Json } from '../src/pd-http.js';
import { SafeTsUpdater } from '../src/safe-ts-updater.js';
import { useMockPd } from './mock-pd.js';

const MAX = (1n << 64n) - 1n;

describe('min resolved ts over PD HTTP (client/http GetMinResolvedTSByStoresIDs)', () => {
  test('u64 JSON numbers are parsed exactly; strings and floats are left alone', () => {
    expect(parseU64Json('{"a":18446744073709551615,"b":"12","c":[1,-2],"d":1.5,"e":true}')).toEqual({
      a: MAX,
      b: '12',
      c: [1n, -2n],
      d: 1.5,
      e: true,
    });
    expect(parseU64Json('{"s":"x\\"1"}')).toEqual({ s: 'x"1' });
  });

  test('paths and answers', () => {
    expect(minResolvedTsPath(undefined)).toBe('/pd/api/v1/min-resolved-ts');
    expect(minResolvedTsPath([1n, 22n])).toBe('/pd/api/v1/min-resolved-ts?scope=1,22');
    expect(() => minResolvedTsPath([-1n])).toThrow('storeIds');
    expect(
      minResolvedTsFromJson(
        '{"is_real_time":true,"min_resolved_ts":470867391033114624,"stores_min_resolved_ts":{"1":5}}',
      ),
    ).toEqual({ minResolvedTs: 470867391033114624n, storesMinResolvedTs: new Map([[1n, 5n]]) });
    expect(() => minResolvedTsFromJson('{"min_resolved_ts":0}')).toThrow('min resolved ts is not enabled');
  });

  describe('against the mock PD', () => {
    let cluster: MockCluster;
    let pd: PdClient;
    useMockPd({ stores: 2 }, (c, p) => {
      cluster = c;
      pd = p;
    });

    test('the cluster value, and the stores asked for (an unknown one as 2^64 - 1)', async () => {
      const cluster1 = await pd.getMinResolvedTs();
      expect(cluster1.storesMinResolvedTs).toBeUndefined();
      expect(cluster1.minResolvedTs).toBeGreaterThan(0n);
      const scoped = await pd.getMinResolvedTs({ storeIds: [1n, 2n, 99n] });
      expect([...(scoped.storesMinResolvedTs?.keys() ?? [])]).toEqual([1n, 2n, 99n]);
      expect(scoped.storesMinResolvedTs?.get(99n)).toBe(MAX);
      expect(scoped.minResolvedTs).toBe(scoped.storesMinResolvedTs?.get(1n) ?? 0n);
      // The cluster value never goes back.
      expect((await pd.getMinResolvedTs()).minResolvedTs).toBeGreaterThanOrEqual(cluster1.minResolvedTs);
    });

    test('a lock held by a transaction holds the min resolved ts below its start ts', async () => {
      cluster.setResolvedTsLagMs(0);
      const startTs = await pd.getTimestamp();
      cluster.strandTransaction({ keys: [new TextEncoder().encode('k')], startTs, lockTtlMs: 60_000 });
      const r = await pd.getMinResolvedTs({ storeIds: [1n, 2n] });
      expect(r.minResolvedTs).toBe(startTs - 1n);
    });

    test('SafeTsUpdater with the PD client as its source', async () => {
      const updater = new SafeTsUpdater(pd);
      await updater.update();
      expect(updater.getMinSafeTs()).toBeGreaterThan(0n);
      const scoped = new SafeTsUpdater(pd, { txnScope: 'local' });
      await scoped.update();
      expect(scoped.getSafeTs(1n)).toBeGreaterThan(0n);
      expect(scoped.getMinSafeTs()).toBeGreaterThan(0n);
    });
  });
});
