import { ManualClock } from '@tikv/common';
import type { GetMinResolvedTsOptions, MinResolvedTs } from './min-resolved-ts.js';
import { type SafeTsStore, SafeTsUpdater } from './safe-ts-updater.js';

const MAX = (1n << 64n) - 1n;
const TIKV = 1n;
const TIFLASH = 2n;
const STORES: SafeTsStore[] = [
  { id: TIKV, labels: [{ key: 'zone', value: 'z1' }] },
  {
    id: TIFLASH,
    labels: [
      { key: 'zone', value: 'z2' },
      { key: 'engine', value: 'tiflash' },
    ],
  },
];

/** PD answering like client-go's kv_test.go mock HTTP client; undefined: PD fails. */
type PdAnswer = ((ids: readonly bigint[] | undefined) => MinResolvedTs) | undefined;

function harness(
  pd: PdAnswer,
  storeSafeTs: Record<string, bigint> = { [TIKV.toString()]: 100n, [TIFLASH.toString()]: 80n },
) {
  const counts = { storeRequests: 0, pdRequests: 0 };
  const source = {
    async getMinResolvedTs(o?: GetMinResolvedTsOptions): Promise<MinResolvedTs> {
      counts.pdRequests++;
      if (pd === undefined) throw new Error('PD HTTP unavailable');
      return pd(o?.storeIds);
    },
    async getAllStores(): Promise<readonly SafeTsStore[]> {
      return STORES;
    },
  };
  const updater = new SafeTsUpdater(source, {
    storeSafeTs: async (store) => {
      counts.storeRequests++;
      return storeSafeTs[store.id.toString()] ?? 0n;
    },
  });
  return { updater, counts };
}

function byStores(f: (id: bigint) => bigint): PdAnswer {
  return (ids) => ({
    minResolvedTs: MAX,
    storesMinResolvedTs: ids === undefined ? undefined : new Map(ids.map((id) => [id, f(id)])),
  });
}

