import { crc64 } from '@tikv/common';
import { kvrpcpb } from '@tikv/proto';
import { b, ctxFor, TestClients, text } from '../../test/test-helpers.js';
import { ApiVersion, MockCluster } from '../index.js';

describe('raw API (V1)', () => {
  let cluster: MockCluster;
  let c: TestClients;
  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 3 });
    c = new TestClients(cluster);
  });
  afterAll(async () => {
    c.close();
    await cluster.close();
  });
  const kv = () => c.leaderKv(cluster.regionByKey('a'));
  const ctx = () => ctxFor(cluster.regionByKey('a'));

  it('put, get, batch get, delete', async () => {
    await kv().rawPut({ context: ctx(), key: b('k1'), value: b('v1') });
    await kv().rawBatchPut({
      context: ctx(),
      pairs: [
        { key: b('k2'), value: b('v2') },
        { key: b('k3'), value: new Uint8Array(0) },
      ],
    });
    expect(text((await kv().rawGet({ context: ctx(), key: b('k1') })).value)).toBe('v1');
    const empty = await kv().rawGet({ context: ctx(), key: b('k3') });
    expect(empty.notFound).toBe(false);
    expect(empty.value).toEqual(new Uint8Array(0));
    expect((await kv().rawGet({ context: ctx(), key: b('nope') })).notFound).toBe(true);
    const bg = await kv().rawBatchGet({ context: ctx(), keys: [b('k1'), b('zz'), b('k2')] });
    expect(bg.pairs.map((p) => text(p.key))).toEqual(['k1', 'k2']);
    await kv().rawDelete({ context: ctx(), key: b('k1') });
    await kv().rawBatchDelete({ context: ctx(), keys: [b('k2')] });
    expect((await kv().rawGet({ context: ctx(), key: b('k1') })).notFound).toBe(true);
    expect((await kv().rawGet({ context: ctx(), key: b('k2') })).notFound).toBe(true);
  });

  it('a store whose disk is almost full refuses raw writes unless the context allows them; reads go on', async () => {
    const leader = cluster.regionByKey('a').leader.storeId;
    cluster.setStoreDiskUsage(leader, 'almostFull');
    try {
      const refused = await kv().rawPut({ context: ctx(), key: b('df'), value: b('v') });
      expect(refused.regionError?.diskFull?.storeId).toEqual([leader]);
      const allowed = await kv().rawPut({
        context: { ...ctx(), diskFullOpt: kvrpcpb.DiskFullOpt.AllowedOnAlmostFull },
        key: b('df'),
        value: b('v'),
      });
      expect(allowed.regionError).toBeUndefined();
      expect(text((await kv().rawGet({ context: ctx(), key: b('df') })).value)).toBe('v');
      cluster.setStoreDiskUsage(leader, 'alreadyFull');
      const full = await kv().rawDelete({
        context: { ...ctx(), diskFullOpt: kvrpcpb.DiskFullOpt.AllowedOnAlreadyFull },
        key: b('df'),
      });
      expect(full.regionError?.diskFull?.reason).toBe('disk already full');
    } finally {
      cluster.setStoreDiskUsage(leader, 'normal');
    }
    expect((await kv().rawDelete({ context: ctx(), key: b('df') })).regionError).toBeUndefined();
  });

  it('scan forward, reverse, key-only, with end key and limit', async () => {
    const pairs = ['s1', 's2', 's3', 's4'].map((k) => ({ key: b(k), value: b(`v-${k}`) }));
    await kv().rawBatchPut({ context: ctx(), pairs });
    const fwd = await kv().rawScan({ context: ctx(), startKey: b('s'), endKey: b('s4'), limit: 10 });
    expect(fwd.kvs.map((p) => text(p.key))).toEqual(['s1', 's2', 's3']);
    const lim = await kv().rawScan({
      context: ctx(),
      startKey: b('s'),
      endKey: b('t'),
      limit: 2,
      keyOnly: true,
    });
    expect(lim.kvs.map((p) => [text(p.key), p.value.length])).toEqual([
      ['s1', 0],
      ['s2', 0],
    ]);
    const rev = await kv().rawScan({
      context: ctx(),
      startKey: b('s4'),
      endKey: b('s1'),
      limit: 10,
      reverse: true,
    });
    expect(rev.kvs.map((p) => text(p.key))).toEqual(['s3', 's2', 's1']);
    const zero = await kv().rawScan({ context: ctx(), startKey: b('s'), limit: 0 });
    expect(zero.kvs).toEqual([]);
    const bs = await kv().rawBatchScan({
      context: ctx(),
      ranges: [
        { startKey: b('s1'), endKey: b('s2') },
        { startKey: b('s3'), endKey: new Uint8Array(0) },
      ],
      eachLimit: 5,
    });
    expect(bs.kvs.map((p) => text(p.key))).toEqual(['s1', 's3', 's4']);
    const rbs = await kv().rawBatchScan({
      context: ctx(),
      ranges: [
        { startKey: b('s5'), endKey: b('s3') },
        { startKey: b('s2'), endKey: b('s1') },
      ],
      eachLimit: 1,
      reverse: true,
    });
    expect(rbs.kvs.map((p) => text(p.key))).toEqual(['s4', 's1']);
    const bad = await kv().rawBatchScan({
      context: ctx(),
      ranges: [{ startKey: b('s3'), endKey: b('s1') }],
      eachLimit: 1,
    });
    expect(bad.kvs[0]?.error?.abort).toBe('Invalid KeyRanges');
  });

  it('delete range', async () => {
    await kv().rawBatchPut({
      context: ctx(),
      pairs: ['d1', 'd2', 'd3'].map((k) => ({ key: b(k), value: b('x') })),
    });
    await kv().rawDeleteRange({ context: ctx(), startKey: b('d1'), endKey: b('d3') });
    const left = await kv().rawScan({ context: ctx(), startKey: b('d'), endKey: b('e'), limit: 10 });
    expect(left.kvs.map((p) => text(p.key))).toEqual(['d3']);
  });

  it('compare and swap', async () => {
    const r1 = await kv().rawCompareAndSwap({
      context: ctx(),
      key: b('cas'),
      value: b('1'),
      previousNotExist: true,
    });
    expect(r1).toMatchObject({ succeed: true, previousNotExist: true });
    const r2 = await kv().rawCompareAndSwap({
      context: ctx(),
      key: b('cas'),
      value: b('2'),
      previousValue: b('0'),
    });
    expect(r2.succeed).toBe(false);
    expect(text(r2.previousValue)).toBe('1');
    const r3 = await kv().rawCompareAndSwap({
      context: ctx(),
      key: b('cas'),
      value: b('2'),
      previousValue: b('1'),
    });
    expect(r3.succeed).toBe(true);
    const r4 = await kv().rawCompareAndSwap({
      context: ctx(),
      key: b('cas'),
      previousValue: b('2'),
      delete: true,
    });
    expect(r4.succeed).toBe(true);
    expect((await kv().rawGet({ context: ctx(), key: b('cas') })).notFound).toBe(true);
  });

  it('checksum is crc64-xor of key+value over live pairs', async () => {
    await kv().rawBatchPut({
      context: ctx(),
      pairs: [
        { key: b('ck1'), value: b('a') },
        { key: b('ck2'), value: b('bc') },
      ],
    });
    const r = await kv().rawChecksum({ context: ctx(), ranges: [{ startKey: b('ck'), endKey: b('cl') }] });
    expect(r.totalKvs).toBe(2n);
    expect(r.totalBytes).toBe(9n);
    expect(r.checksum).toBe(crc64(b('ck1'), b('a')) ^ crc64(b('ck2'), b('bc')));
    expect(crc64(b('123456789'))).toBe(0x995dc9bbdf1939fan);
  });

  it('column families and their errors', async () => {
    await kv().rawPut({ context: ctx(), key: b('cf'), value: b('w'), cf: 'write' });
    expect((await kv().rawGet({ context: ctx(), key: b('cf') })).notFound).toBe(true);
    expect(text((await kv().rawGet({ context: ctx(), key: b('cf'), cf: 'write' })).value)).toBe('w');
    expect((await kv().rawGet({ context: ctx(), key: b('cf'), cf: 'bogus' })).error).toBe(
      'invalid cf name: bogus',
    );
    const bg = await kv().rawBatchGet({ context: ctx(), keys: [b('cf')], cf: 'bogus' });
    expect(bg.pairs[0]?.error?.abort).toBe('invalid cf name: bogus');
  });

  it('rejects TTL, oversized keys, a V2 request and oversized writes', async () => {
    expect((await kv().rawPut({ context: ctx(), key: b('t'), value: b('v'), ttl: 10n })).error).toBe(
      'ttl is not enabled, but get put request with ttl',
    );
    expect((await kv().rawGetKeyTTL({ context: ctx(), key: b('t') })).error).toContain('ttl is not enabled');
    expect(
      (await kv().rawBatchPut({ context: ctx(), pairs: [{ key: b('t'), value: b('v') }], ttls: [5n] })).error,
    ).toContain('ttl is not enabled');
    const big = new Uint8Array(8193);
    expect((await kv().rawPut({ context: ctx(), key: big, value: b('v') })).error).toBe(
      'max key size exceeded, size: 8193, limit: 8192',
    );
    const v2 = { ...ctx(), apiVersion: kvrpcpb.APIVersion.V2 };
    expect((await kv().rawGet({ context: v2, key: b('a') })).error).toBe(
      'Api version in request does not match with TiKV storage, cmd: raw_get, storage: V1, request: V2',
    );
    const huge = new Uint8Array(9 * 1024 * 1024);
    const r = await kv().rawPut({ context: ctx(), key: b('huge'), value: huge });
    expect(r.regionError?.raftEntryTooLarge?.entrySize).toBe(BigInt(huge.length + 4));
    const bad = await kv().rawChecksum({
      context: ctx(),
      algorithm: 7 as kvrpcpb.ChecksumAlgorithm,
      ranges: [],
    });
    expect(bad.error).toContain('unknown checksum algorithm');
  });
});

