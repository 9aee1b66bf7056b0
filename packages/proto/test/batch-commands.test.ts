import { coprocessor, kvrpcpb, tikvpb } from '../src/index.js';

type RequestArm = NonNullable<tikvpb.BatchCommandsRequest_Request['cmd']>;
type ResponseArm = NonNullable<tikvpb.BatchCommandsResponse_Response['cmd']>;

const bytes = (s: string) => new TextEncoder().encode(s);
const context = kvrpcpb.Context.fromPartial({
  regionId: 18446744073709551615n,
  regionEpoch: { confVer: 3n, version: 9n },
  peer: { id: 12n, storeId: 4n },
  apiVersion: kvrpcpb.APIVersion.V2,
});

/** A representative request for every arm of BatchCommandsRequest.Request. */
const requests: RequestArm[] = [
  { $case: 'Get', value: kvrpcpb.GetRequest.fromPartial({ context, key: bytes('k'), version: 99n }) },
  {
    $case: 'Scan',
    value: kvrpcpb.ScanRequest.fromPartial({ context, startKey: bytes('a'), limit: 10, reverse: true }),
  },
  {
    $case: 'Prewrite',
    value: kvrpcpb.PrewriteRequest.fromPartial({
      context,
      mutations: [
        { op: kvrpcpb.Op.Put, key: bytes('k'), value: bytes('v'), assertion: kvrpcpb.Assertion.NotExist },
      ],
      primaryLock: bytes('k'),
      startVersion: 5n,
      lockTtl: 3000n,
      secondaries: [bytes('s')],
      useAsyncCommit: true,
      pessimisticActions: [kvrpcpb.PrewriteRequest_PessimisticAction.DO_PESSIMISTIC_CHECK],
    }),
  },
  {
    $case: 'Commit',
    value: kvrpcpb.CommitRequest.fromPartial({
      context,
      keys: [bytes('k')],
      startVersion: 5n,
      commitVersion: 6n,
    }),
  },
  {
    $case: 'Import',
    value: kvrpcpb.ImportRequest.fromPartial({ mutations: [{ key: bytes('k') }], commitVersion: 3n }),
  },
  {
    $case: 'Cleanup',
    value: kvrpcpb.CleanupRequest.fromPartial({ context, key: bytes('k'), startVersion: 5n }),
  },
  {
    $case: 'BatchGet',
    value: kvrpcpb.BatchGetRequest.fromPartial({ context, keys: [bytes('a'), bytes('b')], version: 7n }),
  },
  {
    $case: 'BatchRollback',
    value: kvrpcpb.BatchRollbackRequest.fromPartial({ context, keys: [bytes('a')], startVersion: 5n }),
  },
  {
    $case: 'ScanLock',
    value: kvrpcpb.ScanLockRequest.fromPartial({ context, maxVersion: 100n, limit: 1024 }),
  },
  {
    $case: 'ResolveLock',
    value: kvrpcpb.ResolveLockRequest.fromPartial({
      context,
      startVersion: 5n,
      commitVersion: 0n,
      txnInfos: [{ txn: 5n, status: 0n }],
    }),
  },
  { $case: 'GC', value: kvrpcpb.GCRequest.fromPartial({ context, safePoint: 1000n }) },
  {
    $case: 'DeleteRange',
    value: kvrpcpb.DeleteRangeRequest.fromPartial({ context, startKey: bytes('a'), endKey: bytes('z') }),
  },
  { $case: 'RawGet', value: kvrpcpb.RawGetRequest.fromPartial({ context, key: bytes('k'), cf: 'default' }) },
  { $case: 'RawBatchGet', value: kvrpcpb.RawBatchGetRequest.fromPartial({ context, keys: [bytes('a')] }) },
  {
    $case: 'RawPut',
    value: kvrpcpb.RawPutRequest.fromPartial({
      context,
      key: bytes('k'),
      value: bytes('v'),
      ttl: 60n,
      forCas: true,
    }),
  },
  {
    $case: 'RawBatchPut',
    value: kvrpcpb.RawBatchPutRequest.fromPartial({
      context,
      pairs: [{ key: bytes('a'), value: bytes('1') }],
      ttls: [10n],
    }),
  },
  { $case: 'RawDelete', value: kvrpcpb.RawDeleteRequest.fromPartial({ context, key: bytes('k') }) },
  {
    $case: 'RawBatchDelete',
    value: kvrpcpb.RawBatchDeleteRequest.fromPartial({ context, keys: [bytes('k')] }),
  },
  {
    $case: 'RawScan',
    value: kvrpcpb.RawScanRequest.fromPartial({
      context,
      startKey: bytes('a'),
      endKey: bytes('b'),
      limit: 10,
      keyOnly: true,
      reverse: true,
    }),
  },
  {
    $case: 'RawDeleteRange',
    value: kvrpcpb.RawDeleteRangeRequest.fromPartial({ context, startKey: bytes('a'), endKey: bytes('b') }),
  },
  {
    $case: 'RawBatchScan',
    value: kvrpcpb.RawBatchScanRequest.fromPartial({
      context,
      ranges: [{ startKey: bytes('a'), endKey: bytes('b') }],
      eachLimit: 5,
    }),
  },
  {
    $case: 'Coprocessor',
    value: coprocessor.Request.fromPartial({
      context,
      tp: 103,
      data: bytes('dag'),
      ranges: [{ start: bytes('a'), end: bytes('b') }],
    }),
  },
  {
    $case: 'PessimisticLock',
    value: kvrpcpb.PessimisticLockRequest.fromPartial({
      context,
      mutations: [{ op: kvrpcpb.Op.PessimisticLock, key: bytes('k') }],
      forUpdateTs: 8n,
      waitTimeout: -1n,
      wakeUpMode: kvrpcpb.PessimisticLockWakeUpMode.WakeUpModeForceLock,
    }),
  },
  {
    $case: 'PessimisticRollback',
    value: kvrpcpb.PessimisticRollbackRequest.fromPartial({
      context,
      startVersion: 5n,
      forUpdateTs: 8n,
      keys: [bytes('k')],
    }),
  },
  {
    $case: 'CheckTxnStatus',
    value: kvrpcpb.CheckTxnStatusRequest.fromPartial({
      context,
      primaryKey: bytes('p'),
      lockTs: 5n,
      callerStartTs: 9n,
      rollbackIfNotExist: true,
    }),
  },
  {
    $case: 'TxnHeartBeat',
    value: kvrpcpb.TxnHeartBeatRequest.fromPartial({
      context,
      primaryLock: bytes('p'),
      startVersion: 5n,
      adviseLockTtl: 20000n,
    }),
  },
  {
    $case: 'CheckSecondaryLocks',
    value: kvrpcpb.CheckSecondaryLocksRequest.fromPartial({ context, keys: [bytes('s')], startVersion: 5n }),
  },
  {
    $case: 'RawCoprocessor',
    value: kvrpcpb.RawCoprocessorRequest.fromPartial({ context, coprName: 'x', data: bytes('d') }),
  },
  {
    $case: 'FlashbackToVersion',
    value: kvrpcpb.FlashbackToVersionRequest.fromPartial({
      context,
      version: 10n,
      startKey: bytes('a'),
      startTs: 11n,
      commitTs: 12n,
    }),
  },
  {
    $case: 'PrepareFlashbackToVersion',
    value: kvrpcpb.PrepareFlashbackToVersionRequest.fromPartial({ context, startTs: 11n, version: 10n }),
  },
  {
    $case: 'Flush',
    value: kvrpcpb.FlushRequest.fromPartial({
      context,
      mutations: [{ key: bytes('k'), value: bytes('v') }],
      primaryKey: bytes('k'),
      startTs: 5n,
      generation: 2n,
    }),
  },
  {
    $case: 'BufferBatchGet',
    value: kvrpcpb.BufferBatchGetRequest.fromPartial({ context, keys: [bytes('k')], version: 5n }),
  },
  { $case: 'GetHealthFeedback', value: kvrpcpb.GetHealthFeedbackRequest.fromPartial({ context }) },
  {
    $case: 'BroadcastTxnStatus',
    value: kvrpcpb.BroadcastTxnStatusRequest.fromPartial({
      context,
      txnStatus: [{ startTs: 5n, minCommitTs: 6n, commitTs: 7n, rolledBack: false, isCompleted: true }],
    }),
  },
  { $case: 'Empty', value: tikvpb.BatchCommandsEmptyRequest.fromPartial({ testId: 77n, delayTime: 3n }) },
];

