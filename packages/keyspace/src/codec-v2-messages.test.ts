import { coprocessor, kvrpcpb } from '@tikv/proto';
import { KeyMode } from './api-version.js';
import type { CodecRequest, CodecResponse } from './codec-request.js';
import { CodecV2 } from './codec-v2.js';
import { decodeKeyError, decodeMvccInfo } from './key-error-decoder.js';

// Ports client-go internal/apicodec/codec_v2_test.go (request encoding, response decoding).
const r = 0x72;
const keyspacePrefix = Uint8Array.of(r, 0, 16, 146);
const keyspaceEndKey = Uint8Array.of(r, 0, 16, 147);
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const p = (s: string): Uint8Array => Uint8Array.from([...keyspacePrefix, ...enc(s)]);
const E = new Uint8Array();

const codec = new CodecV2(KeyMode.RAW, {
  id: 4242,
  name: 'ks',
  state: 'enabled',
  createdAt: 0n,
  stateChangedAt: 0n,
  config: {},
});

function regionError(key: string, start: string, end: string): kvrpcpb.RawGetResponse['regionError'] {
  const [startKey, endKey] = codec.encodeRegionRange(enc(start), enc(end));
  return { keyNotInRegion: { key: codec.encodeKey(enc(key)), regionId: 1n, startKey, endKey } } as never;
}

function expectRegionErrorDecoded(e: kvrpcpb.RawGetResponse['regionError']): void {
  expect(e?.keyNotInRegion?.key).toEqual(enc('region-key'));
  expect(e?.keyNotInRegion?.startKey).toEqual(enc('range-start'));
  expect(e?.keyNotInRegion?.endKey).toEqual(enc('range-end'));
}