describe('raw API (V2)', () => {
  let now = 1_700_000_000_000;
  let cluster: MockCluster;
  let c: TestClients;
  const rk = (s: string) => new Uint8Array([0x72, 0, 0, 1, ...b(s)]);
  beforeAll(async () => {
    cluster = await MockCluster.start({ stores: 1, apiVersion: ApiVersion.V2, nowMs: () => now });
    c = new TestClients(cluster);
  });
  afterAll(async () => {
    c.close();
    await cluster.close();
  });
  const ctx = () => ctxFor(cluster.regionByKey(rk('a')), kvrpcpb.APIVersion.V2);
  const kv = () => c.kv(1);

  it('stores values with TTL that expire', async () => {
    await kv().rawPut({ context: ctx(), key: rk('t1'), value: b('v'), ttl: 10n });
    await kv().rawPut({ context: ctx(), key: rk('t2'), value: b('w') });
    expect((await kv().rawGetKeyTTL({ context: ctx(), key: rk('t1') })).ttl).toBe(10n);
    expect((await kv().rawGetKeyTTL({ context: ctx(), key: rk('t2') })).ttl).toBe(0n);
    expect((await kv().rawGetKeyTTL({ context: ctx(), key: rk('t3') })).notFound).toBe(true);
    now += 4000;
    expect((await kv().rawGetKeyTTL({ context: ctx(), key: rk('t1') })).ttl).toBe(6n);
    now += 7000;
    expect((await kv().rawGet({ context: ctx(), key: rk('t1') })).notFound).toBe(true);
    const scan = await kv().rawScan({ context: ctx(), startKey: rk('t'), endKey: rk('u'), limit: 10 });
    expect(scan.kvs.map((p) => p.key)).toEqual([rk('t2')]);
    const sum = await kv().rawChecksum({ context: ctx(), ranges: [{ startKey: rk('t'), endKey: rk('u') }] });
    expect(sum.totalKvs).toBe(1n);
    expect(sum.checksum).toBe(crc64(rk('t2'), b('w')));
    await kv().rawBatchPut({ context: ctx(), pairs: [{ key: rk('t4'), value: b('x') }], ttls: [1n] });
    expect((await kv().rawGetKeyTTL({ context: ctx(), key: rk('t4') })).ttl).toBe(1n);
    const mismatch = await kv().rawBatchPut({
      context: ctx(),
      pairs: [{ key: rk('t5'), value: b('x') }],
      ttls: [1n, 2n],
    });
    expect(mismatch.error).toBe('The length of ttls does not equal to the length of pairs');
  });

  it('requires raw-mode keys and the V2 API version', async () => {
    const r = await kv().rawGet({ context: ctx(), key: new Uint8Array([0x78, 0, 0, 1, 1]) });
    expect(r.error).toBe(
      'Key mode mismatched with the request mode, cmd: raw_get, storage: V2, key: 7800000101',
    );
    const v1 = { ...ctx(), apiVersion: kvrpcpb.APIVersion.V1 };
    expect((await kv().rawGet({ context: v1, key: rk('a') })).error).toContain('storage: V2, request: V1');
    expect((await kv().rawGet({ context: ctx(), key: rk('a'), cf: 'lock' })).error).toBe(
      'cf is deprecated in API V2, cf name: lock',
    );
    const s = await kv().rawScan({ context: ctx(), startKey: b('x'), endKey: rk('z'), limit: 1 });
    expect(s.kvs[0]?.error?.abort).toContain('Key mode mismatched');
  });

  it('refuses V2 ranges without an end or across key modes, as TiKV parse_range_mode does', async () => {
    const abort = async (startKey: Uint8Array, endKey: Uint8Array, reverse = false) =>
      (await kv().rawScan({ context: ctx(), startKey, endKey, limit: 1, reverse })).kvs[0]?.error?.abort;
    expect(await abort(rk('a'), new Uint8Array(0))).toBe(
      `Key mode mismatched with the request mode, cmd: raw_scan, storage: V2, range: (Some("${Buffer.from(rk('a')).toString('hex').toUpperCase()}"), None)`,
    );
    expect(await abort(rk('z'), new Uint8Array(0), true)).toContain('Key mode mismatched');
    expect(await abort(rk('a'), b('t'))).toContain('Key mode mismatched');
    expect(await abort(rk('a'), b('s\0'))).toContain('Key mode mismatched');
    // The whole raw key space ends at the single byte `s`; a reverse scan carries its bounds
    // upper first and is checked in that order.
    expect(await abort(rk('a'), b('s'))).toBeUndefined();
    expect(await abort(rk('z'), rk('a'), true)).toBeUndefined();
    const del = await kv().rawDeleteRange({ context: ctx(), startKey: rk('a'), endKey: new Uint8Array(0) });
    expect(del.error).toContain('cmd: raw_delete_range');
    const sum = await kv().rawChecksum({
      context: ctx(),
      ranges: [{ startKey: rk('a'), endKey: new Uint8Array(0) }],
    });
    expect(sum.error).toContain('cmd: raw_checksum');
    const batch = await kv().rawBatchScan({
      context: ctx(),
      ranges: [{ startKey: rk('a'), endKey: new Uint8Array(0) }],
      eachLimit: 1,
    });
    expect(batch.kvs[0]?.error?.abort).toContain('cmd: raw_batch_scan');
  });
});