describe('SafeTsUpdater (client-go tikv/kv_test.go)', () => {
  test('TestInitClusterMinResolvedTSZero (pd_api_test.go): a 0 from PD and from the stores is no safe ts, never 2^64 - 1', async () => {
    let pdTs = 0n;
    const kv: Record<string, bigint> = { [TIKV.toString()]: 0n, [TIFLASH.toString()]: 0n };
    const { updater } = harness(() => ({ minResolvedTs: pdTs, storesMinResolvedTs: undefined }), kv);
    // Nothing initialized anywhere.
    await updater.update();
    expect(updater.getMinSafeTs('global')).toBe(0n);
    // PD's cluster min resolved ts.
    pdTs = 100n;
    await updater.update();
    expect(updater.getMinSafeTs('global')).toBe(100n);
    // PD has none (an old PD answers 0): the stores' own safe ts.
    pdTs = 0n;
    kv[TIKV.toString()] = 150n;
    kv[TIFLASH.toString()] = 150n;
    await updater.update();
    expect(updater.getMinSafeTs('global')).toBe(150n);
  });

  test('TestMinSafeTsFromStores: PD fails, every store is asked', async () => {
    const { updater, counts } = harness(undefined);
    expect(updater.getMinSafeTs()).toBe(0n);
    await updater.update();
    expect(counts.storeRequests).toBe(2);
    expect(updater.getMinSafeTs('global')).toBe(80n);
    expect(updater.getSafeTs(TIKV)).toBe(100n);
    expect(updater.getMinSafeTs('z1')).toBe(100n);
    expect(updater.getMinSafeTs('z2')).toBe(80n);
  });

  test('TestMinSafeTsFromStoresWithAllZeros', async () => {
    const { updater } = harness(undefined, { '1': 0n, '2': 0n });
    await updater.update();
    await updater.update();
    expect(updater.getMinSafeTs()).toBe(0n);
  });

  test('TestMinSafeTsFromStoresWithSomeZeros: a zero safe ts does not count', async () => {
    const { updater } = harness(undefined, { '1': 100n, '2': 0n });
    await updater.update();
    expect(updater.getMinSafeTs()).toBe(100n);
  });

  test('TestMinSafeTsFromPD: the cluster value settles the global scope, no store is asked', async () => {
    const { updater, counts } = harness(() => ({ minResolvedTs: 90n, storesMinResolvedTs: undefined }));
    await updater.update();
    expect(updater.getMinSafeTs()).toBe(90n);
    expect(counts.storeRequests).toBe(0);
  });

  test('TestMinSafeTsFromPDByStores: each store from PD', async () => {
    const { updater, counts } = harness(byStores((id) => 100n + id));
    await updater.update();
    expect(updater.getMinSafeTs()).toBe(100n + TIKV);
    expect(counts.storeRequests).toBe(0);
  });

  test('TestMinSafeTsFromMixed1: a zero from PD falls back to the store', async () => {
    const { updater, counts } = harness(byStores((id) => (id === TIFLASH ? 0n : 10n)));
    await updater.update();
    expect(counts.storeRequests).toBe(1);
    expect(updater.getMinSafeTs()).toBe(10n);
    expect(updater.getMinSafeTs('z1')).toBe(10n);
    expect(updater.getMinSafeTs('z2')).toBe(80n);
  });

  test('TestMinSafeTsFromMixed2: 2^64 - 1 from PD falls back to the store', async () => {
    const { updater, counts } = harness(byStores((id) => (id === TIFLASH ? 10n : MAX)));
    await updater.update();
    expect(counts.storeRequests).toBe(1);
    expect(updater.getMinSafeTs()).toBe(10n);
    expect(updater.getMinSafeTs('z1')).toBe(100n);
    expect(updater.getMinSafeTs('z2')).toBe(10n);
  });

  test('safe ts never moves back, for a store and for the cluster', async () => {
    let value = 200n;
    const { updater } = harness(byStores(() => value));
    await updater.update();
    value = 150n;
    await updater.update();
    expect(updater.getSafeTs(TIKV)).toBe(200n);
    let cluster = 500n;
    const h = harness(() => ({ minResolvedTs: cluster, storesMinResolvedTs: undefined }));
    await h.updater.update();
    cluster = 400n;
    await h.updater.update();
    expect(h.updater.getMinSafeTs()).toBe(500n);
  });

  test('a non-global txn scope skips the cluster value and reads every store', async () => {
    const pd = byStores(() => 77n) as (ids: readonly bigint[] | undefined) => MinResolvedTs;
    const calls: (readonly bigint[] | undefined)[] = [];
    const updater = new SafeTsUpdater(
      {
        getMinResolvedTs: async (o) => {
          calls.push(o?.storeIds);
          return pd(o?.storeIds);
        },
        getAllStores: async () => STORES,
      },
      { txnScope: 'z1' },
    );
    await updater.update();
    expect(calls).toEqual([[TIKV, TIFLASH]]);
    expect(updater.getMinSafeTs('z1')).toBe(77n);
  });

  test('the loop updates every interval on its clock, in the background, and stops', async () => {
    const clock = new ManualClock();
    let ts = 10n;
    let asked = 0;
    const updater = new SafeTsUpdater(
      {
        getMinResolvedTs: async () => {
          asked++;
          return { minResolvedTs: ts++, storesMinResolvedTs: undefined };
        },
        getAllStores: async () => STORES,
      },
      { clock, intervalMs: 2_000 },
    );
    updater.start();
    updater.start();
    expect(updater.running).toBe(true);
    expect(clock.pendingSleeps).toBe(1);
    expect(clock.pendingForegroundSleeps).toBe(0);
    clock.advance(1_999);
    expect(asked).toBe(0);
    // Wait for the re-armed timer: the update is done when a new timer is pending.
    const waitArmed = async (): Promise<void> => {
      while (clock.pendingSleeps === 0) await new Promise((r) => setImmediate(r));
    };
    clock.advance(1);
    await waitArmed();
    expect(asked).toBe(1);
    expect(updater.getMinSafeTs()).toBe(10n);
    clock.advance(2_000);
    await waitArmed();
    expect(updater.getMinSafeTs()).toBe(11n);
    await updater.stop();
    expect(updater.running).toBe(false);
    expect(clock.pendingSleeps).toBe(0);
    clock.advance(10_000);
    expect(asked).toBe(2);
  });

  test('options are checked', () => {
    const source = {
      getMinResolvedTs: async () => ({ minResolvedTs: 0n, storesMinResolvedTs: undefined }),
      getAllStores: async () => [],
    };
    expect(() => new SafeTsUpdater(source, { intervalMs: 0 })).toThrow('intervalMs');
    expect(() => new SafeTsUpdater(source, { callTimeoutMs: -1 })).toThrow('callTimeoutMs');
  });
});