describe('CodecV2.encodeRequest (TestEncodeRequest)', () => {
  test('the context carries API V2, the keyspace id and name; the input is untouched', () => {
    const req = { $case: 'RawGet' as const, value: kvrpcpb.RawGetRequest.fromPartial({ key: enc('key') }) };
    const out = codec.encodeRequest(req);
    expect(out.value.key).toEqual(p('key'));
    expect(req.value.key).toEqual(enc('key'));
    expect(out.value.context?.apiVersion).toBe(kvrpcpb.APIVersion.V2);
    expect(out.value.context?.keyspace).toEqual({ $case: 'keyspaceId', value: 4242 });
    expect(out.value.context?.keyspaceName).toBe('ks');
    // Encoding twice (a retry) gives the same result.
    expect(codec.encodeRequest(req)).toEqual(out);
  });

  test('CmdCommit without and with a primary key', () => {
    const a = codec.encodeRequest({
      $case: 'Commit',
      value: kvrpcpb.CommitRequest.fromPartial({ keys: [enc('key1'), enc('key2')] }),
    });
    expect(a.value.keys).toEqual([p('key1'), p('key2')]);
    expect(a.value.primaryKey).toHaveLength(0);
    const b = codec.encodeRequest({
      $case: 'Commit',
      value: kvrpcpb.CommitRequest.fromPartial({ keys: [enc('key1'), enc('key2')], primaryKey: enc('key1') }),
    });
    expect(b.value.primaryKey).toEqual(p('key1'));
  });

  test('CmdFlush', () => {
    const out = codec.encodeRequest({
      $case: 'Flush',
      value: kvrpcpb.FlushRequest.fromPartial({
        mutations: [
          { op: kvrpcpb.Op.Put, key: enc('key1') },
          { op: kvrpcpb.Op.Del, key: enc('key2') },
        ],
        primaryKey: enc('primary'),
      }),
    });
    expect(out.value.mutations.map((m) => m.key)).toEqual([p('key1'), p('key2')]);
    expect(out.value.primaryKey).toEqual(p('primary'));
  });

  test('CmdBufferBatchGet, flashback ranges and Compact', () => {
    const bg = codec.encodeRequest({
      $case: 'BufferBatchGet',
      value: kvrpcpb.BufferBatchGetRequest.fromPartial({ keys: [enc('key1'), enc('key2')] }),
    });
    expect(bg.value.keys).toEqual([p('key1'), p('key2')]);
    const fb = codec.encodeRequest({
      $case: 'FlashbackToVersion',
      value: kvrpcpb.FlashbackToVersionRequest.fromPartial({ startKey: enc('start') }),
    });
    expect([fb.value.startKey, fb.value.endKey]).toEqual([p('start'), keyspaceEndKey]);
    const pf = codec.encodeRequest({
      $case: 'PrepareFlashbackToVersion',
      value: kvrpcpb.PrepareFlashbackToVersionRequest.fromPartial({ startKey: enc('prepare-start') }),
    });
    expect([pf.value.startKey, pf.value.endKey]).toEqual([p('prepare-start'), keyspaceEndKey]);
    const compact = codec.encodeRequest({
      $case: 'Compact',
      value: kvrpcpb.CompactRequest.fromPartial({ startKey: enc('compact-start') }),
    });
    expect(compact.value.startKey).toEqual(enc('compact-start'));
    expect(compact.value.apiVersion).toBe(kvrpcpb.APIVersion.V2);
    expect(compact.value.keyspace).toEqual({ $case: 'keyspaceId', value: 4242 });
  });

  test('every key-carrying command', () => {
    const m = [{ op: kvrpcpb.Op.Put, key: enc('m') }];
    const cases: Array<[CodecRequest, (v: never) => unknown, unknown]> = [
      [
        { $case: 'Get', value: kvrpcpb.GetRequest.fromPartial({ key: enc('k') }) },
        (v: kvrpcpb.GetRequest) => v.key,
        p('k'),
      ],
      [
        { $case: 'Scan', value: kvrpcpb.ScanRequest.fromPartial({ startKey: enc('a') }) },
        (v: kvrpcpb.ScanRequest) => [v.startKey, v.endKey],
        [p('a'), keyspaceEndKey],
      ],
      [
        { $case: 'Scan', value: kvrpcpb.ScanRequest.fromPartial({ endKey: enc('a'), reverse: true }) },
        (v: kvrpcpb.ScanRequest) => [v.startKey, v.endKey],
        [keyspaceEndKey, p('a')],
      ],
      [
        {
          $case: 'RawScan',
          value: kvrpcpb.RawScanRequest.fromPartial({ startKey: enc('z'), reverse: true }),
        },
        (v: kvrpcpb.RawScanRequest) => [v.startKey, v.endKey],
        [p('z'), keyspacePrefix],
      ],
      [
        {
          $case: 'Prewrite',
          value: kvrpcpb.PrewriteRequest.fromPartial({
            mutations: m,
            primaryLock: enc('pk'),
            secondaries: [enc('s')],
          }),
        },
        (v: kvrpcpb.PrewriteRequest) => [v.mutations[0]?.key, v.primaryLock, v.secondaries],
        [p('m'), p('pk'), [p('s')]],
      ],
      [
        { $case: 'Cleanup', value: kvrpcpb.CleanupRequest.fromPartial({ key: enc('k') }) },
        (v: kvrpcpb.CleanupRequest) => v.key,
        p('k'),
      ],
      [
        { $case: 'BatchGet', value: kvrpcpb.BatchGetRequest.fromPartial({ keys: [enc('k')] }) },
        (v: kvrpcpb.BatchGetRequest) => v.keys,
        [p('k')],
      ],
      [
        { $case: 'BatchRollback', value: kvrpcpb.BatchRollbackRequest.fromPartial({ keys: [enc('k')] }) },
        (v: kvrpcpb.BatchRollbackRequest) => v.keys,
        [p('k')],
      ],
      [
        { $case: 'ScanLock', value: kvrpcpb.ScanLockRequest.fromPartial({ startKey: enc('a') }) },
        (v: kvrpcpb.ScanLockRequest) => [v.startKey, v.endKey],
        [p('a'), keyspaceEndKey],
      ],
      [
        { $case: 'ResolveLock', value: kvrpcpb.ResolveLockRequest.fromPartial({ keys: [enc('k')] }) },
        (v: kvrpcpb.ResolveLockRequest) => v.keys,
        [p('k')],
      ],
      [
        {
          $case: 'DeleteRange',
          value: kvrpcpb.DeleteRangeRequest.fromPartial({ startKey: enc('a'), endKey: enc('b') }),
        },
        (v: kvrpcpb.DeleteRangeRequest) => [v.startKey, v.endKey],
        [p('a'), p('b')],
      ],
      [
        {
          $case: 'PessimisticLock',
          value: kvrpcpb.PessimisticLockRequest.fromPartial({ mutations: m, primaryLock: enc('pk') }),
        },
        (v: kvrpcpb.PessimisticLockRequest) => [v.mutations[0]?.key, v.primaryLock],
        [p('m'), p('pk')],
      ],
      [
        {
          $case: 'PessimisticRollback',
          value: kvrpcpb.PessimisticRollbackRequest.fromPartial({ keys: [enc('k')] }),
        },
        (v: kvrpcpb.PessimisticRollbackRequest) => v.keys,
        [p('k')],
      ],
      [
        { $case: 'TxnHeartBeat', value: kvrpcpb.TxnHeartBeatRequest.fromPartial({ primaryLock: enc('pk') }) },
        (v: kvrpcpb.TxnHeartBeatRequest) => v.primaryLock,
        p('pk'),
      ],
      [
        {
          $case: 'CheckTxnStatus',
          value: kvrpcpb.CheckTxnStatusRequest.fromPartial({ primaryKey: enc('pk') }),
        },
        (v: kvrpcpb.CheckTxnStatusRequest) => v.primaryKey,
        p('pk'),
      ],
      [
        {
          $case: 'CheckSecondaryLocks',
          value: kvrpcpb.CheckSecondaryLocksRequest.fromPartial({ keys: [enc('k')] }),
        },
        (v: kvrpcpb.CheckSecondaryLocksRequest) => v.keys,
        [p('k')],
      ],
      [
        { $case: 'RawBatchGet', value: kvrpcpb.RawBatchGetRequest.fromPartial({ keys: [enc('k')] }) },
        (v: kvrpcpb.RawBatchGetRequest) => v.keys,
        [p('k')],
      ],
      [
        { $case: 'RawPut', value: kvrpcpb.RawPutRequest.fromPartial({ key: enc('k'), value: enc('v') }) },
        (v: kvrpcpb.RawPutRequest) => [v.key, v.value],
        [p('k'), enc('v')],
      ],
      [
        {
          $case: 'RawBatchPut',
          value: kvrpcpb.RawBatchPutRequest.fromPartial({ pairs: [{ key: enc('k'), value: enc('v') }] }),
        },
        (v: kvrpcpb.RawBatchPutRequest) => [v.pairs[0]?.key, v.pairs[0]?.value],
        [p('k'), enc('v')],
      ],
      [
        { $case: 'RawDelete', value: kvrpcpb.RawDeleteRequest.fromPartial({ key: enc('k') }) },
        (v: kvrpcpb.RawDeleteRequest) => v.key,
        p('k'),
      ],
      [
        { $case: 'RawBatchDelete', value: kvrpcpb.RawBatchDeleteRequest.fromPartial({ keys: [enc('k')] }) },
        (v: kvrpcpb.RawBatchDeleteRequest) => v.keys,
        [p('k')],
      ],
      [
        { $case: 'RawDeleteRange', value: kvrpcpb.RawDeleteRangeRequest.fromPartial({ startKey: enc('a') }) },
        (v: kvrpcpb.RawDeleteRangeRequest) => [v.startKey, v.endKey],
        [p('a'), keyspaceEndKey],
      ],
      [
        { $case: 'RawGetKeyTTL', value: kvrpcpb.RawGetKeyTTLRequest.fromPartial({ key: enc('k') }) },
        (v: kvrpcpb.RawGetKeyTTLRequest) => v.key,
        p('k'),
      ],
      [
        { $case: 'RawCompareAndSwap', value: kvrpcpb.RawCASRequest.fromPartial({ key: enc('k') }) },
        (v: kvrpcpb.RawCASRequest) => v.key,
        p('k'),
      ],
      [
        {
          $case: 'RawChecksum',
          value: kvrpcpb.RawChecksumRequest.fromPartial({
            ranges: [
              { startKey: E, endKey: E },
              { startKey: enc('a'), endKey: enc('z') },
            ],
          }),
        },
        (v: kvrpcpb.RawChecksumRequest) => v.ranges,
        [
          { startKey: keyspacePrefix, endKey: keyspaceEndKey },
          { startKey: p('a'), endKey: p('z') },
        ],
      ],
      [
        {
          $case: 'UnsafeDestroyRange',
          value: kvrpcpb.UnsafeDestroyRangeRequest.fromPartial({ startKey: enc('a') }),
        },
        (v: kvrpcpb.UnsafeDestroyRangeRequest) => [v.startKey, v.endKey],
        [p('a'), keyspaceEndKey],
      ],
      [
        {
          $case: 'PhysicalScanLock',
          value: kvrpcpb.PhysicalScanLockRequest.fromPartial({ startKey: enc('a') }),
        },
        (v: kvrpcpb.PhysicalScanLockRequest) => v.startKey,
        p('a'),
      ],
      [
        { $case: 'GetStoreSafeTS', value: kvrpcpb.StoreSafeTSRequest.fromPartial({}) },
        (v: kvrpcpb.StoreSafeTSRequest) => v.keyRange,
        { startKey: keyspacePrefix, endKey: keyspaceEndKey },
      ],
      [
        { $case: 'MvccGetByKey', value: kvrpcpb.MvccGetByKeyRequest.fromPartial({ key: enc('k') }) },
        (v: kvrpcpb.MvccGetByKeyRequest) => v.key,
        p('k'),
      ],
      [
        { $case: 'SplitRegion', value: kvrpcpb.SplitRegionRequest.fromPartial({ splitKeys: [enc('k')] }) },
        (v: kvrpcpb.SplitRegionRequest) => v.splitKeys,
        [p('k')],
      ],
      [
        {
          $case: 'Coprocessor',
          value: coprocessor.Request.fromPartial({
            ranges: [{ start: enc('a'), end: enc('b') }],
            tasks: [{ ranges: [{ start: enc('c'), end: E }] }],
          }),
        },
        (v: coprocessor.Request) => [v.ranges, v.tasks[0]?.ranges],
        [[{ start: p('a'), end: p('b') }], [{ start: p('c'), end: keyspaceEndKey }]],
      ],
      [
        { $case: 'GC', value: kvrpcpb.GCRequest.fromPartial({ safePoint: 5n }) },
        (v: kvrpcpb.GCRequest) => v.safePoint,
        5n,
      ],
    ];
    for (const [req, pick, want] of cases) {
      const out = codec.encodeRequest(req);
      expect([req.$case, pick(out.value as never)]).toEqual([req.$case, want]);
      if ('context' in out.value)
        expect(out.value.context?.keyspace).toEqual({ $case: 'keyspaceId', value: 4242 });
    }
  });
});

