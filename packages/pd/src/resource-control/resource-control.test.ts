import { ManualClock } from '@tikv/common';
import { kvrpcpb, resource_manager } from '@tikv/proto';
import { kvRequestInfo, kvResponseInfo, resourceGroupOf } from './kv-request-info.js';
import { LocalTokenBucket } from './local-token-bucket.js';
import {
  DEFAULT_REQUEST_UNIT_CONFIG as CFG,
  costAfterResponse,
  costBeforeRequest,
} from './request-unit-model.js';
import { resourceControlInterceptor } from './resource-control-interceptor.js';
import { ResourceGroupController, type TokenBucketSource } from './resource-group-controller.js';

const b = (s: string) => new TextEncoder().encode(s);

describe('RU model (PD client model.go KVCalculator, client-go resourcecontrol)', () => {
  test('a write costs its base, per-batch and byte costs per replica; a failed one pays back', () => {
    const prewrite = kvRequestInfo({
      $case: 'Prewrite',
      value: kvrpcpb.PrewriteRequest.fromPartial({
        mutations: [{ key: b('k1'), value: b('vvvv') }],
        primaryLock: b('k1'),
        secondaries: [b('k2')],
      }),
    });
    expect(prewrite).toEqual({ isWrite: true, writeBytes: 10, replicaNumber: 0, bypass: false });
    const c = costBeforeRequest(CFG, prewrite);
    expect(c.wRU).toBeCloseTo(1 + 0.7 + 10 / 1024, 9);
    expect(c.kvWriteRpcCount).toBe(1);
    expect(costBeforeRequest(CFG, { ...prewrite, replicaNumber: 3 }).wRU).toBeCloseTo(
      3 * (1.7 + 10 / 1024),
      9,
    );
    const failed = costAfterResponse(CFG, prewrite, { readBytes: 0, kvCpuMs: 0, succeeded: false });
    expect(failed.wRU).toBeCloseTo(-(1 + 10 / 1024), 9);
    const commit = kvRequestInfo({
      $case: 'Commit',
      value: kvrpcpb.CommitRequest.fromPartial({ keys: [b('abc')] }),
    });
    expect(commit.writeBytes).toBe(3);
    expect(
      kvRequestInfo({
        $case: 'RawPut',
        value: kvrpcpb.RawPutRequest.fromPartial({ key: b('k'), value: b('v') }),
      }),
    ).toEqual({
      isWrite: true,
      writeBytes: 0,
      replicaNumber: 0,
      bypass: false,
    });
  });

  test('a read costs its base and per-batch cost, then the bytes and TiKV CPU time its response reports', () => {
    const get = kvRequestInfo({
      $case: 'Get',
      value: kvrpcpb.GetRequest.fromPartial({
        context: { requestSource: 'internal_others', resourceControlContext: { resourceGroupName: 'g' } },
      }),
    });
    expect(get).toMatchObject({ isWrite: false, bypass: true });
    expect(costBeforeRequest(CFG, get).rRU).toBeCloseTo(0.125 + 0.35, 9);
    const res = kvResponseInfo({
      $case: 'Get',
      value: kvrpcpb.GetResponse.fromPartial({
        execDetailsV2: {
          scanDetailV2: { processedVersionsSize: 65536n },
          timeDetailV2: { processWallTimeNs: 3_000_000n },
        },
      }),
    });
    expect(res).toEqual({ readBytes: 65536, kvCpuMs: 3, succeeded: true });
    expect(costAfterResponse(CFG, get, res).rRU).toBeCloseTo(1 + 1, 9);
    expect(
      kvResponseInfo({
        $case: 'BatchGet',
        value: kvrpcpb.BatchGetResponse.fromPartial({
          execDetailsV2: { timeDetail: { processWallTimeMs: 6n } },
        }),
      }).kvCpuMs,
    ).toBe(6);
    expect(
      kvResponseInfo({
        $case: 'Scan',
        value: kvrpcpb.ScanResponse.fromPartial({ pairs: [{ key: b('ab'), value: b('cd') }] }),
      }).readBytes,
    ).toBe(4);
    expect(kvResponseInfo({ $case: 'RawPut', value: {} })).toEqual({
      readBytes: 0,
      kvCpuMs: 0,
      succeeded: true,
    });
    expect(kvResponseInfo(undefined).succeeded).toBe(false);
    expect(
      resourceGroupOf({
        $case: 'Get',
        value: kvrpcpb.GetRequest.fromPartial({
          context: { resourceControlContext: { resourceGroupName: 'g' } },
        }),
      }),
    ).toBe('g');
    expect(resourceGroupOf({ $case: 'Get', value: {} })).toBe('');
  });
});

describe('LocalTokenBucket (PD client limiter.go)', () => {
  test('reserves with a wait from the fill rate, refuses beyond the longest wait, reports low once per grant', () => {
    let lows = 0;
    const l = new LocalTokenBucket(0, () => lows++);
    expect(l.reserve(0, 1, 1000)).toEqual({ ok: false, waitMs: Number.POSITIVE_INFINITY });
    expect(lows).toBe(1);
    l.reconfigure(0, { tokens: 10, fillRate: 10, burst: 20, notifyThreshold: 5 });
    expect(l.reserve(0, 4, 1000)).toEqual({ ok: true, waitMs: 0 });
    expect(l.reserve(0, 4, 1000)).toEqual({ ok: true, waitMs: 0 });
    expect(lows).toBe(2);
    expect(l.reserve(0, 4, 1000)).toEqual({ ok: true, waitMs: 200 });
    expect(lows).toBe(2);
    expect(l.reserve(0, 100, 1000).ok).toBe(false);
    expect(l.available(10_000)).toBe(20);
    l.remove(10_000, 30);
    expect(l.available(10_000)).toBe(-10);
    l.reconfigure(10_000, { tokens: 5, fillRate: 0, burst: -1, notifyThreshold: 0 });
    expect(l.unlimited).toBe(true);
    expect(l.reserve(10_000, 1e9, 0)).toEqual({ ok: true, waitMs: 0 });
    expect(l.isLow(10_000)).toBe(false);
  });
});