describe('BatchCommandsRequest', () => {
  test.each(requests.map((r) => [r.$case, r] as const))('the %s arm round trips', (_name, cmd) => {
    const msg = tikvpb.BatchCommandsRequest.fromPartial({ requests: [{ cmd }], requestIds: [1n << 40n] });
    const back = tikvpb.BatchCommandsRequest.decode(tikvpb.BatchCommandsRequest.encode(msg).finish());
    expect(back.requestIds).toEqual([1n << 40n]);
    expect(back.requests[0]?.cmd?.$case).toBe(cmd.$case);
    expect(back.requests[0]?.cmd).toEqual(msg.requests[0]?.cmd);
  });

  test('every arm of the oneof is covered by this table', () => {
    // An empty Request decoded from an unknown arm would silently lose data; make sure the table
    // keeps up with the definition: each case above encodes to a distinct field number.
    const fieldNumbers = requests.map((cmd) => {
      const encoded = tikvpb.BatchCommandsRequest_Request.encode({ cmd }).finish();
      let tag = 0;
      let shift = 0;
      for (const b of encoded) {
        tag |= (b & 0x7f) << shift;
        shift += 7;
        if (b < 0x80) break;
      }
      return tag >>> 3;
    });
    expect(new Set(fieldNumbers).size).toBe(requests.length);
    expect(fieldNumbers).toContain(255); // Empty, the test arm, sits at 255 in kvproto
  });

  test('a batch of 64 mixed requests keeps order and ids', () => {
    const msg = tikvpb.BatchCommandsRequest.fromPartial({
      requests: Array.from({ length: 64 }, (_, i) => ({ cmd: requests[i % requests.length] })),
      requestIds: Array.from({ length: 64 }, (_, i) => BigInt(i) * 1_000_000_007n),
    });
    const back = tikvpb.BatchCommandsRequest.decode(tikvpb.BatchCommandsRequest.encode(msg).finish());
    expect(back.requests.map((r) => r.cmd?.$case)).toEqual(msg.requests.map((r) => r.cmd?.$case));
    expect(back.requestIds).toEqual(msg.requestIds);
  });
});