describe('CodecV2 key errors (TestDecodeKeyError)', () => {
  test('TxnLockNotFound, shared locks, primary mismatch, deadlock, debug info and the rest', () => {
    const e = kvrpcpb.KeyError.fromPartial({
      txnLockNotFound: { key: p('key1') },
      locked: {
        key: p('outer-key'),
        primaryLock: p('outer-primary'),
        secondaries: [p('outer-secondary')],
        lockType: kvrpcpb.Op.SharedLock,
        sharedLockInfos: [
          { key: p('inner-key'), primaryLock: p('inner-primary'), secondaries: [p('inner-secondary')] },
        ],
      },
      primaryMismatch: {
        lockInfo: {
          key: p('mismatch-key'),
          primaryLock: p('mismatch-primary'),
          secondaries: [p('mismatch-secondary')],
        },
      },
      deadlock: {
        lockKey: p('lock-key'),
        deadlockKey: p('deadlock-key'),
        waitChain: [{ key: p('wait-key') }],
      },
      conflict: { key: p('conflict-key'), primary: p('conflict-primary') },
      alreadyExist: { key: p('exists') },
      commitTsExpired: { key: p('expired') },
      txnNotFound: { primaryKey: p('txn-primary') },
      assertionFailed: { key: p('assert') },
      debugInfo: {
        mvccInfo: [
          {
            key: p('key1'),
            mvcc: {
              lock: {
                primary: p('debug-primary'),
                secondaries: [p('debug-secondary-1'), p('debug-secondary-2')],
              },
            },
          },
        ],
      },
    });
    const d = decodeKeyError(codec, e);
    expect(d?.txnLockNotFound?.key).toEqual(enc('key1'));
    expect(d?.locked?.key).toEqual(enc('outer-key'));
    expect(d?.locked?.primaryLock).toEqual(enc('outer-primary'));
    expect(d?.locked?.secondaries).toEqual([enc('outer-secondary')]);
    const inner = d?.locked?.sharedLockInfos[0];
    expect([inner?.key, inner?.primaryLock, inner?.secondaries]).toEqual([
      enc('inner-key'),
      enc('inner-primary'),
      [enc('inner-secondary')],
    ]);
    const mm = d?.primaryMismatch?.lockInfo;
    expect([mm?.key, mm?.primaryLock, mm?.secondaries]).toEqual([
      enc('mismatch-key'),
      enc('mismatch-primary'),
      [enc('mismatch-secondary')],
    ]);
    expect([d?.deadlock?.lockKey, d?.deadlock?.deadlockKey, d?.deadlock?.waitChain[0]?.key]).toEqual([
      enc('lock-key'),
      enc('deadlock-key'),
      enc('wait-key'),
    ]);
    expect([d?.conflict?.key, d?.conflict?.primary]).toEqual([enc('conflict-key'), enc('conflict-primary')]);
    expect(d?.alreadyExist?.key).toEqual(enc('exists'));
    expect(d?.commitTsExpired?.key).toEqual(enc('expired'));
    expect(d?.txnNotFound?.primaryKey).toEqual(enc('txn-primary'));
    expect(d?.assertionFailed?.key).toEqual(enc('assert'));
    const dbg = d?.debugInfo?.mvccInfo[0];
    expect(dbg?.key).toEqual(enc('key1'));
    expect(dbg?.mvcc?.lock?.primary).toEqual(enc('debug-primary'));
    expect(dbg?.mvcc?.lock?.secondaries).toEqual([enc('debug-secondary-1'), enc('debug-secondary-2')]);
  });

  test('a conflict key from another keyspace is an error', () => {
    const e = kvrpcpb.KeyError.fromPartial({ conflict: { key: Uint8Array.of(r, 0, 0, 1, 7) } });
    expect(() => decodeKeyError(codec, e)).toThrow(expect.objectContaining({ outOfKeyspace: true }));
  });

  test('TestDecodeMvccInfoPreservesEmptyLockKeys', () => {
    const info = kvrpcpb.MvccInfo.fromPartial({
      lock: { primary: E, secondaries: [E, p('mvcc-secondary')] },
    });
    const d = decodeMvccInfo(codec, info);
    expect(d).toBe(info);
    expect(d?.lock?.primary).toHaveLength(0);
    expect(d?.lock?.secondaries).toEqual([E, enc('mvcc-secondary')]);
  });
});