function fakePd(grant: (want: number) => { tokens: number; trickleTimeMs: number; burstLimit: number }) {
  const requests: resource_manager.DeepPartial<resource_manager.TokenBucketsRequest>[] = [];
  const source: TokenBucketSource = {
    async acquireTokenBuckets(req) {
      requests.push(req);
      return (req.requests ?? []).map((r) => {
        const want = r?.request?.$case === 'ruItems' ? (r.request.value?.requestRU?.[0]?.value ?? 0) : 0;
        const g = grant(want);
        return resource_manager.TokenBucketResponse.fromPartial({
          resourceGroupName: r?.resourceGroupName ?? '',
          grantedRUTokens: [
            {
              type: 0,
              grantedTokens: { settings: { burstLimit: BigInt(g.burstLimit) }, tokens: g.tokens },
              trickleTimeMs: BigInt(g.trickleTimeMs),
            },
          ],
        });
      });
    },
  };
  return { source, requests };
}

describe('ResourceGroupController (PD client group_controller.go)', () => {
  const write = { isWrite: true, writeBytes: 0, replicaNumber: 0, bypass: false };

  test('asks PD for tokens, waits on a trickled grant, and reports consumption', async () => {
    const clock = new ManualClock({ autoAdvance: true });
    const pd = fakePd((want) => ({ tokens: want, trickleTimeMs: 1_000, burstLimit: 100 }));
    const c = new ResourceGroupController(pd.source, { clock, targetPeriodMs: 5_000 });
    await c.onRequestWait('g', write);
    // 1.7 RU trickled over 1 s: the request waited a second of clock time.
    expect(clock.now()).toBe(1_000);
    expect(c.consumption('g').wRU).toBeCloseTo(1.7, 9);
    c.onResponse('g', write, { readBytes: 0, kvCpuMs: 0, succeeded: true });
    expect(pd.requests[0]?.requests?.[0]?.resourceGroupName).toBe('g');
    expect(pd.requests[0]?.targetRequestPeriodMs).toBe(5_000n);
    await c.onRequestWait('g', { ...write, bypass: true });
    expect(c.consumption('g').kvWriteRpcCount).toBe(1);
    await c.stop();
  });

  test('fails fast with RESOURCE_GROUP_THROTTLED when PD grants nothing', async () => {
    const clock = new ManualClock({ autoAdvance: true });
    const pd = fakePd(() => ({ tokens: 0, trickleTimeMs: 0, burstLimit: 10 }));
    const c = new ResourceGroupController(pd.source, { clock, maxWaitMs: 10, waitRetryTimes: 2 });
    await expect(c.onRequestWait('g', write)).rejects.toMatchObject({ code: 'RESOURCE_GROUP_THROTTLED' });
    expect(c.availableTokens('g')).toBe(0);
    await c.stop();
  });

  test('an unlimited grant never waits; the report loop runs in the background and stops', async () => {
    const clock = new ManualClock();
    const pd = fakePd((want) => ({ tokens: want, trickleTimeMs: 0, burstLimit: -1 }));
    const c = new ResourceGroupController(pd.source, { clock });
    c.start();
    c.start();
    expect(clock.pendingForegroundSleeps).toBe(0);
    expect(clock.pendingSleeps).toBe(1);
    await c.onRequestWait('g', write);
    c.onResponse(
      'g',
      { isWrite: false, writeBytes: 0, replicaNumber: 0, bypass: false },
      { readBytes: 1024, kvCpuMs: 3, succeeded: true },
    );
    expect(c.consumption('g').rRU).toBeCloseTo(1 + 1024 / 65536, 9);
    const before = pd.requests.length;
    clock.advance(5_000);
    while (pd.requests.length === before) await new Promise((r) => setImmediate(r));
    expect(pd.requests.at(-1)?.requests?.[0]?.consumptionSinceLastRequest?.rRU).toBeGreaterThan(0);
    await c.stop();
    expect(() => new ResourceGroupController(pd.source, { targetPeriodMs: 0 })).toThrow('targetPeriodMs');
  });

  test('the interceptor charges the group named in the request context, else the default group', async () => {
    const clock = new ManualClock({ autoAdvance: true });
    const pd = fakePd((want) => ({ tokens: want + 100, trickleTimeMs: 0, burstLimit: 1000 }));
    const c = new ResourceGroupController(pd.source, { clock });
    const call = resourceControlInterceptor(c, { defaultGroup: 'dflt' }).wrap(async () => ({
      $case: 'RawPut',
      value: {},
    }));
    await call(
      'a',
      {
        $case: 'RawPut',
        value: kvrpcpb.RawPutRequest.fromPartial({
          context: { resourceControlContext: { resourceGroupName: 'named' } },
        }),
      },
      {},
    );
    await call('a', { $case: 'RawGet', value: kvrpcpb.RawGetRequest.fromPartial({}) }, {});
    expect(c.consumption('named').kvWriteRpcCount).toBe(1);
    expect(c.consumption('dflt').kvReadRpcCount).toBe(1);
    const failing = resourceControlInterceptor(c).wrap(async () => {
      throw new Error('store down');
    });
    await expect(failing('a', { $case: 'RawPut', value: {} }, {})).rejects.toThrow('store down');
    expect(c.consumption('default').wRU).toBeCloseTo(0.7, 9);
    await c.stop();
  });
});
