import { keyspacepb } from '@tikv/proto';
import { PdClient } from '../src/pd-client.js';
import { SafeTsUpdater } from '../src/safe-ts-updater.js';

// The PD calls of issue 16 against a real PD (opt in, as real-pd.test.ts):
// `TIKV_PD_REAL_ENDPOINTS=127.0.0.1:33790 pnpm --filter @tikv/pd test:real`. PD started with
// /work/shared/real-pd/conf/pd-keyspace.toml (keyspaces ks1, ks2; max-replicas 1) and bootstrapped
// by the fake store with `-serve`. What it writes lies under run-unique names.

const endpoints = (process.env.TIKV_PD_REAL_ENDPOINTS ?? '')
  .split(',')
  .map((e) => e.trim())
  .filter((e) => e !== '');
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (u: Uint8Array): string => new TextDecoder().decode(u);
const run = `pdm-${process.pid}-${Date.now()}`;

if (endpoints.length === 0) {
  test.skip('set TIKV_PD_REAL_ENDPOINTS=host:port (a real PD, see /work/shared/real-pd) to run the real-PD suite', () => {});
} else {
  describe(`PdClient meta storage, global config, keyspaces, min resolved ts against a real PD at ${endpoints.join(',')}`, () => {
    let pd: PdClient;
    beforeAll(async () => {
      pd = await PdClient.connect({ endpoints });
    });
    afterAll(async () => {
      await pd?.close();
    });

    test('meta storage: put, get by prefix and revision, delete, watch', async () => {
      const a = await pd.metaStorage.put(`/${run}/a`, '1');
      await pd.metaStorage.put(`/${run}/a`, '2', { prevKv: true });
      await pd.metaStorage.put(`/${run}/b`, '3');
      const all = await pd.metaStorage.get(`/${run}/`, { prefix: true });
      expect(all.kvs.map((kv) => dec(kv.key))).toEqual([`/${run}/a`, `/${run}/b`]);
      expect(all.count).toBe(2n);
      const past = await pd.metaStorage.get(`/${run}/a`, { revision: a.revision });
      expect(past.kvs.map((kv) => dec(kv.value))).toEqual(['1']);
      const it = pd.metaStorage
        .watch(`/${run}/`, { prefix: true, startRevision: a.revision, prevKv: true })
        [Symbol.asyncIterator]();
      const seen: string[] = [];
      while (seen.length < 3) {
        const r = await it.next();
        for (const e of r.value?.events ?? []) seen.push(`${e.type}:${dec(e.kv.value)}`);
      }
      expect(seen).toEqual(['put:1', 'put:2', 'put:3']);
      const next = it.next();
      await pd.metaStorage.delete(`/${run}/b`);
      const del = (await next).value?.events[0];
      expect(del?.type).toBe('delete');
      expect(dec(del?.prevKv?.value ?? enc(''))).toBe('3');
      await it.return?.();
      await pd.metaStorage.delete(`/${run}/a`);
      await expect(pd.metaStorage.get(`/${run}/a`, { revision: 1n << 40n })).rejects.toMatchObject({
        code: 'PD_ERROR',
      });
    });

    test('global config: store, load, watch, path checks', async () => {
      const path = `/global/config/${run}`;
      await pd.storeGlobalConfig(path, [{ kind: 'put', name: 'x', value: 'vx' }]);
      const named = await pd.loadGlobalConfig(['x', 'none'], path);
      expect(named.items.map((i) => [i.name, i.value, i.error?.type])).toEqual([
        ['x', 'vx', undefined],
        ['none', '', 'GLOBAL_CONFIG_NOT_FOUND'],
      ]);
      const all = await pd.loadGlobalConfig([], path);
      expect(all.items.map((i) => [i.name, i.value])).toEqual([[`${path}/x`, 'vx']]);
      const it = pd.watchGlobalConfig(path, { revision: all.revision + 1n })[Symbol.asyncIterator]();
      const next = it.next();
      await pd.storeGlobalConfig(path, [{ kind: 'delete', name: 'x' }]);
      expect((await next).value?.items[0]).toMatchObject({ kind: 'delete', name: `${path}/x`, value: 'vx' });
      await it.return?.();
      await expect(
        pd.storeGlobalConfig('/elsewhere', [{ kind: 'put', name: 'a', value: 'b' }]),
      ).rejects.toMatchObject({
        code: 'RPC_ERROR',
      });
    });

    test('keyspaces: getAllKeyspaces, watchKeyspaces, updateKeyspaceState refusals', async () => {
      const all = await pd.getAllKeyspaces();
      expect(all.map((k) => k.name)).toEqual(expect.arrayContaining(['DEFAULT', 'ks1', 'ks2']));
      const it = pd.watchKeyspaces()[Symbol.asyncIterator]();
      const first = await it.next();
      expect(first.value?.map((k) => k.name)).toEqual(expect.arrayContaining(['ks1', 'ks2']));
      const ks2 = all.find((k) => k.name === 'ks2') as keyspacepb.KeyspaceMeta;
      const id = ks2.keyspace?.$case === 'id' ? ks2.keyspace.value : -1;
      const next = it.next();
      const disabled = await pd.updateKeyspaceState(id, keyspacepb.KeyspaceState.DISABLED);
      expect(disabled.state).toBe(keyspacepb.KeyspaceState.DISABLED);
      expect((await next).value?.map((k) => [k.name, k.state])).toEqual([
        ['ks2', keyspacepb.KeyspaceState.DISABLED],
      ]);
      await it.return?.();
      await pd.updateKeyspaceState(id, keyspacepb.KeyspaceState.ENABLED);
      await expect(pd.updateKeyspaceState(0, keyspacepb.KeyspaceState.DISABLED)).rejects.toMatchObject({
        code: 'PD_ERROR',
      });
      await expect(
        pd.updateKeyspaceState(0xffffff - 1, keyspacepb.KeyspaceState.DISABLED),
      ).rejects.toMatchObject({
        pdErrorType: 'ENTRY_NOT_FOUND',
      });
    });

    test('splitAndScatterRegions and getRegionFromMember', async () => {
      const r = await pd.splitAndScatterRegions([enc(`${run}-a`), enc(`${run}-b`)], { group: run });
      expect(r.splitFinishedPercentage).toBe(100);
      expect(r.regionIds.length).toBeGreaterThan(0);
      const member = await pd.getRegionFromMember(enc(`${run}-a1`), [pd.leaderUrl]);
      expect(member?.region.id).toBeDefined();
      await expect(
        pd.getRegionFromMember(enc('k'), ['http://127.0.0.1:1'], { timeoutMs: 3_000 }),
      ).rejects.toMatchObject({
        code: 'PD_UNREACHABLE',
      });
    });

    test('resource manager: groups and token buckets', async () => {
      const rm = pd.resourceManager;
      const name = `rg${process.pid}`.slice(0, 30);
      expect(
        await rm.addResourceGroup({
          name,
          rUSettings: { rU: { settings: { fillRate: 100n, burstLimit: 100n } } },
        }),
      ).toBe('Success!');
      try {
        expect((await rm.getResourceGroup(name))?.rUSettings?.rU?.settings?.fillRate).toBe(100n);
        expect(await rm.getResourceGroup(`${name}-none`)).toBeUndefined();
        expect((await rm.listResourceGroups()).map((g) => g.name)).toEqual(
          expect.arrayContaining(['default', name]),
        );
        expect((await rm.loadResourceGroups()).groups.map((g) => g.name)).toEqual(
          expect.arrayContaining([name]),
        );
        const [grant] = await rm.acquireTokenBuckets({
          requests: [
            {
              resourceGroupName: name,
              request: { $case: 'ruItems', value: { requestRU: [{ type: 0, value: 10 }] } },
              consumptionSinceLastRequest: { wRU: 1 },
            },
          ],
          targetRequestPeriodMs: 5_000n,
          clientUniqueId: 42n,
        });
        expect(grant?.resourceGroupName).toBe(name);
        expect(grant?.grantedRUTokens[0]?.grantedTokens?.tokens).toBe(10);
        await expect(rm.deleteResourceGroup('default')).rejects.toMatchObject({ code: 'RPC_ERROR' });
      } finally {
        await rm.deleteResourceGroup(name);
      }
    });

    test('min resolved ts over PD HTTP, and the safe ts loop', async () => {
      // The fake store reports no resolved ts, so PD answers 0 for it (a real TiKV reports one).
      const scoped = await pd.getMinResolvedTs({ storeIds: [1n, 424242n] });
      expect(scoped.storesMinResolvedTs?.get(1n)).toBe(0n);
      expect(scoped.storesMinResolvedTs?.get(424242n)).toBe((1n << 64n) - 1n);
      const cluster = await pd.getMinResolvedTs();
      expect(cluster.storesMinResolvedTs).toBeUndefined();
      let asked = 0;
      const updater = new SafeTsUpdater(pd, {
        storeSafeTs: async () => {
          asked++;
          return 7n;
        },
      });
      await updater.update();
      // PD had nothing valid (0), so the store itself was asked.
      expect(asked).toBe(1);
      expect(updater.getMinSafeTs()).toBe(7n);
    });
  });
}
