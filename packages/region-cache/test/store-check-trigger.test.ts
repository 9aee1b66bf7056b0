// A store marked for re-resolution while another store's check is running is checked as soon
// as that check ends, not at the next periodic refresh (client-go's store cache keeps one
// pending trigger in a buffered channel). Found by the rawkv store-replacement ports: a removed
// store's slow lookup held a moved store's new address back until the refresh.
import { ResolveState } from '../src/store.js';
import { type Suite, setupSuite } from './helpers.js';

let s: Suite;
beforeEach(() => {
  s = setupSuite();
});
afterEach(async () => {
  await s.cache.close();
});

test('a store marked during a running check is re-resolved right after it', async () => {
  const sc = s.cache.storeCache;
  const store1 = sc.getOrInsertDefault(s.store1);
  const store2 = sc.getOrInsertDefault(s.store2);
  await sc.initResolve(store1);
  await sc.initResolve(store2);

  // Store 1's lookup hangs until released, as a lookup PD keeps retrying does.
  let release!: () => void;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  let store1Lookups = 0;
  s.cluster.hook = (call, arg) => {
    if (call !== 'getStore' || arg !== s.store1) return undefined;
    store1Lookups++;
    return held.then(() => undefined);
  };
  s.cluster.removeStore(s.store1);
  sc.markNeedCheck(store1);
  await new Promise<void>((resolve) => setImmediate(resolve));
  expect(store1Lookups).toBe(1);

  // Store 2 moves while store 1's check is still running.
  s.cluster.updateStoreAddr(s.store2, 'store2-moved');
  sc.markNeedCheck(store2);
  expect(store2.resolveState).toBe(ResolveState.NEED_CHECK);

  release();
  await sc.whenIdle();
  expect(store1.resolveState).toBe(ResolveState.TOMBSTONE);
  expect(store2.resolveState).toBe(ResolveState.RESOLVED);
  expect(store2.address).toBe('store2-moved');
});