describe('API version check before the region check (TiKV storage check_api_version)', () => {
  it('answers a version mismatch even for an unknown region, and a region error otherwise', async () => {
    for (const [storage, other] of [
      [ApiVersion.V1, kvrpcpb.APIVersion.V2],
      [ApiVersion.V2, kvrpcpb.APIVersion.V1],
    ] as const) {
      const cluster = await MockCluster.start({ stores: 1, apiVersion: storage });
      const c = new TestClients(cluster);
      try {
        const kv = c.kv(cluster.stores()[0]!.id);
        const key = storage === ApiVersion.V2 ? Uint8Array.of(0x72, 0, 0, 0, 0) : Uint8Array.of(0);
        const mismatch = await kv.rawGet({
          context: kvrpcpb.Context.fromPartial({ apiVersion: other }),
          key,
        });
        expect(mismatch.regionError).toBeUndefined();
        expect(mismatch.error).toBe(
          `Api version in request does not match with TiKV storage, cmd: raw_get, storage: ${storage}, ` +
            `request: ${other === kvrpcpb.APIVersion.V2 ? 'V2' : 'V1'}`,
        );
        const same = storage === ApiVersion.V2 ? kvrpcpb.APIVersion.V2 : kvrpcpb.APIVersion.V1;
        const matched = await kv.rawGet({ context: kvrpcpb.Context.fromPartial({ apiVersion: same }), key });
        expect(matched.error).toBe('');
        // Past the version check, the context (no store, no region) fails the raftstore checks.
        expect(matched.regionError?.storeNotMatch).toBeDefined();
      } finally {
        c.close();
        await cluster.close();
      }
    }
  });
});