describe('BatchCommandsResponse', () => {
  const responses: ResponseArm[] = [
    { $case: 'RawGet', value: kvrpcpb.RawGetResponse.fromPartial({ value: bytes('v') }) },
    { $case: 'RawGet', value: kvrpcpb.RawGetResponse.fromPartial({ notFound: true }) },
    {
      $case: 'RawPut',
      value: kvrpcpb.RawPutResponse.fromPartial({
        regionError: { serverIsBusy: { reason: 'busy', backoffMs: 20n, estimatedWaitMs: 5 } },
      }),
    },
    {
      $case: 'Get',
      value: kvrpcpb.GetResponse.fromPartial({ error: { locked: { key: bytes('k'), lockVersion: 3n } } }),
    },
    { $case: 'Commit', value: kvrpcpb.CommitResponse.fromPartial({ commitVersion: 18446744073709551615n }) },
    { $case: 'Empty', value: tikvpb.BatchCommandsEmptyResponse.fromPartial({ testId: 77n }) },
  ];

  test('responses keep their arms, ids and the transport layer load', () => {
    const msg = tikvpb.BatchCommandsResponse.fromPartial({
      responses: responses.map((cmd) => ({ cmd })),
      requestIds: responses.map((_, i) => BigInt(i + 1)),
      transportLayerLoad: 42n,
      healthFeedback: { storeId: 1n, feedbackSeqNo: 2n, slowScore: 3 },
    });
    const back = tikvpb.BatchCommandsResponse.decode(tikvpb.BatchCommandsResponse.encode(msg).finish());
    expect(back).toEqual(msg);
    const notFound = back.responses[1]?.cmd;
    expect(notFound?.$case === 'RawGet' && notFound.value.notFound).toBe(true);
  });
});
