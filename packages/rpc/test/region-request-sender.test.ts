import diagnostics from 'node:diagnostics_channel';
import { BACKOFF_CHANNEL, type BackoffEvent, toBytes as b, isTiKVError, RegionError } from '@tikv/common';
import { kvrpcpb, metapb } from '@tikv/proto';
import { rpcInterceptor, type SendOptions } from '../src/interceptor.js';
import { RegionRequestSender } from '../src/region-request-sender.js';
import { RPC_RETRY_CHANNEL, type RpcRetryEvent } from '../src/rpc-diagnostics.js';
import { RpcError } from '../src/rpc-error.js';
import type { TikvRequest } from '../src/tikv-commands.js';
import { type Fixture, okResponse, regionErrorResponse, setupFixture } from './sender-fixture.js';

function collect<T>(name: string): { events: T[]; stop(): void } {
  const events: T[] = [];
  const fn = (m: unknown): void => {
    events.push(m as T);
  };
  diagnostics.subscribe(name, fn);
  return { events, stop: () => diagnostics.unsubscribe(name, fn) };
}

describe('RegionRequestSender (client-go region_request_test / region_request3_test)', () => {
  let f: Fixture;
  let backoffs: { events: BackoffEvent[]; stop(): void };
  beforeEach(() => {
    f = setupFixture();
    backoffs = collect<BackoffEvent>(BACKOFF_CHANNEL);
  });
  afterEach(async () => {
    backoffs.stop();
    await f.close();
  });
  const kinds = (): string[] => backoffs.events.map((e) => e.kind);
  const leaderPeer = (i: number) => ({ id: f.peerIds[i] as bigint, storeId: f.storeIds[i] as bigint });

  test('an rpcTimeoutMs that is not > 0 is an InvalidArgumentError naming what it got', () => {
    for (const rpcTimeoutMs of [0, -1, Number.NaN]) {
      let thrown: unknown;
      try {
        new RegionRequestSender({ locator: f.cache, transport: f.transport, rpcTimeoutMs });
      } catch (e) {
        thrown = e;
      }
      expect(isTiKVError(thrown, 'INVALID_ARGUMENT')).toBe(true);
      expect((thrown as Error).message).toBe(`option rpcTimeoutMs must be a number > 0, got ${rpcTimeoutMs}`);
    }
  });

  test('TestSendReqCtx: sends to the leader and fills the context', async () => {
    const region = await f.region();
    const res = await f.sender.sendRequest(f.backoffer(), f.rawGet(), region, {
      requestSource: 'test',
      resourceGroupName: 'rg1',
      resourceGroupTag: b('tag'),
      priority: 'high',
      isolationLevel: 'RC',
      notFillCache: true,
      maxExecutionDurationMs: 1234,
    });
    expect(res.value.value).toEqual(b('v'));
    const [sent] = f.transport.sent;
    expect(sent?.addr).toBe(f.addr(f.storeIds[0] as bigint));
    const ctx = sent?.context as kvrpcpb.Context;
    expect(ctx.regionId).toBe(f.regionId);
    expect(ctx.regionEpoch).toEqual({ confVer: region.confVer, version: region.version });
    expect(ctx.peer).toEqual({
      id: f.peerIds[0],
      storeId: f.storeIds[0],
      role: metapb.PeerRole.Voter,
      isWitness: false,
    });
    expect(ctx.requestSource).toBe('leader_test');
    expect(ctx.resourceControlContext?.resourceGroupName).toBe('rg1');
    expect(ctx.resourceGroupTag).toEqual(b('tag'));
    expect(ctx.priority).toBe(kvrpcpb.CommandPri.High);
    expect(ctx.isolationLevel).toBe(kvrpcpb.IsolationLevel.RC);
    expect(ctx.notFillCache).toBe(true);
    expect(ctx.maxExecutionDurationMs).toBe(1234n);
    expect(ctx.replicaRead).toBe(false);
    expect(ctx.staleRead).toBe(false);
    expect(ctx.isRetryRequest).toBe(false);
  });

  test('a resource group tagger tags each request once when no fixed tag is set; diskFullOpt reaches the context', async () => {
    const region = await f.region();
    const seen: string[] = [];
    const tagger = (r: { command: string }) => {
      seen.push(r.command);
      return b(`tag-of-${r.command}`);
    };
    // Retried once after NotLeader: the tagger is still called once.
    f.transport.handler = (s, i) =>
      i === 0
        ? regionErrorResponse(s.request, { notLeader: { regionId: f.regionId, leader: leaderPeer(1) } })
        : okResponse(s.request);
    await f.sender.sendRequest(f.backoffer(), f.rawGet(), region, {
      resourceGroupTagger: tagger,
      diskFullOpt: 'allowedOnAlmostFull',
    });
    expect(seen).toEqual(['RawGet']);
    expect(f.transport.sent.map((x) => (x.context as kvrpcpb.Context).resourceGroupTag)).toEqual([
      b('tag-of-RawGet'),
      b('tag-of-RawGet'),
    ]);
    expect((f.transport.sent[0]?.context as kvrpcpb.Context | undefined)?.diskFullOpt).toBe(
      kvrpcpb.DiskFullOpt.AllowedOnAlmostFull,
    );
    // A fixed tag wins: the tagger is not called.
    f.transport.handler = (s) => okResponse(s.request);
    await f.sender.sendRequest(f.backoffer(), f.rawGet(), await f.region(), {
      resourceGroupTag: b('fixed'),
      resourceGroupTagger: tagger,
      diskFullOpt: 'notAllowedOnFull',
    });
    expect(seen).toEqual(['RawGet']);
    const last = f.transport.sent.at(-1)?.context as kvrpcpb.Context;
    expect(last.resourceGroupTag).toEqual(b('fixed'));
    expect(last.diskFullOpt).toBe(kvrpcpb.DiskFullOpt.NotAllowedOnFull);
    // A tagger that answers undefined leaves the tag empty.
    await f.sender.sendRequest(f.backoffer(), f.rawGet(), await f.region(), {
      resourceGroupTagger: () => undefined,
      diskFullOpt: 'allowedOnAlreadyFull',
    });
    const none = f.transport.sent.at(-1)?.context as kvrpcpb.Context;
    expect(none.resourceGroupTag).toEqual(new Uint8Array(0));
    expect(none.diskFullOpt).toBe(kvrpcpb.DiskFullOpt.AllowedOnAlreadyFull);
  });

  test('TestClusterIDInReq: api version, keyspace and cluster id come from the sender', async () => {
    const f2 = setupFixture(1, { apiVersion: 'V2', keyspaceId: 7, clusterId: 42n });
    try {
      const request = f2.rawGet();
      await f2.sender.sendRequest(f2.backoffer(), request, await f2.region());
      const ctx = f2.transport.sent[0]?.context as kvrpcpb.Context;
      expect(ctx.apiVersion).toBe(kvrpcpb.APIVersion.V2);
      expect(ctx.keyspace).toEqual({ $case: 'keyspaceId', value: 7 });
      expect(ctx.clusterId).toBe(42n);
      expect(request.value.context).toBeUndefined();
    } finally {
      await f2.close();
    }
  });

  test('TestSwitchPeerWhenNoLeaderErrorWithNewLeaderInfo: NotLeader with a leader retries at once', async () => {
    f.transport.handler = (s, i) =>
      i === 0
        ? regionErrorResponse(s.request, { notLeader: { regionId: f.regionId, leader: leaderPeer(1) } })
        : okResponse(s.request);
    const res = await f.sender.sendRequest(f.backoffer(), f.rawGet(), await f.region());
    expect(res.value.regionError).toBeUndefined();
    expect(f.transport.sent.map((s) => s.addr)).toEqual([
      f.addr(f.storeIds[0] as bigint),
      f.addr(f.storeIds[1] as bigint),
    ]);
    expect(f.transport.sent[1]?.context.isRetryRequest).toBe(true);
    expect(kinds()).toEqual([]);
    expect(f.cache.getCachedRegion(await f.region())?.leaderPeer?.id).toBe(f.peerIds[1]);
  });

  test('TestSwitchPeerWhenNoLeader: NotLeader without a leader backs off regionScheduling and tries the next peer', async () => {
    f.transport.handler = (s, i) =>
      i === 0
        ? regionErrorResponse(s.request, { notLeader: { regionId: f.regionId } })
        : okResponse(s.request);
    await f.sender.sendRequest(f.backoffer(), f.rawGet(), await f.region());
    expect(kinds()).toEqual(['regionScheduling']);
    expect(f.transport.sent[1]?.addr).not.toBe(f.addr(f.storeIds[0] as bigint));
  });

  const retried: [string, object, string[]][] = [
    ['ServerIsBusy', { serverIsBusy: { reason: 'busy' } }, ['tikvServerBusy']],
    ['MaxTimestampNotSynced', { maxTimestampNotSynced: {} }, ['maxTsNotSynced']],
    ['RegionNotInitialized', { regionNotInitialized: {} }, ['regionNotInitialized']],
    ['ReadIndexNotReady', { readIndexNotReady: {} }, ['regionScheduling']],
    ['ProposalInMergingMode', { proposalInMergingMode: {} }, ['regionScheduling']],
    ['DiskFull', { diskFull: {} }, ['tikvDiskFull']],
    ['StaleCommand', { staleCommand: {} }, []],
    ['DataIsNotReady', { dataIsNotReady: {} }, []],
    ['unknown error', { message: 'something else' }, []],
  ];
  test.each(retried)('TestOnRegionError: %s is retried', async (_name, error, expectedKinds) => {
    f.transport.handler = (s, i) => (i === 0 ? regionErrorResponse(s.request, error) : okResponse(s.request));
    const res = await f.sender.sendRequest(f.backoffer(), f.rawGet(), await f.region());
    expect(res.value.regionError).toBeUndefined();
    expect(f.transport.sent).toHaveLength(2);
    expect(kinds()).toEqual(expectedKinds);
  });

  const returned: [string, object, string[], boolean][] = [
    ['EpochNotMatch without regions', { epochNotMatch: {} }, [], true],
    ['RegionNotFound', { regionNotFound: { regionId: 1n } }, [], true],
    ['KeyNotInRegion', { keyNotInRegion: { key: b('a') } }, [], true],
    ['StoreNotMatch', { storeNotMatch: {} }, [], true],
    ['RecoveryInProgress', { RecoveryInProgress: {} }, ['regionRecoveryInProgress'], true],
    ['IsWitness', { isWitness: {} }, ['isWitness'], true],
    ['MismatchPeerId', { mismatchPeerId: {} }, [], true],
    ['BucketVersionNotMatch', { bucketVersionNotMatch: { version: 3n, keys: [] } }, [], false],
    ['UndeterminedResult', { undeterminedResult: {} }, [], false],
  ];
  test.each(returned)(
    'TestOnRegionError: %s goes back to the caller',
    async (_n, error, expectedKinds, invalidated) => {
      f.transport.handler = (s) => regionErrorResponse(s.request, error);
      const region = await f.region();
      const res = await f.sender.sendRequest(f.backoffer(), f.rawGet(), region);
      expect(res.value.regionError).toBeDefined();
      expect(f.transport.sent).toHaveLength(1);
      expect(kinds()).toEqual(expectedKinds);
      expect(f.cache.getCachedRegion(region)?.invalidReason !== 'ok').toBe(invalidated);
    },
  );

  test('TestCloseConnectionOnStoreNotMatch', async () => {
    f.transport.handler = (s) => regionErrorResponse(s.request, { storeNotMatch: {} });
    await f.sender.sendRequest(f.backoffer(), f.rawGet(), await f.region());
    expect(f.transport.closedAddresses).toEqual([f.addr(f.storeIds[0] as bigint)]);
  });

  test('EpochNotMatch with current regions updates the cache and goes back', async () => {
    const region = await f.region();
    const newId = f.cluster.allocId();
    f.cluster.split(f.regionId, newId, 'm', f.cluster.allocIds(3), f.peerIds[0] as bigint);
    const left = f.cluster.region(f.regionId);
    f.transport.handler = (s) =>
      regionErrorResponse(s.request, {
        epochNotMatch: {
          currentRegions: [
            {
              id: left.id,
              startKey: left.startKey,
              endKey: left.endKey,
              regionEpoch: { confVer: left.confVer, version: left.version },
              peers: left.peers.map((p) => ({ id: p.id, storeId: p.storeId })),
            },
          ],
        },
      });
    const res = await f.sender.sendRequest(f.backoffer(), f.rawGet(), region);
    expect(res.value.regionError?.epochNotMatch).toBeDefined();
    const now = await f.cache.locateKey(b('a'));
    expect(now.region.version).toBe(left.version);
  });

  test.each([
    ['RaftEntryTooLarge', { raftEntryTooLarge: {} }],
    ['FlashbackInProgress', { FlashbackInProgress: {} }],
    ['FlashbackNotPrepared', { FlashbackNotPrepared: {} }],
    ['invalid max_ts update', { message: 'invalid max_ts update' }],
  ])('TestOnRegionError: %s is final', async (_n, error) => {
    f.transport.handler = (s) => regionErrorResponse(s.request, error);
    const e = await f.sender
      .sendRequest(f.backoffer(), f.rawGet(), await f.region())
      .catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RegionError);
  });

  test('TestOnMaxTimestampNotSyncedError: the budget runs out', async () => {
    f.transport.handler = (s) => regionErrorResponse(s.request, { maxTimestampNotSynced: {} });
    const e = await f.sender
      .sendRequest(f.backoffer(50), f.rawGet(), await f.region())
      .catch((x: unknown) => x);
    expect(isTiKVError(e, 'BACKOFF_EXCEEDED')).toBe(true);
  });

  test('a region missing from the cache answers a pseudo EpochNotMatch without sending', async () => {
    const region = await f.region();
    f.cache.invalidateRegion(region);
    const res = await f.sender.sendRequest(f.backoffer(), f.rawGet(), region);
    expect(res.value.regionError?.epochNotMatch).toBeDefined();
    expect(res.value.value).toEqual(new Uint8Array(0));
    expect(f.transport.sent).toHaveLength(0);
  });

  test('TestOnSendFailedWithStoreRestart: a transport failure marks the store and fails over', async () => {
    const leaderAddr = f.addr(f.storeIds[0] as bigint);
    f.transport.handler = (s) => {
      if (s.addr === leaderAddr)
        throw new RpcError('connection refused', { address: s.addr, grpcCode: 14, requestSent: false });
      return regionErrorResponse(s.request, { notLeader: { regionId: f.regionId, leader: leaderPeer(1) } });
    };
    let n = 0;
    const inner = f.transport.handler;
    f.transport.handler = (s, i) => (++n <= 2 ? inner(s, i) : okResponse(s.request));
    const retries = collect<RpcRetryEvent>(RPC_RETRY_CHANNEL);
    try {
      const res = await f.sender.sendRequest(f.backoffer(), f.rawGet(), await f.region());
      expect(res.value.regionError).toBeUndefined();
    } finally {
      retries.stop();
    }
    expect(kinds()).toEqual(['tikvRPC']);
    expect(f.transport.sent[0]?.addr).toBe(leaderAddr);
    expect(f.transport.sent.slice(1).every((s) => s.addr !== leaderAddr)).toBe(true);
    expect(f.cache.getStore(f.storeIds[0] as bigint)?.epoch).toBe(1);
    expect(retries.events.map((e) => e.attempt)).toEqual([1, 2]);
    expect(retries.events[0]?.error).toBeInstanceOf(RpcError);
  });

  test('a non-retryable RpcError is final', async () => {
    f.transport.handler = (s) => {
      throw new RpcError('bad', { address: s.addr, grpcCode: 3, requestSent: true });
    };
    await expect(f.sender.sendRequest(f.backoffer(), f.rawGet(), await f.region())).rejects.toBeInstanceOf(
      RpcError,
    );
  });

  test('TestOnSendFailedWithCancelled: abort rejects with the reason, no retry', async () => {
    const ac = new AbortController();
    const reason = new Error('user abort');
    f.transport.handler = (s) => {
      ac.abort(reason);
      throw new RpcError('cancelled', { address: s.addr, grpcCode: 1, requestSent: true });
    };
    await expect(
      f.sender.sendRequest(f.backoffer(), f.rawGet(), await f.region(), { signal: ac.signal }),
    ).rejects.toBe(reason);
    expect(f.transport.sent).toHaveLength(1);
    const pre = new AbortController();
    pre.abort(reason);
    await expect(
      f.sender.sendRequest(f.backoffer(), f.rawGet(), await f.region(), { signal: pre.signal }),
    ).rejects.toBe(reason);
  });

  test('every attempt gets the remaining deadline; past it the call fails with DEADLINE_EXCEEDED', async () => {
    f.transport.handler = (s) => regionErrorResponse(s.request, { serverIsBusy: { reason: 'busy' } });
    const { Backoffer } = await import('@tikv/common');
    const bo = new Backoffer({ clock: f.clock, timeoutMs: 5_000, random: () => 0.5 });
    const e = await f.sender.sendRequest(bo, f.rawGet(), await f.region()).catch((x: unknown) => x);
    expect(isTiKVError(e, 'DEADLINE_EXCEEDED')).toBe(true);
    expect(f.transport.sent[0]?.options?.timeoutMs).toBeLessThanOrEqual(5_000);
  });

  test('TestRetryRequestSource: the retry source names the first read type and the replica', async () => {
    f.transport.handler = (s, i) =>
      i === 0
        ? regionErrorResponse(s.request, { notLeader: { regionId: f.regionId, leader: leaderPeer(1) } })
        : okResponse(s.request);
    await f.sender.sendRequest(f.backoffer(), f.rawGet(), await f.region(), { requestSource: 'src' });
    expect(f.transport.sent.map((s) => s.context.requestSource)).toEqual([
      'leader_src',
      'retry_leader_leader_src',
    ]);
  });

  test('interceptors of the sender wrap every attempt, first outermost', async () => {
    const seen: string[] = [];
    const spy = (name: string) =>
      rpcInterceptor(name, (next) => async (address, request, options) => {
        const ctx = (request.value as { context?: kvrpcpb.Context }).context;
        seen.push(`${name}>${request.$case}@${address} retry=${ctx?.isRetryRequest}`);
        const res = await next(address, request, options);
        seen.push(`${name}<${res.$case}`);
        return res;
      });
    const f2 = setupFixture(3, { interceptors: [spy('outer'), spy('inner')] });
    // Run the per-request interceptor around the fake's send, as RpcClient does around its dispatch.
    const send = f2.transport.send.bind(f2.transport);
    f2.transport.send = ((address: string, request: TikvRequest, options?: SendOptions) =>
      options?.interceptor === undefined
        ? send(address, request, options)
        : options.interceptor.wrap((a, r, o) => send(a, r, o))(address, request, options)) as typeof send;
    f2.transport.handler = (s, i) =>
      i === 0
        ? regionErrorResponse(s.request, {
            notLeader: {
              regionId: f2.regionId,
              leader: { id: f2.peerIds[1] ?? 0n, storeId: f2.storeIds[1] ?? 0n },
            },
          })
        : okResponse(s.request);
    try {
      const res = await f2.sender.sendRequest(f2.backoffer(), f2.rawGet(), await f2.region());
      expect(res.value.regionError).toBeUndefined();
      const [s1, s2] = f2.storeIds.map((id) => f2.addr(id));
      expect(seen).toEqual([
        `outer>RawGet@${s1} retry=false`,
        `inner>RawGet@${s1} retry=false`,
        'inner<RawGet',
        'outer<RawGet',
        `outer>RawGet@${s2} retry=true`,
        `inner>RawGet@${s2} retry=true`,
        'inner<RawGet',
        'outer<RawGet',
      ]);
      expect(f2.transport.sent.map((x) => x.addr)).toEqual([s1, s2]);
    } finally {
      await f2.close();
    }
  });

  test('a slow attempt times out; with a short execution limit a read fails over at once (TestSendReqFirstTimeout)', async () => {
    const { DeadlineExceededError } = await import('@tikv/common');
    f.transport.handler = (s, i) => {
      if (i === 0) throw new DeadlineExceededError('timeout');
      return okResponse(s.request);
    };
    const res = await f.sender.sendRequest(f.backoffer(), f.get(), await f.region(), {
      maxExecutionDurationMs: 100,
    });
    expect(res.value.regionError).toBeUndefined();
    expect(kinds()).toEqual([]);
    expect(f.transport.sent[1]?.addr).not.toBe(f.transport.sent[0]?.addr);
    expect(f.transport.sent[1]?.context.replicaRead).toBe(true);
  });

  test('a timed-out write backs off tikvRPC and retries the leader while its store passes the liveness check', async () => {
    const { DeadlineExceededError } = await import('@tikv/common');
    const probe = jest.spyOn(f.cache, 'checkStoreLiveness').mockResolvedValue('reachable');
    f.transport.handler = (s, i) => {
      if (i === 0) throw new DeadlineExceededError('timeout');
      return okResponse(s.request);
    };
    const verId = await f.region();
    await f.sender.sendRequest(f.backoffer(), f.rawGet(), verId);
    expect(kinds()).toEqual(['tikvRPC']);
    expect(probe).toHaveBeenCalledWith(f.storeIds[0]);
    expect(f.transport.sent[1]?.addr).toBe(f.transport.sent[0]?.addr);
    expect(f.cache.getCachedRegion(verId)?.invalidReason).toBe('ok');
  });

  test('a timed-out write moves to a follower when the leader store fails the liveness check (client-go onSendFailure checks liveness after a timeout too)', async () => {
    const { DeadlineExceededError } = await import('@tikv/common');
    const probe = jest.spyOn(f.cache, 'checkStoreLiveness').mockResolvedValue('unreachable');
    f.transport.handler = (s, i) => {
      if (i === 0) throw new DeadlineExceededError('timeout');
      return okResponse(s.request);
    };
    await f.sender.sendRequest(f.backoffer(), f.rawGet(), await f.region());
    expect(kinds()).toEqual(['tikvRPC']);
    expect(probe).toHaveBeenCalledWith(f.storeIds[0]);
    expect(f.transport.sent.map((x) => x.addr)).toEqual([f.addr(f.storeIds[0]!), f.addr(f.storeIds[1]!)]);
  });
});
