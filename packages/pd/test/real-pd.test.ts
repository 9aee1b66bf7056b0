import { isTiKVError, type LogFields, type Logger } from '@tikv/common';
import { NULL_KEYSPACE_ID } from '../src/gc-states-client.js';
import { PdClient } from '../src/pd-client.js';
import type { PdClientOptions } from '../src/pd-client-options.js';
import { concurrentTimestamps } from './concurrent-timestamps.js';

// The PD client against a real PD (opt in): `TIKV_PD_REAL_ENDPOINTS=127.0.0.1:33790
// pnpm --filter @tikv/pd test:real`. The PD is one built from source with a fake store that
// bootstrapped it (/work/shared/real-pd: `pd-server` plus `bootstrap -serve`). With
// `TIKV_PD_REAL_PID=<pd-server pid>` the stall tests also pause PD (SIGSTOP / SIGCONT) to check
// that an attempt PD does not answer in time is retried. The suite leaves what it creates in
// PD's state harmless: split points under a run-unique prefix, barriers it deletes again.

const endpoints = (process.env.TIKV_PD_REAL_ENDPOINTS ?? '')
  .split(',')
  .map((e) => e.trim())
  .filter((e) => e !== '');
const pdPid = process.env.TIKV_PD_REAL_PID === undefined ? undefined : Number(process.env.TIKV_PD_REAL_PID);
const SKIP_MESSAGE =
  'set TIKV_PD_REAL_ENDPOINTS=host:port (a real PD, see /work/shared/real-pd) to run the real-PD suite';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const run = `pdh-${process.pid}-${Date.now()}`;

