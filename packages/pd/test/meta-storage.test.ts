import type { MockCluster } from '@tikv/mock-cluster';
import type { PdClient } from '../src/pd-client.js';
import type { GlobalConfigWatchResponse } from '../src/pd-global-config.js';
import { type MetaWatchResponse, metaPrefixEnd } from '../src/pd-meta-storage.js';
import { useMockPd } from './mock-pd.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const b = (s: string): Uint8Array => enc.encode(s);
const s = (u: Uint8Array): string => dec.decode(u);

/** Takes the next `n` messages of a watch. */
async function take<T>(it: AsyncIterator<T>, n: number): Promise<T[]> {
  const out: T[] = [];
  while (out.length < n) {
    const r = await it.next();
    if (r.done === true) break;
    out.push(r.value);
  }
  return out;
}

describe('metaPrefixEnd (etcd GetPrefixRangeEnd, PD client getPrefix)', () => {
  test('increments the last byte below 0xff and cuts the rest', () => {
    expect(metaPrefixEnd(Uint8Array.of(1, 2))).toEqual(Uint8Array.of(1, 3));
    expect(metaPrefixEnd(Uint8Array.of(1, 0xff))).toEqual(Uint8Array.of(2));
    expect(metaPrefixEnd(Uint8Array.of(0xff, 0xff))).toEqual(Uint8Array.of(0));
    expect(metaPrefixEnd(new Uint8Array(0))).toEqual(Uint8Array.of(0));
  });
});

