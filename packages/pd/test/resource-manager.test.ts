import { resource_manager } from '@tikv/proto';
import type { PdClient } from '../src/pd-client.js';
import { useMockPd } from './mock-pd.js';

const ru = (fillRate: number, burstLimit: number) => ({
  rU: { settings: { fillRate: BigInt(fillRate), burstLimit: BigInt(burstLimit) } },
});

describe('PdClient resource manager (resource_manager_client.go) against the mock PD', () => {
  let pd: PdClient;
  useMockPd({ stores: 1 }, (_c, p) => {
    pd = p;
  });

  test('add, get, list, modify and delete groups, with PD refusals', async () => {
    const rm = pd.resourceManager;
    expect((await rm.listResourceGroups()).map((g) => g.name)).toEqual(['default']);
    expect(
      await rm.addResourceGroup({
        name: 'rg1',
        mode: resource_manager.GroupMode.RUMode,
        rUSettings: ru(100, 200),
      }),
    ).toBe('Success!');
    expect((await rm.getResourceGroup('rg1'))?.rUSettings?.rU?.settings?.fillRate).toBe(100n);
    expect(await rm.getResourceGroup('nope')).toBeUndefined();
    await rm.modifyResourceGroup({
      name: 'rg1',
      mode: resource_manager.GroupMode.RUMode,
      rUSettings: ru(300, 300),
      priority: 16,
    });
    const g = await rm.getResourceGroup('rg1', { withRuStats: true });
    expect(g?.rUSettings?.rU?.settings?.fillRate).toBe(300n);
    expect(g?.priority).toBe(16);
    expect(g?.RUStats).toBeDefined();
    await expect(
      rm.modifyResourceGroup({ name: 'nope', mode: resource_manager.GroupMode.RUMode }),
    ).rejects.toMatchObject({
      code: 'RPC_ERROR',
      message: expect.stringContaining('ErrGroupNotExists'),
    });
    await expect(rm.deleteResourceGroup('default')).rejects.toMatchObject({
      message: expect.stringContaining('cannot delete reserved group'),
    });
    await expect(
      rm.addResourceGroup({ name: '', mode: resource_manager.GroupMode.RUMode }),
    ).rejects.toMatchObject({
      message: expect.stringContaining('ErrInvalidGroup'),
    });
    const loaded = await rm.loadResourceGroups();
    expect(loaded.groups.map((x) => x.name).sort()).toEqual(['default', 'rg1']);
    const it = rm.watchResourceGroups({ revision: loaded.revision + 1n })[Symbol.asyncIterator]();
    const next = it.next();
    expect(await rm.deleteResourceGroup('rg1')).toBe('Success!');
    const [event] = (await next).value ?? [];
    expect(event).toMatchObject({ type: 'delete', group: { name: 'rg1' } });
    await it.return?.();
    expect((await rm.listResourceGroups()).map((x) => x.name)).toEqual(['default']);
  });

  test('acquireTokenBuckets grants from the group bucket and records consumption', async () => {
    const rm = pd.resourceManager;
    await rm.addResourceGroup({
      name: 'tb',
      mode: resource_manager.GroupMode.RUMode,
      rUSettings: ru(1000, 0),
    });
    const req = (value: number) => ({
      requests: [
        {
          resourceGroupName: 'tb',
          request: {
            $case: 'ruItems' as const,
            value: { requestRU: [{ type: resource_manager.RequestUnitType.RU, value }] },
          },
          consumptionSinceLastRequest: { rRU: 1, wRU: 2 },
        },
        { resourceGroupName: 'unknown', request: { $case: 'ruItems' as const, value: { requestRU: [] } } },
      ],
      targetRequestPeriodMs: 5_000n,
      clientUniqueId: 7n,
    });
    const [first] = await rm.acquireTokenBuckets(req(500));
    expect(first?.resourceGroupName).toBe('tb');
    const grant = first?.grantedRUTokens[0];
    // A rate-controlled group (burst 0) lends: 500 RU at twice the fill rate.
    expect(grant?.grantedTokens?.tokens).toBe(500);
    expect(grant?.trickleTimeMs).toBe(5_000n);
    const responses = await rm.acquireTokenBuckets(req(1));
    expect(responses).toHaveLength(1);
    const stats = (await rm.getResourceGroup('tb', { withRuStats: true }))?.RUStats;
    expect(stats?.rRU).toBe(2);
    expect(stats?.wRU).toBe(4);
  });
});