if (endpoints.length === 0) {
  test.skip(SKIP_MESSAGE, () => {});
} else {
  describe(`PdClient against a real PD at ${endpoints.join(',')}`, () => {
    let client: PdClient;
    beforeAll(async () => {
      client = await PdClient.connect({ endpoints });
    });
    afterAll(async () => {
      await client?.close();
    });

    test('connects and serves increasing, unique timestamps to concurrent callers', async () => {
      expect(client.clusterId).not.toBe(0n);
      expect(client.leaderUrl).toMatch(/^http:\/\//);
      const all = await concurrentTimestamps(client, 64, 20);
      expect(new Set(all).size).toBe(all.length);
      expect(await client.getMinTimestamp()).toBeGreaterThan(all.reduce((a, b) => (a > b ? a : b)));
    });

    test.each([true, false])('region lookups (QueryRegion: %s) agree with a full scan', async (router) => {
      const c = router ? client : await PdClient.connect({ endpoints, enableRouterClient: false });
      try {
        const all = await c.scanRegions(new Uint8Array(), new Uint8Array(), 0);
        expect(all.length).toBeGreaterThan(1);
        for (let i = 1; i < all.length; i++)
          expect(all[i]!.region.startKey).toEqual(all[i - 1]!.region.endKey);
        const second = all[1]!;
        expect((await c.getRegion(second.region.startKey))?.region.id).toBe(second.region.id);
        expect((await c.getRegionById(second.region.id))?.region.startKey).toEqual(second.region.startKey);
        expect((await c.getPrevRegion(second.region.startKey))?.region.id).toBe(all[0]!.region.id);
        expect(await c.getRegionById(987_654_321n)).toBeUndefined();
        const batch = await c.batchScanRegions(
          [
            { startKey: new Uint8Array(), endKey: all[0]!.region.endKey },
            { startKey: second.region.startKey, endKey: second.region.endKey },
          ],
          0,
        );
        expect(batch.map((r) => r.region.id)).toEqual([all[0]!.region.id, second.region.id]);
      } finally {
        if (c !== client) await c.close();
      }
    });

    test('stores: the bootstrap store, and an unknown id resolves undefined at once', async () => {
      const stores = await client.getAllStores({ excludeTombstone: true });
      expect(stores.length).toBeGreaterThanOrEqual(1);
      const first = stores[0]!;
      expect((await client.getStore(first.id))?.address).toBe(first.address);
      // PD: header UNKNOWN "invalid store ID 987654321, not found" (retried for 20 s before)
      expect(await client.getStore(987_654_321n)).toBeUndefined();
    });

    test("PD's refusal of overlapping ranges surfaces at once; the client refuses them first", async () => {
      const overlapping = [
        { startKey: enc('a'), endKey: enc('c') },
        { startKey: enc('b'), endKey: enc('d') },
      ];
      // straight to PD, past the client-side check: what PD answers
      const sent = client.call('BatchScanRegions', undefined, (rpc, signal) =>
        rpc.batchScanRegions(
          {
            header: client.header(),
            ranges: overlapping,
            limit: 0,
            needBuckets: false,
            containAllKeyRange: false,
          },
          { signal },
        ),
      );
      await expect(sent).rejects.toMatchObject({
        code: 'PD_ERROR',
        pdErrorType: 'UNKNOWN',
        retryable: false,
        message: 'pd error UNKNOWN: invalid key range, ranges overlapped',
      });
      await expect(client.batchScanRegions(overlapping, 0)).rejects.toMatchObject({
        name: 'InvalidArgumentError',
      });
    });

    test('split, scatter (failed regions listed) and the operator', async () => {
      const split = await client.splitRegions([enc(`${run}-split`)]);
      expect(split.finishedPercentage).toBe(100);
      expect(split.regionIds).toHaveLength(1);
      const scattered = await client.scatterRegions([split.regionIds[0]!, 987_654_321n]);
      expect(scattered.failedRegionIds).toContain(987_654_321n);
      expect(scattered.finishedPercentage).toBeLessThan(100);
      // one unknown region alone: PD's handler fails (gRPC UNKNOWN), which is final
      await expect(client.scatterRegion(987_654_322n)).rejects.toMatchObject({
        code: 'RPC_ERROR',
        retryable: false,
        message: expect.stringContaining('not found'),
      });
      const op = await client.getOperator(split.regionIds[0]!);
      expect(op.regionId).toBe(split.regionIds[0]);
    });

    test('keyspaces: DEFAULT loads, an unknown one is ENTRY_NOT_FOUND at once', async () => {
      const meta = await client.loadKeyspace('DEFAULT');
      expect(meta.keyspace).toEqual({ $case: 'id', value: 0 });
      await expect(client.loadKeyspace(`${run}-none`)).rejects.toMatchObject({
        pdErrorType: 'ENTRY_NOT_FOUND',
        retryable: false,
      });
    });

    test('GC states: barriers, refusals at once, every enabled keyspace in the all-keyspaces read', async () => {
      const gc = client.gcStates();
      const before = await gc.getGcState();
      expect(before.keyspaceId).toBe(NULL_KEYSPACE_ID);
      const barrierTs = before.txnSafePoint + 10n;
      const id = `${run}-barrier`;
      expect(await gc.setGcBarrier(id, barrierTs, 60_000)).toMatchObject({ barrierId: id, barrierTs });
      try {
        const state = await gc.getGcState();
        expect(state.barriers.map((b) => b.barrierId)).toContain(id);
        await expect(gc.setGcBarrier('gc_worker', barrierTs, 1_000)).rejects.toMatchObject({
          code: 'PD_ERROR',
          pdErrorType: 'UNKNOWN',
          retryable: false,
        });
        const all = await gc.getAllKeyspacesGcStates({ excludeGcBarriers: true });
        expect(all.states.get(NULL_KEYSPACE_ID)).toBeDefined();
        // DEFAULT (0) has unified GC, yet PD lists it
        expect(all.states.get(0)).toMatchObject({ keyspaceId: 0, isKeyspaceLevelGc: false });
      } finally {
        expect(await gc.deleteGcBarrier(id)).toMatchObject({ barrierId: id });
      }
    });

    // PD paused for longer than one attempt's timeout: the attempt fails, is retried after
    // the pdRPC backoff, and the call succeeds once PD is back.
    const stallSuite = pdPid === undefined ? describe.skip : describe;
    stallSuite('with PD paused (SIGSTOP) past the per-attempt timeout', () => {
      const attemptMs = 500;

      /** Pauses PD, runs `call`, and resumes PD when the client reports its first failed attempt. */
      async function whilePaused<T>(
        options: Partial<PdClientOptions>,
        call: (c: PdClient) => Promise<T>,
      ): Promise<{ value: T; failures: unknown[] }> {
        const failures: unknown[] = [];
        const resume = (): void => {
          process.kill(pdPid!, 'SIGCONT');
        };
        const logger: Logger = {
          debug: (msg: string, fields?: LogFields) => {
            if (msg === 'pd: call failed, backing off') {
              failures.push(fields?.error);
              resume();
            }
          },
          info: () => {},
          warn: () => {},
          error: () => {},
        };
        const c = await PdClient.connect({ endpoints, timeoutMs: attemptMs, logger, ...options });
        try {
          await c.getAllStores(); // warm the connection
          process.kill(pdPid!, 'SIGSTOP');
          const value = await call(c);
          return { value, failures };
        } finally {
          resume();
          await c.close();
        }
      }

      test.each([
        ['getAllStores', {}, (c: PdClient) => c.getAllStores()],
        ['getRegion over QueryRegion', {}, (c: PdClient) => c.getRegion(enc('k'))],
        [
          'getRegion over unary GetRegion',
          { enableRouterClient: false },
          (c: PdClient) => c.getRegion(enc('k')),
        ],
        ['getGcState', {}, (c: PdClient) => c.gcStates().getGcState()],
        ['loadKeyspace', {}, (c: PdClient) => c.loadKeyspace('DEFAULT')],
      ] as Array<[string, Partial<PdClientOptions>, (c: PdClient) => Promise<unknown>]>)(
        '%s',
        async (_name, options, call) => {
          const { value, failures } = await whilePaused(options, call);
          expect(value).toBeDefined();
          expect(failures.length).toBeGreaterThanOrEqual(1);
          expect(isTiKVError(failures[0], 'RPC_ERROR')).toBe(true);
          expect((failures[0] as Error).message).toMatch(new RegExp(`no answer within ${attemptMs} ms`));
        },
        20_000,
      );
    });
  });
}