describe('CodecV2.decodeResponse', () => {
  test('TestDecodeResponseHotPathCommands: CmdFlush and CmdBufferBatchGet', () => {
    const flush: CodecResponse = {
      $case: 'Flush',
      value: kvrpcpb.FlushResponse.fromPartial({
        regionError: regionError('region-key', 'range-start', 'range-end'),
        errors: [{ txnLockNotFound: { key: p('lock-key') } }],
      }),
    };
    codec.decodeResponse(flush);
    expectRegionErrorDecoded(flush.value.regionError);
    expect(flush.value.errors[0]?.txnLockNotFound?.key).toEqual(enc('lock-key'));

    const bbg: CodecResponse = {
      $case: 'BufferBatchGet',
      value: kvrpcpb.BufferBatchGetResponse.fromPartial({
        regionError: regionError('region-key', 'range-start', 'range-end'),
        error: { txnLockNotFound: { key: p('response-lock') } },
        pairs: [{ key: p('pair-key'), error: { txnLockNotFound: { key: p('pair-lock') } } }],
      }),
    };
    codec.decodeResponse(bbg);
    expectRegionErrorDecoded(bbg.value.regionError);
    expect(bbg.value.error?.txnLockNotFound?.key).toEqual(enc('response-lock'));
    expect(bbg.value.pairs[0]?.key).toEqual(enc('pair-key'));
    expect(bbg.value.pairs[0]?.error?.txnLockNotFound?.key).toEqual(enc('pair-lock'));
  });

  test('TestDecodeResponseSecondWaveCommands', () => {
    const lw: CodecResponse = {
      $case: 'GetLockWaitInfo',
      value: kvrpcpb.GetLockWaitInfoResponse.fromPartial({
        regionError: regionError('region-key', 'range-start', 'range-end'),
        entries: [{ key: p('wait-key') }],
      }),
    };
    codec.decodeResponse(lw);
    expectRegionErrorDecoded(lw.value.regionError);
    expect(lw.value.entries[0]?.key).toEqual(enc('wait-key'));

    const byTs: CodecResponse = {
      $case: 'MvccGetByStartTs',
      value: kvrpcpb.MvccGetByStartTsResponse.fromPartial({
        regionError: regionError('region-key', 'range-start', 'range-end'),
        key: p('mvcc-key'),
        info: {
          lock: { primary: p('mvcc-primary'), secondaries: [p('mvcc-secondary-1'), p('mvcc-secondary-2')] },
        },
      }),
    };
    codec.decodeResponse(byTs);
    expectRegionErrorDecoded(byTs.value.regionError);
    expect(byTs.value.key).toEqual(enc('mvcc-key'));
    expect(byTs.value.info?.lock?.primary).toEqual(enc('mvcc-primary'));
    expect(byTs.value.info?.lock?.secondaries).toEqual([enc('mvcc-secondary-1'), enc('mvcc-secondary-2')]);

    const byKey: CodecResponse = {
      $case: 'MvccGetByKey',
      value: kvrpcpb.MvccGetByKeyResponse.fromPartial({
        regionError: regionError('region-key', 'range-start', 'range-end'),
        info: { lock: { primary: p('mvcc-by-key-primary') } },
      }),
    };
    codec.decodeResponse(byKey);
    expectRegionErrorDecoded(byKey.value.regionError);
    expect(byKey.value.info?.lock?.primary).toEqual(enc('mvcc-by-key-primary'));

    for (const $case of ['FlashbackToVersion', 'PrepareFlashbackToVersion'] as const) {
      const resp = {
        $case,
        value: { regionError: regionError('region-key', 'range-start', 'range-end') },
      } as CodecResponse;
      codec.decodeResponse(resp);
      expectRegionErrorDecoded((resp.value as kvrpcpb.FlashbackToVersionResponse).regionError);
    }
    const compact: CodecResponse = {
      $case: 'Compact',
      value: kvrpcpb.CompactResponse.fromPartial({
        compactedStartKey: enc('compacted-start'),
        compactedEndKey: enc('compacted-end'),
      }),
    };
    codec.decodeResponse(compact);
    expect(compact.value.compactedStartKey).toEqual(enc('compacted-start'));
  });

  test('pairs, locks and regions of the other commands', () => {
    const lock = (): kvrpcpb.LockInfo => kvrpcpb.LockInfo.fromPartial({ key: p('lk'), primaryLock: p('lp') });
    const scan: CodecResponse = {
      $case: 'Scan',
      value: kvrpcpb.ScanResponse.fromPartial({ pairs: [{ key: p('a'), value: enc('1') }, { key: E }] }),
    };
    codec.decodeResponse(scan);
    expect(scan.value.pairs.map((x) => x.key)).toEqual([enc('a'), E]);
    const raw: CodecResponse = {
      $case: 'RawScan',
      value: kvrpcpb.RawScanResponse.fromPartial({ kvs: [{ key: p('b') }] }),
    };
    codec.decodeResponse(raw);
    expect(raw.value.kvs[0]?.key).toEqual(enc('b'));
    const rbg: CodecResponse = {
      $case: 'RawBatchGet',
      value: kvrpcpb.RawBatchGetResponse.fromPartial({ pairs: [{ key: p('c') }] }),
    };
    codec.decodeResponse(rbg);
    expect(rbg.value.pairs[0]?.key).toEqual(enc('c'));
    const sl: CodecResponse = {
      $case: 'ScanLock',
      value: kvrpcpb.ScanLockResponse.fromPartial({ locks: [lock()] }),
    };
    codec.decodeResponse(sl);
    expect(sl.value.locks[0]?.key).toEqual(enc('lk'));
    const cts: CodecResponse = {
      $case: 'CheckTxnStatus',
      value: kvrpcpb.CheckTxnStatusResponse.fromPartial({ lockInfo: lock() }),
    };
    codec.decodeResponse(cts);
    expect(cts.value.lockInfo?.primaryLock).toEqual(enc('lp'));
    const csl: CodecResponse = {
      $case: 'CheckSecondaryLocks',
      value: kvrpcpb.CheckSecondaryLocksResponse.fromPartial({ locks: [lock()] }),
    };
    codec.decodeResponse(csl);
    expect(csl.value.locks[0]?.key).toEqual(enc('lk'));
    const psl: CodecResponse = {
      $case: 'PhysicalScanLock',
      value: kvrpcpb.PhysicalScanLockResponse.fromPartial({ locks: [lock()] }),
    };
    codec.decodeResponse(psl);
    expect(psl.value.locks[0]?.key).toEqual(enc('lk'));
    const pw: CodecResponse = {
      $case: 'Prewrite',
      value: kvrpcpb.PrewriteResponse.fromPartial({ errors: [{ alreadyExist: { key: p('x') } }] }),
    };
    codec.decodeResponse(pw);
    expect(pw.value.errors[0]?.alreadyExist?.key).toEqual(enc('x'));
    const get: CodecResponse = {
      $case: 'Get',
      value: kvrpcpb.GetResponse.fromPartial({ error: { locked: lock() } }),
    };
    codec.decodeResponse(get);
    expect(get.value.error?.locked?.key).toEqual(enc('lk'));
    const cop: CodecResponse = {
      $case: 'Coprocessor',
      value: coprocessor.Response.fromPartial({
        locked: lock(),
        range: { start: p('a'), end: keyspaceEndKey },
      }),
    };
    codec.decodeResponse(cop);
    expect([cop.value.locked?.key, cop.value.range?.start, cop.value.range?.end]).toEqual([
      enc('lk'),
      enc('a'),
      E,
    ]);
    const [s, e] = codec.encodeRegionRange(enc('a'), enc('m'));
    const split: CodecResponse = {
      $case: 'SplitRegion',
      value: kvrpcpb.SplitRegionResponse.fromPartial({ regions: [{ startKey: s, endKey: e }] }),
    };
    codec.decodeResponse(split);
    expect([split.value.regions[0]?.startKey, split.value.regions[0]?.endKey]).toEqual([enc('a'), enc('m')]);
    const put: CodecResponse = {
      $case: 'RawPut',
      value: kvrpcpb.RawPutResponse.fromPartial({
        regionError: regionError('region-key', 'range-start', 'range-end'),
      }),
    };
    codec.decodeResponse(put);
    expectRegionErrorDecoded(put.value.regionError);
    const empty: CodecResponse = { $case: 'Empty', value: { testId: 1n } };
    expect(codec.decodeResponse(empty)).toBe(empty);
  });
});
