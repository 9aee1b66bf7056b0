import { meta_storagepb } from '@tikv/proto';
import { type Channel, createChannel, createClient } from 'nice-grpc';
import { b, text } from '../../test/test-helpers.js';
import { MockCluster } from '../index.js';
import { inMetaRange } from './meta-store.js';

const { PUT, DELETE } = meta_storagepb.Event_EventType;

describe('PD meta storage (etcd semantics behind meta_storagepb.MetaStorage)', () => {
  let cluster: MockCluster;
  let channel: Channel;
  let ms: meta_storagepb.MetaStorageClient;
  beforeEach(async () => {
    cluster = await MockCluster.start({ stores: 1 });
    channel = createChannel(cluster.pdEndpoints[0] as string);
    ms = createClient(meta_storagepb.MetaStorageDefinition, channel);
  });
  afterEach(async () => {
    channel.close();
    await cluster.close();
  });

  it('ranges as etcd does: one key, [key, end), and everything from key with end \\0', () => {
    const r = (key: string, end: Uint8Array) => ({ key: b(key), rangeEnd: end });
    expect(inMetaRange(r('a', new Uint8Array(0)), b('a'))).toBe(true);
    expect(inMetaRange(r('a', new Uint8Array(0)), b('ab'))).toBe(false);
    expect(inMetaRange(r('a', b('c')), b('b'))).toBe(true);
    expect(inMetaRange(r('a', b('c')), b('c'))).toBe(false);
    expect(inMetaRange(r('b', Uint8Array.of(0)), b('a'))).toBe(false);
    expect(inMetaRange(r('b', Uint8Array.of(0)), b('zz'))).toBe(true);
  });

  it('puts with revisions, returns the previous value when asked, reads by prefix with a limit', async () => {
    const start = (await ms.get({ key: b('/x') })).header?.revision ?? 0n;
    // Revision 2: PD stores the default resource group at start.
    expect(start).toBe(2n);
    const p1 = await ms.put({ key: b('/p/a'), value: b('1') });
    expect(p1.header?.revision).toBe(3n);
    expect(p1.prevKv).toBeUndefined();
    await ms.put({ key: b('/p/b'), value: b('2') });
    await ms.put({ key: b('/q'), value: b('3') });
    const p4 = await ms.put({ key: b('/p/a'), value: b('4'), prevKv: true });
    expect(text(p4.prevKv?.value)).toBe('1');
    // PD copies only key and value of etcd's key-values.
    expect(p4.prevKv?.modRevision).toBe(0n);
    const all = await ms.get({ key: b('/p/'), rangeEnd: b('/p0') });
    expect(all.kvs.map((kv) => [text(kv.key), text(kv.value)])).toEqual([
      ['/p/a', '4'],
      ['/p/b', '2'],
    ]);
    expect(all).toMatchObject({ count: 2n, more: false });
    expect(all.header?.revision).toBe(6n);
    const one = await ms.get({ key: b('/p/'), rangeEnd: b('/p0'), limit: 1n });
    expect(one.kvs.map((kv) => text(kv.key))).toEqual(['/p/a']);
    expect(one).toMatchObject({ count: 2n, more: true });
    const exact = await ms.get({ key: b('/q') });
    expect(exact.kvs.map((kv) => text(kv.value))).toEqual(['3']);
    const from = await ms.get({ key: b('/p/b'), rangeEnd: Uint8Array.of(0) });
    expect(from.kvs.map((kv) => text(kv.key))).toEqual(['/p/b', '/q', 'resource_group/settings/default']);
  });

  it('reads at a past revision, refuses a future one, an empty key and leases', async () => {
    await ms.put({ key: b('k'), value: b('old') });
    const rev = (await ms.put({ key: b('k'), value: b('new') })).header?.revision ?? 0n;
    expect(text((await ms.get({ key: b('k'), revision: rev - 1n })).kvs[0]?.value)).toBe('old');
    expect(text((await ms.get({ key: b('k'), revision: rev })).kvs[0]?.value)).toBe('new');
    expect((await ms.get({ key: b('k'), revision: 1n })).kvs).toEqual([]);
    const future = await ms.get({ key: b('k'), revision: rev + 1n });
    expect(future.header?.error).toEqual({
      type: meta_storagepb.ErrorType.UNKNOWN,
      message: 'etcdserver: mvcc: required revision is a future revision',
    });
    expect(future.header?.revision).toBe(rev);
    expect((await ms.get({ key: new Uint8Array(0) })).header?.error?.message).toBe(
      'etcdserver: key is not provided',
    );
    expect((await ms.put({ key: b('l'), value: b('v'), lease: 7n })).header?.error?.message).toBe(
      'etcdserver: requested lease not found',
    );
    expect((await ms.get({ key: b('l') })).kvs).toEqual([]);
  });

  it('deletes the one key named (as PD does), moving the revision only when it existed', async () => {
    await ms.put({ key: b('d1'), value: b('x') });
    await ms.put({ key: b('d2'), value: b('y') });
    const d = await ms.delete({ key: b('d1'), rangeEnd: b('d9'), prevKv: true });
    expect(d.prevKvs.map((kv) => text(kv.value))).toEqual(['x']);
    expect(d.header?.revision).toBe(5n);
    expect((await ms.get({ key: b('d2') })).kvs).toHaveLength(1);
    const none = await ms.delete({ key: b('d1') });
    expect(none.prevKvs).toEqual([]);
    expect(none.header?.revision).toBe(5n);
  });

  it('watches from a past revision, then live, with previous values; stops when cancelled', async () => {
    const r1 = (await ms.put({ key: b('/w/a'), value: b('1') })).header?.revision ?? 0n;
    await ms.put({ key: b('/other'), value: b('x') });
    await ms.put({ key: b('/w/a'), value: b('2') });
    const ac = new AbortController();
    const seen: meta_storagepb.Event[] = [];
    const done = (async () => {
      const stream = ms.watch(
        { key: b('/w/'), rangeEnd: b('/w0'), startRevision: r1, prevKv: true },
        { signal: ac.signal },
      );
      for await (const resp of stream) {
        expect(resp.events.length).toBeGreaterThan(0);
        seen.push(...resp.events);
        if (seen.length === 3) ac.abort();
      }
    })().catch((e: unknown) => e);
    // The live change arrives after the two replayed ones.
    while (seen.length < 2) await new Promise((r) => setImmediate(r));
    await ms.delete({ key: b('/w/a') });
    await done;
    expect(seen.map((e) => [e.type, text(e.kv?.value), text(e.prevKv?.value)])).toEqual([
      [PUT, '1', undefined],
      [PUT, '2', '1'],
      [DELETE, '', '2'],
    ]);
    expect(seen[1]?.kv).toMatchObject({ createRevision: r1, modRevision: r1 + 2n, version: 2n });
    expect(seen[2]?.kv).toMatchObject({ modRevision: r1 + 3n, version: 0n });
  });

  it('watches from now when no start revision is given', async () => {
    await ms.put({ key: b('n'), value: b('before') });
    const ac = new AbortController();
    const events: string[] = [];
    const done = (async () => {
      for await (const resp of ms.watch({ key: b('n') }, { signal: ac.signal })) {
        events.push(...resp.events.map((e) => text(e.kv?.value) ?? ''));
        ac.abort();
      }
    })().catch((e: unknown) => e);
    // The watch starts when the server gets the call: puts go on until one shows up.
    let i = 0;
    while (events.length === 0) {
      await ms.put({ key: b('n'), value: b(`after${i++}`) });
      await new Promise((r) => setImmediate(r));
    }
    await done;
    expect(events[0]).toMatch(/^after/);
  });
});
