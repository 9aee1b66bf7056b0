// Resource control end to end: the request-unit controller of @tikv/pd, installed as an
// interceptor of a RawClient, throttles a raw workload to its resource group's RU budget on the
// embedded cluster's PD resource manager. Time is a ManualClock that the controller's waits move
// (autoAdvance), shared with the mock PD's token buckets, so the rate is a ratio of counted RU
// to clock time, not a timed assert. Skipped against an external cluster.
import { ManualClock } from '@tikv/common';
import { MockCluster } from '@tikv/mock-cluster';
import { PdClient, ResourceGroupController, resourceControlInterceptor } from '@tikv/pd';
import { RawClient } from '@tikv/raw';

const embedded =
  process.env.TIKV_PD_ENDPOINTS === undefined && process.env.TIKV_E2E_TESTCONTAINERS === undefined;
const maybe = embedded ? describe : describe.skip;
const enc = (s: string) => new TextEncoder().encode(s);

/** RU of one raw write (PD's model: base 1 + per batch 1 x 0.7, one replica). */
const RAW_WRITE_RU = 1.7;

maybe('resource control: RU throttling of a raw workload', () => {
  const clock = new ManualClock({ startMs: Date.now(), autoAdvance: true });
  let cluster: MockCluster;
  let pd: PdClient;
  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 1, nowMs: () => clock.now() });
    pd = await PdClient.connect({ endpoints: cluster.pdEndpoints });
    await pd.resourceManager.addResourceGroup({
      name: 'small',
      rUSettings: { rU: { settings: { fillRate: 200n, burstLimit: 200n } } },
    });
  });
  afterAll(async () => {
    await pd?.close();
    await cluster?.close();
  });

  async function workload(
    group: string,
    puts: number,
    controller: ResourceGroupController,
    prefix = '',
  ): Promise<number> {
    const raw = await RawClient.connect({
      pdEndpoints: cluster.pdEndpoints,
      sender: { interceptors: [resourceControlInterceptor(controller, { defaultGroup: group })] },
    });
    try {
      const started = clock.now();
      // One request at a time: each wait then moves the auto-advancing clock by exactly the
      // time the request would have waited (concurrent waits would add up instead of overlap).
      for (let i = 0; i < puts; i++) await raw.put(enc(`${group}-${prefix}${i}`), enc('v'));
      return clock.now() - started;
    } finally {
      await raw.close();
    }
  }

  test('a group of 200 RU/s runs a write workload at 200 RU/s of clock time once its loan is spent', async () => {
    const controller = new ResourceGroupController(pd.resourceManager, { clock });
    controller.start();
    try {
      // Warm-up: PD lends a new client its burst (200 RU) and one period of fill (5 s x 200 RU/s)
      // ahead, granted faster than the fill rate.
      const warmup = 1_000;
      await workload('small', warmup, controller, 'w');
      const before = controller.consumption('small').wRU;
      expect(before).toBeCloseTo(warmup * RAW_WRITE_RU, 6);
      // Then the group runs at its fill rate: RU counted by the controller over clock time.
      const puts = 1_000;
      const elapsedMs = await workload('small', puts, controller, 'm');
      const ru = controller.consumption('small').wRU - before;
      expect(ru).toBeCloseTo(puts * RAW_WRITE_RU, 6);
      const rate = ru / (elapsedMs / 1000);
      expect(rate).toBeGreaterThan(200 * 0.85);
      expect(rate).toBeLessThan(200 * 1.15);
    } finally {
      await controller.stop();
    }
  });

  test('the default (unlimited) group is never throttled', async () => {
    const controller = new ResourceGroupController(pd.resourceManager, { clock });
    const sleepsBefore = clock.sleeps.length;
    const elapsedMs = await workload('default', 200, controller);
    expect(elapsedMs).toBe(0);
    expect(clock.sleeps.length).toBe(sleepsBefore);
    expect(controller.consumption('default').wRU).toBeCloseTo(200 * RAW_WRITE_RU, 6);
    await controller.stop();
  });

  test('a request that would wait longer than maxWaitMs fails fast with RESOURCE_GROUP_THROTTLED', async () => {
    await pd.resourceManager.addResourceGroup({
      name: 'tiny',
      rUSettings: { rU: { settings: { fillRate: 1n, burstLimit: 1n } } },
    });
    const controller = new ResourceGroupController(pd.resourceManager, {
      clock,
      maxWaitMs: 100,
      waitRetryTimes: 2,
    });
    const raw = await RawClient.connect({
      pdEndpoints: cluster.pdEndpoints,
      sender: { interceptors: [resourceControlInterceptor(controller, { defaultGroup: 'tiny' })] },
    });
    try {
      let error: unknown;
      for (let i = 0; i < 100 && error === undefined; i++) {
        await raw.put(enc(`tiny-${i}`), enc('v')).catch((e: unknown) => {
          error = e;
        });
      }
      expect(error).toMatchObject({ code: 'RESOURCE_GROUP_THROTTLED' });
    } finally {
      await raw.close();
      await controller.stop();
    }
  });
});
