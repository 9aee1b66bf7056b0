import { compareKeys, isTiKVError } from '@tikv/common';
import {
  DeleteRangeTask,
  isTiFlashStore,
  liveTiKVStores,
  type RangeTaskProgress,
  RangeTaskRunner,
  type StoreRecord,
  type TaskRange,
  unsafeDestroyRange,
} from '../src/index.js';
import { k, TxnTestCluster, t } from './txn-cluster.js';

const empty = new Uint8Array(0);

describe.each([
  ['API V1', undefined],
  ['API V2', 'rt_ks'],
])('range tasks in %s', (_name, keyspace) => {
  let c: TxnTestCluster;
  beforeEach(async () => {
    c = await TxnTestCluster.start({ keyspace, mock: { stores: 3 } });
    // client-go delete_range_test.go: regions split at b, c, d.
    c.split('dr_b', 'dr_c', 'dr_d');
  });
  afterEach(async () => {
    await c?.close();
  });

  /** Every pair of the `dr_` range, as text. */
  async function data(): Promise<Map<string, string>> {
    const pairs = await c.snapshot(await c.ts()).scan(k('dr_'), k('dr_~'));
    return new Map(pairs.map((p) => [t(p.key) as string, t(p.value) as string]));
  }

  describe('delete_range_test.go TestDeleteRange', () => {
    it('deletes sub-ranges region by region and reports the regions completed', async () => {
      const expected = new Map<string, string>();
      const muts: (readonly [Uint8Array, Uint8Array])[] = [];
      for (const i of 'abcd') {
        for (let j = 0; j <= 9; j++) {
          const key = `dr_${i}${j}`;
          expected.set(key, `v${i}${j}`);
          muts.push([k(key), k(`v${i}${j}`)]);
        }
      }
      await c.put(muts);
      expect(await data()).toEqual(expected);
      const mustDeleteRange = async (start: string | undefined, end: string | undefined, regions: number) => {
        const startKey = start === undefined ? empty : k(`dr_${start}`);
        const endKey = end === undefined ? empty : k(`dr_${end}`);
        const task = new DeleteRangeTask({ executor: c.exec }, { startKey, endKey, concurrency: 1 });
        const result = await task.execute();
        for (const key of [...expected.keys()]) {
          const kb = k(key);
          if (compareKeys(startKey, kb) <= 0 && (endKey.length === 0 || compareKeys(kb, endKey) < 0)) {
            expected.delete(key);
          }
        }
        expect(await data()).toEqual(expected);
        expect(result.completedRegions).toBe(regions);
        expect(task.completedRegions).toBe(regions);
      };
      await mustDeleteRange('b', 'c0', 2);
      await mustDeleteRange('d0', 'd0', 0);
      await mustDeleteRange('d0\x00', 'd1\x00', 1);
      await mustDeleteRange('c5', 'd5', 2);
      await mustDeleteRange('a', 'z', 4);
      await mustDeleteRange(undefined, undefined, 4);
    });
  });

  it('notify-only delete range deletes nothing; the runner cuts task ranges and reports progress', async () => {
    await c.put([
      [k('dr_a1'), k('1')],
      [k('dr_c1'), k('2')],
    ]);
    const progress: RangeTaskProgress[] = [];
    const notify = new DeleteRangeTask(
      { executor: c.exec },
      {
        startKey: k('dr_'),
        endKey: k('dr_~'),
        notifyOnly: true,
        regionsPerTask: 1,
        concurrency: 2,
        onProgress: (p) => progress.push(p),
      },
    );
    expect((await notify.execute()).completedRegions).toBe(4);
    expect((await data()).size).toBe(2);
    expect(progress).toHaveLength(4);
    expect(progress.at(-1)).toMatchObject({
      name: 'delete-range-notify',
      completedRegions: 4,
      completedTasks: 4,
    });
    const notified = c.sender.sent('DeleteRange').map((r) => r.request.value.notifyOnly);
    expect(notified.length).toBeGreaterThanOrEqual(4);
    expect(notified.every((n) => n)).toBe(true);
  });

  it('RangeTaskRunner: task ranges cover the range exactly, with bounded concurrency', async () => {
    const ranges: TaskRange[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const gates: (() => void)[] = [];
    const runner = new RangeTaskRunner({
      name: 'cover',
      locator: c.exec.locator,
      regionsPerTask: 1,
      concurrency: 2,
      handler: async (range) => {
        ranges.push(range);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        // Hold each task until the next one arrives (or the run is at its end).
        await new Promise<void>((resolve) => {
          gates.push(resolve);
          if (gates.length >= 2 || ranges.length === 4) for (const g of gates.splice(0)) g();
        });
        inFlight--;
        return { completedRegions: 1, failedRegions: range.endKey.length === 0 ? 1 : 0 };
      },
    });
    const result = await runner.runOnRange(k('dr_a'), empty);
    expect(result).toEqual({ completedRegions: 4, failedRegions: 1 });
    expect(runner.completedRegions).toBe(4);
    expect(runner.failedRegions).toBe(1);
    expect(maxInFlight).toBe(2);
    const sorted = [...ranges].sort((a, b) => compareKeys(a.startKey, b.startKey));
    expect(sorted.map((r) => [t(r.startKey), t(r.endKey)])).toEqual([
      ['dr_a', 'dr_b'],
      ['dr_b', 'dr_c'],
      ['dr_c', 'dr_d'],
      ['dr_d', ''],
    ]);
    // An empty range runs nothing.
    expect(await runner.runOnRange(k('dr_c'), k('dr_c'))).toEqual({ completedRegions: 0, failedRegions: 0 });
  });

  it('RangeTaskRunner: without batch loading, task ranges still follow regions', async () => {
    const ranges: string[] = [];
    const runner = new RangeTaskRunner({
      name: 'locate',
      locator: {
        locateKey: (key, o) => c.exec.locator.locateKey(key, o),
        locateEndKey: (key, o) => c.exec.locator.locateEndKey(key, o),
      },
      regionsPerTask: 2,
      concurrency: 1,
      handler: async (range) => {
        ranges.push(`${t(range.startKey)}..${t(range.endKey)}`);
        return { completedRegions: 2 };
      },
    });
    await runner.runOnRange(k('dr_a'), k('dr_c5'));
    expect(ranges).toEqual(['dr_a..dr_c', 'dr_c..dr_c5']);
  });

  it('RangeTaskRunner: the first failure cancels the other tasks and is thrown', async () => {
    const boom = new Error('boom');
    const aborted: unknown[] = [];
    const runner = new RangeTaskRunner({
      name: 'fail',
      locator: c.exec.locator,
      regionsPerTask: 1,
      concurrency: 4,
      handler: async (range, signal) => {
        if (t(range.startKey) === 'dr_b') throw boom;
        await new Promise<void>((resolve) => {
          if (signal.aborted) resolve();
          signal.addEventListener('abort', () => resolve(), { once: true });
        });
        aborted.push(signal.reason);
        throw signal.reason;
      },
    });
    await expect(runner.runOnRange(k('dr_a'), k('dr_~'))).rejects.toBe(boom);
    expect(aborted.length).toBeGreaterThan(0);
    expect(aborted.every((r) => r === boom)).toBe(true);
    // The caller's abort is thrown as is.
    const ac = new AbortController();
    const reason = new Error('caller');
    const slow = new RangeTaskRunner({
      name: 'abort',
      locator: c.exec.locator,
      handler: async (_r, signal) => {
        ac.abort(reason);
        signal.throwIfAborted();
        return { completedRegions: 1 };
      },
    });
    await expect(slow.runOnRange(k('dr_a'), k('dr_~'), { signal: ac.signal })).rejects.toBe(reason);
    expect(
      () =>
        new RangeTaskRunner({
          name: 'x',
          locator: c.exec.locator,
          handler: async () => ({ completedRegions: 0 }),
          concurrency: 0,
        }),
    ).toThrow(/concurrency/);
  });

  it('unsafeDestroyRange destroys the range on every store (client-go UnsafeDestroyRange)', async () => {
    await c.put([
      [k('dr_a1'), k('1')],
      [k('dr_c1'), k('2')],
      [k('other'), k('3')],
    ]);
    await unsafeDestroyRange({ stores: c.conn.pd, transport: c.conn.transport }, k('dr_'), k('dr_~'));
    expect((await data()).size).toBe(0);
    expect(await c.read(k('other'))).toBe('3');
  });

  it('unsafeDestroyRange names the stores that failed', async () => {
    const stores: StoreRecord[] = [
      { id: 1n, address: 'a', state: 'up', labels: [] },
      { id: 2n, address: 'b', state: 'up', labels: [] },
      { id: 3n, address: 'c', state: 'tombstone', labels: [] },
      { id: 4n, address: 'd', state: 'up', labels: [{ key: 'engine', value: 'tiflash' }] },
    ];
    const sent: string[] = [];
    const transport = {
      send: async (address: string) => {
        sent.push(address);
        if (address === 'b') throw new Error('unreachable');
        return {
          $case: 'UnsafeDestroyRange',
          value: { regionError: undefined, error: address === 'a' ? 'disk' : '' },
        };
      },
    } as unknown as Parameters<typeof unsafeDestroyRange>[0]['transport'];
    const err = await unsafeDestroyRange(
      { stores: { getAllStores: async () => stores }, transport },
      k('a'),
      k('b'),
    ).catch((e: unknown) => e);
    expect(isTiKVError(err, 'RPC_ERROR')).toBe(true);
    expect(String((err as Error).message)).toMatch(/store 1: .*disk|range failed on store 1: disk/);
    expect(String((err as Error).message)).toMatch(/unreachable/);
    expect(sent.sort()).toEqual(['a', 'b']);
    expect(isTiFlashStore(stores[3] as StoreRecord)).toBe(true);
    expect((await liveTiKVStores({ getAllStores: async () => stores })).map((s) => s.id)).toEqual([1n, 2n]);
  });
});
