import { errorpb, kvrpcpb, metapb, pdpb, tsopb } from '../src/index.js';

const U64_MAX = 18446744073709551615n;
const bytes = (s: string) => new TextEncoder().encode(s);

describe('wire format', () => {
  test('RawGetRequest encodes to the bytes kvproto defines (context = 1, key = 2, cf = 3)', () => {
    const encoded = kvrpcpb.RawGetRequest.encode({
      context: kvrpcpb.Context.fromPartial({ regionId: 1n }),
      key: bytes('a'),
      cf: 'w',
    }).finish();
    expect(Array.from(encoded)).toEqual([0x0a, 0x02, 0x08, 0x01, 0x12, 0x01, 0x61, 0x1a, 0x01, 0x77]);
  });

  test('u64 fields carry the full 64-bit range as bigint', () => {
    const ctx = kvrpcpb.Context.fromPartial({
      regionId: U64_MAX,
      regionEpoch: { confVer: U64_MAX, version: U64_MAX - 1n },
      peer: { id: 1n << 63n, storeId: 2n },
      maxExecutionDurationMs: U64_MAX,
    });
    const back = kvrpcpb.Context.decode(kvrpcpb.Context.encode(ctx).finish());
    expect(back.regionId).toBe(U64_MAX);
    expect(back.regionEpoch?.version).toBe(U64_MAX - 1n);
    expect(back.peer?.id).toBe(1n << 63n);
    expect(typeof back.maxExecutionDurationMs).toBe('bigint');
  });

  test('negative int64 values survive (PessimisticLockRequest.wait_timeout = -1 means no wait)', () => {
    const req = kvrpcpb.PessimisticLockRequest.fromPartial({ waitTimeout: -1n, startVersion: 42n });
    const back = kvrpcpb.PessimisticLockRequest.decode(kvrpcpb.PessimisticLockRequest.encode(req).finish());
    expect(back.waitTimeout).toBe(-1n);
    expect(back.startVersion).toBe(42n);
  });

  test('PD timestamps round trip with 18 logical bits in range', () => {
    const resp = pdpb.TsoResponse.fromPartial({
      header: { clusterId: 7n },
      count: 10,
      timestamp: { physical: 1_700_000_000_000n, logical: (1n << 18n) - 1n, suffixBits: 0 },
    });
    const back = pdpb.TsoResponse.decode(pdpb.TsoResponse.encode(resp).finish());
    expect(back.timestamp?.physical).toBe(1_700_000_000_000n);
    expect(back.timestamp?.logical).toBe(262143n);
    expect(back.header?.clusterId).toBe(7n);
  });

  test('enum values match kvproto', () => {
    expect([kvrpcpb.APIVersion.V1, kvrpcpb.APIVersion.V1TTL, kvrpcpb.APIVersion.V2]).toEqual([0, 1, 2]);
    expect(kvrpcpb.Op.Put).toBe(0);
    expect(kvrpcpb.Op.Lock).toBe(2);
    expect(kvrpcpb.Op.Insert).toBe(4);
    expect(kvrpcpb.Op.PessimisticLock).toBe(5);
    expect(metapb.PeerRole.Learner).toBe(1);
    expect(pdpb.ErrorType.REGION_NOT_FOUND).toBeGreaterThan(0);
  });
});

