// What the region-error handler does to the cache, the transport and the budget for the errors
// whose effect is only visible after the call (client-go internal/locate region_request.go
// `onRegionError`, pinned by region_request_test.go and rawkv_test.go in client-go).
import diagnostics from 'node:diagnostics_channel';
import { Backoffer, isTiKVError } from '@tikv/common';
import { REGION_CACHE_STORE_CHANNEL, type StoreEvent } from '@tikv/region-cache';
import type { SentRequest } from './sender-fixture.js';
import { type Fixture, okResponse, regionErrorResponse, setupFixture } from './sender-fixture.js';

/** Resolves with the first store event that matches. */
function nextStoreEvent(match: (e: StoreEvent) => boolean): Promise<StoreEvent> {
  return new Promise((resolve) => {
    const fn = (m: unknown): void => {
      const e = m as StoreEvent;
      if (!match(e)) return;
      diagnostics.unsubscribe(REGION_CACHE_STORE_CHANNEL, fn);
      resolve(e);
    };
    diagnostics.subscribe(REGION_CACHE_STORE_CHANNEL, fn);
  });
}

describe('region_request_test.go', () => {
  let f: Fixture;
  beforeEach(() => {
    f = setupFixture(2);
  });
  afterEach(async () => {
    await f.close();
  });

  test('TestCloseConnectionOnStoreNotMatch: the address is closed and the store re-resolved, so the retry reaches it', async () => {
    const [store1, store2] = f.storeIds as [bigint, bigint];
    const region = await f.region();
    // Which store really listens on each address: the two stores swapped addresses (client-go
    // rawkv TestUpdateStoreAddr), so a request routed by the old cache lands on the wrong store.
    const listening = new Map<string, bigint>([
      ['store1', store2],
      ['store2', store1],
    ]);
    f.cluster.updateStoreAddr(store1, 'store2');
    f.cluster.updateStoreAddr(store2, 'store1');
    f.transport.handler = (s: SentRequest) =>
      listening.get(s.addr) === s.context.peer?.storeId
        ? okResponse(s.request)
        : regionErrorResponse(s.request, {
            storeNotMatch: { requestStoreId: s.context.peer?.storeId ?? 0n },
          });
    const epochBefore = f.cache.getStore(store1)?.epoch as number;
    const readdressed = nextStoreEvent((e) => e.storeId === store1 && e.event === 'addressChanged');

    const first = await f.sender.sendRequest(f.backoffer(), f.get(), region);
    expect(first.value.regionError?.storeNotMatch).toBeDefined();
    expect(f.transport.sent.map((s) => s.addr)).toEqual(['store1']);
    expect(f.transport.closedAddresses).toEqual(['store1']);
    expect(f.cache.getCachedRegion(region)?.invalidReason).not.toBe('ok');
    // client-go markStoreNeedCheck: the store's regions reload and its address is fetched again.
    expect(f.cache.getStore(store1)?.epoch).toBe(epochBefore + 1);
    expect(await readdressed).toMatchObject({ address: 'store2' });

    const retry = await f.sender.sendRequest(f.backoffer(), f.get(), await f.region());
    expect(retry.value.regionError).toBeUndefined();
    expect(f.transport.sent.map((s) => s.addr)).toEqual(['store1', 'store2']);
  });
});

describe('region_request.go onRegionError: DiskFull', () => {
  let f: Fixture;
  beforeEach(() => {
    f = setupFixture(1);
  });
  afterEach(async () => {
    await f.close();
  });

  test('past the budget the response with the DiskFull error is handed back, not an exception', async () => {
    f.transport.handler = (s) =>
      regionErrorResponse(s.request, { diskFull: { storeId: [f.storeIds[0] as bigint] } });
    // tikvDiskFull sleeps 500, 1000, 2000 ms without jitter: a 1200 ms budget is spent after
    // one or two of them, however the budget's edge is drawn.
    const bo = new Backoffer({ clock: f.clock, maxBackoffMs: 1200, backoffWeight: 1, random: () => 0.5 });
    const res = await f.sender.sendRequest(bo, f.rawGet(), await f.region());
    expect(res.value.regionError?.diskFull).toBeDefined();
    const backoffs = bo.backoffTimes.get('tikvDiskFull') ?? 0;
    expect(backoffs).toBeGreaterThanOrEqual(1);
    expect(backoffs).toBeLessThanOrEqual(2);
    expect(bo.totalBackoffTimes).toBe(backoffs);
    // One attempt, then one more after each backoff the budget allowed.
    expect(f.transport.sent).toHaveLength(backoffs + 1);
    // The region stays cached: a full disk says nothing about the region's routing.
    expect(f.cache.getCachedRegion(await f.region())?.invalidReason).toBe('ok');
  });

  test('past the deadline the response is handed back as well; an abort rejects with its reason', async () => {
    f.transport.handler = (s) => regionErrorResponse(s.request, { diskFull: {} });
    const timed = new Backoffer({ clock: f.clock, timeoutMs: 700, random: () => 0.5 });
    const res = await f.sender.sendRequest(timed, f.rawGet(), await f.region());
    expect(res.value.regionError?.diskFull).toBeDefined();

    const ac = new AbortController();
    const reason = new Error('caller gave up');
    let n = 0;
    f.transport.handler = (s) => {
      if (++n === 2) ac.abort(reason);
      return regionErrorResponse(s.request, { diskFull: {} });
    };
    const e = await f.sender
      .sendRequest(f.backoffer(), f.rawGet(), await f.region(), { signal: ac.signal })
      .catch((x: unknown) => x);
    expect(e).toBe(reason);
    expect(isTiKVError(e)).toBe(false);
  });
});