describe('PdClient meta storage and global config against the mock PD', () => {
  let cluster: MockCluster;
  let pd: PdClient;
  useMockPd({ stores: 1, pdMembers: 2 }, (c, p) => {
    cluster = c;
    pd = p;
  });

  test('put, get (key, prefix, limit, past revision) and delete (meta_storage_client.go)', async () => {
    const first = await pd.metaStorage.put('/ms/a', '1');
    expect(first.prevKv).toBeUndefined();
    const second = await pd.metaStorage.put(b('/ms/a'), '2', { prevKv: true });
    expect(s(second.prevKv?.value ?? b(''))).toBe('1');
    expect(second.revision).toBe(first.revision + 1n);
    await pd.metaStorage.put('/ms/b', '3');
    await pd.metaStorage.put('/mt/c', 'x');

    const one = await pd.metaStorage.get('/ms/a');
    expect(one.kvs.map((kv) => s(kv.value))).toEqual(['2']);
    const all = await pd.metaStorage.get('/ms/', { prefix: true });
    expect(all.kvs.map((kv) => s(kv.key))).toEqual(['/ms/a', '/ms/b']);
    expect(all.count).toBe(2n);
    const limited = await pd.metaStorage.get('/ms/', { prefix: true, limit: 1 });
    expect(limited.kvs).toHaveLength(1);
    expect(limited.more).toBe(true);
    const ranged = await pd.metaStorage.get('/ms/a', { rangeEnd: b('/mt/d') });
    expect(ranged.kvs.map((kv) => s(kv.key))).toEqual(['/ms/a', '/ms/b', '/mt/c']);
    const past = await pd.metaStorage.get('/ms/a', { revision: first.revision });
    expect(past.kvs.map((kv) => s(kv.value))).toEqual(['1']);

    const deleted = await pd.metaStorage.delete('/ms/b', { prevKv: true });
    expect(s(deleted?.value ?? b(''))).toBe('3');
    expect(await pd.metaStorage.delete('/ms/b')).toBeUndefined();
    expect((await pd.metaStorage.get('/ms/b')).kvs).toEqual([]);
  });

  test("etcd's refusals reject with a PdError; an empty key is refused before sending", async () => {
    await expect(pd.metaStorage.get('/ms/a', { revision: 1n << 40n })).rejects.toMatchObject({
      code: 'PD_ERROR',
      pdErrorType: 'UNKNOWN',
      message: expect.stringContaining('future revision'),
    });
    await expect(pd.metaStorage.put('/ms/l', 'v', { leaseId: 7n })).rejects.toMatchObject({
      pdErrorType: 'UNKNOWN',
    });
    await expect(pd.metaStorage.get('')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(pd.metaStorage.get('k', { limit: -1 })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  test('watch replays from a revision, reports prev key-values, and break cancels it', async () => {
    const start = await pd.metaStorage.put('/w/a', '1');
    await pd.metaStorage.put('/w/a', '2');
    const it = pd.metaStorage
      .watch('/w/', { prefix: true, startRevision: start.revision, prevKv: true })
      [Symbol.asyncIterator]();
    const replayed = await take(it, 2);
    expect(replayed.map((r) => s(r.events[0]?.kv.value ?? b('')))).toEqual(['1', '2']);
    expect(s(replayed[1]?.events[0]?.prevKv?.value ?? b(''))).toBe('1');
    expect(replayed[0]?.events[0]?.kv.version).toBe(1n);
    const live = it.next();
    await pd.metaStorage.delete('/w/a');
    const del = (await live).value as MetaWatchResponse;
    expect(del.events[0]?.type).toBe('delete');
    expect(s(del.events[0]?.prevKv?.value ?? b(''))).toBe('2');
    await it.return?.();
  });

  test('a watch rejects with the abort reason of its signal', async () => {
    const ac = new AbortController();
    const it = pd.metaStorage.watch('/w2/', { prefix: true, signal: ac.signal })[Symbol.asyncIterator]();
    const next = it.next();
    ac.abort(new Error('stop watching'));
    await expect(next).rejects.toThrow('stop watching');
  });

  test('global config: store, load by names and by path, watch (client.go GlobalConfig)', async () => {
    await pd.storeGlobalConfig('', [
      { kind: 'put', name: 'a', value: 'va' },
      { kind: 'put', name: 'b', payload: b('pb') },
    ]);
    const byName = await pd.loadGlobalConfig(['a', 'b', 'missing'], '');
    expect(byName.items.map((i) => [i.name, i.value])).toEqual([
      ['a', 'va'],
      ['b', 'pb'],
      ['missing', ''],
    ]);
    expect(byName.items[2]?.error?.type).toBe('GLOBAL_CONFIG_NOT_FOUND');
    expect(byName.items[0]?.error).toBeUndefined();
    const byPath = await pd.loadGlobalConfig([], '/global/config');
    expect(byPath.items.map((i) => [i.name, i.value])).toEqual([
      ['/global/config/a', 'va'],
      ['/global/config/b', 'pb'],
    ]);
    expect(byPath.revision).toBeGreaterThan(0n);
    // The items are meta storage keys.
    expect(s((await pd.metaStorage.get('/global/config/a')).kvs[0]?.value ?? b(''))).toBe('va');

    const it = pd.watchGlobalConfig('', { revision: byPath.revision + 1n })[Symbol.asyncIterator]();
    const next = it.next();
    await pd.storeGlobalConfig('/global/config/', [
      { kind: 'put', name: 'c', value: 'vc' },
      { kind: 'delete', name: 'a' },
    ]);
    const [put] = [((await next).value as GlobalConfigWatchResponse).items[0]];
    expect(put).toMatchObject({ kind: 'put', name: '/global/config/c', value: 'vc' });
    const del = ((await it.next()).value as GlobalConfigWatchResponse).items[0];
    expect(del).toMatchObject({ kind: 'delete', name: '/global/config/a', value: 'va' });
    await it.return?.();
    expect((await pd.loadGlobalConfig(['a'], '')).items[0]?.error?.type).toBe('GLOBAL_CONFIG_NOT_FOUND');
  });

  test('global config paths outside /global/config/ are refused, but the controller path loads', async () => {
    await expect(
      pd.storeGlobalConfig('/elsewhere', [{ kind: 'put', name: 'x', value: 'y' }]),
    ).rejects.toMatchObject({
      code: 'RPC_ERROR',
      message: expect.stringContaining('not allowed'),
    });
    await expect(pd.loadGlobalConfig(['x'], 'resource_group/controller')).rejects.toMatchObject({
      code: 'RPC_ERROR',
    });
    await pd.metaStorage.put('resource_group/controller', '{"x":1}');
    const ctl = await pd.loadGlobalConfig([], 'resource_group/controller');
    expect(ctl.items.map((i) => [i.name, i.value])).toEqual([['resource_group/controller', '{"x":1}']]);
  });

  test('a follower serves global config; meta storage follows the leader', async () => {
    cluster.transferPdLeader(1);
    await pd.storeGlobalConfig('', [{ kind: 'put', name: 'after', value: 'move' }]);
    expect((await pd.loadGlobalConfig(['after'], '')).items[0]?.value).toBe('move');
    expect((await pd.metaStorage.get('/global/config/after')).kvs).toHaveLength(1);
  });
});