describe('nested errors', () => {
  test('a region error with a leader hint survives a round trip', () => {
    const resp = kvrpcpb.RawGetResponse.fromPartial({
      regionError: {
        message: 'peer is not leader',
        notLeader: { regionId: 9n, leader: { id: 11n, storeId: 3n, role: metapb.PeerRole.Voter } },
      },
    });
    const back = kvrpcpb.RawGetResponse.decode(kvrpcpb.RawGetResponse.encode(resp).finish());
    expect(back.regionError?.notLeader?.leader).toEqual({ id: 11n, storeId: 3n, role: 0, isWitness: false });
    expect(back.regionError?.message).toBe('peer is not leader');
  });

  test('EpochNotMatch carries the current regions', () => {
    const err = errorpb.Error.fromPartial({
      epochNotMatch: {
        currentRegions: [
          { id: 2n, startKey: bytes(''), endKey: bytes('m'), regionEpoch: { confVer: 1n, version: 2n } },
          { id: 3n, startKey: bytes('m'), endKey: bytes(''), regionEpoch: { confVer: 1n, version: 2n } },
        ],
      },
    });
    const back = errorpb.Error.decode(errorpb.Error.encode(err).finish());
    expect(back.epochNotMatch?.currentRegions.map((r) => r.id)).toEqual([2n, 3n]);
    expect(back.epochNotMatch?.currentRegions[1]?.startKey).toEqual(bytes('m'));
  });

  test('a KeyError with a lock and a write conflict keeps every detail', () => {
    const resp = kvrpcpb.PrewriteResponse.fromPartial({
      errors: [
        {
          locked: {
            primaryLock: bytes('p'),
            lockVersion: 100n,
            key: bytes('k'),
            lockTtl: 3000n,
            lockType: kvrpcpb.Op.Put,
            useAsyncCommit: true,
            secondaries: [bytes('s1'), bytes('s2')],
          },
        },
        {
          conflict: {
            startTs: 5n,
            conflictTs: 6n,
            conflictCommitTs: 7n,
            key: bytes('k'),
            primary: bytes('p'),
            reason: kvrpcpb.WriteConflict_Reason.PessimisticRetry,
          },
        },
      ],
    });
    const back = kvrpcpb.PrewriteResponse.decode(kvrpcpb.PrewriteResponse.encode(resp).finish());
    expect(back.errors[0]?.locked?.secondaries).toEqual([bytes('s1'), bytes('s2')]);
    expect(back.errors[0]?.locked?.useAsyncCommit).toBe(true);
    expect(back.errors[1]?.conflict?.conflictCommitTs).toBe(7n);
    expect(back.errors[1]?.conflict?.reason).toBe(kvrpcpb.WriteConflict_Reason.PessimisticRetry);
  });

  test('Context keyspace oneof and resource control round trip', () => {
    const ctx = kvrpcpb.Context.fromPartial({
      apiVersion: kvrpcpb.APIVersion.V2,
      keyspace: { $case: 'keyspaceId', value: 4242 },
      resourceControlContext: { resourceGroupName: 'rg1', overridePriority: 16n },
      requestSource: 'external_raw',
    });
    const back = kvrpcpb.Context.decode(kvrpcpb.Context.encode(ctx).finish());
    expect(back.apiVersion).toBe(kvrpcpb.APIVersion.V2);
    expect(back.keyspace).toEqual({ $case: 'keyspaceId', value: 4242 });
    expect(back.resourceControlContext?.resourceGroupName).toBe('rg1');
    expect(back.requestSource).toBe('external_raw');
  });

  test('tsopb.RequestHeader carries the keyspace routing fields at kvproto numbers (keyspace_id = 3, group = 4, callee = 5)', () => {
    const encoded = tsopb.RequestHeader.encode(
      tsopb.RequestHeader.fromPartial({
        clusterId: 1n,
        keyspace: { $case: 'keyspaceId', value: 3 },
        keyspaceGroupId: 2,
        calleeId: 'a',
      }),
    ).finish();
    expect(Array.from(encoded)).toEqual([0x08, 0x01, 0x18, 0x03, 0x20, 0x02, 0x2a, 0x01, 0x61]);
    const resp = tsopb.FindGroupByKeyspaceIDResponse.decode(
      tsopb.FindGroupByKeyspaceIDResponse.encode(
        tsopb.FindGroupByKeyspaceIDResponse.fromPartial({
          header: { clusterId: 1n, keyspaceGroupId: 4 },
          keyspaceGroup: {
            id: 4,
            members: [{ address: 'http://t:1', isPrimary: true }],
            splitState: { splitSource: 1 },
          },
          modRevision: 9n,
        }),
      ).finish(),
    );
    expect(resp.keyspaceGroup?.members).toEqual([{ address: 'http://t:1', isPrimary: true }]);
    expect(resp.keyspaceGroup?.splitState?.splitSource).toBe(1);
    expect(resp.modRevision).toBe(9n);
  });
});
